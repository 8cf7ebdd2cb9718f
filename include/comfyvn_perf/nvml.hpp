// comfyvn_perf — moved to metrics/nvml.hpp; kept for older includers.
#pragma once

#include "metrics/nvml.hpp"  // IWYU pragma: export
