// 06-mod-plugin: a host that loads a mod with dlopen. The mod records into
// the host's profiler; the host sees the mod's spans in its own dashboard.
// The host links the SDK's definitions (examples/perf_impl.cpp) and exports
// them (-rdynamic): the mod, which has none, binds to them and so to the
// host's singletons.
#include <comfyvn_perf/perf.hpp>

#include <fmt/core.h>

#include <dlfcn.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: 06-mod-host PATH/TO/libmod.so\n");
    return 2;
  }
  auto& profiler = comfyvn::perf::perf_profiler();
  profiler.set_enabled(true);
  auto& budgets = comfyvn::perf::budget_manager();
  budgets.set_enabled(true);
  budgets.register_job("host-render", "render");
  budgets.start_job("host-render");

  void* mod = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (mod == nullptr) {
    fmt::print(stderr, "cannot load mod: {}\n", dlerror());
    return 1;
  }
  auto run = reinterpret_cast<int (*)(void*)>(dlsym(mod, "mod_run"));
  const int rc = run ? run(&profiler) : 1;
  for (const auto& row : profiler.aggregates()) {
    fmt::print("host: {} count={}\n", row.name, row.count);
  }
  dlclose(mod);
  budgets.finish_job("host-render");
  budgets.set_enabled(false);
  return rc;
}

// Build and run (the host is linked with -rdynamic so the mod binds to its
// singletons; the Meson dependency and comfyvn_perf.pc add it):
//   ./dev demo        (builds everything), then:
//   ./build/examples/06-mod-host ./build/examples/lib06-mod.so
// Expected output:
//   mod: same profiler as the host: yes
//   mod: host queue has 1 running job(s)
//   host: mod.ai_think count=250
