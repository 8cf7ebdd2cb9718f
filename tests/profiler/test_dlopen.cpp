// One profiler and one budget manager per process, also across a shared
// library loaded with dlopen (the plugin is built with -fvisibility=hidden).
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cstdlib>
#include <string>

TEST_CASE("a dlopen'ed plugin shares the host's singletons", "[dlopen]") {
  const char* path = std::getenv("COMFYVN_TEST_PLUGIN");
  REQUIRE(path != nullptr);
  auto& p = comfyvn::perf::perf_profiler();
  p.set_enabled(true);
  p.reset();
  for (int i = 0; i < 3; ++i) {
    PERF_SCOPE("plugin.step", "plugin");  // same name from the host side
  }
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  INFO((h ? "" : dlerror()));
  REQUIRE(h != nullptr);
  using get_fn = void* (*)();
  auto sym = [&](const char* n) {
    void* s = dlsym(h, n);
    REQUIRE(s != nullptr);
    return s;
  };
  REQUIRE(reinterpret_cast<get_fn>(sym("plugin_profiler"))() == &p);
  REQUIRE(reinterpret_cast<get_fn>(sym("plugin_budget_manager"))() ==
          &comfyvn::perf::budget_manager());
  REQUIRE(reinterpret_cast<get_fn>(sym("plugin_hooks"))() == &comfyvn::perf::hooks());
  REQUIRE(reinterpret_cast<get_fn>(sym("plugin_flags"))() == &comfyvn::perf::feature_flags());
  reinterpret_cast<void (*)(int)>(sym("plugin_record"))(5);
  std::uint64_t host = 0;
  for (const auto& a : p.aggregates())
    if (a.name == "plugin.step") host = a.count;
  REQUIRE(host == 8);
  auto count = reinterpret_cast<unsigned long long (*)(const char*)>(sym("plugin_count"));
  REQUIRE(count("plugin.step") == 8);
  // The plugin's static-initialisation scope went to the shared registry.
  REQUIRE(count("plugin.static_init") == 1);
  REQUIRE(dlclose(h) == 0);
  // Site names were copied: the data outlives the unloaded library.
  bool still_there = false;
  for (const auto& a : p.aggregates())
    if (a.name == "plugin.static_init") still_there = true;
  REQUIRE(still_there);
  p.set_enabled(false);
}
