// comfyvn_perf — the counters consumer: PERF_COUNTER samples.
//
// A counter sample travels through the rings as a span of a site in the
// reserved category "(counter)", its value's bits in the span's memory
// field. This consumer keeps each series' count, sum, min, max and latest
// value; every other consumer skips counter sites.
#pragma once

#include <cstdint>  // uint64_t
#include <utility>  // pair
#include <vector>   // per site

#include "consumer.hpp"  // LockedConsumer, SpanBatch

namespace comfyvn::perf::detail {

// One counter series, from the samples the collector saw.
struct CounterAccum {
  std::uint64_t count = 0;
  double sum = 0, min = 0, max = 0, last = 0;
  std::uint64_t last_ticks = 0;

  void add(double v, std::uint64_t ticks);
};

class CounterConsumer final : public LockedConsumer {
 public:
  void consume(const SpanBatch& batch) override;
  void reset() override;

  // Every series with at least one sample: (site id, stats).
  std::vector<std::pair<std::uint32_t, CounterAccum>> series() const;

 private:
  std::vector<CounterAccum> stats_;  // by site id, grown on demand
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cstring>  // memcpy

namespace comfyvn::perf::detail {

void CounterAccum::add(double v, std::uint64_t ticks) {
  if (count == 0 || v < min) min = v;
  if (count == 0 || v > max) max = v;
  ++count;
  sum += v;
  if (ticks >= last_ticks) {
    last = v;
    last_ticks = ticks;
  }
}

void CounterConsumer::consume(const SpanBatch& batch) {
  const std::vector<SiteInfo>& sites = *batch.collection.sites;
  std::lock_guard<std::mutex> lock(mu_);
  for (const RawSpan& s : batch.spans) {
    if (s.site_id >= sites.size() || !sites[s.site_id].counter) continue;
    if (stats_.size() <= s.site_id) stats_.resize(sites.size());
    double v;
    std::memcpy(&v, &s.alloc_bytes, sizeof v);
    stats_[s.site_id].add(v, s.start_ticks);
  }
}

void CounterConsumer::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : stats_) c = CounterAccum{};
}

std::vector<std::pair<std::uint32_t, CounterAccum>> CounterConsumer::series() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::uint32_t, CounterAccum>> out;
  for (std::size_t id = 0; id < stats_.size(); ++id) {
    if (stats_[id].count > 0) out.emplace_back(static_cast<std::uint32_t>(id), stats_[id]);
  }
  return out;
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
