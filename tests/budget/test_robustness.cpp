// Bounded state against a hostile or buggy client (issue 10): asset caps and
// unregister, numeric maxima with short details, JSON that never holds NaN or
// Infinity, exact loaded totals, reloading evicted assets, snapshot paging.
#include <comfyvn_perf/budget/manager.hpp>

#include <catch2/catch.hpp>

#include <cmath>    // isfinite, nan
#include <limits>   // infinity
#include <regex>    // reason shapes
#include <stdexcept>  // a throwing load handler
#include <string>   // ids, details
#include <vector>   // recorded calls

#include "budget_fixture.hpp"

using namespace budget_test;

namespace {

std::size_t registered(BudgetManager& mgr) {
  return mgr.health().at("assets").at("registered").to_number<std::size_t>();
}

// Every number in `v` is finite, and its text parses back as strict JSON.
bool strict_json(const json::value& v) {
  if (v.is_double()) return std::isfinite(v.get_double());
  if (v.is_object()) {
    for (const auto& kv : v.get_object())
      if (!strict_json(kv.value())) return false;
  }
  if (v.is_array()) {
    for (const auto& e : v.get_array())
      if (!strict_json(e)) return false;
  }
  return true;
}

bool round_trips(const json::object& o) {
  boost::system::error_code ec;
  const json::value back = json::parse(json::serialize(o), ec);
  return !ec && strict_json(back) && strict_json(o);
}

json::object metadata_of(std::size_t bytes) {
  // {"blob":"xxx..."} is 11 bytes of framing.
  return json::object{{"blob", std::string(bytes - 11, 'x')}};
}

}  // namespace

// ---------------------------------------------------------------------------
// 1. Asset caps
// ---------------------------------------------------------------------------

TEST_CASE("asset caps: defaults, and past max_assets nothing is stored", "[budget][caps]") {
  CHECK(BudgetPolicy{}.max_assets == 10000);
  CHECK(BudgetPolicy{}.max_asset_metadata_bytes == 64u * 1024 * 1024);
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 0}});
  for (int i = 0; i < 10000; ++i) REQUIRE(f.mgr.register_asset(numbered("a", i), 0.001).ok());
  const BudgetResult r = f.mgr.register_asset("one-too-many", 1, {{"k", 1}});
  CHECK(r.error == BudgetError::queue_full);  // HTTP 429
  CHECK(r.detail.find("max_assets") != std::string::npos);
  CHECK(registered(f.mgr) == 10000);
  CHECK_FALSE(find_asset(f.mgr.snapshot(kSnapshotMaxLimit, 0), "one-too-many"));
  // Re-registering a known id is not a new asset.
  CHECK(f.mgr.register_asset("a7", 2).ok());
  // Unregistering makes room again.
  REQUIRE(f.mgr.unregister_asset("a0").body.at("removed").as_bool());
  CHECK(f.mgr.register_asset("one-too-many", 1).ok());
}

TEST_CASE("asset caps: the metadata byte cap, configurable by policy", "[budget][caps]") {
  Fixture f;
  BudgetPolicy p;
  p.max_assets = 3;
  p.max_asset_metadata_bytes = 250;
  REQUIRE(f.mgr.set_policy(p).ok());
  REQUIRE(f.mgr.register_asset("a", 1, metadata_of(100)).ok());
  REQUIRE(f.mgr.register_asset("b", 1, metadata_of(100)).ok());
  f.take_events();
  BudgetResult r = f.mgr.register_asset("c", 1, metadata_of(100));
  CHECK(r.error == BudgetError::queue_full);
  CHECK(r.detail.find("max_asset_metadata_bytes") != std::string::npos);
  CHECK(registered(f.mgr) == 2);
  CHECK(f.take_events().empty());  // nothing stored, nothing announced
  CHECK(f.mgr.health().at("assets").at("metadata_bytes").to_number<int>() == 200);
  // Replacing an asset's metadata counts only the difference.
  CHECK(f.mgr.register_asset("b", 1, metadata_of(150)).ok());
  CHECK(f.mgr.register_asset("b", 1, metadata_of(151)).error == BudgetError::queue_full);
  CHECK(f.mgr.snapshot().at("assets").as_array().size() == 2);
  CHECK(f.mgr.register_asset("c", 1).error == BudgetError::queue_full);  // {}: 252 > 250
  CHECK(registered(f.mgr) == 2);
  REQUIRE(f.mgr.register_asset("b", 1).ok());  // metadata dropped: 102 bytes in all
  REQUIRE(f.mgr.register_asset("c", 1).ok());
  r = f.mgr.register_asset("d", 1);
  CHECK(r.error == BudgetError::queue_full);
  CHECK(r.detail.find("max_assets") != std::string::npos);
  p.max_assets = 0;
  CHECK(f.mgr.set_policy(p).detail.find("max_assets") != std::string::npos);
  p.max_assets = kMaxAssetsCeiling + 1;
  CHECK(f.mgr.set_policy(p).error == BudgetError::invalid);
}

// ---------------------------------------------------------------------------
// 2. unregister_asset
// ---------------------------------------------------------------------------

TEST_CASE("unregister_asset: removes, unloads first, frees its bytes", "[budget][unregister]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 0}});
  std::vector<std::pair<std::string, EvictionCause>> unloads;
  UnloadHandler h = [&](const std::string& id, const json::object& meta, EvictionCause c) {
    CHECK(meta.at("kind").as_string() == "tex");
    unloads.emplace_back(id, c);
    (void)f.mgr.health();  // runs without the lock: no deadlock
  };
  REQUIRE(f.mgr.register_asset("x", 40, {{"kind", "tex"}}, h).ok());
  REQUIRE(f.mgr.register_asset("y", 2.5, {{"kind", "tex"}}, h).ok());
  f.take_events();

  BudgetResult r = f.mgr.unregister_asset("nope");
  CHECK(r.ok());
  CHECK_FALSE(r.body.at("removed").as_bool());

  r = f.mgr.unregister_asset("x");
  REQUIRE(r.ok());
  CHECK(r.body.at("removed").as_bool());
  REQUIRE(unloads.size() == 1);
  CHECK(unloads[0].first == "x");
  CHECK(unloads[0].second == EvictionCause::unregister);
  CHECK(to_string(EvictionCause::unregister) == std::string("unregister"));
  CHECK(loaded_mb(f.mgr) == 2.5);
  CHECK(registered(f.mgr) == 1);
  CHECK_FALSE(find_asset(f.mgr.snapshot(), "x"));
  CHECK(f.mgr.touch_asset("x").error == BudgetError::not_found);
  const auto evicted = f.events_named("asset.evicted");
  REQUIRE(evicted.size() == 1);
  CHECK(evicted[0].payload.at("cause").as_string() == "unregister");
  const auto gone = f.events_named("asset.unregistered");
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].payload.at("asset_id").as_string() == "x");
  CHECK(gone[0].payload.at("was_loaded").as_bool());

  // An evicted asset is removed without a second unload.
  REQUIRE(f.mgr.evict_lazy_assets(std::nullopt, std::string("y")).ok());
  REQUIRE(unloads.size() == 2);
  CHECK(f.mgr.unregister_asset("y").body.at("removed").as_bool());
  CHECK(unloads.size() == 2);
  CHECK(registered(f.mgr) == 0);
  CHECK(f.mgr.health().at("assets").at("metadata_bytes").to_number<int>() == 0);

  // Pinned: a conflict, nothing removed. Bad id: invalid.
  REQUIRE(f.mgr.register_asset("p", 1).ok());
  {
    AssetPin pin = f.mgr.pin_asset("p");
    CHECK(f.mgr.unregister_asset("p").error == BudgetError::conflict);
  }
  CHECK(f.mgr.unregister_asset("p").ok());
  CHECK(f.mgr.unregister_asset("").error == BudgetError::invalid);
  CHECK(f.mgr.unregister_asset(std::string(257, 'a')).detail.find("asset_id") !=
        std::string::npos);
}

// ---------------------------------------------------------------------------
// 3. Numeric maxima and short details
// ---------------------------------------------------------------------------

TEST_CASE("every numeric field has a maximum; the detail names it", "[budget][maxima]") {
  Fixture f;
  struct Bad {
    json::object patch;
    const char* field;
  };
  const Bad bad[] = {
      {{{"max_queue_depth", std::uint64_t{1} << 63}}, "max_queue_depth"},
      {{{"max_queue_depth", 100001}}, "max_queue_depth"},
      {{{"evaluation_interval", 1e300}}, "evaluation_interval"},
      {{{"evaluation_interval", 3600.5}}, "evaluation_interval"},
      {{{"max_mem_mb", 1000000001}}, "max_mem_mb"},
      {{{"max_vram_mb", 1e15}}, "max_vram_mb"},
      {{{"max_running_jobs", 1000000001}}, "max_running_jobs"},
      {{{"lazy_asset_target_mb", std::uint64_t{1} << 40}}, "lazy_asset_target_mb"},
  };
  for (const auto& b : bad) {
    INFO(json::serialize(b.patch));
    const BudgetResult r = f.mgr.configure(b.patch);
    CHECK(r.error == BudgetError::invalid);
    CHECK(r.detail.find(b.field) != std::string::npos);
  }
  CHECK(f.mgr.configure(json::object{{"max_queue_depth", 100000},
                                     {"evaluation_interval", 3600},
                                     {"max_mem_mb", 1000000000},
                                     {"max_vram_mb", 1000000000},
                                     {"max_running_jobs", 1000000000},
                                     {"lazy_asset_target_mb", 1000000000}})
            .ok());

  BudgetLimits l;
  l.max_queue_depth = 100001;
  CHECK(f.mgr.configure(l).detail.find("max_queue_depth") != std::string::npos);
  l = BudgetLimits{};
  l.evaluation_interval = 1e300;
  CHECK(check_limits(l)->find("evaluation_interval") != std::string::npos);
  l = BudgetLimits{};
  l.max_mem_mb = 1000000001;
  CHECK(check_limits(l)->find("max_mem_mb") != std::string::npos);

  // Sizes and hints: finite numbers 0..1e9.
  CHECK(f.mgr.register_asset("a", 1e9 + 1).detail.find("size_mb") != std::string::npos);
  CHECK(f.mgr.register_asset("a", 1e308).error == BudgetError::invalid);
  CHECK(f.mgr.register_asset("a", 1e9).ok());
  CHECK(f.mgr.evict_lazy_assets(2e9).detail.find("target_mb") != std::string::npos);
  for (const char* hint : {"cpu_percent", "ram_mb", "vram_mb"}) {
    INFO(hint);
    const BudgetResult r =
        f.mgr.register_job("j", "generic", {{"perf", json::object{{hint, 1e308}}}});
    CHECK(r.error == BudgetError::invalid);
    CHECK(r.detail.find(std::string("payload.perf.") + hint) != std::string::npos);
  }
  CHECK(f.mgr.register_job("j", "generic", hints(1e9, 1e9, 1e9)).ok());
}

TEST_CASE("details are cut to about 200 characters", "[budget][maxima]") {
  Fixture f;
  const std::string huge(1 << 20, 'k');
  BudgetResult r = f.mgr.configure(json::object{{huge, 1}});
  CHECK(r.error == BudgetError::invalid);
  CHECK(r.detail.size() <= 210);
  CHECK(r.detail.find("is not a known limit") != std::string::npos);
  r = f.mgr.touch_asset(huge);
  CHECK(r.error == BudgetError::not_found);
  CHECK(r.detail.size() <= 210);
  r = f.mgr.start_job(huge);
  CHECK(r.error == BudgetError::not_found);
  CHECK(r.detail.size() <= 210);
  // Multi-byte text is cut on a character boundary.
  const std::string detail = shorten_detail(std::string(300, 'a') + std::string(300, '\xC3'));
  CHECK(detail.size() <= kMaxDetailBytes);
  CHECK(detail.substr(detail.size() - 3) == "...");
}

// ---------------------------------------------------------------------------
// 4. No NaN or Infinity; reasons with huge numbers
// ---------------------------------------------------------------------------

TEST_CASE("reasons print huge figures in full", "[budget][reasons]") {
  Fixture f;
  f.usage(1e300);  // a finite figure far beyond any buffer sized for percentages
  const BudgetResult r = f.mgr.register_job("big", "generic", hints(0));
  REQUIRE(r.ok());
  const std::string reason = reason_of(r);
  INFO(reason);
  CHECK(std::regex_match(reason, std::regex(R"(cpu [0-9]{301}\.[0-9]%/85\.0%)")));
  f.usage(10, 2e300);
  f.limits({{"max_cpu_percent", 0}, {"max_mem_mb", 100}});
  const BudgetResult m = f.mgr.register_job("ram", "generic", hints(0, 0));
  CHECK(std::regex_match(reason_of(m), std::regex(R"(ram [0-9]{301}MB/100MB)")));
  CHECK(round_trips(f.mgr.snapshot()));
}

TEST_CASE("no NaN or Infinity reaches the JSON", "[budget][json]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 0}});
  // Two assets of the largest size: the total stays finite and exact.
  REQUIRE(f.mgr.register_asset("a", 1e9).ok());
  REQUIRE(f.mgr.register_asset("b", 1e9).ok());
  CHECK(loaded_mb(f.mgr) == 2e9);
  CHECK(f.mgr.register_asset("c", std::numeric_limits<double>::infinity()).error ==
        BudgetError::invalid);
  CHECK(f.mgr.register_asset("c", std::nan("")).error == BudgetError::invalid);
  // A provider's non-finite figures are read as 0 (or absent).
  Metrics m;
  m.cpu_percent = std::nan("");
  m.mem_used_mb = std::numeric_limits<double>::infinity();
  m.cpu_pressure = std::nan("");
  m.gpus.push_back({0, "gpu", std::nan(""), std::numeric_limits<double>::infinity(), 8192, 50});
  f.provider->set(m);
  const json::object sample = f.mgr.sample_now();
  CHECK(sample.at("cpu_percent").to_number<double>() == 0);
  REQUIRE(f.mgr.register_job("j", "generic", hints(1e9, 1e9, 1e9)).ok());
  const auto evicted = f.mgr.evict_lazy_assets(0.0);
  CHECK(round_trips(evicted.body));
  CHECK(evicted.body.at("freed_mb").to_number<double>() == 2e9);
  CHECK(round_trips(f.mgr.snapshot()));
  CHECK(round_trips(f.mgr.health()));
  CHECK(round_trips(json::object{{"t", f.mgr.refresh_queue()}}));
}

// ---------------------------------------------------------------------------
// 5. Exact loaded totals
// ---------------------------------------------------------------------------

TEST_CASE("drift: after a huge asset is evicted the total is exact and trimming works",
          "[budget][drift]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 0}});
  REQUIRE(f.mgr.register_asset("huge", 1e9).ok());
  for (int i = 0; i < 41; ++i) REQUIRE(f.mgr.register_asset(numbered("t", i), 10.1).ok());
  REQUIRE(f.mgr.register_asset("small", 0.1).ok());
  REQUIRE(f.mgr.register_asset("smaller", 0.2).ok());
  const auto r = f.mgr.evict_lazy_assets(std::nullopt, std::string("huge"));
  REQUIRE(r.ok());
  CHECK(r.body.at("freed_mb").to_number<double>() == 1e9);
  // 41 x 10.1 + 0.1 + 0.2 = 414.4 MB still loaded; a floating-point running
  // sum is off after 1e9 came and went.
  CHECK(loaded_mb(f.mgr) == 414.4);
  CHECK(f.mgr.health().at("assets").at("loaded").to_number<int>() == 43);
  // Trimming still sees the real total: down to 0.3 leaves exactly the two
  // small ones (the most recently used).
  REQUIRE(f.mgr.evict_lazy_assets(0.3).ok());
  CHECK(loaded_mb(f.mgr) == 0.3);
  CHECK(f.mgr.health().at("assets").at("loaded").to_number<int>() == 2);
  // And the automatic trim against the target.
  REQUIRE(f.mgr.register_asset("huge", 1e9).ok());
  f.limits({{"lazy_asset_target_mb", 1}});
  CHECK(loaded_mb(f.mgr) == 0);  // least recently used first: small, smaller, then huge
  REQUIRE(f.mgr.touch_asset("small").ok());
  CHECK(loaded_mb(f.mgr) == 0.1);
}

// ---------------------------------------------------------------------------
// 6. Reloading evicted assets
// ---------------------------------------------------------------------------

TEST_CASE("touch reloads an evicted asset through its load handler", "[budget][reload]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 0}});
  std::vector<std::string> loads, default_loads;
  LoadHandler own = [&](const std::string& id, const json::object& meta) {
    CHECK(meta.at("k").as_string() == "v");
    loads.push_back(id);
    (void)f.mgr.snapshot();  // runs without the lock
  };
  f.mgr.set_default_load_handler(
      [&](const std::string& id, const json::object&) { default_loads.push_back(id); });
  REQUIRE(f.mgr.register_asset("own", 5, {{"k", "v"}}, {}, own).ok());
  REQUIRE(f.mgr.register_asset("plain", 5).ok());
  CHECK(loads.empty());  // registering is not reloading

  BudgetResult r = f.mgr.touch_asset("own");
  REQUIRE(r.ok());
  CHECK_FALSE(r.body.at("reloaded").as_bool());
  CHECK(loads.empty());

  REQUIRE(f.mgr.evict_lazy_assets(0.0).ok());
  CHECK(loaded_mb(f.mgr) == 0);
  r = f.mgr.touch_asset("own");
  REQUIRE(r.ok());
  CHECK(r.body.at("reloaded").as_bool());
  CHECK(r.body.at("asset").at("loaded").as_bool());
  CHECK(loads == std::vector<std::string>{"own"});
  CHECK(loaded_mb(f.mgr) == 5);

  // No handler of its own: the default one; pinning reloads as well.
  {
    AssetPin pin = f.mgr.pin_asset("plain");
    REQUIRE(pin);
  }
  CHECK(default_loads == std::vector<std::string>{"plain"});
  CHECK(loaded_mb(f.mgr) == 10);
  r = f.mgr.touch_asset("plain");
  CHECK_FALSE(r.body.at("reloaded").as_bool());
  CHECK(default_loads.size() == 1);

  // A throwing load handler is counted, like an unload handler.
  REQUIRE(f.mgr.evict_lazy_assets(std::nullopt, std::string("plain")).ok());
  f.mgr.set_default_load_handler([](const std::string&, const json::object&) {
    throw std::runtime_error("no disk");
  });
  CHECK(f.mgr.touch_asset("plain").body.at("reloaded").as_bool());
  CHECK(f.mgr.health().at("assets").at("handler_errors").to_number<int>() == 1);
}

// ---------------------------------------------------------------------------
// 7. Snapshot paging
// ---------------------------------------------------------------------------

TEST_CASE("snapshot pages jobs and assets and bounds metadata", "[budget][paging]") {
  Fixture f;
  f.limits({{"max_queue_depth", 1000}, {"max_running_jobs", 0}, {"lazy_asset_target_mb", 0}});
  for (int i = 0; i < 300; ++i) {
    REQUIRE(f.mgr.register_job(numbered("j", i)).ok());
    REQUIRE(f.mgr.register_asset(numbered("a", i), 1, metadata_of(1000)).ok());
  }
  json::object s = f.mgr.snapshot();
  CHECK(s.at("jobs").as_array().size() == 256);
  CHECK(s.at("assets").as_array().size() == 256);
  CHECK(s.at("jobs_total").to_number<int>() == 300);
  CHECK(s.at("assets_total").to_number<int>() == 300);
  CHECK(ids(s, "queued_ids").size() == 300);  // the id lists are complete

  s = f.mgr.snapshot(100, 250);
  REQUIRE(s.at("jobs").as_array().size() == 50);
  CHECK(s.at("jobs").as_array()[0].at("id").as_string() == "j250");
  REQUIRE(s.at("assets").as_array().size() == 50);
  CHECK(s.at("assets").as_array()[0].at("asset_id").as_string() == "a250");
  s = f.mgr.snapshot(10, 5000);
  CHECK(s.at("jobs").as_array().empty());
  CHECK(s.at("assets").as_array().empty());
  CHECK(s.at("assets_total").to_number<int>() == 300);
  CHECK(f.mgr.snapshot(0, 0).at("jobs").as_array().empty());

  // Metadata only while the running total stays within the budget.
  s = f.mgr.snapshot(10, 0, 3500);
  const auto& assets = s.at("assets").as_array();
  REQUIRE(assets.size() == 10);
  for (std::size_t i = 0; i < assets.size(); ++i) {
    INFO(i);
    CHECK(assets[i].at("metadata").is_object() == (i < 3));
  }
  CHECK(s.at("metadata_omitted").to_number<int>() == 7);
  CHECK(f.mgr.snapshot().at("metadata_omitted").to_number<int>() == 0);  // 256 KB < 4 MiB
}

TEST_CASE("snapshot: limit is clamped to 10,000", "[budget][paging]") {
  Fixture f;
  BudgetPolicy p;
  p.max_assets = 20000;
  REQUIRE(f.mgr.set_policy(p).ok());
  f.limits({{"lazy_asset_target_mb", 0}});
  for (int i = 0; i < 10001; ++i) REQUIRE(f.mgr.register_asset(numbered("a", i), 0).ok());
  const json::object s = f.mgr.snapshot(50000, 0);
  CHECK(s.at("assets").as_array().size() == kSnapshotMaxLimit);
  CHECK(s.at("assets_total").to_number<int>() == 10001);
}
