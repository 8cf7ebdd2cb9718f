// A "mod" built as a shared library (with -fvisibility=hidden, as many are)
// and loaded with dlopen by test_dlopen.cpp and test_registry_warning.cpp. It
// records spans and hands back the addresses of the singletons it sees.
// Built twice (tests/meson.build): perf_plugin without the SDK's definitions,
// as a mod should be, and perf_plugin_impl with an implementation of its own
// (the test programs' sdk_impl linked in).
#include <comfyvn_perf/perf.hpp>

#define PLUGIN_API extern "C" __attribute__((visibility("default")))

namespace {
// A scope during the plugin's static initialisation must be safe.
const bool g_static_init_scope = [] {
  PERF_SCOPE("plugin.static_init", "plugin");
  return true;
}();
}  // namespace

PLUGIN_API void* plugin_profiler() {
  return &comfyvn::perf::perf_profiler();
}
PLUGIN_API void* plugin_budget_manager() {
  return &comfyvn::perf::budget_manager();
}
PLUGIN_API void* plugin_hooks() {
  return &comfyvn::perf::hooks();
}
PLUGIN_API void* plugin_flags() {
  return &comfyvn::perf::feature_flags();
}
PLUGIN_API void plugin_enable(bool on) {
  comfyvn::perf::perf_profiler().set_enabled(on);
}
PLUGIN_API void plugin_record(int n) {
  for (int i = 0; i < n; ++i) {
    PERF_SCOPE("plugin.step", "plugin");
  }
}
PLUGIN_API unsigned long long plugin_count(const char* name) {
  unsigned long long n = 0;
  for (const auto& a : comfyvn::perf::perf_profiler().aggregates())
    if (a.name == name) n += a.count;
  return n + (g_static_init_scope ? 0 : 1);
}
