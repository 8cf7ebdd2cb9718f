// PERF_SCOPE compiled out: must cost exactly what the empty loop costs.
#undef COMFYVN_PERF_ENABLED
#define COMFYVN_PERF_ENABLED 0
#include <comfyvn_perf/scope.hpp>

#include "bench_common.hpp"

namespace {
void BM_ScopeCompiledOut(benchmark::State& state) {
  for (auto _ : state) {
    PERF_SCOPE("bench.off", "bench");
    benchmark::ClobberMemory();
  }
}
}  // namespace

BENCHMARK(BM_ScopeCompiledOut)
    ->Setup(enable_profiler)
    ->Teardown(disable_profiler)
    ->Threads(1)
    ->Threads(2);
