// comfyvn_perf — PerfProfiler: the reading face of the recorded spans.
//
// Every read first collects the pending data of all threads, so it reflects
// every span that ended before the call, including spans of threads that have
// exited. Results are plain structs (profiler/types.hpp); the JSON views of
// dashboard() and health() come from json/profiler.hpp. Events leave through
// a sink that the runtime connects to the hook bus; this part knows no bus.
#pragma once

#include <atomic>       // one capture at a time
#include <chrono>       // capture windows
#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <functional>   // event sink
#include <memory>       // shared_ptr: a sink outlives its replacement while it runs
#include <mutex>        // sink swap
#include <optional>     // spike traces
#include <string>       // names
#include <string_view>  // API arguments
#include <utility>      // pair: trace counter values
#include <vector>       // aggregates

#include <boost/json/array.hpp>   // top_offenders
#include <boost/json/object.hpp>  // Metadata, event payloads, dashboard, health

#include "../config.hpp"      // COMFYVN_PERF_TRACE_MAX_SPANS
#include "../core/scope.hpp"  // Scope, g_enabled
#include "events.hpp"         // kProfilerEvent, profiler_events (the events emitted)
#include "report.hpp"         // report_text
#include "trace.hpp"          // TraceBusy, TraceBuffer
#include "types.hpp"          // snapshots, budgets, call tree

// Re-exported for headers that use them through this one without including
// them: http/handler.hpp (value_from of CallTree, SpanBudgetState,
// SpikeSummary) and runtime/span_budget_config.hpp (span_budget_problem).
#include "../json/profiler.hpp"  // tag_invoke of the profiler's types
#include "span_budgets.hpp"      // span_budget_problem, BudgetTransition

namespace comfyvn::perf {

namespace detail {
struct SiteInfo;  // profiler/registry.hpp
struct TreeNode;  // profiler/call_tree.hpp
}  // namespace detail

class PerfProfiler {
 public:
  using Metadata = boost::json::object;
  // Receives {trigger, payload} for every event (kProfilerEvent's triggers).
  using EventSink = std::function<void(std::string_view trigger, boost::json::object payload)>;
  // Says whether anyone listens; events are not even built otherwise.
  using EventInterest = std::function<bool()>;
  // Adds fields to health() (the runtime adds the hook bus's counters).
  using HealthExtension = std::function<void(boost::json::object&)>;
  // Appends {counter track, value} pairs that traces sample a few times a
  // second (the runtime adds the budget manager's host metrics).
  using TraceCounterSource = std::function<void(std::vector<std::pair<std::string, double>>&)>;

  // The newest spans of a rolling window, kept until stop() or destruction:
  // a trace of "the last seconds" that can be written at any moment (at exit,
  // after a hitch). Move-only; an empty recorder records nothing.
  class TraceRecorder {
   public:
    TraceRecorder() = default;
    TraceRecorder(TraceRecorder&& o) noexcept;
    TraceRecorder& operator=(TraceRecorder&& o) noexcept;
    TraceRecorder(const TraceRecorder&) = delete;
    TraceRecorder& operator=(const TraceRecorder&) = delete;
    ~TraceRecorder();

    bool active() const noexcept { return tap_ != 0; }

    // Chrome Trace Event JSON of the newest window, up to now.
    std::string text();

    // Writes text() atomically; "" on success, else why nothing was written.
    std::string write(const std::string& path);

    // Stops recording; text() still returns what was kept.
    void stop();

   private:
    friend class PerfProfiler;
    PerfProfiler* profiler_ = nullptr;
    std::shared_ptr<detail::TraceBuffer> buffer_;
    std::uint64_t tap_ = 0;
    std::uint64_t dropped_at_start_ = 0;
  };

  // RAII scope with a runtime name (the form of PERF_SCOPE_DYN that carries
  // metadata). Metadata, when given, travels with the span's event.
  class ProfileScope {
   public:
    ProfileScope(PerfProfiler& p, std::string_view name, std::string_view category,
                 Metadata metadata);
    ~ProfileScope();
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

  PerfProfiler();
  PerfProfiler(const PerfProfiler&) = delete;
  PerfProfiler& operator=(const PerfProfiler&) = delete;

  // ---- switch ----
  bool enabled() const noexcept { return detail::g_enabled.load(detail::kRelaxed); }
  void set_enabled(bool on);

  // ---- events ----

  // Where events go. An empty `interest` means "always wanted"; an empty
  // sink emits nothing.
  void set_event_sink(EventSink sink, EventInterest interest = {});

  void set_trace_counter_source(TraceCounterSource source);

  void set_health_extension(HealthExtension extension);

  // ---- recording ----
  ProfileScope profile(std::string_view name, std::string_view category = "general",
                       Metadata metadata = {});

  // Records a span measured elsewhere (ending now). Returns false while the
  // profiler is disabled or the duration is not a finite value >= 0.
  bool record_span(std::string_view name, std::string_view category, double duration_ms,
                   Metadata metadata = {}, double memory_kb = 0.0);

  // An instant mark; returns it as {name, category, timestamp, metadata}.
  boost::json::object mark(std::string_view name, std::string_view category = "general",
                           Metadata metadata = {});

  // ---- reading ----

  // Marks a dashboard lists unless told otherwise: every mark kept.
  static constexpr std::size_t kAllMarks = static_cast<std::size_t>(-1);

  // Every site with at least one span, by total_ms descending.
  std::vector<Aggregate> aggregates();

  // Rows, categories, the newest `marks` marks, frames and counters at one
  // moment.
  ProfilerSnapshot snapshot(std::size_t marks = kAllMarks);

  // Top entries by "time" (total_ms), "memory" (total_kb) or "self"
  // (self_ms), descending.
  boost::json::array top_offenders(std::size_t limit = 5, std::string_view by = "time");

  // The call tree, keeping at most `limit` children per node (by total
  // time; the rest fold into one "(other)" child).
  CallTree call_tree(std::size_t limit = 10);

  // Samples of every PERF_COUNTER series, by name.
  std::vector<CounterSeries> counters();

  // ---- span budgets ----

  struct SpanBudgetResult {
    std::string error;  // "" when set; else names the field (or the cap)
    SpanBudgetState state;
    bool ok() const { return error.empty(); }
  };

  // Adds or replaces the budget of (name, category); an empty category
  // matches the name in any category. Judged on the collector about once a
  // second (docs/budgets.md, "Span budgets").
  SpanBudgetResult set_span_budget(const SpanBudgetSpec& spec);

  bool remove_span_budget(std::string_view name, std::string_view category = {});

  std::vector<SpanBudgetState> span_budgets();

  // The config file's budgets (perf.span_budgets), replacing the previous
  // ones from the file; budgets set in code or over HTTP stay. Invalid specs
  // are skipped; returns the problems.
  std::vector<std::string> set_config_span_budgets(const std::vector<SpanBudgetSpec>& specs);

  // The evaluation window (default 1 s), and closing it now: tests and
  // tools drive the judging with these as with an injected clock.
  void set_span_budget_window(std::chrono::milliseconds window);
  void close_span_budget_window();

  // Spikes: frames longer than a "(frame)" budget's max_ms, newest first.
  std::vector<SpikeSummary> spikes();

  // Newest spikes kept (default 8).
  void set_max_spikes(std::size_t n);

  // Chrome Trace Event JSON of one spike's frame; nothing for an unknown id.
  std::optional<std::string> spike_trace_text(std::uint64_t id);

  // Nodes the call tree keeps at most (default 4096).
  void set_max_tree_nodes(std::size_t n);

  // `limit` rows in top_time and top_memory; the newest `marks` marks.
  boost::json::object dashboard(std::size_t limit = 5, std::size_t marks = kAllMarks);

  // Writes dashboard(limit) to `path` atomically (a reader never sees half a
  // file): the snapshot tools/perf_diff compares. Returns "" on success,
  // else why nothing was written.
  std::string write_dashboard(const std::string& path, std::size_t limit = 1000);

  boost::json::object health(std::size_t limit = 5);

  // Every site's span durations over the same ascending bounds (seconds),
  // for exporters: exact counts and sums, cumulative bucket counts.
  HistogramSnapshot histograms(const std::vector<double>& bounds_seconds);

  // Frame-time statistics from PERF_FRAME(); count 0 when no frame was marked.
  FrameStats frames();

  // A plain-text report for programs that just want to print: the top
  // `limit` sites by total time, then frame statistics.
  std::string report(std::size_t limit = 10);

  // ---- traces ----

  // Spans one capture keeps at most (default COMFYVN_PERF_TRACE_MAX_SPANS);
  // spans past it count as dropped.
  void set_trace_max_spans(std::size_t n) { trace_max_spans_.store(n == 0 ? 1 : n); }
  std::size_t trace_max_spans() const { return trace_max_spans_.load(); }

  // Chrome Trace Event JSON text of the spans that end during the next
  // `duration`, with the marks and counter samples of that window. Blocks
  // the calling thread for `duration`; recording threads are not slowed.
  // One capture at a time: a second one throws TraceBusy. `max_spans` 0
  // means trace_max_spans().
  std::string capture_trace_text(std::chrono::milliseconds duration, std::size_t max_spans = 0);

  // The same capture as a JSON object.
  boost::json::object capture_trace(std::chrono::milliseconds duration);

  // Captures for `duration`, then writes the trace to `path` atomically.
  // Returns "" on success, else why nothing was written. Throws TraceBusy
  // while another capture runs.
  std::string write_trace(const std::string& path, std::chrono::milliseconds duration);

  // Starts keeping the spans of the newest `window` (at most `max_spans`;
  // 0 means trace_max_spans()).
  TraceRecorder trace_recorder(std::chrono::milliseconds window, std::size_t max_spans = 0);

  // Clears spans, marks and counters. Safe while other threads record.
  void reset();

  // The runtime's fork handler calls these after the registry's (the
  // collector asks for the sink under the registry's locks).
  void fork_prepare();
  void fork_parent();
  void fork_child();

  // Newest marks kept (default COMFYVN_PERF_MAX_MARKS), and the bytes of
  // text they may hold together (default COMFYVN_PERF_MAX_MARK_BYTES).
  void set_max_marks(std::size_t n);
  void set_max_mark_bytes(std::size_t n);
  // Distinct PERF_SCOPE_DYN names before "(other)" (default COMFYVN_PERF_MAX_DYNAMIC_NAMES).
  void set_max_dynamic_names(std::size_t n);

 private:
  struct Sink {
    EventSink emit;
    EventInterest interest;
  };

  static constexpr std::chrono::milliseconds kCounterSampleInterval{100};

  void sample_counters(detail::TraceBuffer& buffer);

  // The trace text of what `buffer` kept up to `end`.
  std::string trace_of(const detail::TraceBuffer& buffer, std::uint64_t end,
                       std::uint64_t ring_lost);

  std::shared_ptr<const Sink> sink() const;

  bool wants_events() const;

  void emit_budget_events(const std::vector<detail::BudgetTransition>& transitions,
                          const std::vector<SpikeSummary>& spikes);

  // Builds the payload only when someone listens.
  template <class MakePayload>
  void emit(std::string_view trigger, MakePayload&& make) {
    const auto s = sink();
    if (!s || !s->emit || (s->interest && !s->interest())) return;
    s->emit(trigger, make());
  }

  ProfilerSnapshot take_snapshot(std::size_t marks);

  static std::vector<CallTreeNode> tree_children(const detail::TreeNode& n,
                                                 const std::vector<detail::SiteInfo>& sites,
                                                 double ms, std::size_t limit);

  void emit_batch(const std::vector<RawSpan>& batch);

  void emit_annotated(std::string_view name, std::string_view category, double duration_ms,
                      const Metadata& metadata);

  mutable std::mutex sink_mu_;
  std::shared_ptr<const Sink> sink_;
  std::shared_ptr<const TraceCounterSource> counter_source_;
  std::atomic<bool> capturing_{false};
  std::atomic<std::size_t> trace_max_spans_{COMFYVN_PERF_TRACE_MAX_SPANS};
  std::shared_ptr<const HealthExtension> health_extension_;
};

// Names the calling thread in traces (thread_name events) and in the OS
// (the first 15 bytes, as top and debuggers show them). Without a name a
// thread is listed under its OS name, else "thread N".
void set_thread_name(std::string_view name);

// Sets up the calling thread's span buffer now, so that its first scope does
// not pay for it (thread pools call this as each worker starts). Returns
// false when no buffer could be allocated.
bool register_this_thread();

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <pthread.h>  // pthread_setname_np

#include <algorithm>  // min, sort
#include <thread>     // sleeping through a capture

#include <boost/json.hpp>  // serialize, parse, value_from

#include "../core/clock.hpp"     // DefaultClock
#include "../json/profiler.hpp"  // dashboard_json, health_json, top_rows_json, value_from
#include "../os/file.hpp"        // write_atomically
#include "../os/text.hpp"        // utf8_prefix
#include "../os/time.hpp"        // epoch_now
#include "call_tree.hpp"         // TreeNode, subtree_sums
#include "registry.hpp"          // registry(), the recorded data
#include "span_budgets.hpp"      // span_budget_problem, BudgetTransition

namespace comfyvn::perf {

// ---- PerfProfiler::TraceRecorder ----

PerfProfiler::TraceRecorder::TraceRecorder(TraceRecorder&& o) noexcept {
  *this = std::move(o);
}

PerfProfiler::TraceRecorder& PerfProfiler::TraceRecorder::operator=(TraceRecorder&& o) noexcept {
  if (this != &o) {
    stop();
    profiler_ = o.profiler_;
    buffer_ = std::move(o.buffer_);
    tap_ = o.tap_;
    dropped_at_start_ = o.dropped_at_start_;
    o.tap_ = 0;
    o.profiler_ = nullptr;
  }
  return *this;
}

PerfProfiler::TraceRecorder::~TraceRecorder() {
  stop();
}

std::string PerfProfiler::TraceRecorder::text() {
  if (!buffer_) return {};
  auto& reg = detail::registry();
  if (tap_ != 0) reg.collect();
  const std::uint64_t lost = reg.dropped_total();
  return profiler_->trace_of(*buffer_, DefaultClock::now(),
                             lost > dropped_at_start_ ? lost - dropped_at_start_ : 0);
}

std::string PerfProfiler::TraceRecorder::write(const std::string& path) {
  return os::write_atomically(path, text());
}

void PerfProfiler::TraceRecorder::stop() {
  if (tap_ != 0) detail::registry().remove_tap(tap_);
  tap_ = 0;
}

// ---- PerfProfiler::ProfileScope ----

PerfProfiler::ProfileScope::ProfileScope(PerfProfiler& p, std::string_view name,
                                         std::string_view category, Metadata metadata)
    : profiler_(&p), scope_(name, category) {
  if (!metadata.empty() && scope_.active()) {
    name_ = std::string(name);
    category_ = std::string(category);
    metadata_ = std::move(metadata);
    start_ = os::epoch_now();
  }
}

PerfProfiler::ProfileScope::~ProfileScope() {
  if (name_.empty()) return;
  try {
    profiler_->emit_annotated(name_, category_, (os::epoch_now() - start_) * 1e3, metadata_);
  } catch (...) {
  }
}

// ---- PerfProfiler ----

PerfProfiler::PerfProfiler() {
  detail::registry().set_span_listener([this] { return wants_events(); },
                                       [this](const std::vector<RawSpan>& b) { emit_batch(b); });
  detail::registry().set_budget_listener(
      [this](const std::vector<detail::BudgetTransition>& t, const std::vector<SpikeSummary>& s) {
        emit_budget_events(t, s);
      });
}

void PerfProfiler::set_enabled(bool on) {
  detail::registry().set_enabled(on);
}

void PerfProfiler::set_event_sink(EventSink sink, EventInterest interest) {
  auto s = std::make_shared<const Sink>(Sink{std::move(sink), std::move(interest)});
  std::lock_guard<std::mutex> lock(sink_mu_);
  sink_ = std::move(s);
}

void PerfProfiler::set_trace_counter_source(TraceCounterSource source) {
  auto s = std::make_shared<const TraceCounterSource>(std::move(source));
  std::lock_guard<std::mutex> lock(sink_mu_);
  counter_source_ = std::move(s);
}

void PerfProfiler::set_health_extension(HealthExtension extension) {
  auto e = std::make_shared<const HealthExtension>(std::move(extension));
  std::lock_guard<std::mutex> lock(sink_mu_);
  health_extension_ = std::move(e);
}

PerfProfiler::ProfileScope PerfProfiler::profile(std::string_view name, std::string_view category,
                                                 Metadata metadata) {
  return ProfileScope(*this, name, category, std::move(metadata));
}

bool PerfProfiler::record_span(std::string_view name, std::string_view category, double duration_ms,
                               Metadata metadata, double memory_kb) {
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

boost::json::object PerfProfiler::mark(std::string_view name, std::string_view category,
                                       Metadata metadata) {
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
  if (enabled()) emit(profiler_events::kMarkEmitted, [&] { return out; });
  return out;
}

std::vector<Aggregate> PerfProfiler::aggregates() {
  return take_snapshot(0).rows;
}

ProfilerSnapshot PerfProfiler::snapshot(std::size_t marks) {
  return take_snapshot(marks);
}

boost::json::array PerfProfiler::top_offenders(std::size_t limit, std::string_view by) {
  const TopBy order = by == "memory" ? TopBy::memory : by == "self" ? TopBy::self : TopBy::time;
  return top_rows_json(aggregates(), limit, order);
}

CallTree PerfProfiler::call_tree(std::size_t limit) {
  auto& reg = detail::registry();
  detail::TreeSnapshot t = reg.call_tree();
  const double ms = reg.ns_per_tick() / 1e6;
  CallTree out;
  out.coverage = t.coverage;
  out.nodes = t.nodes;
  out.folded = t.folded;
  out.roots = tree_children(t.root, t.sites, ms, limit);
  return out;
}

std::vector<CounterSeries> PerfProfiler::counters() {
  std::vector<CounterSeries> out;
  for (const auto& [info, c] : detail::registry().counters()) {
    out.push_back(CounterSeries{info.name, c.last, c.min, c.max,
                                c.count ? c.sum / static_cast<double>(c.count) : 0.0, c.count});
  }
  std::sort(out.begin(), out.end(),
            [](const CounterSeries& a, const CounterSeries& b) { return a.name < b.name; });
  return out;
}

PerfProfiler::SpanBudgetResult PerfProfiler::set_span_budget(const SpanBudgetSpec& spec) {
  SpanBudgetResult r;
  r.error = span_budget_problem(spec);
  if (r.error.empty()) r.error = detail::registry().set_span_budget(spec);
  if (r.error.empty()) {
    r.state = detail::registry().span_budget(spec.name, spec.category).value_or(SpanBudgetState{});
  }
  return r;
}

bool PerfProfiler::remove_span_budget(std::string_view name, std::string_view category) {
  return detail::registry().remove_span_budget(name, category);
}

std::vector<SpanBudgetState> PerfProfiler::span_budgets() {
  return detail::registry().span_budgets();
}

std::vector<std::string> PerfProfiler::set_config_span_budgets(
    const std::vector<SpanBudgetSpec>& specs) {
  std::vector<SpanBudgetSpec> valid;
  std::vector<std::string> problems;
  for (const auto& s : specs) {
    const std::string p = span_budget_problem(s);
    if (p.empty()) {
      valid.push_back(s);
    } else {
      problems.push_back(s.name + ": " + p);
    }
  }
  for (auto& p : detail::registry().replace_config_span_budgets(valid)) problems.push_back(p);
  return problems;
}

void PerfProfiler::set_span_budget_window(std::chrono::milliseconds window) {
  detail::registry().set_budget_window(window);
}

void PerfProfiler::close_span_budget_window() {
  detail::registry().close_budget_window();
}

std::vector<SpikeSummary> PerfProfiler::spikes() {
  detail::registry().collect();
  return detail::registry().spikes();
}

void PerfProfiler::set_max_spikes(std::size_t n) {
  detail::registry().set_max_spikes(n);
}

std::optional<std::string> PerfProfiler::spike_trace_text(std::uint64_t id) {
  auto& reg = detail::registry();
  std::optional<std::vector<RawSpan>> spans = reg.spike_spans(id);
  if (!spans) return std::nullopt;
  detail::TraceData d;
  std::uint64_t begin = UINT64_MAX, end = 0;
  for (const RawSpan& s : *spans) {
    begin = std::min(begin, s.start_ticks);
    end = std::max(end, s.start_ticks + s.duration_ticks);
  }
  d.spans = std::move(*spans);
  d.thread_names = reg.thread_names();
  d.sites = reg.sites();
  d.process_name = detail::process_name();
  d.origin_ticks = reg.anchor_ticks();
  d.ns_per_tick = reg.ns_per_tick();
  d.seconds = end > begin ? static_cast<double>(end - begin) * d.ns_per_tick / 1e9 : 0.0;
  return detail::trace_text(d);
}

void PerfProfiler::set_max_tree_nodes(std::size_t n) {
  detail::registry().set_max_tree_nodes(n);
}

boost::json::object PerfProfiler::dashboard(std::size_t limit, std::size_t marks) {
  boost::json::object out = dashboard_json(take_snapshot(marks), limit);
  emit(profiler_events::kSnapshotGenerated, [&] {
    return boost::json::object{{"spans_recorded", out.at("spans_recorded")},
                               {"top_time", out.at("top_time")},
                               {"limit", limit}};
  });
  return out;
}

std::string PerfProfiler::write_dashboard(const std::string& path, std::size_t limit) {
  return os::write_atomically(path, boost::json::serialize(dashboard(limit)) + "\n");
}

boost::json::object PerfProfiler::health(std::size_t limit) {
  boost::json::object out = health_json(take_snapshot(0), limit);
  std::shared_ptr<const HealthExtension> extension;
  {
    std::lock_guard<std::mutex> lock(sink_mu_);
    extension = health_extension_;
  }
  if (extension && *extension) (*extension)(out);
  return out;
}

HistogramSnapshot PerfProfiler::histograms(const std::vector<double>& bounds_seconds) {
  auto& reg = detail::registry();
  const double ns_per_tick = reg.ns_per_tick();
  std::vector<std::uint64_t> le_ticks;
  le_ticks.reserve(bounds_seconds.size());
  for (double b : bounds_seconds) {
    const double t = b * 1e9 / ns_per_tick;
    le_ticks.push_back(t <= 0 ? 0 : t >= 1.8e19 ? UINT64_MAX : static_cast<std::uint64_t>(t));
  }
  std::vector<detail::SiteInfo> infos;
  detail::Health h;
  const auto sites = reg.snapshot_sites(&infos, &h, &le_ticks);
  HistogramSnapshot out;
  out.bounds_seconds = bounds_seconds;
  for (const auto& s : sites) {
    SiteHistogram row;
    row.count = s.totals.count;
    row.sum_seconds = static_cast<double>(s.totals.total) * ns_per_tick / 1e9;
    row.cumulative = s.le_counts;
    // A span can reach the accumulators before the histogram, never the
    // other way: keep the buckets at or below the exact count.
    for (auto& c : row.cumulative) c = std::min(c, row.count);
    if (s.id == detail::kFrameSiteId) {
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
  out.counters =
      ProfilerCounters{h.spans_recorded,  h.marks_recorded, h.dropped,       h.threads_live,
                       h.threads_retired, h.dynamic_names,  h.dynamic_folded};
  return out;
}

FrameStats PerfProfiler::frames() {
  return take_snapshot(0).frames;
}

std::string PerfProfiler::report(std::size_t limit) {
  return report_text(take_snapshot(0), limit);
}

std::string PerfProfiler::capture_trace_text(std::chrono::milliseconds duration,
                                             std::size_t max_spans) {
  bool idle = false;
  if (!capturing_.compare_exchange_strong(idle, true)) throw TraceBusy();
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag.store(false); }
  } done{capturing_};
  auto& reg = detail::registry();
  const std::uint64_t lost_before = reg.dropped_total();
  const std::uint64_t begin = DefaultClock::now();
  auto buffer = std::make_shared<detail::TraceBuffer>(
      begin, max_spans != 0 ? max_spans : trace_max_spans_.load());
  const std::uint64_t tap =
      reg.add_tap([buffer](const std::vector<RawSpan>& b) { buffer->on_spans(b); });
  struct Untap {
    detail::Registry& reg;
    std::uint64_t id;
    ~Untap() { reg.remove_tap(id); }
  } untap{reg, tap};
  const auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    sample_counters(*buffer);
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now, kCounterSampleInterval));
  }
  const std::uint64_t end = DefaultClock::now();
  buffer->close(end);
  reg.collect();  // everything that ended before `end`
  const std::uint64_t lost = reg.dropped_total();
  return trace_of(*buffer, end, lost > lost_before ? lost - lost_before : 0);
}

boost::json::object PerfProfiler::capture_trace(std::chrono::milliseconds duration) {
  return boost::json::parse(capture_trace_text(duration)).as_object();
}

std::string PerfProfiler::write_trace(const std::string& path, std::chrono::milliseconds duration) {
  return os::write_atomically(path, capture_trace_text(duration));
}

PerfProfiler::TraceRecorder PerfProfiler::trace_recorder(std::chrono::milliseconds window,
                                                         std::size_t max_spans) {
  auto& reg = detail::registry();
  const double ticks =
      static_cast<double>(std::chrono::nanoseconds(window).count()) / reg.ns_per_tick();
  TraceRecorder r;
  r.profiler_ = this;
  r.buffer_ = std::make_shared<detail::TraceBuffer>(
      DefaultClock::now(), max_spans != 0 ? max_spans : trace_max_spans_.load(),
      ticks < 1 ? 1 : static_cast<std::uint64_t>(ticks));
  r.dropped_at_start_ = reg.dropped_total();
  auto last_sample = std::make_shared<std::uint64_t>(0);
  const auto sample_ticks = static_cast<std::uint64_t>(
      static_cast<double>(std::chrono::nanoseconds(kCounterSampleInterval).count()) /
      reg.ns_per_tick());
  r.tap_ = reg.add_tap(
      [this, buffer = r.buffer_, last_sample, sample_ticks](const std::vector<RawSpan>& b) {
        buffer->on_spans(b);
        const std::uint64_t now = DefaultClock::now();
        if (now - *last_sample >= sample_ticks) {  // only this tap touches it
          *last_sample = now;
          sample_counters(*buffer);
        }
      });
  return r;
}

void PerfProfiler::reset() {
  detail::registry().reset();
  emit(profiler_events::kReset, [] { return boost::json::object{{"timestamp", os::epoch_now()}}; });
}

void PerfProfiler::fork_prepare() {
  sink_mu_.lock();
}
void PerfProfiler::fork_parent() {
  sink_mu_.unlock();
}
void PerfProfiler::fork_child() {
  sink_mu_.unlock();
}

void PerfProfiler::set_max_marks(std::size_t n) {
  detail::registry().set_max_marks(n);
}
void PerfProfiler::set_max_mark_bytes(std::size_t n) {
  detail::registry().set_max_mark_bytes(n);
}
void PerfProfiler::set_max_dynamic_names(std::size_t n) {
  detail::registry().set_max_dynamic_names(n);
}

void PerfProfiler::sample_counters(detail::TraceBuffer& buffer) {
  std::shared_ptr<const TraceCounterSource> source;
  {
    std::lock_guard<std::mutex> lock(sink_mu_);
    source = counter_source_;
  }
  if (!source || !*source) return;
  std::vector<std::pair<std::string, double>> values;
  try {
    (*source)(values);
  } catch (...) {
    return;
  }
  const std::uint64_t now = DefaultClock::now();
  for (auto& v : values) buffer.add_counter(TraceCounterSample{std::move(v.first), v.second, now});
}

std::string PerfProfiler::trace_of(const detail::TraceBuffer& buffer, std::uint64_t end,
                                   std::uint64_t ring_lost) {
  auto& reg = detail::registry();
  detail::TraceBuffer::Contents c = buffer.take(end);
  detail::TraceData d;
  d.spans = std::move(c.spans);
  d.counters = std::move(c.counters);
  for (auto& m : reg.marks()) {
    if (m.ticks >= c.begin && m.ticks <= c.end) d.marks.push_back(std::move(m));
  }
  d.thread_names = reg.thread_names();
  d.sites = reg.sites();
  d.process_name = detail::process_name();
  d.origin_ticks = reg.anchor_ticks();
  d.ns_per_tick = reg.ns_per_tick();
  d.dropped = ring_lost + c.overflow;
  d.seconds = static_cast<double>(c.end - c.begin) * d.ns_per_tick / 1e9;
  return detail::trace_text(d);
}

std::shared_ptr<const PerfProfiler::Sink> PerfProfiler::sink() const {
  std::lock_guard<std::mutex> lock(sink_mu_);
  return sink_;
}

bool PerfProfiler::wants_events() const {
  const auto s = sink();
  return s && s->emit && (!s->interest || s->interest());
}

void PerfProfiler::emit_budget_events(const std::vector<detail::BudgetTransition>& transitions,
                                      const std::vector<SpikeSummary>& spikes) {
  for (const auto& t : transitions) {
    emit(t.exceeded ? profiler_events::kSpanBudgetExceeded : profiler_events::kSpanBudgetRecovered,
         [&] {
           return boost::json::object{{"budget", boost::json::value_from(t.state)}};
         });
  }
  for (const auto& s : spikes) {
    emit(profiler_events::kSpanBudgetSpike, [&] {
      return boost::json::object{{"spike", boost::json::value_from(s)}};
    });
  }
}

ProfilerSnapshot PerfProfiler::take_snapshot(std::size_t marks) {
  auto& reg = detail::registry();
  std::vector<detail::SiteInfo> infos;
  detail::Health h;
  const auto sites = reg.snapshot_sites(&infos, &h);
  const double ms = reg.ns_per_tick() / 1e6;
  ProfilerSnapshot out;
  out.rows.reserve(sites.size());
  for (const auto& s : sites) {
    const auto& t = s.totals;
    if (s.id == detail::kFrameSiteId) {
      out.frames.count = t.count;
      out.frames.avg_ms = static_cast<double>(t.total) / t.count * ms;
      out.frames.p95_ms = s.p95 * ms;
      out.frames.max_ms = static_cast<double>(t.max) * ms;
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
    a.self_ms = static_cast<double>(s.self) * ms;
    a.total_kb = static_cast<double>(t.mem_total) / 1024.0;
    a.max_kb = static_cast<double>(t.mem_max) / 1024.0;
    a.avg_kb = a.total_kb / static_cast<double>(t.count);
    a.last_timestamp = reg.ticks_to_epoch(t.last_end);
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
    for (const auto& m : reg.marks(marks))
      out.marks.push_back(Mark{m.name, m.category, reg.ticks_to_epoch(m.ticks), m.metadata_json});
  }
  out.counters =
      ProfilerCounters{h.spans_recorded,  h.marks_recorded, h.dropped,       h.threads_live,
                       h.threads_retired, h.dynamic_names,  h.dynamic_folded};
  out.series = counters();
  out.enabled = enabled();
  out.timestamp = os::epoch_now();
  return out;
}

std::vector<CallTreeNode> PerfProfiler::tree_children(const detail::TreeNode& n,
                                                      const std::vector<detail::SiteInfo>& sites,
                                                      double ms, std::size_t limit) {
  std::vector<const detail::TreeNode*> order;
  order.reserve(n.children.size());
  for (const auto& c : n.children) order.push_back(&c);
  std::stable_sort(
      order.begin(), order.end(),
      [](const detail::TreeNode* a, const detail::TreeNode* b) { return a->total > b->total; });
  std::vector<CallTreeNode> out;
  CallTreeNode other{"(other)", "", 0, 0, 0, {}};
  for (std::size_t i = 0; i < order.size(); ++i) {
    const detail::TreeNode& c = *order[i];
    if (i >= limit) {  // folded for this answer only
      std::uint64_t count = 0, self = 0;
      detail::subtree_sums(c, count, self);
      other.count += c.count;
      other.total_ms += static_cast<double>(c.total) * ms;
      other.self_ms += static_cast<double>(self) * ms;
      continue;
    }
    CallTreeNode node;
    if (c.site < sites.size()) {
      node.name = sites[c.site].name;
      node.category = c.site == detail::kOtherSiteId ? "" : sites[c.site].category;
    }
    node.count = c.count;
    node.total_ms = static_cast<double>(c.total) * ms;
    node.self_ms = static_cast<double>(c.self) * ms;
    node.children = tree_children(c, sites, ms, limit);
    out.push_back(std::move(node));
  }
  if (other.count > 0) out.push_back(std::move(other));
  return out;
}

void PerfProfiler::emit_batch(const std::vector<RawSpan>& batch) {
  emit(profiler_events::kSpanRecorded, [&] {
    auto& reg = detail::registry();
    const double ms = reg.ns_per_tick() / 1e6;
    boost::json::array spans;
    spans.reserve(batch.size());
    for (const auto& s : batch) {
      const detail::SiteInfo info = reg.site_info(s.site_id);
      if (info.counter) continue;  // counter samples are not spans
      spans.push_back(
          boost::json::object{{"name", info.name},
                              {"category", info.category},
                              {"duration_ms", static_cast<double>(s.duration_ticks) * ms},
                              {"memory_kb", static_cast<double>(s.alloc_bytes) / 1024.0},
                              {"thread", s.thread_index},
                              {"timestamp", reg.ticks_to_epoch(s.start_ticks + s.duration_ticks)}});
    }
    const std::size_t n = spans.size();
    return boost::json::object{{"count", n}, {"spans", std::move(spans)}};
  });
}

void PerfProfiler::emit_annotated(std::string_view name, std::string_view category,
                                  double duration_ms, const Metadata& metadata) {
  emit(profiler_events::kSpanRecorded, [&] {
    boost::json::array spans;
    spans.push_back(boost::json::object{{"name", std::string(name)},
                                        {"category", std::string(category)},
                                        {"duration_ms", duration_ms},
                                        {"metadata", metadata},
                                        {"timestamp", os::epoch_now()}});
    return boost::json::object{{"count", 1}, {"spans", std::move(spans)}};
  });
}

// ---- free functions ----

void set_thread_name(std::string_view name) {
  detail::ThreadBuffer* tb = detail::this_thread_buffer();
  if (tb == nullptr) return;
  detail::registry().set_thread_name(static_cast<detail::ThreadState*>(tb), name);
  const std::string os_name(os::utf8_prefix(name, 15));
  pthread_setname_np(pthread_self(), os_name.c_str());
}

bool register_this_thread() {
  return detail::this_thread_buffer() != nullptr;
}

}  // namespace comfyvn::perf
#endif
