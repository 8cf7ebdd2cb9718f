// Four threads x 10,000 mixed BudgetManager operations, with the sampler
// thread running, re-entrant unload handlers and pins held across calls;
// then the state must still be consistent. Also runs under ThreadSanitizer.
#include <comfyvn_perf/budget/manager.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using namespace comfyvn::perf;

namespace {

constexpr int kThreads = 4;
constexpr int kOpsPerThread = 10000;
constexpr std::uint64_t kJobCap = 4;
constexpr std::uint64_t kQueueDepth = 64;

bool allowed(const BudgetResult& r, std::initializer_list<BudgetError> errors) {
  if (r.ok()) return true;
  for (BudgetError e : errors)
    if (r.error == e) return true;
  return false;
}

}  // namespace

TEST_CASE("4 threads x 10,000 mixed operations keep the state consistent",
          "[budget][stress][concurrency]") {
  BudgetManager mgr;
  auto provider = std::make_shared<ManualMetricsProvider>();
  mgr.set_metrics_provider(provider);
  REQUIRE(mgr.configure(json::object{{"max_running_jobs", kJobCap},
                                     {"max_queue_depth", kQueueDepth},
                                     {"lazy_asset_target_mb", 300},
                                     {"max_mem_mb", 4000},
                                     {"max_cpu_percent", 80},
                                     {"evaluation_interval", 0.1}})
              .ok());
  std::atomic<std::uint64_t> events{0};
  mgr.set_event_sink([&](std::string_view, json::object) { events.fetch_add(1); });
  std::atomic<std::uint64_t> unloads{0};
  mgr.set_default_unload_handler([&](const std::string& id, const json::object&, EvictionCause) {
    // Re-enter now and then, as a real handler that reloads something might.
    if (unloads.fetch_add(1) % 16 == 0) (void)mgr.touch_asset(id);
  });
  mgr.set_enabled(true);

  std::atomic<std::uint64_t> registered{0};
  std::atomic<int> failures{0};
  std::mutex error_mu;
  std::string first_error;
  auto worker = [&](int tid) {
    std::mt19937 rng(static_cast<std::uint32_t>(1234 + tid));
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint32_t>(n)); };
    std::vector<AssetPin> pins;
    auto check = [&](bool ok) {
      if (!ok) failures.fetch_add(1);
    };
    for (int i = 0; i < kOpsPerThread; ++i) {
      // Shared ids so threads race on the same jobs and assets.
      const std::string job = std::string("job-").append(std::to_string(pick(120)));
      const std::string asset = std::string("asset-").append(std::to_string(pick(40)));
      const int op = pick(1000);
      try {
        if (op < 220) {
          json::object payload{
              {"perf", json::object{{"cpu_percent", pick(30)}, {"ram_mb", pick(500)}}}};
          const BudgetResult r = mgr.register_job(job, "stress", std::move(payload));
          check(allowed(r, {BudgetError::conflict, BudgetError::queue_full}));
          if (r.ok()) registered.fetch_add(1);
        } else if (op < 420) {
          check(allowed(mgr.start_job(job), {BudgetError::conflict, BudgetError::not_found}));
        } else if (op < 600) {
          static const char* statuses[] = {"complete", "canceled", "error"};
          check(allowed(mgr.finish_job(job, statuses[pick(3)]),
                        {BudgetError::conflict, BudgetError::not_found}));
        } else if (op < 700) {
          check(mgr.register_asset(asset, 10 + pick(90), {{"tid", tid}}).ok());
        } else if (op < 800) {
          check(allowed(mgr.touch_asset(asset), {BudgetError::not_found}));
        } else if (op < 840) {
          if (pick(2) == 0) {
            check(allowed(mgr.evict_lazy_assets(std::nullopt, asset),
                          {BudgetError::not_found, BudgetError::conflict}));
          } else {
            check(mgr.evict_lazy_assets(static_cast<double>(pick(400))).ok());
          }
        } else if (op < 900) {
          if (pins.size() < 3) {
            AssetPin p = mgr.pin_asset(asset);
            if (p) pins.push_back(std::move(p));
          } else {
            pins.erase(pins.begin() + pick(static_cast<int>(pins.size())));
          }
        } else if (op < 930) {
          check(mgr.refresh_queue().size() <= kQueueDepth);
        } else if (op < 950) {
          const json::object h = mgr.health();
          check(h.at("queue").at("running").to_number<std::uint64_t>() <= kJobCap);
        } else if (op < 960) {
          const json::object s = mgr.snapshot();
          check(s.at("running_ids").as_array().size() <= kJobCap);
        } else if (op < 975) {
          check(mgr.configure(json::object{{"max_cpu_percent", 60 + pick(40)},
                                           {"lazy_asset_target_mb", 100 + pick(400)}})
                    .ok());
        } else if (op < 995) {
          Metrics m;
          m.cpu_percent = pick(100);
          m.mem_used_mb = 2000 + pick(3000);
          provider->set(m);
          mgr.sample_now();
        } else if (tid == 0) {
          mgr.set_enabled(!mgr.enabled());
        } else {
          (void)mgr.limits();
          (void)mgr.metrics();
        }
      } catch (const std::exception& e) {
        // Catch2 v2 assertions are not thread-safe: keep the first message.
        std::lock_guard<std::mutex> lk(error_mu);
        if (first_error.empty())
          first_error = std::string("op ").append(std::to_string(op)).append(": ").append(e.what());
        failures.fetch_add(1);
      }
    }
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  mgr.set_enabled(false);
  CHECK_FALSE(mgr.enabled());
  INFO(first_error);
  CHECK(failures.load() == 0);

  // Consistency of what is left.
  const json::object snap = mgr.snapshot();
  const json::object health = mgr.health();
  std::map<std::string, std::string> status;
  for (const auto& j : snap.at("jobs").as_array())
    status[std::string(j.at("id").as_string())] = std::string(j.at("status").as_string());
  std::set<std::string> listed;
  for (const char* key : {"queued_ids", "delayed_ids", "running_ids"}) {
    const std::string want = std::string(key).substr(0, std::string(key).find('_'));
    for (const auto& v : snap.at(key).as_array()) {
      const std::string id(v.as_string());
      CHECK(listed.insert(id).second);  // in one list only
      CHECK(status[id] == want);
    }
  }
  for (const auto& [id, st] : status) {
    if (st == "queued" || st == "delayed" || st == "running") CHECK(listed.count(id) == 1);
  }
  CHECK(snap.at("running_ids").as_array().size() <= kJobCap);
  CHECK(snap.at("queued_ids").as_array().size() + snap.at("delayed_ids").as_array().size() <=
        kQueueDepth);
  CHECK(health.at("queue").at("seen_jobs").to_number<std::uint64_t>() == registered.load());

  double loaded = 0;
  for (const auto& a : snap.at("assets").as_array()) {
    CHECK(a.at("pinned").to_number<int>() == 0);  // every pin was released
    if (a.at("loaded").as_bool()) loaded += a.at("size_mb").to_number<double>();
  }
  CHECK(health.at("assets").at("loaded_mb").to_number<double>() == Approx(loaded));
  CHECK(health.at("assets").at("handler_errors").to_number<int>() == 0);
  CHECK(health.at("sampler_errors").to_number<int>() == 0);
  CHECK(events.load() > 0);
  CHECK(unloads.load() > 0);
}
