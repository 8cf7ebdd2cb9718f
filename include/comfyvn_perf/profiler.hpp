// comfyvn_perf — compatibility path: the PERF_* macros, PerfProfiler
// (profiler/) and the process-wide perf_profiler() (runtime/).
#pragma once

#include "profiler/profiler.hpp"    // IWYU pragma: export
#include "runtime/singletons.hpp"  // IWYU pragma: export
#include "scope.hpp"               // IWYU pragma: export
