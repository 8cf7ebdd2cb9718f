// comfyvn_perf — the aggregates consumer: each site's duration histogram
// (percentiles, exporters' buckets) and its self time.
//
// Exact counts and totals do not come from here: every thread keeps them in
// its accumulators on the hot path (profiler/registry.hpp reads them). This
// consumer sees the spans the drain found, so its figures rest on what the
// rings kept (the profiler's `dropped` counts the rest).
//
// Self time: a thread's spans arrive in the order they ended, so a span
// arrives after its children. Each thread keeps the spans that have no parent
// yet; an arriving span's children are those that started at or after it
// and ended before it, and its self time is its duration minus theirs (the
// rule of the call tree, profiler/call_tree.hpp, without building nodes).
#pragma once

#include <cstddef>        // size_t
#include <cstdint>        // uint64_t
#include <deque>          // a thread's spans without a parent yet
#include <unordered_map>  // per thread
#include <vector>         // per site

#include "../core/histogram.hpp"  // LogHistogram
#include "consumer.hpp"           // LockedConsumer, SpanBatch
#include "thread_state.hpp"       // Totals

namespace comfyvn::perf::detail {

// One site's figures at one moment.
struct SiteSnapshot {
  std::uint32_t id = 0;
  Totals totals;                         // exact (registry)
  double p50 = 0, p95 = 0, p99 = 0;      // ticks (aggregates)
  std::uint64_t self = 0;                // ticks (aggregates; scaled when coverage < 1)
  double coverage = 1.0;                 // spans seen by the drain / exact count
  std::vector<std::uint64_t> le_counts;  // when asked: cumulative counts at the bounds
};

class AggregateConsumer final : public LockedConsumer {
 public:
  // Spans of one thread kept waiting for a parent, across collections.
  static constexpr std::size_t kMaxOpen = 256;

  void consume(const SpanBatch& batch) override;
  void thread_exited(std::uint32_t thread_index) override;
  void reset() override;

  // Fills the percentiles, self time and coverage of each snapshot (by id,
  // its exact totals set); with `le_ticks` (ascending), the cumulative
  // histogram counts at those bounds. A site whose spans the rings all lost
  // gets its mean as percentiles.
  //
  // Self time is exact when the drain saw every span of the site. When rings
  // lost some, the self time measured on the spans seen is scaled by the
  // site's exact total over the total of the spans seen: the self share of
  // the spans seen stands for all of them. A leaf's self time then equals its
  // exact total. `coverage` says how many spans the figures rest on.
  void read(std::vector<SiteSnapshot>& sites, const std::vector<std::uint64_t>* le_ticks) const;

 private:
  struct Interval {
    std::uint64_t start, end;
  };
  std::vector<LogHistogram> hist_;     // by site id, grown on demand
  std::vector<std::uint64_t> self_;    // ticks by site id
  std::vector<std::uint64_t> seen_;    // ticks of the spans seen, by site id
  std::unordered_map<std::uint32_t, std::deque<Interval>> open_;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min

#include "../core/site.hpp"  // kFrameSiteId
#include "call_tree.hpp"     // take_children

namespace comfyvn::perf::detail {

void AggregateConsumer::consume(const SpanBatch& batch) {
  const std::vector<SiteInfo>& sites = *batch.collection.sites;
  std::lock_guard<std::mutex> lock(mu_);
  if (hist_.size() < sites.size()) {
    hist_.resize(sites.size());
    self_.resize(sites.size());
    seen_.resize(sites.size());
  }
  std::deque<Interval>& open = open_[batch.thread_index];
  for (const RawSpan& s : batch.spans) {
    if (s.site_id >= sites.size() || sites[s.site_id].counter) continue;
    hist_[s.site_id].add(s.duration_ticks);
    seen_[s.site_id] += s.duration_ticks;
    if (sites[s.site_id].frame) continue;  // frames enclose everything: no parent, no child
    const std::uint64_t end = s.start_ticks + s.duration_ticks;
    const std::uint64_t children = take_children(open, s.start_ticks, end, [](Interval&) {});
    // Children of one thread do not overlap, so they fit in their parent;
    // clamp anyway for spans recorded with a measured duration.
    self_[s.site_id] += s.duration_ticks - std::min(s.duration_ticks, children);
    open.push_back(Interval{s.start_ticks, end});
    if (open.size() > kMaxOpen) open.pop_front();
  }
}

void AggregateConsumer::thread_exited(std::uint32_t thread_index) {
  std::lock_guard<std::mutex> lock(mu_);
  open_.erase(thread_index);
}

void AggregateConsumer::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& h : hist_) h.clear();
  for (auto& v : self_) v = 0;
  for (auto& v : seen_) v = 0;
  open_.clear();
}

void AggregateConsumer::read(std::vector<SiteSnapshot>& sites,
                             const std::vector<std::uint64_t>* le_ticks) const {
  static constexpr double kQs[3] = {0.50, 0.95, 0.99};
  std::lock_guard<std::mutex> lock(mu_);
  for (SiteSnapshot& s : sites) {
    const LogHistogram* h = s.id < hist_.size() ? &hist_[s.id] : nullptr;
    const std::uint64_t seen_count = h != nullptr ? h->count() : 0;
    if (s.totals.count > 0) {
      s.coverage = std::min(1.0, static_cast<double>(seen_count) /
                                     static_cast<double>(s.totals.count));
    }
    if (s.id < self_.size() && seen_[s.id] > 0) {
      const double scale = seen_count < s.totals.count
                               ? static_cast<double>(s.totals.total) /
                                     static_cast<double>(seen_[s.id])
                               : 1.0;
      s.self = std::min<std::uint64_t>(
          s.totals.total, static_cast<std::uint64_t>(static_cast<double>(self_[s.id]) * scale));
    } else if (s.id < self_.size()) {
      s.self = self_[s.id];
    }
    if (le_ticks != nullptr) {
      s.le_counts = h != nullptr ? h->cumulative(*le_ticks)
                                 : std::vector<std::uint64_t>(le_ticks->size(), 0);
    }
    if (h != nullptr && h->count() > 0) {
      double q[3];
      h->quantiles(kQs, q);
      s.p50 = q[0];
      s.p95 = q[1];
      s.p99 = q[2];
    } else if (s.totals.count > 0) {  // every raw span was overwritten: use the mean
      s.p50 = s.p95 = s.p99 =
          static_cast<double>(s.totals.total) / static_cast<double>(s.totals.count);
    }
  }
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
