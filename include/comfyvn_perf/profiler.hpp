// comfyvn_perf — PerfProfiler: the JSON face of the recorded spans.
//
// This is the snapshot layer: it pulls in Boost.JSON, which the hot-path
// headers (scope.hpp and below) never do. Every read first collects the
// pending data of all threads, so it reflects every span that ended before
// the call, including spans of threads that have exited.
#pragma once

#include <algorithm>    // sort
#include <cstddef>      // size_t
#include <map>          // category slices
#include <string>       // names
#include <string_view>  // API arguments
#include <vector>       // aggregates

#include <boost/json.hpp>

#include "config.hpp"
#include "detail/registry.hpp"
#include "detail/time.hpp"
#include "hooks.hpp"
#include "scope.hpp"

namespace comfyvn::perf {

// One row of the dashboard: exact count/total/max, percentiles from the
// log-linear histogram of the spans the collector saw.
struct Aggregate {
  std::string name;
  std::string category;
  std::uint64_t count = 0;
  double total_ms = 0, avg_ms = 0, max_ms = 0, min_ms = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  double total_kb = 0, max_kb = 0, avg_kb = 0;
  double last_timestamp = 0;

  boost::json::object to_json() const {
    return boost::json::object{{"name", name},
                               {"category", category},
                               {"count", count},
                               {"total_ms", total_ms},
                               {"avg_ms", avg_ms},
                               {"max_ms", max_ms},
                               {"p50_ms", p50_ms},
                               {"p95_ms", p95_ms},
                               {"p99_ms", p99_ms},
                               {"total_kb", total_kb},
                               {"max_kb", max_kb},
                               {"avg_kb", avg_kb},
                               {"last_timestamp", last_timestamp}};
  }
};

struct FrameStats {
  std::uint64_t count = 0;
  double avg_ms = 0, p95_ms = 0, max_ms = 0;
};

class PerfProfiler {
 public:
  using Metadata = boost::json::object;

  // RAII scope with a runtime name (the form of PERF_SCOPE_DYN that carries
  // metadata). Metadata, when given, travels with the span's hook event.
  class ProfileScope {
   public:
    ProfileScope(PerfProfiler& p, std::string_view name, std::string_view category,
                 Metadata metadata)
        : profiler_(&p), scope_(name, category) {
      if (!metadata.empty() && scope_.active()) {
        name_ = std::string(name);
        category_ = std::string(category);
        metadata_ = std::move(metadata);
        start_ = detail::epoch_now();
      }
    }
    ~ProfileScope() {
      if (name_.empty()) return;
      try {
        profiler_->emit_annotated(name_, category_, (detail::epoch_now() - start_) * 1e3,
                                  metadata_);
      } catch (...) {
      }
    }
    ProfileScope(const ProfileScope&) = delete;
    ProfileScope& operator=(const ProfileScope&) = delete;
    bool active() const noexcept { return scope_.active(); }

   private:
    PerfProfiler* profiler_;
    Scope scope_;
    std::string name_, category_;
    Metadata metadata_;
    double start_ = 0;
  };

  PerfProfiler() {
    detail::registry().set_span_listener(
        [] { return hooks().has_subscribers(kProfilerEvent); },
        [this](const std::vector<RawSpan>& batch) { emit_batch(batch); });
  }
  PerfProfiler(const PerfProfiler&) = delete;
  PerfProfiler& operator=(const PerfProfiler&) = delete;

  // ---- switch ----
  bool enabled() const noexcept { return detail::g_enabled.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { detail::registry().set_enabled(on); }

  // ---- recording ----
  ProfileScope profile(std::string_view name, std::string_view category = "general",
                       Metadata metadata = {}) {
    return ProfileScope(*this, name, category, std::move(metadata));
  }

  // Records a span measured elsewhere (ending now). Returns false while the
  // profiler is disabled or the duration is not a finite value >= 0.
  bool record_span(std::string_view name, std::string_view category, double duration_ms,
                   Metadata metadata = {}, double memory_kb = 0.0) {
    if (!enabled() || !(duration_ms >= 0) || duration_ms > 1e12 || !(memory_kb >= 0) ||
        memory_kb > 1e15) {
      return false;
    }
    detail::ThreadBuffer* tb = detail::this_thread_buffer();
    if (tb == nullptr) return false;
    auto& reg = detail::registry();
    const std::uint32_t id = detail::dynamic_site_id(tb, name, category);
    const auto ticks = static_cast<std::uint64_t>(duration_ms * 1e6 / reg.ns_per_tick());
    const std::uint64_t end = DefaultClock::now();
    tb->record(id, end - std::min(ticks, end), end, static_cast<std::uint64_t>(memory_kb * 1024.0));
    if (!metadata.empty()) emit_annotated(name, category, duration_ms, metadata);
    return true;
  }

  // An instant mark; returns it as {name, category, timestamp, metadata}.
  boost::json::object mark(std::string_view name, std::string_view category = "general",
                           Metadata metadata = {}) {
    detail::MarkRecord m{std::string(name), std::string(category),
                         metadata.empty() ? std::string() : boost::json::serialize(metadata),
                         DefaultClock::now()};
    auto& reg = detail::registry();
    const double ts = reg.ticks_to_epoch(m.ticks);
    if (enabled()) reg.add_mark(std::move(m));
    boost::json::object out{{"name", std::string(name)},
                            {"category", std::string(category)},
                            {"timestamp", ts},
                            {"metadata", std::move(metadata)}};
    if (enabled() && hooks().has_subscribers(kProfilerEvent)) {
      hooks().emit(kProfilerEvent, "mark.emitted", out);
    }
    return out;
  }

  // ---- reading ----
  std::vector<Aggregate> aggregates() {
    detail::Health h;
    FrameStats f;
    return collect(h, f);
  }

  // Top entries by "time" (total_ms) or "memory" (total_kb), descending.
  boost::json::array top_offenders(std::size_t limit = 5, std::string_view by = "time") {
    auto rows = aggregates();
    return top_of(rows, limit, by == "memory");
  }

  boost::json::object dashboard(std::size_t limit = 5) {
    detail::Health h;
    FrameStats f;
    auto rows = collect(h, f);
    auto& reg = detail::registry();

    boost::json::array all;
    std::map<std::string, boost::json::object> cats;
    for (const auto& r : rows) {
      all.push_back(r.to_json());
      auto& c = cats[r.category];
      if (c.empty()) c = {{"count", 0}, {"total_ms", 0.0}, {"total_kb", 0.0}, {"sites", 0}};
      c["count"] = c["count"].to_number<std::uint64_t>() + r.count;
      c["total_ms"] = c["total_ms"].to_number<double>() + r.total_ms;
      c["total_kb"] = c["total_kb"].to_number<double>() + r.total_kb;
      c["sites"] = c["sites"].to_number<std::uint64_t>() + 1;
    }
    boost::json::object categories;
    for (auto& [k, v] : cats) categories[k] = std::move(v);

    boost::json::array marks;
    for (const auto& m : reg.marks()) marks.push_back(mark_json(m));

    boost::json::object out{{"top_time", top_of(rows, limit, false)},
                            {"top_memory", top_of(rows, limit, true)},
                            {"aggregates", std::move(all)},
                            {"categories", std::move(categories)},
                            {"marks", std::move(marks)},
                            {"spans_recorded", h.spans_recorded},
                            {"dropped", h.dropped},
                            {"timestamp", detail::epoch_now()}};
    if (f.count > 0) {
      out["frames"] = boost::json::object{
          {"count", f.count}, {"avg_ms", f.avg_ms}, {"p95_ms", f.p95_ms}, {"max_ms", f.max_ms}};
    }
    if (hooks().has_subscribers(kProfilerEvent)) {
      hooks().emit(
          kProfilerEvent, "snapshot.generated",
          {{"spans_recorded", h.spans_recorded}, {"top_time", out["top_time"]}, {"limit", limit}});
    }
    return out;
  }

  boost::json::object health(std::size_t limit = 5) {
    detail::Health h;
    FrameStats f;
    auto rows = collect(h, f);
    const HooksStats hs = hooks().stats();
    return boost::json::object{
        {"spans_recorded", h.spans_recorded},
        {"marks_recorded", h.marks_recorded},
        {"dropped", h.dropped},
        {"top_time", top_of(rows, limit, false)},
        {"top_memory", top_of(rows, limit, true)},
        {"timestamp", detail::epoch_now()},
        {"enabled", enabled()},
        {"threads", boost::json::object{{"live", h.threads_live}, {"exited", h.threads_retired}}},
        {"dynamic_names",
         boost::json::object{{"interned", h.dynamic_names}, {"folded", h.dynamic_folded}}},
        {"hooks", boost::json::object{{"emitted", hs.emitted},
                                      {"delivered", hs.delivered},
                                      {"dropped", hs.dropped},
                                      {"subscriber_errors", hs.subscriber_errors}}}};
  }

  // Frame-time statistics from PERF_FRAME(); count 0 when no frame was marked.
  FrameStats frames() {
    detail::Health h;
    FrameStats f;
    collect(h, f);
    return f;
  }

  // Clears spans, marks and counters. Safe while other threads record.
  void reset() {
    detail::registry().reset();
    if (hooks().has_subscribers(kProfilerEvent)) {
      hooks().emit(kProfilerEvent, "reset", {{"timestamp", detail::epoch_now()}});
    }
  }

  // Newest marks kept (default COMFYVN_PERF_MAX_MARKS).
  void set_max_marks(std::size_t n) { detail::registry().set_max_marks(n); }
  // Distinct PERF_SCOPE_DYN names before "(other)" (default COMFYVN_PERF_MAX_DYNAMIC_NAMES).
  void set_max_dynamic_names(std::size_t n) { detail::registry().set_max_dynamic_names(n); }

 private:
  std::vector<Aggregate> collect(detail::Health& h, FrameStats& frames) {
    auto& reg = detail::registry();
    std::vector<detail::SiteInfo> infos;
    auto snaps = reg.snapshot_sites(&infos, &h);
    const double ms = reg.ns_per_tick() / 1e6;
    std::vector<Aggregate> rows;
    rows.reserve(snaps.size());
    for (const auto& s : snaps) {
      const auto& t = s.totals;
      if (s.id == detail::kFrameSiteId) {
        frames.count = t.count;
        frames.avg_ms = static_cast<double>(t.total) / t.count * ms;
        frames.p95_ms = s.p95 * ms;
        frames.max_ms = static_cast<double>(t.max) * ms;
        continue;
      }
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
      a.total_kb = static_cast<double>(t.mem_total) / 1024.0;
      a.max_kb = static_cast<double>(t.mem_max) / 1024.0;
      a.avg_kb = a.total_kb / static_cast<double>(t.count);
      a.last_timestamp = reg.ticks_to_epoch(t.last_end);
      rows.push_back(std::move(a));
    }
    std::sort(rows.begin(), rows.end(),
              [](const Aggregate& x, const Aggregate& y) { return x.total_ms > y.total_ms; });
    return rows;
  }

  static boost::json::array top_of(std::vector<Aggregate> rows, std::size_t limit, bool memory) {
    if (memory) {
      std::stable_sort(rows.begin(), rows.end(), [](const Aggregate& x, const Aggregate& y) {
        return x.total_kb > y.total_kb;
      });
    } else {
      std::stable_sort(rows.begin(), rows.end(), [](const Aggregate& x, const Aggregate& y) {
        return x.total_ms > y.total_ms;
      });
    }
    boost::json::array out;
    for (std::size_t i = 0; i < rows.size() && i < limit; ++i) out.push_back(rows[i].to_json());
    return out;
  }

  static boost::json::object mark_json(const detail::MarkRecord& m) {
    boost::json::value meta = boost::json::object{};
    if (!m.metadata_json.empty()) {
      boost::system::error_code ec;
      auto v = boost::json::parse(m.metadata_json, ec);
      if (!ec && v.is_object()) meta = std::move(v);
    }
    return boost::json::object{{"name", m.name},
                               {"category", m.category},
                               {"timestamp", detail::registry().ticks_to_epoch(m.ticks)},
                               {"metadata", std::move(meta)}};
  }

  void emit_batch(const std::vector<RawSpan>& batch) {
    auto& reg = detail::registry();
    const double ms = reg.ns_per_tick() / 1e6;
    boost::json::array spans;
    spans.reserve(batch.size());
    for (const auto& s : batch) {
      const detail::SiteInfo info = reg.site_info(s.site_id);
      spans.push_back(
          boost::json::object{{"name", info.name},
                              {"category", info.category},
                              {"duration_ms", static_cast<double>(s.duration_ticks) * ms},
                              {"memory_kb", static_cast<double>(s.alloc_bytes) / 1024.0},
                              {"thread", s.thread_index},
                              {"timestamp", reg.ticks_to_epoch(s.start_ticks + s.duration_ticks)}});
    }
    const std::size_t n = spans.size();
    hooks().emit(kProfilerEvent, "span.recorded", {{"count", n}, {"spans", std::move(spans)}});
  }

  void emit_annotated(std::string_view name, std::string_view category, double duration_ms,
                      const Metadata& metadata) {
    if (!hooks().has_subscribers(kProfilerEvent)) return;
    boost::json::array spans;
    spans.push_back(boost::json::object{{"name", std::string(name)},
                                        {"category", std::string(category)},
                                        {"duration_ms", duration_ms},
                                        {"metadata", metadata},
                                        {"timestamp", detail::epoch_now()}});
    hooks().emit(kProfilerEvent, "span.recorded", {{"count", 1}, {"spans", std::move(spans)}});
  }
};

// The one profiler of the process (shared by every library that uses it).
COMFYVN_PERF_VISIBLE inline PerfProfiler& perf_profiler() {
  static PerfProfiler* p = new PerfProfiler();
  return *p;
}

}  // namespace comfyvn::perf
