// comfyvn_perf — compatibility path; the header lives in core/.
#pragma once
#include "core/histogram.hpp"  // IWYU pragma: export
