// The runtime: the process-wide objects, what each connects on creation, and
// the one fork handler that keeps every part usable in a forked child.
#include <comfyvn_perf/runtime/singletons.hpp>

#include <catch2/catch.hpp>

#include <comfyvn_perf/perf.hpp>

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
      code = body() ? 0 : 1;
    } catch (...) {
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
      hooks().emit("runtime.child", "t", {});
      hooks().flush();
      // The sampler did not survive fork: the child starts with it off.
      const bool sampler_off = !budget_manager().enabled();
      budget_manager().set_enabled(true);
      const bool sampler_on = budget_manager().enabled();
      budget_manager().set_enabled(false);
      (void)budget_manager().sample_now();
      return found && got.load() == 1 && sampler_off && sampler_on;
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
