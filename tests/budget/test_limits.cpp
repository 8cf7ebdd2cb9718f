// Budget limits: the contract's defaults, patch validation that names the
// field and changes nothing on error, and the helpers of budget/limits.hpp.
#include <comfyvn_perf/budget/limits.hpp>

#include <catch2/catch.hpp>

#include <cmath>   // nan, INFINITY
#include <string>  // messages

#include <comfyvn_perf/json/budget.hpp>

#include "budget_fixture.hpp"

using namespace budget_test;

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

TEST_CASE("limits: the contract's defaults, all seven in JSON", "[budget][limits]") {
  BudgetManager mgr;
  const BudgetLimits l = mgr.limits();
  CHECK(l.max_cpu_percent == 85.0);
  CHECK(l.max_mem_mb == 0);
  CHECK(l.max_vram_mb == 0);
  CHECK(l.max_running_jobs == 3);
  CHECK(l.lazy_asset_target_mb == 512);
  CHECK(l.max_queue_depth == 128);
  CHECK(l.evaluation_interval == 2.0);
  const json::object j = limits_json(l);
  CHECK(json::value_from(l) == j);
  CHECK(j.size() == 7);
  CHECK(j.at("max_cpu_percent").as_double() == 85.0);
  CHECK(j.at("max_running_jobs").to_number<int>() == 3);
  CHECK(j.at("evaluation_interval").as_double() == 2.0);
  CHECK_FALSE(mgr.enabled());
}

TEST_CASE("configure: every key checked, nothing changes on error", "[budget][limits]") {
  Fixture f;
  struct Bad {
    json::object patch;
    const char* field;
  };
  const Bad bad[] = {
      {{{"max_cpu_percent", 101}}, "max_cpu_percent"},
      {{{"max_cpu_percent", -0.5}}, "max_cpu_percent"},
      {{{"max_cpu_percent", "85"}}, "max_cpu_percent"},
      {{{"max_cpu_percent", true}}, "max_cpu_percent"},
      {{{"max_cpu_percent", nullptr}}, "max_cpu_percent"},
      {{{"max_mem_mb", -1}}, "max_mem_mb"},
      {{{"max_mem_mb", 2.5}}, "max_mem_mb"},
      {{{"max_vram_mb", "1024"}}, "max_vram_mb"},
      {{{"max_running_jobs", 1e300}}, "max_running_jobs"},
      {{{"lazy_asset_target_mb", json::array{1}}}, "lazy_asset_target_mb"},
      {{{"max_queue_depth", 0}}, "max_queue_depth"},
      {{{"evaluation_interval", 0.05}}, "evaluation_interval"},
      {{{"evaluation_interval", "2"}}, "evaluation_interval"},
      {{{"max_jobs", 3}}, "max_jobs"},
      // A valid key next to a bad one: the valid one must not be applied.
      {{{"max_running_jobs", 7}, {"max_cpu_percent", 200}}, "max_cpu_percent"},
  };
  const BudgetLimits before = f.mgr.limits();
  f.take_events();
  for (const auto& b : bad) {
    INFO(json::serialize(b.patch));
    const BudgetResult r = f.mgr.configure(b.patch);
    CHECK(r.error == BudgetError::invalid);
    CHECK(r.detail.find(b.field) != std::string::npos);
  }
  const BudgetLimits after = f.mgr.limits();
  CHECK(after.max_running_jobs == before.max_running_jobs);
  CHECK(after.max_cpu_percent == before.max_cpu_percent);
  CHECK(f.take_events().empty());

  SECTION("valid patches, integers given as 2.0") {
    const BudgetResult r = f.mgr.configure(json::object{{"max_running_jobs", 2.0},
                                                        {"max_cpu_percent", 70},
                                                        {"max_mem_mb", 4096u},
                                                        {"evaluation_interval", 0.1}});
    REQUIRE(r.ok());
    const auto& l = r.body.at("limits").as_object();
    CHECK(l.size() == 7);
    CHECK(l.at("max_running_jobs").to_number<int>() == 2);
    CHECK(l.at("max_cpu_percent").to_number<double>() == 70.0);
    CHECK(l.at("max_mem_mb").to_number<int>() == 4096);
    CHECK(f.mgr.limits().evaluation_interval == 0.1);
    const auto ev = f.events_named("limits.updated");
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].payload.at("changed").as_array().size() == 4);
    CHECK(ev[0].payload.at("limits").at("max_running_jobs").to_number<int>() == 2);
  }
  SECTION("the struct form checks ranges too") {
    BudgetLimits l;
    l.max_cpu_percent = std::nan("");
    CHECK(f.mgr.configure(l).error == BudgetError::invalid);
    l = BudgetLimits{};
    l.max_queue_depth = 0;
    CHECK(f.mgr.configure(l).detail.find("max_queue_depth") != std::string::npos);
    l = BudgetLimits{};
    l.evaluation_interval = 0.0;
    CHECK(f.mgr.configure(l).error == BudgetError::invalid);
    l = BudgetLimits{};
    l.max_cpu_percent = 0;  // 0..100 inclusive
    l.max_running_jobs = 0;
    CHECK(f.mgr.configure(l).ok());
    CHECK(f.mgr.limits().max_running_jobs == 0);
  }
}

// ---------------------------------------------------------------------------
// The helpers on their own
// ---------------------------------------------------------------------------

TEST_CASE("check_limits: the contract's ranges on a whole struct", "[budget][limits]") {
  CHECK_FALSE(check_limits(BudgetLimits{}));
  BudgetLimits l;
  l.max_cpu_percent = 100.5;
  CHECK(check_limits(l)->find("max_cpu_percent") != std::string::npos);
  l = BudgetLimits{};
  l.max_cpu_percent = INFINITY;
  CHECK(check_limits(l));
  l = BudgetLimits{};
  l.evaluation_interval = 0.09;
  CHECK(check_limits(l)->find("evaluation_interval") != std::string::npos);
  l = BudgetLimits{};
  l.max_queue_depth = 100000;
  l.max_mem_mb = 0;  // 0 = no limit
  CHECK_FALSE(check_limits(l));
}

TEST_CASE("apply_limits_patch: stops at the first bad key", "[budget][limits]") {
  BudgetLimits l;
  CHECK_FALSE(apply_limits_patch(l, {{"max_vram_mb", 2048}, {"evaluation_interval", 0.5}}));
  CHECK(l.max_vram_mb == 2048);
  CHECK(l.evaluation_interval == 0.5);
  CHECK(apply_limit(l, "max_queue_depth", json::value(0))->find(">= 1") != std::string::npos);
  CHECK(apply_limit(l, "max_mem_mb", json::value(-3))->find(">= 0") != std::string::npos);
  CHECK(*apply_limit(l, "bogus", json::value(1)) == "bogus is not a known limit");
  CHECK(l.max_queue_depth == 128);  // refused values leave the field alone
  CHECK_FALSE(apply_limit(l, "max_queue_depth", json::value(100000)));
  CHECK(l.max_queue_depth == 100000);
}

TEST_CASE("check_policy: negative or non-finite values are refused", "[budget][limits]") {
  CHECK_FALSE(check_policy(BudgetPolicy{}));
  BudgetPolicy p;
  p.cpu_release_margin = -1;
  CHECK(check_policy(p)->find("cpu_release_margin") != std::string::npos);
  p = BudgetPolicy{};
  p.starvation_after = std::nan("");
  CHECK(check_policy(p)->find("starvation_after") != std::string::npos);
}
