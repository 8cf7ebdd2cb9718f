// comfyvn_perf — compatibility path; the header lives in core/.
#pragma once
#include "core/ring.hpp"  // IWYU pragma: export
