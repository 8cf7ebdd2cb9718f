// comfyvn_perf — compatibility path; the header lives in core/.
#pragma once
#include "core/alloc.hpp"  // IWYU pragma: export
