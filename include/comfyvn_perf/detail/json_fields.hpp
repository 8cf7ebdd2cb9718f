// comfyvn_perf — moved to json/fields.hpp; kept for older includers.
#pragma once

#include "../json/fields.hpp"  // IWYU pragma: export
