// comfyvn_perf — the span budgets and spikes as a consumer of the drain
// (the rules: profiler/span_budgets.hpp).
//
// Feeds each drained span of a budgeted site to the budget table, judges the
// table once per window at the end of a collection, cuts spikes out of the
// recent spans while a "(frame)" budget has `max_ms`, and announces state
// changes and new spikes to its listener after the registry's lock is
// released.
#pragma once

#include <atomic>       // judging, window
#include <chrono>       // window
#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <functional>   // listener
#include <optional>     // one budget's state, one spike
#include <string>       // errors
#include <string_view>  // lookups
#include <vector>       // budgets, spikes

#include "consumer.hpp"      // LockedConsumer, SpanBatch
#include "span_budgets.hpp"  // SpanBudgetTable, SpikeRecorder

namespace comfyvn::perf::detail {

class SpanBudgetConsumer final : public LockedConsumer {
 public:
  // Receives the budgets' state changes and the new spikes, after each
  // collection that has some, outside every lock of the pipeline's.
  using Listener =
      std::function<void(const std::vector<BudgetTransition>&, const std::vector<SpikeSummary>&)>;

  bool wants_calibration() const override { return judging_.load(std::memory_order_relaxed); }
  void begin(const Collection& c) override;
  void consume(const SpanBatch& batch) override;
  void end(const Collection& c) override;
  void deliver() override;
  void reset() override;

  // Adds or replaces a budget; "" when set, else why not (the cap).
  std::string set(const SpanBudgetSpec& spec, double ns_per_tick, bool from_config = false);

  bool remove(std::string_view name, std::string_view category);

  // Replaces the budgets that came from the config file with `specs`;
  // budgets set from code or over HTTP stay. Returns the problems.
  std::vector<std::string> replace_config(const std::vector<SpanBudgetSpec>& specs,
                                          double ns_per_tick);

  std::vector<SpanBudgetState> states() const;
  std::optional<SpanBudgetState> state(std::string_view name, std::string_view category) const;

  // How long one evaluation window lasts (default 1 s).
  void set_window(std::chrono::nanoseconds window) {
    window_ns_.store(window.count() <= 0 ? 1 : window.count(), std::memory_order_relaxed);
  }

  void set_max_spikes(std::size_t n);
  std::vector<SpikeSummary> spikes() const;
  // A spike's spans, or nothing for an unknown id.
  std::optional<std::vector<RawSpan>> spike_spans(std::uint64_t id) const;

  void set_listener(Listener listener);

 private:
  SpanBudgetTable table_;
  SpikeRecorder spikes_;
  std::atomic<bool> judging_{false};  // some budget exists
  std::atomic<std::int64_t> window_ns_{1'000'000'000};
  std::uint64_t last_eval_ = 0;  // ticks
  Listener listener_;
  // One collection's context, between begin() and deliver() (serialised).
  bool active_ = false;
  std::uint64_t frame_max_ = 0;  // the frame budget's max_ms in ticks; 0: no spikes
  double frame_max_ms_ = 0;
  std::uint64_t gpu_frame_max_ = 0;  // the same for "(gpu frame)"
  double gpu_frame_max_ms_ = 0;
  double ns_per_tick_ = 1.0;
  std::vector<BudgetTransition> transitions_;
  std::vector<SpikeSummary> new_spikes_;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // max
#include <utility>    // move

#include "../core/site.hpp"  // kFrameSiteId
#include "../os/time.hpp"    // epoch_now

namespace comfyvn::perf::detail {

void SpanBudgetConsumer::begin(const Collection& c) {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = !table_.empty();
  frame_max_ = 0;
  frame_max_ms_ = 0;
  gpu_frame_max_ = 0;
  gpu_frame_max_ms_ = 0;
  ns_per_tick_ = c.ns_per_tick;
  if (active_) {
    table_.map_sites(*c.sites);
    frame_max_ = table_.frame_max_ticks(&frame_max_ms_);
    gpu_frame_max_ = table_.frame_max_ticks(&gpu_frame_max_ms_, kGpuFrameSiteName);
  }
}

void SpanBudgetConsumer::consume(const SpanBatch& batch) {
  if (!active_) return;
  const std::vector<SiteInfo>& sites = *batch.collection.sites;
  std::lock_guard<std::mutex> lock(mu_);
  // A budget set or removed since begin() (they take only this lock) moves
  // the table's entries: map the sites again (a no-op when nothing changed).
  table_.map_sites(sites);
  for (const RawSpan& s : batch.spans) {
    if (s.site_id >= sites.size() || sites[s.site_id].counter) continue;
    table_.on_span(s.site_id, s.duration_ticks);
    if (frame_max_ == 0 && gpu_frame_max_ == 0) continue;
    spikes_.keep_recent(s);
    if (!sites[s.site_id].frame) continue;
    const bool gpu = s.site_id != kFrameSiteId;
    const std::uint64_t limit = gpu ? gpu_frame_max_ : frame_max_;
    if (limit != 0 && s.duration_ticks > limit) {
      spikes_.frame_over(s, static_cast<double>(s.duration_ticks) * ns_per_tick_ / 1e6,
                         gpu ? gpu_frame_max_ms_ : frame_max_ms_, os::epoch_now(),
                         gpu ? kGpuFrameSiteName : kFrameSiteName);
    }
  }
}

void SpanBudgetConsumer::end(const Collection& c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!active_) {
    last_eval_ = 0;
    return;
  }
  const double window_ticks =
      static_cast<double>(window_ns_.load(std::memory_order_relaxed)) / c.ns_per_tick;
  if (last_eval_ == 0) last_eval_ = c.now_ticks;
  if (c.close_window || static_cast<double>(c.now_ticks - last_eval_) >= window_ticks) {
    for (auto& t : table_.evaluate(c.ns_per_tick, os::epoch_now())) transitions_.push_back(std::move(t));
    last_eval_ = c.now_ticks;
  }
  // Spans stay long enough for a spike of up to 10 s to be cut.
  const double longest_ms = std::max(frame_max_ms_, gpu_frame_max_ms_);
  for (auto& s : spikes_.finish(static_cast<std::uint64_t>((longest_ms + 1000.0) * 1e6 /
                                                           c.ns_per_tick))) {
    new_spikes_.push_back(std::move(s));
  }
}

void SpanBudgetConsumer::deliver() {
  std::vector<BudgetTransition> transitions;
  std::vector<SpikeSummary> spikes;
  Listener listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    transitions.swap(transitions_);
    spikes.swap(new_spikes_);
    if (transitions.empty() && spikes.empty()) return;
    listener = listener_;
  }
  if (listener) listener(transitions, spikes);
}

void SpanBudgetConsumer::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  table_.clear_windows();
  spikes_.clear();
}

std::string SpanBudgetConsumer::set(const SpanBudgetSpec& spec, double ns_per_tick,
                                    bool from_config) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string e = table_.set(spec, ns_per_tick, os::epoch_now(), from_config);
  judging_.store(!table_.empty(), std::memory_order_relaxed);
  return e;
}

bool SpanBudgetConsumer::remove(std::string_view name, std::string_view category) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool removed = table_.remove(name, category);
  judging_.store(!table_.empty(), std::memory_order_relaxed);
  if (table_.frame_max_ticks() == 0 && table_.frame_max_ticks(nullptr, kGpuFrameSiteName) == 0)
    spikes_.clear_recent();
  return removed;
}

std::vector<std::string> SpanBudgetConsumer::replace_config(
    const std::vector<SpanBudgetSpec>& specs, double ns_per_tick) {
  std::lock_guard<std::mutex> lock(mu_);
  table_.remove_config_except([&](const std::string& name, const std::string& category) {
    for (const auto& s : specs)
      if (s.name == name && s.category == category) return true;
    return false;
  });
  std::vector<std::string> problems;
  for (const auto& spec : specs) {
    std::string e = table_.set(spec, ns_per_tick, os::epoch_now(), true);
    if (!e.empty()) problems.push_back(spec.name + ": " + e);
  }
  judging_.store(!table_.empty(), std::memory_order_relaxed);
  return problems;
}

std::vector<SpanBudgetState> SpanBudgetConsumer::states() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_.states();
}

std::optional<SpanBudgetState> SpanBudgetConsumer::state(std::string_view name,
                                                         std::string_view category) const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_.state_of(name, category);
}

void SpanBudgetConsumer::set_max_spikes(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  spikes_.set_max_spikes(n);
}

std::vector<SpikeSummary> SpanBudgetConsumer::spikes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spikes_.list();
}

std::optional<std::vector<RawSpan>> SpanBudgetConsumer::spike_spans(std::uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const SpikeRecord* r = spikes_.find(id);
  if (r == nullptr) return std::nullopt;
  return r->spans;
}

void SpanBudgetConsumer::set_listener(Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
