// The BudgetManager facade: snapshot and health shapes, the sampler thread,
// event delivery through the installed sink, fork handling.
#include <comfyvn_perf/budget/manager.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>  // waitpid
#include <unistd.h>    // fork, alarm, _exit

#include <atomic>              // counters shared with the sampler thread
#include <chrono>              // waits
#include <condition_variable>  // waiting for samples
#include <stdexcept>           // a throwing provider
#include <string>              // ids
#include <thread>              // sleep_for

#include "budget_fixture.hpp"

using namespace budget_test;

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

TEST_CASE("snapshot and health have the contract's shapes and no side effects", "[budget][shape]") {
  Fixture f;
  f.limits({{"max_running_jobs", 1}, {"lazy_asset_target_mb", 100}});
  REQUIRE(f.mgr.register_job("a").ok());
  REQUIRE(f.mgr.start_job("a").ok());
  REQUIRE(f.mgr.register_job("b").ok());
  REQUIRE(f.mgr.register_asset("tex", 60).ok());
  {
    AssetPin pin = f.mgr.pin_asset("tex");
    REQUIRE(f.mgr.register_asset("mesh", 60).ok());  // tex is pinned: over target
  }
  const auto snap = f.mgr.snapshot();
  for (const char* k :
       {"limits", "metrics", "jobs", "queued_ids", "delayed_ids", "running_ids", "assets"}) {
    INFO(k);
    CHECK(snap.contains(k));
  }
  CHECK(ids(snap, "running_ids") == std::vector<std::string>{"a"});
  CHECK(ids(snap, "delayed_ids") == std::vector<std::string>{"b"});
  const auto h = f.mgr.health();
  for (const char* k : {"limits", "queue", "assets", "last_evaluation", "metrics"}) {
    INFO(k);
    CHECK(h.contains(k));
  }
  for (const char* k : {"queued", "delayed", "running", "seen_jobs"}) {
    INFO(k);
    CHECK(h.at("queue").as_object().contains(k));
  }
  for (const char* k : {"registered", "loaded", "loaded_mb"}) {
    INFO(k);
    CHECK(h.at("assets").as_object().contains(k));
  }
  CHECK(h.at("queue").at("running").to_number<int>() == 1);
  CHECK(h.at("queue").at("delayed").to_number<int>() == 1);
  CHECK(h.at("assets").at("registered").to_number<int>() == 2);
  CHECK(h.at("assets").at("loaded_mb").to_number<double>() == 120);  // reading does not trim
  f.take_events();
  for (int i = 0; i < 3; ++i) {
    CHECK(f.mgr.snapshot() == snap);
    CHECK(f.mgr.health() == h);
  }
  CHECK(f.take_events().empty());
}

TEST_CASE("the sampler thread: on starts it, off joins it", "[budget][sampler]") {
  struct Counting : MetricsProvider {
    std::mutex mu;
    std::condition_variable cv;
    int samples = 0;
    Metrics sample() override {
      std::lock_guard<std::mutex> lk(mu);
      ++samples;
      cv.notify_all();
      Metrics m;
      m.cpu_percent = 5;
      return m;
    }
    bool wait_for_samples(int n) {
      std::unique_lock<std::mutex> lk(mu);
      return cv.wait_for(lk, std::chrono::seconds(30), [&] { return samples >= n; });
    }
  };
  BudgetManager mgr;
  auto provider = std::make_shared<Counting>();
  mgr.set_metrics_provider(provider);
  REQUIRE(mgr.configure(json::object{{"evaluation_interval", 0.1}}).ok());
  CHECK_FALSE(mgr.enabled());
  for (int round = 0; round < 3; ++round) {
    mgr.set_enabled(true);
    mgr.set_enabled(true);  // idempotent
    CHECK(mgr.enabled());
    int before = 0;
    {
      std::lock_guard<std::mutex> lk(provider->mu);
      before = provider->samples;
    }
    REQUIRE(provider->wait_for_samples(before + 2));
    mgr.set_enabled(false);
    CHECK_FALSE(mgr.enabled());
    int stopped = 0;
    {
      std::lock_guard<std::mutex> lk(provider->mu);
      stopped = provider->samples;
    }
    // Joined: nothing samples any more.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::lock_guard<std::mutex> lk(provider->mu);
    CHECK(provider->samples == stopped);
  }
  CHECK(mgr.metrics().cpu_percent == 5);
  CHECK(mgr.health().at("last_evaluation").to_number<double>() > 0);
}

TEST_CASE("a provider that throws is counted, not fatal", "[budget][sampler]") {
  struct Throwing : MetricsProvider {
    Metrics sample() override { throw std::runtime_error("boom"); }
  };
  BudgetManager mgr;
  mgr.set_metrics_provider(std::make_shared<Throwing>());
  REQUIRE_NOTHROW(mgr.sample_now());
  CHECK(mgr.health().at("sampler_errors").to_number<int>() == 1);
  mgr.set_metrics_provider(nullptr);  // back to the system provider
  REQUIRE_NOTHROW(mgr.sample_now());
  CHECK(mgr.metrics().mem_total_mb > 0);
}

// ---------------------------------------------------------------------------
// Events and fork, on an instance of the test's own
// ---------------------------------------------------------------------------

TEST_CASE("events reach the sink only while it is wanted", "[budget][events]") {
  BudgetManager mgr;
  mgr.set_metrics_provider(std::make_shared<ManualMetricsProvider>());
  std::vector<std::string> got;
  bool listening = false;
  int asked = 0;
  mgr.set_event_sink([&got](std::string_view t, json::object) { got.emplace_back(t); },
                     [&] {
                       ++asked;
                       return listening;
                     });
  REQUIRE(mgr.register_job("a").ok());
  CHECK(got.empty());
  CHECK(asked == 1);
  listening = true;
  REQUIRE(mgr.start_job("a").ok());
  REQUIRE(mgr.register_asset("tex", 1).ok());
  CHECK(got == std::vector<std::string>{std::string(kBudgetJobStarted),
                                        std::string(kBudgetAssetRegistered)});
  // Without a predicate every event is wanted; without a sink none is built.
  mgr.set_event_sink([&got](std::string_view t, json::object) { got.emplace_back(t); });
  REQUIRE(mgr.finish_job("a").ok());
  CHECK(got.back() == "job.finished");
  mgr.set_event_sink(nullptr);
  got.clear();
  REQUIRE(mgr.configure(json::object{{"max_running_jobs", 1}}).ok());
  REQUIRE(mgr.register_job("b").ok());
  CHECK(got.empty());
  CHECK(kBudgetEvent == "on_perf_budget_state");
}

TEST_CASE("a throwing sink or predicate never undoes the change", "[budget][events]") {
  BudgetManager mgr;
  mgr.set_event_sink([](std::string_view, json::object) { throw std::runtime_error("sink"); },
                     []() -> bool { throw std::runtime_error("predicate"); });
  REQUIRE(mgr.register_job("a").ok());
  REQUIRE(mgr.register_asset("x", 1).ok());
  CHECK(ids(mgr.snapshot(), "queued_ids") == std::vector<std::string>{"a"});
}

TEST_CASE("fork members: a child of a busy instance starts unlocked and stopped",
          "[budget][fork]") {
  BudgetManager mgr;
  mgr.set_metrics_provider(std::make_shared<ManualMetricsProvider>());
  REQUIRE(mgr.configure(json::object{{"evaluation_interval", 0.1}}).ok());
  mgr.set_enabled(true);
  for (int i = 0; i < 5; ++i) {
    mgr.fork_prepare();
    const pid_t pid = fork();
    if (pid == 0) {
      mgr.fork_child();
      alarm(20);  // a lock inherited in the held state would hang here
      const bool ok = !mgr.enabled() && mgr.register_job(numbered("child-", i)).ok();
      mgr.set_enabled(true);  // a new sampler thread in the child
      const bool restarted = mgr.enabled();
      mgr.set_enabled(false);
      _exit(ok && restarted ? 0 : 1);
    }
    mgr.fork_parent();
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(mgr.enabled());
  mgr.set_enabled(false);
}

TEST_CASE("the sampler may be stopped from its own thread", "[budget][sampler]") {
  BudgetManager mgr;
  auto provider = std::make_shared<ManualMetricsProvider>();
  mgr.set_metrics_provider(provider);
  Metrics hot;
  hot.mem_used_mb = 1000;
  provider->set(hot);
  REQUIRE(mgr.configure(json::object{{"evaluation_interval", 0.1}, {"max_mem_mb", 10}}).ok());
  std::atomic<bool> called{false};
  // A pressure eviction runs this handler on the sampler thread.
  REQUIRE(mgr.register_asset("big", 5, {},
                             [&](const std::string&, const json::object&, EvictionCause) {
                               mgr.set_enabled(true);  // a no-op there
                               mgr.set_enabled(false);
                               called = true;
                             })
              .ok());
  mgr.set_enabled(true);
  for (int i = 0; i < 300 && !called; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(called);
  for (int i = 0; i < 300 && mgr.enabled(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(mgr.enabled());
  mgr.set_enabled(true);  // reaps the finished thread and starts anew
  CHECK(mgr.enabled());
  mgr.set_enabled(false);
}
