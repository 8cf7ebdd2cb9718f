// 04-hooks: subscribe to the profiler and budget events. Payloads are
// anonymised before a subscriber sees them: paths become salted hashes that
// keep only the extension, secrets become "[redacted]".
// The SDK's definitions come from this program's implementation file,
// examples/perf_impl.cpp (COMFYVN_PERF_IMPLEMENTATION, docs/integration.md).
#include <comfyvn_perf/perf.hpp>

#include <fmt/core.h>

#include <mutex>
#include <vector>

namespace perf = comfyvn::perf;

int main() {
  std::mutex mu;
  std::vector<std::string> seen;
  auto record = [&](const boost::json::object& envelope) {
    // Runs on the hooks dispatcher thread, never on the thread that emitted.
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(envelope.at("trigger").as_string().c_str() + std::string(" ") +
                   boost::json::serialize(envelope.at("payload")));
  };
  auto budget_sub = perf::hooks().subscribe(std::string(perf::kBudgetEvent), record);
  auto profiler_sub = perf::hooks().subscribe(std::string(perf::kProfilerEvent), record);

  perf::perf_profiler().set_enabled(true);
  perf::budget_manager().set_enabled(true);

  perf::perf_profiler().mark(
      "level_loaded", "game",
      {{"file", "/home/alice/game/levels/forest.json"}, {"api_key", "sk-123456"}, {"players", 2}});
  perf::budget_manager().register_asset("forest.ktx", 12.5,
                                        {{"source", "C:\\Users\\alice\\forest.ktx"}});
  for (int i = 0; i < 1000; ++i) {
    PERF_SCOPE("tick", "game");  // delivered in batches, not one event per span
  }
  (void)perf::perf_profiler().dashboard();  // emits snapshot.generated

  perf::hooks().flush();  // everything emitted so far has been delivered
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& line : seen) {
    if (line.rfind("span.recorded", 0) == 0) {
      fmt::print("span.recorded (a batch)\n");
    } else {
      fmt::print("{}\n", line.substr(0, 160));
    }
  }
  perf::perf_profiler().set_enabled(false);
  perf::budget_manager().set_enabled(false);
  return 0;
}

// Build and run:
//   ./dev demo        (builds everything), then: ./build/examples/04-hooks
// Expected output (hashes differ per process; batches may be split):
//   mark.emitted {"name":"level_loaded","category":"game","timestamp":...,
//     "metadata":{"file":"<path:...json>","api_key":"[redacted]","players":2}}
//   asset.registered {"asset":{"id":"forest.ktx",...,"metadata":{"source":"<path:...ktx>"}...
//   span.recorded (a batch)
//   snapshot.generated {...}
