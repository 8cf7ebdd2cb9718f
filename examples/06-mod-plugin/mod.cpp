// The mod: a shared library (built with -fvisibility=hidden, as mods often
// are) that the host loads with dlopen. It records spans and reads the host's
// singletons: there is one profiler and one budget manager per process.
// It does not define COMFYVN_PERF_IMPLEMENTATION: the SDK's definitions come
// from the host, which exports them.
#include <comfyvn_perf/perf.hpp>

#include <fmt/core.h>

#define MOD_API extern "C" __attribute__((visibility("default")))

MOD_API int mod_run(void* host_profiler) {
  auto& profiler = comfyvn::perf::perf_profiler();
  fmt::print("mod: same profiler as the host: {}\n", &profiler == host_profiler ? "yes" : "no");
  for (int i = 0; i < 250; ++i) {
    PERF_SCOPE("mod.ai_think", "mod");
  }
  profiler.mark("mod.loaded", "mod", {{"version", "1.2"}});
  const boost::json::object health = comfyvn::perf::budget_manager().health();
  const auto& queue = health.at("queue").as_object();
  fmt::print("mod: host queue has {} running job(s)\n", queue.at("running").to_number<int>());
  return &profiler == host_profiler ? 0 : 1;
}
