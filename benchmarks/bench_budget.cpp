// BudgetManager costs: one job's whole life, and re-evaluating a long queue
// of delayed jobs (on demand with its transitions, and as the sampler's pass).
// Metrics come from a fixed provider so /proc reads are not measured.
// This program's one file with the SDK's definitions (config.hpp).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/budget/manager.hpp>
#include <comfyvn_perf/runtime/singletons.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <string>

namespace perf = comfyvn::perf;
namespace json = boost::json;

namespace {

std::shared_ptr<perf::ManualMetricsProvider> quiet_host(double cpu_percent) {
  perf::Metrics m;
  m.cpu_percent = cpu_percent;
  m.mem_used_mb = 4000;
  m.mem_total_mb = 16000;
  return std::make_shared<perf::ManualMetricsProvider>(m);
}

// register -> start -> finish, with ids that never repeat.
void BM_JobCycle(benchmark::State& state) {
  perf::BudgetManager mgr;
  mgr.set_metrics_provider(quiet_host(20));
  mgr.sample_now();
  const json::object payload{{"perf", json::object{{"cpu_percent", 5}, {"ram_mb", 256}}}};
  std::uint64_t n = 0;
  for (auto _ : state) {
    const std::string id = std::string("job-").append(std::to_string(n++));
    auto r = mgr.register_job(id, "render", payload);
    auto s = mgr.start_job(id);
    auto f = mgr.finish_job(id);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_JobCycle);

// A queue of `state.range(0)` jobs, all delayed for CPU.
void fill_delayed(perf::BudgetManager& mgr, std::int64_t jobs) {
  mgr.set_metrics_provider(quiet_host(45));
  mgr.configure(
      json::object{{"max_queue_depth", jobs}, {"max_running_jobs", 0}, {"max_cpu_percent", 50}});
  mgr.sample_now();
  const json::object payload{{"perf", json::object{{"cpu_percent", 10}}}};
  for (std::int64_t i = 0; i < jobs; ++i) {
    mgr.register_job(std::string("delayed-").append(std::to_string(i)), "render", payload);
  }
}

// refresh_queue(): every delayed job evaluated, a transition built for each.
void BM_RefreshDelayed(benchmark::State& state) {
  perf::BudgetManager mgr;
  fill_delayed(mgr, state.range(0));
  for (auto _ : state) {
    json::array t = mgr.refresh_queue();
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_RefreshDelayed)->Arg(10000)->Unit(benchmark::kMillisecond);

// The sampler thread's pass (sample + evaluation) with nobody subscribed:
// verdicts only, no JSON.
void BM_EvaluateDelayed(benchmark::State& state) {
  perf::BudgetManager mgr;
  fill_delayed(mgr, state.range(0));
  for (auto _ : state) {
    json::object m = mgr.sample_now();
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_EvaluateDelayed)->Arg(10000)->Unit(benchmark::kMillisecond);

// touch_asset on a warm LRU of 1,000 assets.
void BM_AssetTouch(benchmark::State& state) {
  perf::BudgetManager mgr;
  mgr.configure(json::object{{"lazy_asset_target_mb", 0}});
  for (int i = 0; i < 1000; ++i)
    mgr.register_asset(std::string("asset-").append(std::to_string(i)), 1.0);
  int i = 0;
  const std::string ids[4] = {"asset-1", "asset-250", "asset-500", "asset-999"};
  for (auto _ : state) {
    auto r = mgr.touch_asset(ids[i++ & 3]);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_AssetTouch);

}  // namespace

BENCHMARK_MAIN();
