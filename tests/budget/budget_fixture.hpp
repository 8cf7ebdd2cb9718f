// A BudgetManager of its own per test, driven by chosen metrics, a clock the
// test moves by hand and an event sink that records what the runtime would
// hand on to hooks.
#pragma once

#include <comfyvn_perf/budget/manager.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace budget_test {

namespace json = boost::json;
using namespace comfyvn::perf;

struct Event {
  std::string trigger;
  json::object payload;
};

struct Fixture {
  BudgetManager mgr;
  std::shared_ptr<ManualMetricsProvider> provider = std::make_shared<ManualMetricsProvider>();
  double now = 1000.0;  // seconds, moved by the test
  std::mutex events_mu;
  std::vector<Event> events;

  Fixture() {
    mgr.set_metrics_provider(provider);
    mgr.set_clock([this] { return now; });
    mgr.set_event_sink([this](std::string_view trigger, json::object payload) {
      std::lock_guard<std::mutex> lk(events_mu);
      events.push_back({std::string(trigger), std::move(payload)});
    });
    usage(0);
  }

  // Publishes a sample and runs the evaluation the sampler thread would.
  void usage(double cpu, double ram_mb = 0, double vram_mb = -1) {
    Metrics m;
    m.timestamp = now;
    m.cpu_percent = cpu;
    m.mem_used_mb = ram_mb;
    m.mem_total_mb = 16384;
    if (vram_mb >= 0) m.gpus.push_back({0, "test gpu", 10, vram_mb, 8192, 50});
    provider->set(m);
    mgr.sample_now();
  }

  void limits(const json::object& patch) {
    const BudgetResult r = mgr.configure(patch);
    REQUIRE(r.ok());
  }

  std::vector<Event> take_events() {
    std::lock_guard<std::mutex> lk(events_mu);
    return std::exchange(events, {});
  }

  std::vector<Event> events_named(const std::string& trigger) {
    std::vector<Event> out;
    std::lock_guard<std::mutex> lk(events_mu);
    for (const auto& e : events)
      if (e.trigger == trigger) out.push_back(e);
    return out;
  }
};

// The loaded lazy assets' total, as health() reports it.
inline double loaded_mb(BudgetManager& mgr) {
  return mgr.health().at("assets").at("loaded_mb").to_number<double>();
}

// "prefix" + number, built by appending (see AdmissionQueue::concat).
inline std::string numbered(std::string prefix, std::uint64_t n) {
  return prefix.append(std::to_string(n));
}

inline json::object hints(double cpu, double ram = 0, double vram = 0) {
  return json::object{
      {"perf", json::object{{"cpu_percent", cpu}, {"ram_mb", ram}, {"vram_mb", vram}}}};
}

inline std::string status_of(const BudgetResult& r) {
  return std::string(r.body.at("job").at("status").as_string());
}

inline std::string reason_of(const BudgetResult& r) {
  const auto& v = r.body.at("job").at("reason");
  return v.is_null() ? std::string("<null>") : std::string(v.as_string());
}

inline std::vector<std::string> ids(const json::object& snap, const char* key) {
  std::vector<std::string> out;
  for (const auto& v : snap.at(key).as_array()) out.emplace_back(v.as_string());
  return out;
}

// Copies, so that a lookup in a temporary snapshot cannot dangle.
inline std::optional<json::object> find_job(const json::object& snap, const std::string& id) {
  for (const auto& j : snap.at("jobs").as_array())
    if (j.at("id").as_string() == id) return j.as_object();
  return std::nullopt;
}

inline std::optional<json::object> find_asset(const json::object& snap, const std::string& id) {
  for (const auto& a : snap.at("assets").as_array())
    if (a.at("asset_id").as_string() == id) return a.as_object();
  return std::nullopt;
}

}  // namespace budget_test
