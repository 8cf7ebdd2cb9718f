// Two registries in one process: this program is linked WITHOUT the host
// variant (no -rdynamic), so a plugin that compiled its own implementation
// (perf_plugin_impl) cannot bind to its singletons and gets a registry of its
// own; its spans never reach this program's dashboard. The second registry
// must log one warning that names the fix (link with comfyvn_perf-host).
//
// The plugin logs through its own copy of the log state (nothing is shared),
// so the scenario runs in a child process (this program again, running only
// a hidden test case) and the warning is read from the child's stderr.
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

extern char** environ;

namespace {

struct ChildRun {
  int status = -1;
  std::string err;  // the child's stderr
};

// Runs this program again with only the hidden test case `spec`.
ChildRun run_child(const char* spec) {
  ChildRun r;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  char name[] = "test_registry_warning";
  std::string spec_arg(spec);
  char* argv[] = {name, spec_arg.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  REQUIRE(rc == 0);
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    r.err.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  REQUIRE(::waitpid(pid, &r.status, 0) == pid);
  return r;
}

std::size_t occurrences(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + what.size()))
    ++n;
  return n;
}

std::uint64_t host_count(const char* name) {
  std::uint64_t n = 0;
  for (const auto& a : comfyvn::perf::perf_profiler().aggregates())
    if (a.name == name) n += a.count;
  return n;
}

template <typename Fn>
Fn symbol(void* module, const char* name) {
  void* s = dlsym(module, name);
  REQUIRE(s != nullptr);
  return reinterpret_cast<Fn>(s);
}

}  // namespace

// The child: this program's registry, then the plugin's.
TEST_CASE("child: the host and a plugin with its own implementation", "[.registry_child]") {
  const char* path = std::getenv("COMFYVN_TEST_PLUGIN_IMPL");
  REQUIRE(path != nullptr);
  auto& p = comfyvn::perf::perf_profiler();
  p.set_enabled(true);
  for (int i = 0; i < 3; ++i) {
    PERF_SCOPE("plugin.step", "plugin");
  }
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  INFO((h ? "" : dlerror()));
  REQUIRE(h != nullptr);
  // The broken link: the plugin has a profiler (and a registry) of its own.
  auto* plugin_profiler = symbol<void* (*)()>(h, "plugin_profiler")();
  REQUIRE(plugin_profiler != static_cast<void*>(&p));
  symbol<void (*)(bool)>(h, "plugin_enable")(true);
  symbol<void (*)(int)>(h, "plugin_record")(5);
  // Its spans stay in its registry; the host's dashboard never sees them.
  REQUIRE(symbol<unsigned long long (*)(const char*)>(h, "plugin_count")("plugin.step") == 5);
  REQUIRE(host_count("plugin.step") == 3);
  // Creating more objects in either module warns no more.
  symbol<void* (*)()>(h, "plugin_budget_manager")();
  comfyvn::perf::budget_manager();
  // The plugin stays loaded: its module installed its own cold path.
}

TEST_CASE("a second registry in the process logs one warning naming the fix", "[registry]") {
  // This process's registry: the child inherits its claim, which is stale
  // there (another pid) and must not count as a first registry.
  comfyvn::perf::perf_profiler();
  const ChildRun r = run_child("[.registry_child]");
  INFO("child stderr:\n" << r.err);
  REQUIRE(WIFEXITED(r.status));
  REQUIRE(WEXITSTATUS(r.status) == 0);
  REQUIRE(occurrences(r.err, "comfyvn_perf-host") == 1);
  REQUIRE(occurrences(r.err, "-rdynamic") == 1);
  REQUIRE(occurrences(r.err, "comfyvn_perf: ") == 1);  // one log line in all
}

// A forked child keeps its parent's registry: it creates none and says nothing.
TEST_CASE("child: a forked child keeps its parent's registry", "[.fork_child]") {
  auto& p = comfyvn::perf::perf_profiler();
  p.set_enabled(true);
  { PERF_SCOPE("before_fork", "fork"); }
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    { PERF_SCOPE("in_child", "fork"); }
    const bool ok = &comfyvn::perf::perf_profiler() == &p && host_count("in_child") == 1;
    std::_Exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  p.set_enabled(false);
}

TEST_CASE("one registry, forked or not, logs no such warning", "[registry]") {
  const ChildRun r = run_child("[.fork_child]");
  INFO("child stderr:\n" << r.err);
  REQUIRE(WIFEXITED(r.status));
  REQUIRE(WEXITSTATUS(r.status) == 0);
  REQUIRE(occurrences(r.err, "comfyvn_perf-host") == 0);
}
