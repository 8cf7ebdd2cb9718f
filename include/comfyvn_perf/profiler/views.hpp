// comfyvn_perf — the profiler's read views: the plain structs of
// profiler/types.hpp, composed from the registry's exact totals and the
// consumers' figures. Each collects first. The JSON views of these structs
// are json/profiler.hpp's.
#pragma once

#include <cstddef>  // size_t
#include <vector>   // bounds, rows

#include "types.hpp"  // ProfilerSnapshot, HistogramSnapshot, CallTree, CounterSeries

namespace comfyvn::perf::detail {

// Rows by total time, categories, the newest `marks` marks, frames, counters.
ProfilerSnapshot snapshot_view(std::size_t marks, bool enabled);

// Every site's span durations over ascending bounds (seconds).
HistogramSnapshot histogram_view(const std::vector<double>& bounds_seconds);

// The call tree, at most `limit` children per node (the rest fold into one
// "(other)" child, for this answer only).
CallTree call_tree_view(std::size_t limit);

// Every PERF_COUNTER series with a sample, by name.
std::vector<CounterSeries> counter_view();

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min, sort, stable_sort
#include <cstdint>    // uint64_t
#include <utility>    // move

#include "../core/site.hpp"  // kFrameSiteId, kOtherSiteId
#include "../os/time.hpp"    // epoch_now
#include "call_tree.hpp"     // TreeNode, subtree_sums
#include "registry.hpp"      // registry() and its consumers

namespace comfyvn::perf::detail {
namespace {

ProfilerCounters counters_of(const Health& h) {
  return ProfilerCounters{h.spans_recorded,  h.marks_recorded, h.dropped,       h.threads_live,
                          h.threads_retired, h.dynamic_names,  h.dynamic_folded};
}

// Totals, percentiles and self time of every site with spans.
std::vector<SiteSnapshot> site_rows(std::vector<SiteInfo>& infos, Health& health,
                                    const std::vector<std::uint64_t>* le_ticks) {
  auto& reg = registry();
  std::vector<SiteSnapshot> sites = reg.snapshot_sites(&infos, &health);
  reg.aggregates().read(sites, le_ticks);
  health.marks_recorded = reg.marks().recorded();
  return sites;
}

std::vector<CallTreeNode> tree_children(const TreeNode& n, const std::vector<SiteInfo>& sites,
                                        const std::vector<double>& coverage, double ms,
                                        std::size_t limit) {
  std::vector<const TreeNode*> order;
  order.reserve(n.children.size());
  for (const auto& c : n.children) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(),
                   [](const TreeNode* a, const TreeNode* b) { return a->total > b->total; });
  std::vector<CallTreeNode> out;
  CallTreeNode other{"(other)", "", 0, 0, 0, 1.0, {}};
  for (std::size_t i = 0; i < order.size(); ++i) {
    const TreeNode& c = *order[i];
    if (i >= limit) {  // folded for this answer only
      std::uint64_t count = 0, self = 0;
      subtree_sums(c, count, self);
      other.count += c.count;
      other.total_ms += static_cast<double>(c.total) * ms;
      other.self_ms += static_cast<double>(self) * ms;
      continue;
    }
    CallTreeNode node;
    if (c.site < sites.size()) {
      node.name = sites[c.site].name;
      node.category = c.site == kOtherSiteId ? "" : sites[c.site].category;
    }
    node.count = c.count;
    node.total_ms = static_cast<double>(c.total) * ms;
    node.self_ms = static_cast<double>(c.self) * ms;
    if (c.site < coverage.size()) node.coverage = coverage[c.site];
    node.children = tree_children(c, sites, coverage, ms, limit);
    out.push_back(std::move(node));
  }
  if (other.count > 0) out.push_back(std::move(other));
  return out;
}

}  // namespace

ProfilerSnapshot snapshot_view(std::size_t marks, bool enabled) {
  auto& reg = registry();
  std::vector<SiteInfo> infos;
  Health h;
  const auto sites = site_rows(infos, h, nullptr);
  const double ms = reg.time().ns_per_tick() / 1e6;
  ProfilerSnapshot out;
  out.rows.reserve(sites.size());
  for (const auto& s : sites) {
    const auto& t = s.totals;
    const FrameStats stats{t.count,
                           static_cast<double>(t.total) / static_cast<double>(t.count) * ms,
                           s.p95 * ms, static_cast<double>(t.max) * ms};
    if (s.id == kFrameSiteId) {
      out.frames = stats;
      continue;
    }
    // "(gpu frame)" (the other frame site) stays a row like any GPU site, in
    // the top lists, spans_recorded and /metrics; it also gives gpu_frames.
    if (infos[s.id].frame) out.gpu_frames = stats;
    Aggregate a;
    a.name = infos[s.id].name;
    a.category = infos[s.id].category;
    a.count = t.count;
    a.total_ms = static_cast<double>(t.total) * ms;
    a.avg_ms = a.total_ms / static_cast<double>(t.count);
    a.max_ms = static_cast<double>(t.max) * ms;
    a.min_ms = static_cast<double>(t.min) * ms;
    a.p50_ms = s.p50 * ms;
    a.p95_ms = s.p95 * ms;
    a.p99_ms = s.p99 * ms;
    a.self_ms = static_cast<double>(s.self) * ms;
    a.coverage = s.coverage;
    a.total_kb = static_cast<double>(t.mem_total) / 1024.0;
    a.max_kb = static_cast<double>(t.mem_max) / 1024.0;
    a.avg_kb = a.total_kb / static_cast<double>(t.count);
    a.last_timestamp = reg.time().ticks_to_epoch(t.last_end);
    out.rows.push_back(std::move(a));
  }
  std::sort(out.rows.begin(), out.rows.end(),
            [](const Aggregate& x, const Aggregate& y) { return x.total_ms > y.total_ms; });
  for (const auto& r : out.rows) {
    CategoryTotals& c = out.categories[r.category];
    c.count += r.count;
    c.total_ms += r.total_ms;
    c.total_kb += r.total_kb;
    ++c.sites;
  }
  if (marks > 0) {
    for (const auto& m : reg.marks().list(marks)) {
      out.marks.push_back(
          Mark{m.name, m.category, reg.time().ticks_to_epoch(m.ticks), m.metadata_json});
    }
  }
  out.counters = counters_of(h);
  out.series = counter_view();
  out.enabled = enabled;
  out.timestamp = os::epoch_now();
  return out;
}

HistogramSnapshot histogram_view(const std::vector<double>& bounds_seconds) {
  const double ns_per_tick = registry().time().ns_per_tick();
  std::vector<std::uint64_t> le_ticks;
  le_ticks.reserve(bounds_seconds.size());
  for (double b : bounds_seconds) {
    const double t = b * 1e9 / ns_per_tick;
    le_ticks.push_back(t <= 0 ? 0 : t >= 1.8e19 ? UINT64_MAX : static_cast<std::uint64_t>(t));
  }
  std::vector<SiteInfo> infos;
  Health h;
  const auto sites = site_rows(infos, h, &le_ticks);
  HistogramSnapshot out;
  out.bounds_seconds = bounds_seconds;
  for (const auto& s : sites) {
    SiteHistogram row;
    row.count = s.totals.count;
    row.sum_seconds = static_cast<double>(s.totals.total) * ns_per_tick / 1e9;
    row.cumulative = s.le_counts;
    row.coverage = s.coverage;
    // A span can reach the accumulators before the histogram, never the
    // other way: keep the buckets at or below the exact count.
    for (auto& c : row.cumulative) c = std::min(c, row.count);
    if (s.id == kFrameSiteId) {
      out.frames = std::move(row);
      continue;
    }
    row.name = infos[s.id].name;
    row.category = infos[s.id].category;
    out.sites.push_back(std::move(row));
  }
  std::sort(out.sites.begin(), out.sites.end(), [](const SiteHistogram& a, const SiteHistogram& b) {
    return a.sum_seconds > b.sum_seconds;
  });
  out.counters = counters_of(h);
  return out;
}

CallTree call_tree_view(std::size_t limit) {
  auto& reg = registry();
  std::vector<SiteInfo> sites;
  Health h;
  std::vector<double> coverage;
  for (const SiteSnapshot& s : site_rows(sites, h, nullptr)) {  // collects
    if (coverage.size() <= s.id) coverage.resize(s.id + 1, 1.0);
    coverage[s.id] = s.coverage;
  }
  const TreeSnapshot t = reg.tree().snapshot(h.dropped);
  if (sites.size() < reg.sites().size()) sites = reg.sites();
  const double ms = reg.time().ns_per_tick() / 1e6;
  CallTree out;
  out.coverage = t.coverage;
  out.nodes = t.nodes;
  out.folded = t.folded;
  out.roots = tree_children(t.root, sites, coverage, ms, limit);
  return out;
}

std::vector<CounterSeries> counter_view() {
  auto& reg = registry();
  reg.collect();
  const auto series = reg.counters().series();
  std::vector<CounterSeries> out;
  if (series.empty()) return out;
  const std::vector<SiteInfo> sites = reg.sites();
  for (const auto& [id, c] : series) {
    if (id >= sites.size() || !sites[id].counter) continue;
    out.push_back(CounterSeries{sites[id].name, c.last, c.min, c.max,
                                c.count ? c.sum / static_cast<double>(c.count) : 0.0, c.count});
  }
  std::sort(out.begin(), out.end(),
            [](const CounterSeries& a, const CounterSeries& b) { return a.name < b.name; });
  return out;
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
