// 03-lazy-assets: a weighted LRU of lazily loaded assets with unload
// handlers, pinning, and explicit eviction.
// The SDK's definitions come from this program's implementation file,
// examples/perf_impl.cpp (COMFYVN_PERF_IMPLEMENTATION, docs/integration.md).
#include <comfyvn_perf/perf.hpp>

#include <fmt/core.h>

namespace perf = comfyvn::perf;

int main() {
  auto& bm = perf::budget_manager();
  perf::Metrics quiet;
  quiet.mem_used_mb = 2000;
  quiet.mem_total_mb = 16000;
  bm.set_metrics_provider(std::make_shared<perf::ManualMetricsProvider>(quiet));
  bm.set_enabled(true);
  bm.configure(boost::json::object{{"lazy_asset_target_mb", 100}});

  // One handler for every asset that has none of its own.
  bm.set_default_unload_handler(
      [](const std::string& id, const boost::json::object&, perf::EvictionCause cause) {
        fmt::print("  unloaded {} (cause: {})\n", id, perf::to_string(cause));
      });

  fmt::print("register hero (40 MB), sky (40 MB)\n");
  bm.register_asset("hero.png", 40, {{"kind", "texture"}});
  bm.register_asset("sky.png", 40, {{"kind", "texture"}});
  {
    auto pin = bm.pin_asset("hero.png");  // in use: never evicted while pinned
    fmt::print("touch sky, then register town (40 MB): the total would be 120 MB > 100 MB\n");
    bm.touch_asset("sky.png");
    bm.register_asset("town.png", 40, {{"kind", "texture"}});
  }
  fmt::print("evict down to 50 MB\n");
  const auto r = bm.evict_lazy_assets(50.0);
  fmt::print("freed {} MB\n", r.body.at("freed_mb").to_number<double>());
  fmt::print("touch sky again (loads it back)\n");
  bm.touch_asset("sky.png");
  const boost::json::object health = bm.health();
  const auto& a = health.at("assets").as_object();
  fmt::print("assets: registered {} loaded {} loaded_mb {}\n", a.at("registered").to_number<int>(),
             a.at("loaded").to_number<int>(), a.at("loaded_mb").to_number<double>());
  bm.set_enabled(false);
  return 0;
}

// Build and run:
//   ./dev demo        (builds everything), then: ./build/examples/03-lazy-assets
// Expected output:
//   register hero (40 MB), sky (40 MB)
//   touch sky, then register town (40 MB): the total would be 120 MB > 100 MB
//     unloaded sky.png (cause: target)        <- hero is pinned, town is new
//   evict down to 50 MB
//     unloaded hero.png (cause: explicit)
//   freed 40 MB
//   touch sky again (loads it back)
//   assets: registered 3 loaded 2 loaded_mb 80
