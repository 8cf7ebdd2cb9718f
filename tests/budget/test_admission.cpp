// The admission queue: validation, admission order and reason strings, the
// queue bound, infeasible jobs, the start re-check, starvation and
// hysteresis (with an injected clock and metrics), history. Through the
// BudgetManager as callers use it, and on its own at the end.
#include <comfyvn_perf/budget/admission.hpp>

#include <catch2/catch.hpp>

#include <string>  // ids
#include <vector>  // id lists

#include "budget_fixture.hpp"

using namespace budget_test;

// ---------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------

TEST_CASE("register_job: field checks name the field", "[budget][jobs]") {
  Fixture f;
  CHECK(f.mgr.register_job("").detail.find("job_id") != std::string::npos);
  CHECK(f.mgr.register_job(std::string(129, 'x')).error == BudgetError::invalid);
  CHECK(f.mgr.register_job(std::string(128, 'x')).ok());
  // 128 characters of two bytes each is still 128 characters.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "\xC3\xA9";
  CHECK(f.mgr.register_job(wide).ok());
  CHECK(f.mgr.register_job("t", "").detail.find("job_type") != std::string::npos);
  CHECK(f.mgr.register_job("t", std::string(129, 't')).error == BudgetError::invalid);

  const std::pair<json::object, const char*> bad[] = {
      {{{"perf", "fast"}}, "payload.perf"},
      {{{"perf", {{"ram_mb", "lots"}}}}, "payload.perf.ram_mb"},
      {{{"perf", {{"cpu_percent", -1}}}}, "payload.perf.cpu_percent"},
      {{{"perf", {{"vram_mb", true}}}}, "payload.perf.vram_mb"},
      {{{"perf", {{"vram_mb", nullptr}}}}, "payload.perf.vram_mb"},
  };
  for (const auto& [payload, field] : bad) {
    INFO(json::serialize(payload));
    const BudgetResult r = f.mgr.register_job("h", "generic", payload);
    CHECK(r.error == BudgetError::invalid);
    CHECK(r.detail.find(field) != std::string::npos);
  }
  CHECK(!find_job(f.mgr.snapshot(), "h"));
  // Other payload keys are the caller's business.
  CHECK(f.mgr.register_job("h", "render", {{"scene", "intro"}, {"perf", {{"ram_mb", 10}}}}).ok());
}

TEST_CASE("register_job: body and public job shape", "[budget][jobs]") {
  Fixture f;
  f.now = 1234.5;
  const BudgetResult r = f.mgr.register_job("render-01", "render", hints(10, 1024, 2048));
  REQUIRE(r.ok());
  for (const char* k : {"job", "queue_state", "reason", "metrics", "limits"}) {
    INFO(k);
    CHECK(r.body.contains(k));
  }
  CHECK(r.body.at("queue_state").as_string() == "queued");
  CHECK(r.body.at("reason").is_null());
  CHECK(r.body.at("limits").as_object().size() == 7);
  CHECK(r.body.at("metrics").as_object().contains("cpu_percent"));
  const auto& job = r.body.at("job").as_object();
  for (const char* k : {"id", "type", "status", "reason", "submitted_at", "last_transition",
                        "requirements", "blockers", "infeasible"}) {
    INFO(k);
    CHECK(job.contains(k));
  }
  CHECK(job.at("id").as_string() == "render-01");
  CHECK(job.at("type").as_string() == "render");
  CHECK(job.at("submitted_at").to_number<double>() == 1234.5);
  CHECK(job.at("requirements").at("cpu_percent").to_number<double>() == 10);
  CHECK(job.at("requirements").at("ram_mb").to_number<double>() == 1024);
  CHECK(job.at("requirements").at("vram_mb").to_number<double>() == 2048);
  CHECK(job.at("blockers").as_array().empty());
  CHECK(f.mgr.register_job("plain").body.at("job").at("type").as_string() == "generic");
}

TEST_CASE("register_job: duplicate ids", "[budget][jobs]") {
  Fixture f;
  REQUIRE(f.mgr.register_job("a").ok());
  const BudgetResult dup = f.mgr.register_job("a");
  CHECK(dup.error == BudgetError::conflict);
  CHECK(dup.detail.find("already registered") != std::string::npos);
  REQUIRE(f.mgr.start_job("a").ok());
  CHECK(f.mgr.register_job("a").error == BudgetError::conflict);
  REQUIRE(f.mgr.finish_job("a").ok());
  // A finished id may be used again; the old record gives way.
  const BudgetResult again = f.mgr.register_job("a", "second");
  REQUIRE(again.ok());
  const auto snap = f.mgr.snapshot();
  int count = 0;
  for (const auto& j : snap.at("jobs").as_array()) count += j.at("id").as_string() == "a";
  CHECK(count == 1);
  CHECK(find_job(snap, "a")->at("type").as_string() == "second");
  CHECK(f.mgr.health().at("queue").at("seen_jobs").to_number<int>() == 2);
}

// ---------------------------------------------------------------------------
// Reference scenario 1 and reason strings
// ---------------------------------------------------------------------------

TEST_CASE("reference: a job delayed by the job cap runs after the running job finishes",
          "[budget][jobs][reference]") {
  Fixture f;
  f.limits({{"max_running_jobs", 1}});
  f.take_events();
  REQUIRE(f.mgr.register_job("first").body.at("queue_state").as_string() == "queued");
  REQUIRE(f.mgr.start_job("first").ok());

  const BudgetResult second = f.mgr.register_job("second");
  REQUIRE(second.ok());
  CHECK(second.body.at("queue_state").as_string() == "delayed");
  CHECK(second.body.at("reason").as_string() == "job cap reached");
  const auto& blockers = second.body.at("job").at("blockers").as_array();
  REQUIRE(blockers.size() == 1);
  CHECK(blockers[0].at("resource").as_string() == "jobs");
  CHECK(blockers[0].at("in_use").to_number<int>() == 1);
  CHECK(blockers[0].at("limit").to_number<int>() == 1);

  const BudgetResult early = f.mgr.start_job("second");
  CHECK(early.error == BudgetError::conflict);
  CHECK(early.detail == "job cap reached");
  CHECK(early.body.at("reason").as_string() == "job cap reached");
  CHECK(early.body.at("job").at("status").as_string() == "delayed");

  const BudgetResult done = f.mgr.finish_job("first");
  REQUIRE(done.ok());
  CHECK(status_of(done) == "complete");
  // Finishing re-evaluates at once: "second" is queued without a refresh.
  auto snap = f.mgr.snapshot();
  CHECK(ids(snap, "queued_ids") == std::vector<std::string>{"second"});
  CHECK(ids(snap, "delayed_ids").empty());
  const auto refreshed = f.events_named("queue.refreshed");
  REQUIRE_FALSE(refreshed.empty());
  const auto& last = refreshed.back().payload;
  CHECK(last.at("cause").as_string() == "finish");
  CHECK(last.at("promoted").to_number<int>() == 1);
  CHECK(last.at("transitions").at(0).at("queue_state").as_string() == "queued");

  const BudgetResult run = f.mgr.start_job("second");
  REQUIRE(run.ok());
  CHECK(status_of(run) == "running");
  CHECK(ids(f.mgr.snapshot(), "running_ids") == std::vector<std::string>{"second"});
  CHECK(f.events_named("job.started").size() == 2);
  CHECK(f.events_named("job.finished").size() == 1);
  CHECK(f.events_named("job.registered").size() == 2);
}

TEST_CASE("reason strings, word for word", "[budget][jobs][reasons]") {
  Fixture f;
  SECTION("cpu: usage + hint / limit, one decimal") {
    f.limits({{"max_cpu_percent", 70}});
    f.usage(80);
    const BudgetResult r = f.mgr.register_job("c", "generic", hints(5));
    CHECK(r.body.at("reason").as_string() == "cpu 85.0%/70.0%");
    const auto& b = r.body.at("job").at("blockers").at(0);
    CHECK(b.at("resource").as_string() == "cpu");
    CHECK(b.at("requested").to_number<double>() == 5);
    CHECK(b.at("in_use").to_number<double>() == 80);
    CHECK(b.at("limit").to_number<double>() == 70);
    f.usage(12.34);
    f.limits({{"max_cpu_percent", 12.5}});
    CHECK(f.mgr.register_job("c2", "generic", hints(0.5)).body.at("reason").as_string() ==
          "cpu 12.8%/12.5%");
  }
  SECTION("ram: whole MB") {
    f.limits({{"max_mem_mb", 600}});
    f.usage(0, 500);
    CHECK(f.mgr.register_job("r", "generic", hints(0, 400)).body.at("reason").as_string() ==
          "ram 900MB/600MB");
  }
  SECTION("vram: the first GPU") {
    f.limits({{"max_vram_mb", 1000}});
    f.usage(0, 0, 700);
    CHECK(f.mgr.register_job("v", "generic", hints(0, 0, 500)).body.at("reason").as_string() ==
          "vram 1200MB/1000MB");
  }
  SECTION("job cap") {
    f.limits({{"max_running_jobs", 1}});
    REQUIRE(f.mgr.register_job("a").ok());
    CHECK(f.mgr.register_job("b").body.at("reason").as_string() == "job cap reached");
  }
  SECTION("queue capacity") {
    f.limits({{"max_queue_depth", 1}});
    REQUIRE(f.mgr.register_job("a").ok());
    const BudgetResult r = f.mgr.register_job("b");
    CHECK(r.error == BudgetError::queue_full);
    CHECK(r.detail == "queue capacity reached");
  }
  SECTION("infeasible") {
    f.limits({{"max_mem_mb", 600}});
    const BudgetResult r = f.mgr.register_job("big", "generic", hints(0, 900));
    CHECK(r.body.at("reason").as_string() ==
          "ram 900MB/600MB: can never run under the current limits");
    CHECK(r.body.at("job").at("infeasible").as_bool());
  }
  SECTION("the first failing check gives the reason; every failure is a blocker") {
    f.limits({{"max_running_jobs", 1},
              {"max_cpu_percent", 50},
              {"max_mem_mb", 100},
              {"max_vram_mb", 100}});
    f.usage(0, 0, 0);
    REQUIRE(f.mgr.register_job("slot").body.at("queue_state").as_string() == "queued");
    f.usage(60, 200, 300);
    const BudgetResult r = f.mgr.register_job("b", "generic", hints(1, 1, 1));
    CHECK(r.body.at("reason").as_string() == "job cap reached");
    std::vector<std::string> resources;
    for (const auto& b : r.body.at("job").at("blockers").as_array())
      resources.emplace_back(b.at("resource").as_string());
    CHECK(resources == std::vector<std::string>{"jobs", "cpu", "ram", "vram"});
    REQUIRE(f.mgr.finish_job("slot").ok());  // re-evaluates "b" at once
    CHECK(find_job(f.mgr.snapshot(), "b")->at("reason").as_string() == "cpu 61.0%/50.0%");
    f.usage(10, 200, 300);
    CHECK(find_job(f.mgr.snapshot(), "b")->at("reason").as_string() == "ram 201MB/100MB");
    f.usage(10, 10, 300);
    CHECK(find_job(f.mgr.snapshot(), "b")->at("reason").as_string() == "vram 301MB/100MB");
    f.usage(10, 10, 10);
    const auto b = find_job(f.mgr.snapshot(), "b");
    CHECK(b->at("status").as_string() == "queued");
    CHECK(b->at("reason").is_null());
    CHECK(b->at("blockers").as_array().empty());
  }
  SECTION("limits of 0 check nothing") {
    f.limits({{"max_cpu_percent", 0}, {"max_running_jobs", 0}});
    f.usage(100, 1e6, 1e6);
    for (int i = 0; i < 10; ++i) {
      CHECK(f.mgr.register_job(numbered("z", i), "generic", hints(100, 1e6, 1e6))
                .body.at("queue_state")
                .as_string() == "queued");
    }
  }
}

TEST_CASE("register past max_queue_depth is refused and stores nothing", "[budget][jobs]") {
  Fixture f;
  f.limits({{"max_queue_depth", 3}, {"max_running_jobs", 0}});
  for (const char* id : {"a", "b", "c"}) REQUIRE(f.mgr.register_job(id).ok());
  f.take_events();
  const BudgetResult r = f.mgr.register_job("d");
  CHECK(r.error == BudgetError::queue_full);
  CHECK(r.body.at("reason").as_string() == "queue capacity reached");
  const auto snap = f.mgr.snapshot();
  CHECK(!find_job(snap, "d"));
  CHECK(snap.at("jobs").as_array().size() == 3);
  CHECK(f.mgr.health().at("queue").at("seen_jobs").to_number<int>() == 3);
  CHECK(f.take_events().empty());
  // Delayed jobs count as well; running ones have left the queue.
  REQUIRE(f.mgr.start_job("a").ok());
  CHECK(f.mgr.register_job("d").ok());
  CHECK(f.mgr.register_job("e").error == BudgetError::queue_full);
  // A refused id was never stored, so it may be registered later.
  REQUIRE(f.mgr.finish_job("b").ok());
  CHECK(f.mgr.register_job("e").ok());
}

TEST_CASE("infeasible jobs are flagged, refused at start, re-checked when limits change",
          "[budget][jobs]") {
  Fixture f;
  f.limits({{"max_mem_mb", 600}, {"max_cpu_percent", 50}});
  const BudgetResult r = f.mgr.register_job("big", "render", hints(0, 900));
  CHECK(r.body.at("queue_state").as_string() == "delayed");
  CHECK(r.body.at("job").at("infeasible").as_bool());
  const BudgetResult cpu = f.mgr.register_job("hot", "render", hints(80));
  CHECK(cpu.body.at("reason").as_string() ==
        "cpu 80.0%/50.0%: can never run under the current limits");
  CHECK(f.mgr.health().at("queue").at("infeasible").to_number<int>() == 2);

  const BudgetResult start = f.mgr.start_job("big");
  CHECK(start.error == BudgetError::conflict);
  CHECK(start.detail.find("can never run") != std::string::npos);

  // Refreshing does not change an infeasible verdict...
  f.mgr.refresh_queue();
  CHECK(find_job(f.mgr.snapshot(), "big")->at("infeasible").as_bool());
  // ...raising the limit does, at once.
  f.limits({{"max_mem_mb", 1000}});
  const auto big = find_job(f.mgr.snapshot(), "big");
  CHECK(big->at("status").as_string() == "queued");
  CHECK_FALSE(big->at("infeasible").as_bool());
  CHECK(f.mgr.health().at("queue").at("infeasible").to_number<int>() == 1);
  // Infeasible jobs never hold other jobs back.
  f.now += 3600;
  REQUIRE(f.mgr.start_job("big").ok());
  CHECK(f.mgr.register_job("small", "generic", hints(1)).body.at("queue_state").as_string() ==
        "queued");
}

TEST_CASE("start_job re-checks admission", "[budget][jobs]") {
  Fixture f;
  f.usage(10);
  REQUIRE(f.mgr.register_job("j", "generic", hints(10)).body.at("queue_state").as_string() ==
          "queued");
  f.usage(90);
  f.take_events();
  const BudgetResult r = f.mgr.start_job("j");
  CHECK(r.error == BudgetError::conflict);
  CHECK(r.detail == "cpu 100.0%/85.0%");
  CHECK(r.body.at("job").at("status").as_string() == "delayed");
  CHECK(ids(f.mgr.snapshot(), "delayed_ids") == std::vector<std::string>{"j"});
  const auto ev = f.events_named("queue.refreshed");
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload.at("cause").as_string() == "start");
  CHECK(f.events_named("job.started").empty());

  // Usage drops: the sampler's pass queues it again (20 + 10 is below
  // 85 - 5, the margin of a job delayed for CPU), and it starts.
  f.usage(20);
  CHECK(ids(f.mgr.snapshot(), "queued_ids") == std::vector<std::string>{"j"});
  const BudgetResult ok = f.mgr.start_job("j");
  REQUIRE(ok.ok());
  CHECK(status_of(ok) == "running");

  CHECK(f.mgr.start_job("j").error == BudgetError::conflict);  // already running
  CHECK(f.mgr.start_job("nope").error == BudgetError::not_found);
  REQUIRE(f.mgr.finish_job("j").ok());
  CHECK(f.mgr.start_job("j").detail.find("already finished") != std::string::npos);
}

TEST_CASE("finish_job: final statuses, reasons, errors", "[budget][jobs]") {
  Fixture f;
  f.limits({{"max_running_jobs", 0}});
  for (const char* id : {"a", "b", "c", "d"}) REQUIRE(f.mgr.register_job(id).ok());
  REQUIRE(f.mgr.start_job("a").ok());
  const BudgetResult a = f.mgr.finish_job("a");
  CHECK(status_of(a) == "complete");
  CHECK(reason_of(a) == "<null>");
  const BudgetResult b = f.mgr.finish_job("b", "canceled", std::string("user request"));
  CHECK(status_of(b) == "canceled");  // never started: cancelled from the queue
  CHECK(reason_of(b) == "user request");
  REQUIRE(f.mgr.start_job("c").ok());
  const BudgetResult c = f.mgr.finish_job("c", "error", std::string("out of memory"));
  CHECK(status_of(c) == "error");
  CHECK(reason_of(c) == "out of memory");

  const BudgetResult bad = f.mgr.finish_job("d", "done");
  CHECK(bad.error == BudgetError::invalid);
  CHECK(bad.detail.find("status") != std::string::npos);
  CHECK(find_job(f.mgr.snapshot(), "d")->at("status").as_string() == "queued");
  CHECK(f.mgr.finish_job("zzz").error == BudgetError::not_found);
  CHECK(f.mgr.finish_job("a").error == BudgetError::conflict);
  const auto snap = f.mgr.snapshot();
  CHECK(ids(snap, "running_ids").empty());
  CHECK(ids(snap, "queued_ids") == std::vector<std::string>{"d"});
}

TEST_CASE("finished jobs are kept up to a bound; seen_jobs counts all", "[budget][jobs]") {
  Fixture f;
  f.limits({{"max_running_jobs", 0}});
  for (int i = 0; i < 1100; ++i) {
    const std::string id = numbered("j", i);
    REQUIRE(f.mgr.register_job(id).ok());
    REQUIRE(f.mgr.finish_job(id).ok());
  }
  REQUIRE(f.mgr.register_job("live").ok());
  // snapshot() lists the first 256 jobs only; one page of 10,000 shows them all.
  auto snap = f.mgr.snapshot(kSnapshotMaxLimit, 0);
  CHECK(snap.at("jobs_total").to_number<int>() == 1024 + 1);
  const auto& jobs = snap.at("jobs").as_array();
  CHECK(jobs.size() == 1024 + 1);
  CHECK(jobs.front().at("id").as_string() == "j76");  // the oldest were dropped
  CHECK(jobs.back().at("id").as_string() == "live");
  CHECK(f.mgr.health().at("queue").at("seen_jobs").to_number<int>() == 1101);
  CHECK(f.mgr.finish_job("j0").error == BudgetError::not_found);

  BudgetPolicy p;
  p.finished_jobs_kept = 5;
  REQUIRE(f.mgr.set_policy(p).ok());
  snap = f.mgr.snapshot();
  CHECK(snap.at("jobs").as_array().size() == 6);
  CHECK(find_job(snap, "j1099").has_value());
  CHECK(find_job(snap, "live").has_value());
  p.starvation_after = -1;
  CHECK(f.mgr.set_policy(p).error == BudgetError::invalid);
}

// ---------------------------------------------------------------------------
// Re-evaluation, starvation, hysteresis
// ---------------------------------------------------------------------------

TEST_CASE("refresh_queue returns a transition per delayed job", "[budget][jobs]") {
  Fixture f;
  f.limits({{"max_cpu_percent", 50}, {"max_running_jobs", 0}});
  f.usage(45);
  REQUIRE(f.mgr.register_job("ok", "generic", hints(1)).ok());
  REQUIRE(f.mgr.register_job("w1", "generic", hints(10)).ok());
  REQUIRE(f.mgr.register_job("w2", "generic", hints(25)).ok());
  CHECK(f.mgr.refresh_queue().size() == 2);
  f.take_events();
  // The sample changes but nothing re-evaluates until asked (or the sampler
  // thread runs): metrics are published without evaluation here.
  Metrics m;
  m.cpu_percent = 25;
  f.provider->set(m);
  const json::array t = f.mgr.refresh_queue();
  CHECK(t.size() == 2);  // the 45 % sample is still the latest one
  f.mgr.sample_now();    // the sampler's own pass promotes what fits
  const auto ev = f.events_named("queue.refreshed");
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].payload.at("cause").as_string() == "manual");
  CHECK(ev[1].payload.at("cause").as_string() == "interval");
  // w1: 25 + 10 <= 50 - 5 (hysteresis); w2: 25 + 25 > 45.
  CHECK(ev[1].payload.at("promoted").to_number<int>() == 1);
  const auto snap = f.mgr.snapshot();
  CHECK(ids(snap, "queued_ids") == std::vector<std::string>{"ok", "w1"});
  CHECK(ids(snap, "delayed_ids") == std::vector<std::string>{"w2"});
  const json::array again = f.mgr.refresh_queue();
  REQUIRE(again.size() == 1);
  CHECK(again[0].at("job").at("id").as_string() == "w2");
  CHECK(again[0].at("queue_state").as_string() == "delayed");
  CHECK(again[0].at("reason").as_string() == "cpu 50.0%/50.0%");
  CHECK(f.mgr.health().at("last_evaluation").to_number<double>() == f.now);
}

TEST_CASE("starvation: a waiting large job is not overtaken forever",
          "[budget][jobs][starvation]") {
  Fixture f;
  BudgetPolicy p;
  p.starvation_after = 30;
  p.cpu_release_margin = 0;  // isolate the starvation policy
  REQUIRE(f.mgr.set_policy(p).ok());
  f.limits({{"max_cpu_percent", 50}, {"max_running_jobs", 0}});
  f.usage(30);
  REQUIRE(f.mgr.register_job("small-0", "generic", hints(10)).ok());
  REQUIRE(f.mgr.start_job("small-0").ok());
  const BudgetResult big = f.mgr.register_job("big", "render", hints(30));
  REQUIRE(big.body.at("reason").as_string() == "cpu 60.0%/50.0%");

  // Before the threshold small jobs may overtake.
  f.now += 29;
  CHECK(f.mgr.register_job("small-1", "generic", hints(10)).body.at("queue_state").as_string() ==
        "queued");

  // From the threshold on, no newer job is admitted while "big" waits.
  f.now += 1;
  const BudgetResult held = f.mgr.register_job("small-2", "generic", hints(10));
  CHECK(held.body.at("queue_state").as_string() == "delayed");
  CHECK(held.body.at("reason").as_string() == "held for starved job big");
  const auto& b = held.body.at("job").at("blockers").at(0);
  CHECK(b.at("resource").as_string() == "starvation_guard");
  CHECK(b.at("behind").as_string() == "big");
  // A queued job registered after "big" may not start either...
  const BudgetResult s1 = f.mgr.start_job("small-1");
  CHECK(s1.error == BudgetError::conflict);
  CHECK(s1.detail == "held for starved job big");
  // ...and the periodic evaluation keeps them waiting.
  f.mgr.refresh_queue();
  CHECK(ids(f.mgr.snapshot(), "delayed_ids") ==
        std::vector<std::string>{"big", "small-1", "small-2"});

  // The running job finishes. The latest sample still shows its load, so
  // the guard keeps holding until a sample says whether room was freed.
  REQUIRE(f.mgr.finish_job("small-0").ok());
  auto snap = f.mgr.snapshot();
  CHECK(ids(snap, "delayed_ids") == std::vector<std::string>{"big", "small-1", "small-2"});
  CHECK(find_job(snap, "small-1")->at("reason").as_string() == "held for starved job big");
  // Usage drops: "big" goes first, and the guard lifts in the same pass.
  f.usage(15);
  snap = f.mgr.snapshot();
  CHECK(find_job(snap, "big")->at("status").as_string() == "queued");
  CHECK(find_job(snap, "small-1")->at("status").as_string() == "queued");
  CHECK(find_job(snap, "small-2")->at("status").as_string() == "queued");
  CHECK(f.mgr.start_job("big").ok());
}

TEST_CASE("starvation guard only holds while running jobs can make room",
          "[budget][jobs][starvation]") {
  Fixture f;
  f.limits({{"max_cpu_percent", 50}, {"max_running_jobs", 0}});
  f.usage(40);  // load from outside the manager
  REQUIRE(f.mgr.register_job("big", "render", hints(30)).body.at("queue_state").as_string() ==
          "delayed");
  f.now += 3600;
  // Nothing of ours runs, so holding the door would not help "big".
  CHECK(f.mgr.register_job("small", "generic", hints(5)).body.at("queue_state").as_string() ==
        "queued");
  REQUIRE(f.mgr.start_job("small").ok());
  // Now something runs, and newer jobs wait behind "big".
  CHECK(f.mgr.register_job("small-2", "generic", hints(5)).body.at("reason").as_string() ==
        "held for starved job big");
  // It finishes; until the next sample its load may still be in the figures.
  REQUIRE(f.mgr.finish_job("small").ok());
  CHECK(find_job(f.mgr.snapshot(), "small-2")->at("status").as_string() == "delayed");
  // The next sample shows the load is not ours: the guard lets go.
  f.usage(40);
  CHECK(find_job(f.mgr.snapshot(), "small-2")->at("status").as_string() == "queued");
  CHECK(find_job(f.mgr.snapshot(), "big")->at("status").as_string() == "delayed");
}

TEST_CASE("hysteresis: a job delayed for CPU needs the margin to be released",
          "[budget][jobs][hysteresis]") {
  Fixture f;
  f.limits({{"max_cpu_percent", 80}, {"max_running_jobs", 0}});
  f.usage(78);
  const BudgetResult r = f.mgr.register_job("j", "generic", hints(5));
  REQUIRE(r.body.at("reason").as_string() == "cpu 83.0%/80.0%");

  // Just under the limit: not released (default margin 5 points).
  f.usage(74);
  auto j = find_job(f.mgr.snapshot(), "j");
  CHECK(j->at("status").as_string() == "delayed");
  CHECK(j->at("reason").as_string() == "cpu 79.0%/80.0%");
  CHECK(j->at("blockers").at(0).at("release_below").to_number<double>() == 75.0);
  CHECK(f.mgr.start_job("j").error == BudgetError::conflict);
  // Oscillating around the limit never releases it.
  for (int i = 0; i < 10; ++i) {
    f.usage(i % 2 ? 76 : 71);
    CHECK(find_job(f.mgr.snapshot(), "j")->at("status").as_string() == "delayed");
  }
  // A new job at the same usage is judged without the margin.
  f.usage(72);
  CHECK(find_job(f.mgr.snapshot(), "j")->at("status").as_string() == "delayed");
  CHECK(f.mgr.register_job("fresh", "generic", hints(5)).body.at("queue_state").as_string() ==
        "queued");
  // Below limit - margin: released.
  f.usage(70);
  CHECK(find_job(f.mgr.snapshot(), "j")->at("status").as_string() == "queued");

  SECTION("the margin never exceeds half the headroom the hint leaves") {
    f.usage(10);
    REQUIRE(f.mgr.register_job("wide", "generic", hints(78)).body.at("queue_state").as_string() ==
            "delayed");
    // Limit 80, hint 78: margin min(5, (80 - 78) / 2) = 1, release at <= 79.
    f.usage(1.5);
    CHECK(find_job(f.mgr.snapshot(), "wide")->at("status").as_string() == "delayed");
    f.usage(1.0);
    CHECK(find_job(f.mgr.snapshot(), "wide")->at("status").as_string() == "queued");
  }
}

// ---------------------------------------------------------------------------
// AdmissionQueue on its own
// ---------------------------------------------------------------------------

namespace {

// A queue driven without a manager: limits, policy and the sample are the
// test's own, and events go to a local list.
struct Queue {
  AdmissionQueue q;
  BudgetLimits limits;
  BudgetPolicy policy;
  Metrics metrics;
  double now = 100;
  BudgetEventSink sink;
  BudgetEventInterest interest;
  std::vector<std::string> triggers;

  Queue() {
    sink = [this](std::string_view t, json::object) { triggers.emplace_back(t); };
  }
  AdmissionContext ctx() const { return {limits, policy, metrics, now, now}; }
  BudgetEvents events() { return BudgetEvents(&sink, &interest); }
  BudgetResult add(const std::string& id, double cpu = 0) {
    BudgetEvents ev = events();
    JobRequirements req;
    req.cpu_percent = cpu;
    BudgetResult r = q.register_job(ctx(), id, "generic", req, ev);
    ev.deliver();
    return r;
  }
};

}  // namespace

TEST_CASE("AdmissionQueue: states, counts and events without a manager", "[budget][admission]") {
  Queue t;
  t.limits.max_running_jobs = 1;
  REQUIRE(t.add("a").body.at("queue_state").as_string() == "queued");
  REQUIRE(t.add("b").body.at("queue_state").as_string() == "delayed");
  CHECK(t.q.queued() == 1);
  CHECK(t.q.delayed() == 1);
  CHECK(t.q.find("b")->reason == std::optional<std::string>("job cap reached"));
  CHECK(t.q.find("zzz") == nullptr);

  BudgetEvents ev = t.events();
  REQUIRE(t.q.start_job(t.ctx(), "a", ev).ok());
  t.now = 105;
  REQUIRE(t.q.finish_job(t.ctx(), "a", JobStatus::complete, std::nullopt, ev).ok());
  ev.deliver();
  // Finishing re-evaluated "b" at once, with the call's time.
  CHECK(t.q.find("b")->status == JobStatus::queued);
  CHECK(t.q.last_evaluation() == 105);
  CHECK(t.triggers == std::vector<std::string>{"job.registered", "job.registered", "job.started",
                                               "job.finished", "queue.refreshed"});

  std::vector<std::string> order;
  for (const BudgetJob* j : t.q.jobs_in_order()) order.push_back(j->id);
  CHECK(order == std::vector<std::string>{"a", "b"});
  BudgetHealth h;
  t.q.fill(h);
  CHECK(h.queued == 1);
  CHECK(h.seen_jobs == 2);
  CHECK(h.finished_kept == 1);
  t.q.trim_history(0);
  CHECK(t.q.find("a") == nullptr);
  CHECK(t.q.find("b") != nullptr);  // active jobs are never trimmed
}

TEST_CASE("AdmissionQueue: no listener, no payloads", "[budget][admission]") {
  Queue t;
  int asked = 0;
  t.interest = [&asked] {
    ++asked;
    return false;
  };
  t.add("a");
  t.add("b");
  CHECK(t.triggers.empty());
  CHECK(asked == 2);  // once per call, not per event
  t.sink = nullptr;
  t.interest = nullptr;
  t.add("c");
  CHECK(t.triggers.empty());  // no sink: nothing is even asked
  CHECK(asked == 2);
}

TEST_CASE("job field checks and final statuses", "[budget][admission]") {
  CHECK_FALSE(check_job_fields("a", "generic"));
  CHECK(check_job_fields("", "generic")->find("job_id") != std::string::npos);
  CHECK(check_job_fields("a", std::string(129, 't'))->find("job_type") != std::string::npos);
  JobRequirements req;
  CHECK_FALSE(parse_job_hints({{"perf", {{"vram_mb", 12}}}}, req));
  CHECK(req.vram_mb == 12);
  CHECK(parse_job_hints({{"perf", 1}}, req));
  CHECK(parse_final_status("canceled") == JobStatus::canceled);
  CHECK_FALSE(parse_final_status("Complete"));
}
