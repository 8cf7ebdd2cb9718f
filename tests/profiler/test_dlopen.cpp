// One profiler and one budget manager per process, also across a shared
// library loaded with dlopen (the plugin is built with -fvisibility=hidden).
#include <comfyvn_perf/os/log.hpp>
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Every SDK log line while alive. The host is linked with the host variant,
// so the plugin logs through the host's log state too.
struct LogCapture {
  std::mutex mu;
  std::vector<std::string> lines;
  LogCapture() {
    comfyvn::perf::os::set_log_sink([this](comfyvn::perf::os::LogLevel, std::string_view m) {
      std::lock_guard<std::mutex> lock(mu);
      lines.emplace_back(m);
    });
  }
  ~LogCapture() { comfyvn::perf::os::set_log_sink({}); }
  std::size_t mentioning(std::string_view what) {
    std::lock_guard<std::mutex> lock(mu);
    std::size_t n = 0;
    for (const auto& l : lines) n += l.find(what) != std::string::npos;
    return n;
  }
};

}  // namespace

TEST_CASE("a dlopen'ed plugin shares the host's singletons", "[dlopen]") {
  const char* path = std::getenv("COMFYVN_TEST_PLUGIN");
  REQUIRE(path != nullptr);
  LogCapture log;
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
  // One registry: no warning about a second one (test_registry_warning.cpp).
  REQUIRE(log.mentioning("comfyvn_perf-host") == 0);
  p.set_enabled(false);
}

// A library that must also work on its own may compile its own
// implementation: loaded by a host linked with the host variant, it still
// binds to the host's definitions, so there is still one registry. Not under
// AddressSanitizer: it reports the library's second definition of the SDK's
// globals (ui_page.hpp's kDashboardHtml first) as an odr-violation, which is
// that very setup (ASAN_OPTIONS=detect_odr_violation=1 lets it run).
#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("a plugin with its own implementation binds to the host's", "[dlopen]") {
  const char* path = std::getenv("COMFYVN_TEST_PLUGIN_IMPL");
  REQUIRE(path != nullptr);
  LogCapture log;
  auto& p = comfyvn::perf::perf_profiler();
  p.set_enabled(true);
  p.reset();
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  INFO((h ? "" : dlerror()));
  REQUIRE(h != nullptr);
  auto* plugin_profiler = reinterpret_cast<void* (*)()>(dlsym(h, "plugin_profiler"));
  auto* plugin_record = reinterpret_cast<void (*)(int)>(dlsym(h, "plugin_record"));
  REQUIRE(plugin_profiler != nullptr);
  REQUIRE(plugin_record != nullptr);
  REQUIRE(plugin_profiler() == &p);
  plugin_record(4);
  std::uint64_t host = 0;
  for (const auto& a : p.aggregates())
    if (a.name == "plugin.step") host = a.count;
  REQUIRE(host == 4);
  REQUIRE(log.mentioning("comfyvn_perf-host") == 0);
  // Left loaded: its code is the same as the host's, nothing to gain.
  p.set_enabled(false);
}
#endif  // !__SANITIZE_ADDRESS__
