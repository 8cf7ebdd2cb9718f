// comfyvn_perf — compatibility path; the header lives in core/.
#pragma once
#include "core/site.hpp"  // IWYU pragma: export
