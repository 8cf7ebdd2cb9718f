// The cost of one PERF_SCOPE against its floor (two timestamp reads), the
// runtime-disabled switch, and the memory bound when nobody reads.
// This program's one file with the SDK's definitions (config.hpp).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/profiler.hpp>

#include <unistd.h>

#include <fstream>
#include <string>
#include <string_view>

#include "bench_common.hpp"

namespace perf = comfyvn::perf;

void enable_profiler(const benchmark::State&) {
  perf::perf_profiler().set_enabled(true);
  perf::perf_profiler().reset();
}
void disable_profiler(const benchmark::State&) {
  perf::perf_profiler().set_enabled(false);
}

namespace {

void BM_EmptyLoop(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::ClobberMemory();
  }
}

void BM_TwoClockReads(benchmark::State& state) {
  for (auto _ : state) {
    const std::uint64_t a = perf::DefaultClock::now();
    const std::uint64_t b = perf::DefaultClock::now();
    benchmark::DoNotOptimize(b - a);
    benchmark::ClobberMemory();
  }
}

void BM_ScopeEnabled(benchmark::State& state) {
  for (auto _ : state) {
    PERF_SCOPE("bench.static", "bench");
    benchmark::ClobberMemory();
  }
}

void BM_ScopeDynamicEnabled(benchmark::State& state) {
  const std::string name = "bench.dynamic";
  for (auto _ : state) {
    PERF_SCOPE_DYN(std::string_view(name), "bench");
    benchmark::ClobberMemory();
  }
}

// PERF_COUNTER: one clock read and one ring entry, no accumulators; it
// must cost at most what a scope costs.
void BM_CounterEnabled(benchmark::State& state) {
  double v = 0;
  for (auto _ : state) {
    PERF_COUNTER("bench.counter", v);
    v += 1;
    benchmark::ClobberMemory();
  }
}

void BM_CounterDynamicEnabled(benchmark::State& state) {
  const std::string name = "bench.counter_dynamic";
  double v = 0;
  for (auto _ : state) {
    PERF_COUNTER_DYN(std::string_view(name), v);
    v += 1;
    benchmark::ClobberMemory();
  }
}

void BM_ScopeRuntimeDisabled(benchmark::State& state) {
  for (auto _ : state) {
    PERF_SCOPE("bench.disabled", "bench");
    benchmark::ClobberMemory();
  }
}

long rss_kb() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// 10 million scopes with nobody calling dashboard(): memory must stay bounded
// (a fixed-size ring per thread, exact totals in fixed slots).
void BM_Rss10MScopes(benchmark::State& state) {
  for (auto _ : state) {
    const long before = rss_kb();
    for (int i = 0; i < 10'000'000; ++i) {
      PERF_SCOPE("bench.rss", "bench");
      benchmark::ClobberMemory();
    }
    state.counters["rss_growth_mib"] = static_cast<double>(rss_kb() - before) / 1024.0;
  }
}

}  // namespace

BENCHMARK(BM_EmptyLoop)->Threads(1)->Threads(2);
BENCHMARK(BM_TwoClockReads)->Threads(1)->Threads(2);
BENCHMARK(BM_ScopeEnabled)
    ->Setup(enable_profiler)
    ->Teardown(disable_profiler)
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_ScopeDynamicEnabled)
    ->Setup(enable_profiler)
    ->Teardown(disable_profiler)
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_CounterEnabled)
    ->Setup(enable_profiler)
    ->Teardown(disable_profiler)
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_CounterDynamicEnabled)
    ->Setup(enable_profiler)
    ->Teardown(disable_profiler)
    ->Threads(1)
    ->Threads(2);
BENCHMARK(BM_ScopeRuntimeDisabled)->Setup(disable_profiler)->Threads(1)->Threads(2);
BENCHMARK(BM_Rss10MScopes)
    ->Setup(enable_profiler)
    ->Teardown(disable_profiler)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
