// The runtime: the process-wide objects, what each connects on creation, and
// the one fork handler that keeps every part usable in a forked child.
#include <comfyvn_perf/runtime/singletons.hpp>
#include <comfyvn_perf/runtime/instances.hpp>
#include <comfyvn_perf/runtime/fork.hpp>
#include <comfyvn_perf/profiler/registry.hpp>  // detail::registry()

#include <catch2/catch.hpp>

#include <comfyvn_perf/perf.hpp>

#include "../support/temp_files.hpp"  // TempDir, read_text

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using comfyvn::perf::budget_manager;
using comfyvn::perf::feature_flags;
using comfyvn::perf::hooks;
using comfyvn::perf::kBudgetEvent;
using comfyvn::perf::kProfilerEvent;
using comfyvn::perf::perf_profiler;
using comfyvn::perf::testing::read_text;
using comfyvn::perf::testing::TempDir;
namespace rt = comfyvn::perf::detail::runtime;

namespace {

// Runs `body` in a forked child and returns its exit status (-1: no normal
// exit). A hang in the child becomes a failure, not a stuck test.
template <typename Body>
int in_child(Body body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(30);
    int code = 1;
    try {
      code = static_cast<int>(body());
    } catch (...) {
      code = 64;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("the singletons are published once created, and only then", "[runtime]") {
  // Nothing in this test program touches the budget manager before this line.
  CHECK(rt::instances().budgets.load() == nullptr);
  auto& b = budget_manager();
  CHECK(rt::instances().budgets.load() == &b);
  CHECK(comfyvn::perf::detail::g_registry.load() == &comfyvn::perf::detail::registry());
  CHECK(rt::instances().hooks.load() == &hooks());  // its events go there
  CHECK(&budget_manager() == &b);
  auto& p = perf_profiler();
  CHECK(rt::instances().profiler.load() == &p);
  auto& f = feature_flags();
  CHECK(rt::instances().flags.load() == &f);
}

TEST_CASE("budget and profiler events reach hooks() only while someone listens", "[runtime]") {
  std::mutex mu;
  std::vector<std::string> budget_triggers, profiler_triggers;
  {
    auto b = hooks().subscribe(std::string(kBudgetEvent), [&](const json::object& e) {
      std::lock_guard<std::mutex> l(mu);
      budget_triggers.emplace_back(e.at("trigger").as_string());
    });
    auto p = hooks().subscribe(std::string(kProfilerEvent), [&](const json::object& e) {
      std::lock_guard<std::mutex> l(mu);
      profiler_triggers.emplace_back(e.at("trigger").as_string());
    });
    REQUIRE(budget_manager().configure(json::object{{"max_running_jobs", 3}}).ok());
    perf_profiler().reset();
    hooks().flush();
  }
  const auto stats_before = hooks().stats();
  REQUIRE(budget_manager().configure(json::object{{"max_running_jobs", 3}}).ok());
  perf_profiler().reset();
  hooks().flush();
  std::lock_guard<std::mutex> l(mu);
  CHECK(budget_triggers == std::vector<std::string>{"limits.updated"});
  CHECK(profiler_triggers == std::vector<std::string>{"reset"});
  CHECK(hooks().stats().emitted == stats_before.emitted);  // nobody listened: nothing built
}

TEST_CASE("profiler health carries the hook bus counters", "[runtime]") {
  const auto s = hooks().stats();
  const json::object h = perf_profiler().health();
  const json::object& counters = h.at("hooks").as_object();
  CHECK(counters.size() == 4);
  CHECK(counters.at("emitted").to_number<std::uint64_t>() >= s.emitted);
  CHECK(counters.contains("delivered"));
  CHECK(counters.contains("dropped"));
  CHECK(counters.contains("subscriber_errors"));
}

// Not built under AddressSanitizer: GCC 12's ASan runtime does not hold its
// allocator's locks across fork(). When a parent thread is inside malloc at
// the moment of fork() (the collector, the hook dispatcher and this test's
// busy thread all allocate), the child inherits that allocator lock held and
// its first allocation of the same size class waits forever; gdb on a hung
// child shows every thread in __sanitizer::SizeClassAllocator64::
// GetFromAllocator -> __sanitizer::Mutex::Lock. Our own locks are covered by
// runtime/fork.hpp, and this test runs in the release (C++17 and C++20)
// builds. Define COMFYVN_TEST_FORK_UNDER_ASAN to build it under ASan anyway.
#if !defined(__SANITIZE_ADDRESS__) || defined(COMFYVN_TEST_FORK_UNDER_ASAN)
TEST_CASE("a forked child gets a working profiler, budget manager and hook bus",
          "[runtime][fork]") {
  perf_profiler().set_enabled(true);
  budget_manager().set_enabled(true);
  std::atomic<int> received{0};
  auto sub = hooks().subscribe("runtime.fork", [&](const json::object&) { received.fetch_add(1); });
  // Keep every background thread busy around fork(): a lock one of them
  // held at that moment would stay locked in the child without the handler.
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop.load()) {
      PERF_SCOPE("runtime.busy", "test");
      hooks().emit("runtime.fork", "busy", {});
      (void)budget_manager().snapshot();
    }
  });
  for (int round = 0; round < 5; ++round) {
    const int status = in_child([] {
      { PERF_SCOPE("runtime.child", "test"); }
      bool found = false;
      for (const auto& a : perf_profiler().aggregates()) found = found || a.name == "runtime.child";
      std::atomic<int> got{0};
      auto s = hooks().subscribe("runtime.child", [&](const json::object&) { got.fetch_add(1); });
      // The queue came from the parent, possibly full of the busy thread's
      // events: deliver those first so that this one is not dropped.
      hooks().flush();
      hooks().emit("runtime.child", "t", {});
      hooks().flush();
      // The sampler did not survive fork: the child starts with it off.
      const bool sampler_off = !budget_manager().enabled();
      budget_manager().set_enabled(true);
      const bool sampler_on = budget_manager().enabled();
      budget_manager().set_enabled(false);
      (void)budget_manager().sample_now();
      // Each failed condition sets its own bit of the exit status.
      return (found ? 0 : 1) | (got.load() == 1 ? 0 : 2) | (sampler_off ? 0 : 4) |
             (sampler_on ? 0 : 8);
    });
    CHECK(status == 0);
  }
  stop.store(true);
  busy.join();
  hooks().flush();
  CHECK(received.load() > 0);
  CHECK(budget_manager().enabled());  // the parent is unaffected
  CHECK(perf_profiler().enabled());
  budget_manager().set_enabled(false);
  perf_profiler().set_enabled(false);
}
#endif  // !__SANITIZE_ADDRESS__

// ---- issue 10: one enable state, and the config applied without a call ----

#include <spawn.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace {

// Runs one hidden test case of this program in a fresh process (no
// singleton exists there yet) with `extra` added to the environment and the
// COMFYVN_* variables removed. Returns its exit status; its stderr goes to
// `stderr_path`.
int spawn_case(const std::string& name, const std::vector<std::string>& extra,
               const std::string& stderr_path) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string s = *e;
    if (s.rfind("COMFYVN_", 0) == 0) continue;
    env_strings.push_back(s);
  }
  for (const auto& s : extra) env_strings.push_back(s);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe";
  std::string n = name;
  std::vector<char*> argv = {exe.data(), n.data(), nullptr};
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("enabling from code is an override the flags report", "[runtime][robust]") {
  auto& flags = feature_flags();
  flags.set_log_sink([](std::string_view) {});
  const TempDir tmp("comfyvn_rt");
  const std::string& dir = tmp.path();
  flags.use_config_files({dir + "/absent.json", ""});
  REQUIRE_FALSE(flags.profiler_enabled());
  REQUIRE_FALSE(perf_profiler().enabled());

  perf_profiler().set_enabled(true);  // what the README shows
  CHECK(flags.profiler_enabled());    // the adapter and /health read this
  CHECK_FALSE(flags.perf_enabled());  // feature_flag stays the umbrella
  CHECK(flags.profiler_override() == std::optional<bool>(true));
  CHECK(perf_profiler().enabled());
  // A reload of the (absent) file does not switch it back.
  REQUIRE_FALSE(flags.reload());
  CHECK(perf_profiler().enabled());
  CHECK(flags.profiler_enabled());
  perf_profiler().set_enabled(false);
  CHECK_FALSE(flags.profiler_enabled());

  budget_manager().set_enabled(true);
  CHECK(flags.budgets_enabled());
  budget_manager().set_enabled(false);
  CHECK_FALSE(flags.budgets_enabled());

  // Overrides set on the flags drive the subsystems too.
  flags.set_profiler_override(true);
  CHECK(perf_profiler().enabled());
  flags.set_profiler_override(std::nullopt);
  flags.set_budgets_override(std::nullopt);
  CHECK_FALSE(perf_profiler().enabled());
  CHECK_FALSE(budget_manager().enabled());
  CHECK_FALSE(flags.profiler_enabled());
  flags.use_default_config_files();
}

// Spawned by the next test: only perf_profiler() is used, feature_flags()
// never called.
TEST_CASE("first-use child: config only", "[.rt_first_use_child]") {
  REQUIRE(perf_profiler().enabled());
  REQUIRE(budget_manager().enabled());
  // The flags exist and report it, without anyone having asked for them.
  REQUIRE(rt::instances().flags.load() != nullptr);
  REQUIRE(feature_flags().perf_enabled());
  budget_manager().set_enabled(false);
  perf_profiler().set_enabled(false);
}

TEST_CASE("first-use child: bad environment", "[.rt_first_use_env_child]") {
  (void)hooks();  // any singleton: the flags load and report
  REQUIRE(rt::instances().flags.load() != nullptr);
}

TEST_CASE("the config takes effect and is reported without any call", "[runtime][robust]") {
  const TempDir tmp("comfyvn_rt");
  const std::string& dir = tmp.path();
  const std::string config = dir + "/comfyvn.json";
  std::ofstream(config) << R"({"features": {"enable_perf": true}})";
  CHECK(spawn_case("first-use child: config only", {"COMFYVN_CONFIG=" + config},
                   dir + "/err1.txt") == 0);
  CHECK(spawn_case("first-use child: bad environment",
                   {"COMFYVN_CONFIG=" + config, "COMFYVN_ENABLE_PERF=maybe"},
                   dir + "/err2.txt") == 0);
  const std::string err = read_text(dir + "/err2.txt");
  INFO(err);
  CHECK(err.find("COMFYVN_ENABLE_PERF='maybe'") != std::string::npos);
}
