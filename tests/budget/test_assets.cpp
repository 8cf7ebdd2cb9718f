// The lazy-asset cache: weighted LRU, target and pressure trims, explicit
// eviction, pins, unload handlers (re-entrant and throwing). Through the
// BudgetManager as callers use it, and on its own at the end.
#include <comfyvn_perf/budget/assets.hpp>

#include <catch2/catch.hpp>

#include <cmath>      // nan
#include <stdexcept>  // a throwing handler
#include <string>     // ids
#include <vector>     // recorded calls

#include "budget_fixture.hpp"

using namespace budget_test;

namespace {

struct Unload {
  std::string asset_id;
  json::object metadata;
  EvictionCause cause;
};

struct Recorder {
  std::vector<Unload> calls;
  UnloadHandler handler() {
    return [this](const std::string& id, const json::object& meta, EvictionCause cause) {
      calls.push_back({id, meta, cause});
    };
  }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& c : calls) out.push_back(c.asset_id);
    return out;
  }
};

std::vector<std::string> loaded_ids(BudgetManager& mgr) {
  std::vector<std::string> out;
  const json::object snap = mgr.snapshot();
  for (const auto& a : snap.at("assets").as_array())
    if (a.at("loaded").as_bool()) out.emplace_back(a.at("asset_id").as_string());
  return out;
}

}  // namespace

TEST_CASE("reference: a 128 MB asset is trimmed with its handler when memory goes over budget",
          "[budget][assets][reference]") {
  Fixture f;
  f.limits({{"max_mem_mb", 1000}, {"lazy_asset_target_mb", 128}});
  Recorder rec;
  const BudgetResult r =
      f.mgr.register_asset("bg/forest", 128, {{"kind", "texture"}}, rec.handler());
  REQUIRE(r.ok());
  CHECK(r.body.at("asset").at("loaded").as_bool());
  CHECK(loaded_mb(f.mgr) == 128);  // exactly at the 128 MB target: kept

  f.usage(10, 900);
  CHECK(rec.calls.empty());

  f.usage(10, 1100);
  REQUIRE(rec.calls.size() == 1);
  CHECK(rec.calls[0].asset_id == "bg/forest");
  CHECK(rec.calls[0].cause == EvictionCause::pressure);
  CHECK(to_string(rec.calls[0].cause) == std::string("pressure"));
  CHECK(rec.calls[0].metadata.at("kind").as_string() == "texture");
  const auto ev = f.events_named("asset.evicted");
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload.at("cause").as_string() == "pressure");
  CHECK(ev[0].payload.at("size_mb").to_number<double>() == 128);

  // Still registered, no longer loaded; touching loads it again.
  const auto a = find_asset(f.mgr.snapshot(), "bg/forest");
  REQUIRE(a);
  CHECK_FALSE(a->at("loaded").as_bool());
  CHECK(a->at("last_eviction").as_string() == "pressure");
  CHECK(loaded_mb(f.mgr) == 0);
  const BudgetResult t = f.mgr.touch_asset("bg/forest");
  REQUIRE(t.ok());
  CHECK(t.body.at("asset").at("loaded").as_bool());
  CHECK(loaded_mb(f.mgr) == 128);
  CHECK(f.mgr.health().at("assets").at("registered").to_number<int>() == 1);
}

TEST_CASE("weighted LRU: the loaded total is kept at or under the target", "[budget][assets]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 100}});
  Recorder rec;
  f.mgr.set_default_unload_handler(rec.handler());
  REQUIRE(f.mgr.register_asset("a", 40).ok());
  REQUIRE(f.mgr.register_asset("b", 40).ok());
  CHECK(rec.calls.empty());
  REQUIRE(f.mgr.register_asset("c", 40).ok());  // 120 > 100: "a" is least recent
  CHECK(rec.ids() == std::vector<std::string>{"a"});
  CHECK(rec.calls[0].cause == EvictionCause::target);
  REQUIRE(f.mgr.touch_asset("b").ok());  // order now c, b
  REQUIRE(f.mgr.register_asset("d", 40).ok());
  CHECK(rec.ids() == std::vector<std::string>{"a", "c"});
  CHECK(loaded_ids(f.mgr) == std::vector<std::string>{"b", "d"});
  CHECK(loaded_mb(f.mgr) == 80);

  // Size is the weight: one large asset pushes out several small ones.
  REQUIRE(f.mgr.register_asset("huge", 90).ok());
  CHECK(rec.ids() == std::vector<std::string>{"a", "c", "b", "d"});
  // An asset larger than the target is not evicted by its own registration.
  REQUIRE(f.mgr.register_asset("giant", 150).ok());
  CHECK(loaded_ids(f.mgr) == std::vector<std::string>{"giant"});
  // Touching an evicted asset loads it and trims the others.
  REQUIRE(f.mgr.touch_asset("a").ok());
  CHECK(loaded_ids(f.mgr) == std::vector<std::string>{"a"});
  CHECK(f.mgr.touch_asset("missing").error == BudgetError::not_found);
}

TEST_CASE("a target of 0 disables the automatic trim", "[budget][assets]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 0}});
  for (int i = 0; i < 20; ++i) REQUIRE(f.mgr.register_asset(numbered("x", i), 100).ok());
  CHECK(loaded_mb(f.mgr) == 2000);
  // Lowering the target trims at once.
  Recorder rec;
  f.mgr.set_default_unload_handler(rec.handler());
  f.limits({{"lazy_asset_target_mb", 250}});
  CHECK(loaded_mb(f.mgr) == 200);
  CHECK(rec.calls.size() == 18);
  CHECK(rec.calls.front().asset_id == "x0");
}

TEST_CASE("evict_lazy_assets: to a total, or one asset by id", "[budget][assets]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 0}});
  Recorder rec;
  f.mgr.set_default_unload_handler(rec.handler());
  for (const char* id : {"a", "b", "c", "d"}) REQUIRE(f.mgr.register_asset(id, 25.5).ok());

  const BudgetResult r = f.mgr.evict_lazy_assets(60.0);
  REQUIRE(r.ok());
  const auto& ev = r.body.at("evicted").as_array();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].at("asset_id").as_string() == "a");
  CHECK(ev[0].at("size_mb").to_number<double>() == 25.5);
  CHECK(r.body.at("freed_mb").to_number<double>() == 51.0);
  CHECK(rec.calls.size() == 2);
  CHECK(rec.calls[0].cause == EvictionCause::explicit_);
  CHECK(to_string(EvictionCause::explicit_) == std::string("explicit"));

  const BudgetResult one = f.mgr.evict_lazy_assets(std::nullopt, std::string("d"));
  REQUIRE(one.ok());
  CHECK(one.body.at("evicted").as_array().size() == 1);
  CHECK(loaded_ids(f.mgr) == std::vector<std::string>{"c"});
  // Evicting what is already unloaded frees nothing and is not an error.
  const BudgetResult again = f.mgr.evict_lazy_assets(std::nullopt, std::string("d"));
  REQUIRE(again.ok());
  CHECK(again.body.at("evicted").as_array().empty());
  CHECK(again.body.at("freed_mb").to_number<double>() == 0);

  CHECK(f.mgr.evict_lazy_assets(std::nullopt, std::string("zzz")).error == BudgetError::not_found);
  CHECK(f.mgr.evict_lazy_assets(-1.0).detail.find("target_mb") != std::string::npos);
  CHECK(f.mgr.evict_lazy_assets(std::nan("")).error == BudgetError::invalid);
  CHECK(f.mgr.evict_lazy_assets(10.0, std::string("c")).error == BudgetError::invalid);

  SECTION("without arguments: down to lazy_asset_target_mb (0 evicts all)") {
    const BudgetResult all = f.mgr.evict_lazy_assets();
    REQUIRE(all.ok());
    CHECK(all.body.at("evicted").as_array().size() == 1);
    CHECK(loaded_ids(f.mgr).empty());
  }
  SECTION("without arguments and a target set") {
    for (const char* id : {"a", "b", "d"}) REQUIRE(f.mgr.touch_asset(id).ok());
    f.limits({{"lazy_asset_target_mb", 1000}});
    CHECK(f.mgr.evict_lazy_assets().body.at("evicted").as_array().empty());
    CHECK(loaded_ids(f.mgr).size() == 4);
  }
}

TEST_CASE("register_asset: checks and re-registration", "[budget][assets]") {
  Fixture f;
  CHECK(f.mgr.register_asset("", 1).detail.find("asset_id") != std::string::npos);
  CHECK(f.mgr.register_asset(std::string(257, 'a'), 1).error == BudgetError::invalid);
  CHECK(f.mgr.register_asset(std::string(256, 'a'), 1).ok());
  CHECK(f.mgr.register_asset("a", -1).detail.find("size_mb") != std::string::npos);
  CHECK(f.mgr.register_asset("a", std::nan("")).error == BudgetError::invalid);
  CHECK(f.mgr.register_asset("zero", 0).ok());

  Recorder first, second;
  REQUIRE(f.mgr.register_asset("m", 10, {{"v", 1}}, first.handler()).ok());
  AssetPin pin = f.mgr.pin_asset("m");
  // Same id again: size and metadata replaced, handler kept, pin kept.
  const BudgetResult r = f.mgr.register_asset("m", 30, {{"v", 2}});
  REQUIRE(r.ok());
  CHECK(r.body.at("asset").at("size_mb").to_number<double>() == 30);
  CHECK(r.body.at("asset").at("pinned").to_number<int>() == 1);
  CHECK(f.mgr.health().at("assets").at("registered").to_number<int>() == 3);
  CHECK(loaded_mb(f.mgr) == 31);
  pin.release();
  REQUIRE(f.mgr.evict_lazy_assets(std::nullopt, std::string("m")).ok());
  REQUIRE(first.calls.size() == 1);
  CHECK(first.calls[0].metadata.at("v").to_number<int>() == 2);
  // A new handler replaces the old one.
  REQUIRE(f.mgr.register_asset("m", 30, {}, second.handler()).ok());
  REQUIRE(f.mgr.evict_lazy_assets(std::nullopt, std::string("m")).ok());
  CHECK(first.calls.size() == 1);
  CHECK(second.calls.size() == 1);
  CHECK(f.events_named("asset.registered").size() == 5);
}

TEST_CASE("pinning keeps an asset from every eviction but shutdown", "[budget][assets][pin]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 100}, {"max_mem_mb", 500}});
  Recorder rec;
  f.mgr.set_default_unload_handler(rec.handler());
  REQUIRE(f.mgr.register_asset("keep", 60).ok());
  {
    AssetPin pin = f.mgr.pin_asset("keep");
    REQUIRE(pin);
    CHECK(pin.asset_id() == "keep");
    REQUIRE(f.mgr.register_asset("other", 60).ok());  // over target; "keep" is older but pinned
    CHECK(rec.calls.empty());
    CHECK(loaded_mb(f.mgr) == 120);
    const BudgetResult e = f.mgr.evict_lazy_assets(std::nullopt, std::string("keep"));
    CHECK(e.error == BudgetError::conflict);
    CHECK(e.detail.find("pinned") != std::string::npos);
    CHECK(f.mgr.evict_lazy_assets(0.0).body.at("evicted").as_array().size() == 1);  // "other"
    f.usage(0, 900);  // memory pressure: nothing unpinned to give
    CHECK(rec.ids() == std::vector<std::string>{"other"});
    CHECK(find_asset(f.mgr.snapshot(), "keep")->at("loaded").as_bool());

    // Pins nest and move.
    AssetPin second = f.mgr.pin_asset("keep");
    AssetPin moved = std::move(second);
    CHECK_FALSE(second);
    CHECK(find_asset(f.mgr.snapshot(), "keep")->at("pinned").to_number<int>() == 2);
    CHECK(f.mgr.health().at("assets").at("pinned").to_number<int>() == 1);
  }
  CHECK(find_asset(f.mgr.snapshot(), "keep")->at("pinned").to_number<int>() == 0);
  f.usage(0, 900);
  CHECK(rec.ids() == std::vector<std::string>{"other", "keep"});

  // Pinning an evicted asset loads it; an unknown asset gives an empty pin.
  AssetPin back = f.mgr.pin_asset("keep");
  CHECK(find_asset(f.mgr.snapshot(), "keep")->at("loaded").as_bool());
  CHECK_FALSE(f.mgr.pin_asset("nope"));

  // Shutdown unloads everything, pinned or not.
  rec.calls.clear();
  REQUIRE(f.mgr.register_asset("late", 1).ok());
  f.mgr.shutdown();
  CHECK(rec.calls.size() == 2);
  for (const auto& c : rec.calls) CHECK(c.cause == EvictionCause::shutdown);
  CHECK(loaded_ids(f.mgr).empty());
}

TEST_CASE("pressure trims least recently used first, until the estimate fits", "[budget][assets]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 0}, {"max_vram_mb", 1000}});
  Recorder rec;
  f.mgr.set_default_unload_handler(rec.handler());
  for (const char* id : {"a", "b", "c", "d"}) REQUIRE(f.mgr.register_asset(id, 100).ok());
  REQUIRE(f.mgr.touch_asset("a").ok());  // order: b c d a
  f.usage(0, 0, 1150);                   // 150 MB over: two assets
  CHECK(rec.ids() == std::vector<std::string>{"b", "c"});
  for (const auto& c : rec.calls) CHECK(c.cause == EvictionCause::pressure);
  // No VRAM figures (no GPU): the VRAM limit cannot trigger a trim.
  f.usage(0, 0);
  CHECK(rec.calls.size() == 2);
}

TEST_CASE("unload handlers may call back into the manager", "[budget][assets][reentrancy]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 100}});
  std::vector<std::string> order;
  std::vector<std::string> state_seen;
  UnloadHandler reentrant = [&](const std::string& id, const json::object&, EvictionCause cause) {
    order.push_back(std::string(id).append(":").append(to_string(cause)));
    // Everything below takes the manager's lock: a handler that ran under
    // it would deadlock on the first line.
    const auto snap = f.mgr.snapshot();
    const auto self = find_asset(snap, id);
    REQUIRE(self);
    state_seen.push_back(self->at("loaded").as_bool() ? "loaded" : "unloaded");
    f.mgr.health();
    REQUIRE(f.mgr.register_job(numbered("from-handler-", order.size())).ok());
    if (order.size() == 1) {
      // Nested evictions run their handlers too, from inside this one.
      REQUIRE(f.mgr.register_asset("spawned", 10).ok());
      REQUIRE(f.mgr.evict_lazy_assets(std::nullopt, std::string("spawned")).ok());
      // Reloading the evicted asset pushes out the other one.
      REQUIRE(f.mgr.touch_asset(id).ok());
    }
  };
  f.mgr.set_default_unload_handler(reentrant);
  REQUIRE(f.mgr.register_asset("a", 60).ok());
  REQUIRE(f.mgr.register_asset("b", 60).ok());  // 120 > 100: evicts "a"
  CHECK(order == std::vector<std::string>{"a:target", "spawned:explicit", "b:target"});
  // Each handler ran after its asset was marked unloaded.
  CHECK(state_seen == std::vector<std::string>{"unloaded", "unloaded", "unloaded"});
  CHECK(loaded_ids(f.mgr) == std::vector<std::string>{"a"});
  CHECK(f.mgr.health().at("assets").at("handler_errors").to_number<int>() == 0);
  CHECK(f.mgr.health().at("queue").at("seen_jobs").to_number<int>() == 3);
}

TEST_CASE("a throwing handler is caught and counted; others still run", "[budget][assets]") {
  Fixture f;
  f.limits({{"lazy_asset_target_mb", 10}});
  Recorder rec;
  f.mgr.set_default_unload_handler(rec.handler());
  REQUIRE(f.mgr
              .register_asset("bad", 5, {},
                              [](const std::string&, const json::object&, EvictionCause) {
                                throw std::runtime_error("driver gone");
                              })
              .ok());
  REQUIRE(f.mgr.register_asset("good", 5).ok());
  BudgetResult r;
  REQUIRE_NOTHROW(r = f.mgr.register_asset("big", 10));  // evicts both
  CHECK(r.ok());
  CHECK(rec.ids() == std::vector<std::string>{"good"});  // "bad" had its own handler
  CHECK(f.mgr.health().at("assets").at("handler_errors").to_number<int>() == 1);
  CHECK(find_asset(f.mgr.snapshot(), "bad")->at("loaded").as_bool() == false);
}

// ---------------------------------------------------------------------------
// AssetCache on its own
// ---------------------------------------------------------------------------

TEST_CASE("AssetCache: LRU order, pins and evictions without a manager", "[budget][assets]") {
  AssetCache cache;
  BudgetEffects fx;  // no event sink: no events
  Recorder rec;
  cache.set_default_handler(rec.handler());
  REQUIRE(cache.register_asset("a", 10, {}, {}, 1.0, 0, fx).ok());
  REQUIRE(cache.register_asset("b", 10, {{"k", 1}}, {}, 2.0, 0, fx).ok());
  REQUIRE(cache.register_asset("c", 10, {}, {}, 3.0, 0, fx).ok());
  CHECK(cache.find("b")->last_used == 2.0);
  REQUIRE(cache.pin("a", 4.0, 0, fx) != nullptr);  // order now b, c, a
  CHECK(cache.pin("zzz", 4.0, 0, fx) == nullptr);

  const BudgetResult r = cache.evict_to(15, fx);
  REQUIRE(r.ok());
  CHECK(r.body.at("freed_mb").to_number<double>() == 20);
  const auto& out = fx.evictions;
  REQUIRE(out.size() == 2);  // "a" is pinned: the total stays above 15
  CHECK(out[0].asset_id == "b");
  CHECK(out[0].metadata.at("k").to_number<int>() == 1);
  CHECK(out[1].asset_id == "c");
  CHECK(rec.calls.empty());  // handlers run on delivery, after the lock
  CHECK(cache.evict_asset("a", fx).error == BudgetError::conflict);
  cache.unpin("a");
  REQUIRE(cache.evict_asset("a", fx).ok());
  CHECK(cache.loaded() == 0);
  CHECK(cache.loaded_mb() == 0);
  CHECK(fx.deliver() == 0);
  CHECK(rec.ids() == std::vector<std::string>{"b", "c", "a"});
  CHECK(fx.evictions.empty());

  std::vector<std::string> order;
  for (const BudgetAsset* a : cache.in_order()) order.push_back(a->id);
  CHECK(order == std::vector<std::string>{"a", "b", "c"});  // all unloaded: by id
  BudgetHealth h;
  cache.fill(h);
  CHECK(h.assets_registered == 3);
  CHECK(h.evictions == 3);
}

TEST_CASE("AssetCache: pressure trims by the estimate", "[budget][assets]") {
  AssetCache cache;
  BudgetEffects fx;
  for (const char* id : {"a", "b", "c"})
    REQUIRE(cache.register_asset(id, 100, {}, {}, 0, 0, fx).ok());
  BudgetLimits l;
  l.max_vram_mb = 1000;
  Metrics m;
  m.gpus.push_back({0, "gpu", 0, 1150, 2000, 40});
  cache.trim_for_pressure(l, m, fx);
  REQUIRE(fx.evictions.size() == 2);
  CHECK(fx.evictions[1].cause == EvictionCause::pressure);
  CHECK(cache.loaded() == 1);
  cache.unload_all(EvictionCause::shutdown, fx);
  CHECK(fx.evictions.back().cause == EvictionCause::shutdown);
  CHECK(cache.loaded() == 0);
}

TEST_CASE("asset argument checks", "[budget][assets]") {
  CHECK_FALSE(check_asset_fields("a", 0));
  CHECK(check_asset_fields(std::string(257, 'a'), 1)->find("asset_id") != std::string::npos);
  CHECK(check_asset_fields("a", -1)->find("size_mb") != std::string::npos);
  CHECK_FALSE(check_evict_args(std::nullopt, std::nullopt));
  CHECK(check_evict_args(1.0, std::string("a"))->find("either") != std::string::npos);
}
