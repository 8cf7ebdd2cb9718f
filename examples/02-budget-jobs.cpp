// 02-budget-jobs: admission that explains itself. Two job slots, three jobs:
// the third waits with a reason, and is promoted when a slot frees up.
// The SDK's definitions come from this program's implementation file,
// examples/perf_impl.cpp (COMFYVN_PERF_IMPLEMENTATION, docs/integration.md).
#include <comfyvn_perf/perf.hpp>

#include <fmt/core.h>

namespace perf = comfyvn::perf;

namespace {

void show(const char* what, const perf::BudgetResult& r) {
  if (!r.ok()) {
    fmt::print("{:<22} refused: {}\n", what, r.detail);
    return;
  }
  const auto& job = r.body.at("job").as_object();
  const auto& reason = job.at("reason");
  fmt::print("{:<22} {} -> {}{}\n", what, job.at("id").as_string().c_str(),
             job.at("status").as_string().c_str(),
             reason.is_string() ? fmt::format(" ({})", reason.as_string().c_str()) : "");
}

}  // namespace

int main() {
  auto& bm = perf::budget_manager();
  // Fixed host metrics so the example prints the same on any machine.
  perf::Metrics quiet;
  quiet.cpu_percent = 20.0;
  quiet.mem_used_mb = 4000;
  quiet.mem_total_mb = 16000;
  bm.set_metrics_provider(std::make_shared<perf::ManualMetricsProvider>(quiet));
  bm.set_enabled(true);  // or features.enable_perf / COMFYVN_ENABLE_PERF=1
  bm.configure(boost::json::object{{"max_running_jobs", 2}, {"max_cpu_percent", 70}});

  boost::json::object hints{{"perf", boost::json::object{{"cpu_percent", 10}, {"ram_mb", 512}}}};
  show("register render-01", bm.register_job("render-01", "render", hints));
  show("register render-02", bm.register_job("render-02", "render", hints));
  show("register render-03", bm.register_job("render-03", "render", hints));
  show("start render-01", bm.start_job("render-01"));
  show("start render-02", bm.start_job("render-02"));
  show("start render-03", bm.start_job("render-03"));

  // A job whose own hint can never fit is flagged at registration.
  boost::json::object huge{{"perf", boost::json::object{{"cpu_percent", 95}}}};
  const auto r = bm.register_job("bake-all", "bake", huge);
  fmt::print("register bake-all       infeasible={} ({})\n",
             r.ok() && r.body.at("job").as_object().contains("infeasible")
                 ? boost::json::serialize(r.body.at("job").at("infeasible"))
                 : "n/a",
             r.ok() ? boost::json::serialize(r.body.at("reason")) : r.detail);

  show("finish render-01", bm.finish_job("render-01", "complete"));
  for (const auto& t : bm.refresh_queue()) {
    const auto& job = t.at("job").as_object();
    fmt::print("refresh                {} -> {}\n", job.at("id").as_string().c_str(),
               t.at("queue_state").as_string().c_str());
  }
  show("start render-03", bm.start_job("render-03"));
  const auto h = bm.health();
  fmt::print("queue: {}\n", boost::json::serialize(h.at("queue")));
  bm.set_enabled(false);
  return 0;
}

// Build and run:
//   ./dev demo        (builds everything), then: ./build/examples/02-budget-jobs
// Expected output:
//   register render-01     render-01 -> queued
//   register render-02     render-02 -> queued
//   register render-03     render-03 -> delayed (job cap reached)
//   start render-01        render-01 -> running
//   start render-02        render-02 -> running
//   start render-03        refused: job cap reached
//   register bake-all       infeasible=true ("cpu 95.0%/70.0%: can never run under the current
//   limits") finish render-01       render-01 -> complete     (render-03 is promoted at once)
//   refresh                bake-all -> delayed       (still infeasible)
//   start render-03        render-03 -> running
//   queue: {"queued":0,"delayed":1,"running":2,"seen_jobs":4,...}
