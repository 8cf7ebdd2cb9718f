// comfyvn_perf — compatibility path; the header lives in core/.
#pragma once
#include "core/clock.hpp"  // IWYU pragma: export
