// comfyvn_perf — span and frame budgets, judged on the collector.
//
// A budget names a site (`name`, optional `category`; the built-in frame
// site is "(frame)") and sets `max_ms` (every longer span counts in
// over_count) and/or `p95_ms` (the site's p95 over the latest evaluation
// window must stay below it). The collector feeds every drained span of a
// budgeted site to the table and evaluates it once per window (1 s by
// default): `over` while either limit is broken, `ok` otherwise, `no_data`
// when the window had no span of the site. PERF_SCOPE does not change.
// Spans that rings overwrote before collection cannot be judged; they are in
// the profiler's `dropped`.
//
// While a "(frame)" budget with `max_ms` exists, each longer frame becomes a
// spike: the collector keeps the spans of every thread within that frame's
// interval (the newest 8 spikes by default, each bounded).
#pragma once

#include <algorithm>    // remove_if (remove_config_except)
#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <deque>        // recent spans, spikes
#include <optional>     // limits
#include <string>       // names
#include <string_view>  // lookups
#include <vector>       // budgets

#include "../core/histogram.hpp"  // LogHistogram: each budget's window
#include "../core/ring.hpp"       // RawSpan: recent spans, a spike's spans
#include "types.hpp"              // SpanBudgetSpec, SpanBudgetState, SpikeSummary

namespace comfyvn::perf {

inline constexpr std::string_view kFrameSiteName = "(frame)";


namespace detail {

// A state change to announce (span_budget.exceeded / .recovered).
struct BudgetTransition {
  SpanBudgetState state;
  bool exceeded = false;
};

struct SpikeRecord {
  SpikeSummary summary;
  std::uint64_t start = 0, end = 0;  // ticks
  std::uint32_t thread = 0;
  std::vector<RawSpan> spans;
  bool seen_once = false;  // waited one collection for the other threads
  bool complete = false;
};

// Every budget and its current window. Lives in SpanBudgetConsumer, under its lock.
class SpanBudgetTable {
 public:
  struct Entry {
    SpanBudgetState state;
    LogHistogram window;
    std::uint64_t window_max = 0;
    std::uint64_t window_count = 0;
    std::uint64_t max_ticks = 0;  // max_ms in ticks, 0 = none
  };

  // Adds or replaces the budget of (name, category). "" when set, else why not.
  std::string set(const SpanBudgetSpec& spec, double ns_per_tick, double now_epoch,
                  bool from_config);

  bool remove(std::string_view name, std::string_view category);

  // Drops the config file's budgets that `keep` does not name.
  template <class Keep>
  void remove_config_except(Keep&& keep) {
    const auto before = entries_.size();
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) {
                                    return e.state.from_config &&
                                           !keep(e.state.name, e.state.category);
                                  }),
                   entries_.end());
    if (entries_.size() != before) dirty_ = true;
  }

  std::vector<SpanBudgetState> states() const;

  std::optional<SpanBudgetState> state_of(std::string_view name, std::string_view category) const;

  bool empty() const { return entries_.empty(); }

  // The max in ticks of the budget on frame site `site` ("(frame)" or
  // "(gpu frame)"), 0 when there is none: spikes are captured only while
  // one exists.
  std::uint64_t frame_max_ticks(double* max_ms = nullptr,
                                std::string_view site = kFrameSiteName) const;

  // Which budgets judge each site: rebuilt when budgets or sites change.
  template <class Sites>
  void map_sites(const Sites& sites) {
    if (!dirty_ && mapped_sites_ == sites.size()) return;
    by_site_.assign(sites.size(), {});
    for (std::size_t id = 0; id < sites.size(); ++id) {
      if (sites[id].counter) continue;
      for (std::size_t b = 0; b < entries_.size(); ++b) {
        const SpanBudgetState& s = entries_[b].state;
        if (s.name == sites[id].name && (s.category.empty() || s.category == sites[id].category))
          by_site_[id].push_back(static_cast<std::uint16_t>(b));
      }
    }
    mapped_sites_ = sites.size();
    dirty_ = false;
  }

  // One drained span (after map_sites).
  void on_span(std::uint32_t site, std::uint64_t duration);

  // Closes the window: judges each budget and returns the state changes
  // into and out of `over`.
  std::vector<BudgetTransition> evaluate(double ns_per_tick, double now_epoch);

  void clear_windows();

 private:
  std::vector<Entry>::iterator find(std::string_view name, std::string_view category);

  std::vector<Entry> entries_;
  std::vector<std::vector<std::uint16_t>> by_site_;
  std::size_t mapped_sites_ = 0;
  bool dirty_ = true;
};

// Recent spans of every thread, kept while a frame budget with max_ms
// exists, and the spikes cut from them.
class SpikeRecorder {
 public:
  static constexpr std::size_t kMaxRecent = 200'000;
  static constexpr std::size_t kMaxSpikeSpans = 20'000;

  void set_max_spikes(std::size_t n);

  void keep_recent(const RawSpan& s);

  // A frame longer than the budget: its spans are cut at the next
  // collection, once every thread has been drained past its end.
  void frame_over(const RawSpan& frame, double frame_ms, double budget_ms, double end_epoch,
                  std::string_view site = kFrameSiteName);

  // Cuts the spikes that waited a collection; returns the newly complete
  // ones. `lookback` bounds how long spans are kept for later spikes.
  std::vector<SpikeSummary> finish(std::uint64_t lookback_ticks);

  void clear_recent();
  void clear();

  // Complete spikes, newest first.
  std::vector<SpikeSummary> list() const;

  const SpikeRecord* find(std::uint64_t id) const;

 private:
  std::deque<RawSpan> recent_;
  std::deque<SpikeRecord> spikes_;
  std::size_t max_spikes_ = 8;
  std::uint64_t next_id_ = 0;
  bool pending_ = false;
};

}  // namespace detail
}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <utility>  // move

#include "../os/text.hpp"  // utf8_length

namespace comfyvn::perf {

std::string span_budget_problem(const SpanBudgetSpec& s, std::string* field) {
  const auto at = [&](const char* key, const char* problem) {
    if (field != nullptr) *field = key;
    return std::string(problem);
  };
  if (s.name.empty() || os::utf8_length(s.name) > 128) {
    return at("name", "name must be a string of 1-128 characters");
  }
  if (os::utf8_length(s.category) > 64) {
    return at("category", "category must be a string of 1-64 characters");
  }
  const auto bad = [](const std::optional<double>& v) {
    return v && !(*v >= kMinSpanBudgetMs && *v < 1e9);  // NaN fails too
  };
  if (bad(s.p95_ms)) return at("p95_ms", "p95_ms must be a number from 0.001 (1 microsecond) to 1e9");
  if (bad(s.max_ms)) return at("max_ms", "max_ms must be a number from 0.001 (1 microsecond) to 1e9");
  if (!s.p95_ms && !s.max_ms) return at("p95_ms", "set p95_ms, max_ms or both");
  return {};
}

namespace detail {

std::string SpanBudgetTable::set(const SpanBudgetSpec& spec, double ns_per_tick, double now_epoch,
                                 bool from_config) {
  auto it = find(spec.name, spec.category);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxSpanBudgets) {
      return "at most " + std::to_string(kMaxSpanBudgets) + " span budgets";
    }
    entries_.emplace_back();
    it = entries_.end() - 1;
    it->state.since = now_epoch;
  }
  it->state.name = spec.name;
  it->state.category = spec.category;
  it->state.p95_ms = spec.p95_ms;
  it->state.max_ms = spec.max_ms;
  it->state.from_config = from_config;
  it->max_ticks = spec.max_ms ? static_cast<std::uint64_t>(*spec.max_ms * 1e6 / ns_per_tick) : 0;
  dirty_ = true;
  return {};
}

bool SpanBudgetTable::remove(std::string_view name, std::string_view category) {
  auto it = find(name, category);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  dirty_ = true;
  return true;
}

std::vector<SpanBudgetState> SpanBudgetTable::states() const {
  std::vector<SpanBudgetState> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) out.push_back(e.state);
  return out;
}

std::optional<SpanBudgetState> SpanBudgetTable::state_of(std::string_view name,
                                                         std::string_view category) const {
  for (const auto& e : entries_) {
    if (e.state.name == name && e.state.category == category) return e.state;
  }
  return std::nullopt;
}

std::uint64_t SpanBudgetTable::frame_max_ticks(double* max_ms, std::string_view site) const {
  for (const auto& e : entries_) {
    if (e.state.name == site && e.max_ticks != 0) {
      if (max_ms) *max_ms = *e.state.max_ms;
      return e.max_ticks;
    }
  }
  return 0;
}

void SpanBudgetTable::on_span(std::uint32_t site, std::uint64_t duration) {
  if (site >= by_site_.size()) return;
  for (std::uint16_t b : by_site_[site]) {
    Entry& e = entries_[b];
    e.window.add(duration);
    ++e.window_count;
    e.window_max = std::max(e.window_max, duration);
    if (e.max_ticks != 0 && duration > e.max_ticks) ++e.state.over_count;
  }
}

std::vector<BudgetTransition> SpanBudgetTable::evaluate(double ns_per_tick, double now_epoch) {
  std::vector<BudgetTransition> out;
  const double ms = ns_per_tick / 1e6;
  for (Entry& e : entries_) {
    SpanBudgetState& s = e.state;
    std::string next;
    if (e.window_count == 0) {
      next = "no_data";
      s.observed_p95_ms.reset();
      s.observed_max_ms.reset();
    } else {
      s.observed_p95_ms = e.window.quantile(0.95) * ms;
      s.observed_max_ms = static_cast<double>(e.window_max) * ms;
      const bool p95_over = s.p95_ms && *s.observed_p95_ms > *s.p95_ms;
      const bool max_over = e.max_ticks != 0 && e.window_max > e.max_ticks;
      next = p95_over || max_over ? "over" : "ok";
    }
    e.window.clear();
    e.window_count = 0;
    e.window_max = 0;
    if (next == s.state) continue;
    const bool was_over = s.state == "over";
    s.state = next;
    s.since = now_epoch;
    if (next == "over") {
      ++s.exceeded_total;
      out.push_back(BudgetTransition{s, true});
    } else if (was_over) {
      out.push_back(BudgetTransition{s, false});
    }
  }
  return out;
}

void SpanBudgetTable::clear_windows() {
  for (Entry& e : entries_) {
    e.window.clear();
    e.window_count = 0;
    e.window_max = 0;
    e.state.over_count = 0;
  }
}

auto SpanBudgetTable::find(std::string_view name, std::string_view category)
    -> std::vector<Entry>::iterator {
  return std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.state.name == name && e.state.category == category;
  });
}

void SpikeRecorder::set_max_spikes(std::size_t n) {
  max_spikes_ = n == 0 ? 1 : n;
  while (spikes_.size() > max_spikes_) spikes_.pop_front();
}

void SpikeRecorder::keep_recent(const RawSpan& s) {
  recent_.push_back(s);
  if (recent_.size() > kMaxRecent) recent_.pop_front();
}

void SpikeRecorder::frame_over(const RawSpan& frame, double frame_ms, double budget_ms,
                               double end_epoch, std::string_view site) {
  SpikeRecord r;
  r.summary.id = ++next_id_;
  r.summary.frame_ms = frame_ms;
  r.summary.budget_ms = budget_ms;
  r.summary.site = site;
  r.summary.timestamp = end_epoch;
  r.start = frame.start_ticks;
  r.end = frame.start_ticks + frame.duration_ticks;
  r.thread = frame.thread_index;
  spikes_.push_back(std::move(r));
  pending_ = true;
  while (spikes_.size() > max_spikes_) spikes_.pop_front();
}

std::vector<SpikeSummary> SpikeRecorder::finish(std::uint64_t lookback_ticks) {
  std::vector<SpikeSummary> done;
  if (pending_) {
    bool still = false;
    for (SpikeRecord& r : spikes_) {
      if (r.complete) continue;
      if (!r.seen_once) {  // wait one collection for the other threads
        r.seen_once = true;
        still = true;
        continue;
      }
      for (const RawSpan& s : recent_) {
        const std::uint64_t e = s.start_ticks + s.duration_ticks;
        if (e < r.start || s.start_ticks > r.end) continue;  // outside the frame
        if (r.spans.size() >= kMaxSpikeSpans) break;
        r.spans.push_back(s);
      }
      r.summary.spans = r.spans.size();
      r.complete = true;
      done.push_back(r.summary);
    }
    pending_ = still;
  }
  if (!recent_.empty()) {
    std::uint64_t newest = 0;
    for (auto it = recent_.rbegin(); it != recent_.rend() && it - recent_.rbegin() < 64; ++it)
      newest = std::max(newest, it->start_ticks + it->duration_ticks);
    while (!recent_.empty() && newest > lookback_ticks &&
           recent_.front().start_ticks + recent_.front().duration_ticks < newest - lookback_ticks)
      recent_.pop_front();
  }
  return done;
}

void SpikeRecorder::clear_recent() {
  recent_.clear();
}

void SpikeRecorder::clear() {
  recent_.clear();
  spikes_.clear();
  pending_ = false;
}

std::vector<SpikeSummary> SpikeRecorder::list() const {
  std::vector<SpikeSummary> out;
  for (auto it = spikes_.rbegin(); it != spikes_.rend(); ++it)
    if (it->complete) out.push_back(it->summary);
  return out;
}

const SpikeRecord* SpikeRecorder::find(std::uint64_t id) const {
  for (const auto& r : spikes_)
    if (r.summary.id == id && r.complete) return &r;
  return nullptr;
}

}  // namespace detail
}  // namespace comfyvn::perf
#endif
