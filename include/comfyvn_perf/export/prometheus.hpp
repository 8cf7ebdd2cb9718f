// comfyvn_perf — the Prometheus text exposition (format 0.0.4) of the
// profiler, the budget manager and the flags: what GET /api/perf/metrics
// serves, and what a program with its own exposer can serve too.
//
// Base units throughout (seconds, bytes, ratios from 0 to 1). Each family is
// one contiguous block with its # HELP and # TYPE lines. Span histograms use
// the fixed bounds of kDurationBounds for every site (docs/exporting.md),
// filled from the profiler's log-linear percentile histograms; their
// `_count` and `_sum` are the exact counts and totals the dashboard shows.
#pragma once

#include <cstdint>           // uint64_t
#include <initializer_list>  // labels
#include <string>            // the exposition text
#include <string_view>       // names
#include <vector>            // bounds

namespace comfyvn::perf {

// Only named by pointer or reference here; their headers come with the
// definitions (<comfyvn_perf/perf.hpp> has them all).
class BudgetManager;
class FeatureFlags;
class PerfProfiler;

// The Content-Type of the exposition.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// `le` bounds of every duration histogram, in seconds: 1-2.5-5 steps from
// 1 µs to 10 s (22 bounds, then +Inf).
const std::vector<double>& prometheus_duration_bounds();

// What one exposition reads. A null profiler or manager leaves out its
// families (the flags say which subsystems are on).
struct PrometheusSources {
  bool feature_flag = false;
  PerfProfiler* profiler = nullptr;
  BudgetManager* budgets = nullptr;
  // The exposition's size bound (the adapter's max_response_bytes): sites
  // past it are left out, the least busy first.
  std::size_t max_bytes = static_cast<std::size_t>(-1);
};

// Builds exposition text, one family at a time. Families must not be
// interleaved: begin() one, add its samples, then begin() the next.
class PrometheusWriter {
 public:
  explicit PrometheusWriter(std::string& out) : out_(out) {}

  std::size_t size() const { return out_.size(); }

  void begin(std::string_view name, std::string_view type, std::string_view help);

  // A sample with up to a few labels: {key, value} pairs.
  struct Label {
    std::string_view key;
    std::string_view value;
  };
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, double value);

  // A histogram's samples: _bucket for each bound and +Inf (= count), _sum,
  // _count. `cumulative` has one entry per bound.
  void histogram(std::string_view name, std::string_view site, std::string_view category,
                 const std::vector<double>& bounds, const std::vector<std::uint64_t>& cumulative,
                 std::uint64_t count, double sum);

 private:
  void number(double v);

  // `le` values as other clients spell them (Go's 'g' format): fixed
  // notation from 1e-4 up, scientific below ("1e-05", "0.0001", "0.25"), so
  // that the same bound is the same series whichever client exposes it.
  void bound(double v);

  std::string& out_;
};

// Past `max_bytes` in all, the sites with the least total time are left out
// and counted in comfyvn_perf_metrics_sites_omitted.
void write_prometheus_profiler(PrometheusWriter& w, PerfProfiler& profiler,
                               std::size_t max_bytes = static_cast<std::size_t>(-1));

// What write_prometheus_profiler keeps free for the families after the
// sites' (counters, span budgets, threads, the budget manager's).
inline constexpr std::size_t kPrometheusReserveBytes = 256 * 1024;

void write_prometheus_budgets(PrometheusWriter& w, BudgetManager& budgets);

// The whole exposition. With the flag off: the flag and the build info only.
std::string prometheus_text(const PrometheusSources& src);

// The exposition of the process-wide instances, as the flags allow.
std::string prometheus_text(PerfProfiler& profiler, BudgetManager& budgets,
                            const FeatureFlags& flags);

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <atomic>    // the previous exposition's size
#include <charconv>  // to_chars: shortest round-trip numbers
#include <cstddef>   // size_t
#include <limits>    // infinity

#include "../budget/manager.hpp"     // BudgetManager: health_data
#include "../config.hpp"             // COMFYVN_PERF_VERSION
#include "../flags/flags.hpp"        // FeatureFlags: which subsystems are on
#include "../os/text.hpp"            // append_label_escaped
#include "../profiler/profiler.hpp"  // PerfProfiler: histograms, counters, span budgets

namespace comfyvn::perf {

const std::vector<double>& prometheus_duration_bounds() {
  static const std::vector<double> bounds = {
      1e-6, 2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
      5e-3, 1e-2,   2.5e-2, 5e-2, 0.1,    0.25, 0.5,  1.0,    2.5,  5.0,  10.0};
  return bounds;
}

void PrometheusWriter::begin(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;  // our own text: no backslash or newline to escape
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusWriter::sample(std::string_view name, std::initializer_list<Label> labels,
                              double value) {
  out_ += name;
  if (labels.size() != 0) {
    out_ += '{';
    bool first = true;
    for (const Label& l : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += l.key;
      out_ += "=\"";
      os::append_label_escaped(out_, l.value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  number(value);
  out_ += '\n';
}

void PrometheusWriter::sample(std::string_view name, double value) {
  sample(name, {}, value);
}

void PrometheusWriter::histogram(std::string_view name, std::string_view site,
                                 std::string_view category, const std::vector<double>& bounds,
                                 const std::vector<std::uint64_t>& cumulative, std::uint64_t count,
                                 double sum) {
  const bool labelled = !site.empty() || !category.empty();
  std::string labels;
  if (labelled) {
    labels += "name=\"";
    os::append_label_escaped(labels, site);
    labels += "\",category=\"";
    os::append_label_escaped(labels, category);
    labels += "\",";
  }
  for (std::size_t k = 0; k <= bounds.size(); ++k) {
    out_ += name;
    out_ += "_bucket{";
    out_ += labels;
    out_ += "le=\"";
    if (k < bounds.size()) {
      bound(bounds[k]);
    } else {
      out_ += "+Inf";
    }
    out_ += "\"} ";
    number(static_cast<double>(k < bounds.size() && k < cumulative.size() ? cumulative[k] : count));
    out_ += '\n';
  }
  const std::string suffix_labels = labelled ? "{" + labels.substr(0, labels.size() - 1) + "}" : "";
  out_ += name;
  out_ += "_sum";
  out_ += suffix_labels;
  out_ += ' ';
  number(sum);
  out_ += '\n';
  out_ += name;
  out_ += "_count";
  out_ += suffix_labels;
  out_ += ' ';
  number(static_cast<double>(count));
  out_ += '\n';
}

void PrometheusWriter::number(double v) {
  if (v != v) {
    out_ += "NaN";
    return;
  }
  if (v == std::numeric_limits<double>::infinity() || v == -std::numeric_limits<double>::infinity()) {
    out_ += v > 0 ? "+Inf" : "-Inf";  // the exposition format's spelling
    return;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
}

void PrometheusWriter::bound(double v) {
  char buf[64];
  const auto fmt =
      v != 0 && (v < 1e-4 || v >= 1e21) ? std::chars_format::scientific : std::chars_format::fixed;
  const auto r = std::to_chars(buf, buf + sizeof buf, v, fmt);
  out_.append(buf, r.ptr);
}

namespace {

// About how many bytes a site's lines take: its label values (escaping at
// most doubles them) on every line of its families.
std::size_t site_bytes(const SiteHistogram& s, std::size_t bounds) {
  return (bounds + 7) * (2 * (s.name.size() + s.category.size()) + 96);
}

}  // namespace

void write_prometheus_profiler(PrometheusWriter& w, PerfProfiler& profiler, std::size_t max_bytes) {
  const std::vector<double>& bounds = prometheus_duration_bounds();
  HistogramSnapshot snap = profiler.histograms(bounds);
  // Sites by total time: past max_bytes the smallest are left out (and
  // counted), so that a process with thousands of long names still answers
  // within the response cap.
  std::size_t room = max_bytes > w.size() + kPrometheusReserveBytes
                         ? max_bytes - w.size() - kPrometheusReserveBytes
                         : 0;
  std::size_t keep = 0;
  for (; keep < snap.sites.size(); ++keep) {
    const std::size_t need = site_bytes(snap.sites[keep], bounds.size());
    if (need > room) break;
    room -= need;
  }
  std::size_t omitted = snap.sites.size() - keep;
  snap.sites.resize(keep);
  w.begin("comfyvn_perf_span_calls_total", "counter", "Spans recorded per site (exact).");
  for (const auto& s : snap.sites) {
    w.sample("comfyvn_perf_span_calls_total", {{"name", s.name}, {"category", s.category}},
             static_cast<double>(s.count));
  }
  w.begin("comfyvn_perf_span_seconds_total", "counter", "Total time in spans per site (exact).");
  for (const auto& s : snap.sites) {
    w.sample("comfyvn_perf_span_seconds_total", {{"name", s.name}, {"category", s.category}},
             s.sum_seconds);
  }
  w.begin("comfyvn_perf_span_coverage_ratio", "gauge",
          "Fraction of each site's spans its histogram and self time rest on (1: all).");
  for (const auto& s : snap.sites) {
    w.sample("comfyvn_perf_span_coverage_ratio", {{"name", s.name}, {"category", s.category}},
             s.coverage);
  }
  w.begin("comfyvn_perf_span_duration_seconds", "histogram",
          "Span durations per site; buckets from the percentile histograms.");
  for (const auto& s : snap.sites) {
    w.histogram("comfyvn_perf_span_duration_seconds", s.name, s.category, bounds, s.cumulative,
                s.count, s.sum_seconds);
  }
  w.begin("comfyvn_perf_frame_duration_seconds", "histogram",
          "Intervals between PERF_FRAME() calls.");
  w.histogram("comfyvn_perf_frame_duration_seconds", {}, {}, bounds, snap.frames.cumulative,
              snap.frames.count, snap.frames.sum_seconds);
  w.begin("comfyvn_perf_spans_dropped_total", "counter",
          "Spans overwritten before collection or recorded without a buffer.");
  w.sample("comfyvn_perf_spans_dropped_total", static_cast<double>(snap.counters.dropped));
  w.begin("comfyvn_perf_marks_total", "counter", "Marks recorded.");
  w.sample("comfyvn_perf_marks_total", static_cast<double>(snap.counters.marks_recorded));
  const std::vector<CounterSeries> series = profiler.counters();
  if (!series.empty()) {
    // Not "comfyvn_perf_counter": promtool (2.42, Debian 12) refuses any
    // metric name ending in "_counter" ("should not include type"), and the
    // exposition must pass it clean (docs/exporting.md).
    w.begin("comfyvn_perf_counters", "gauge", "The latest sample of each PERF_COUNTER series.");
    const std::size_t limit =
        max_bytes > kPrometheusReserveBytes / 2 ? max_bytes - kPrometheusReserveBytes / 2 : 0;
    for (const auto& c : series) {
      if (w.size() + 2 * c.name.size() + 64 > limit) {
        ++omitted;  // a counter is a site too
        continue;
      }
      w.sample("comfyvn_perf_counters", {{"name", c.name}}, c.last);
    }
  }
  const std::vector<SpanBudgetState> budgets = profiler.span_budgets();
  w.begin("comfyvn_perf_span_budget_exceeded_total", "counter",
          "Times a span budget went over (p95_ms or max_ms broken in a window).");
  for (const auto& b : budgets) {
    w.sample("comfyvn_perf_span_budget_exceeded_total",
             {{"name", b.name}, {"category", b.category}}, static_cast<double>(b.exceeded_total));
  }
  w.begin("comfyvn_perf_span_budget_over", "gauge", "1 while a span budget is over, else 0.");
  for (const auto& b : budgets) {
    w.sample("comfyvn_perf_span_budget_over", {{"name", b.name}, {"category", b.category}},
             b.state == "over" ? 1 : 0);
  }
  // The limits themselves, so that a Prometheus rule can compare its own
  // percentiles with the budget the process was given (the fleet rules'
  // frame alert, deploy/prometheus/comfyvn_perf.rules.yml).
  w.begin("comfyvn_perf_span_budget_limit_seconds", "gauge",
          "A span budget's limits: p95 (the window's p95 stays below it), max (each span).");
  for (const auto& b : budgets) {
    if (b.p95_ms) {
      w.sample("comfyvn_perf_span_budget_limit_seconds",
               {{"name", b.name}, {"category", b.category}, {"limit", "p95"}}, *b.p95_ms / 1000.0);
    }
    if (b.max_ms) {
      w.sample("comfyvn_perf_span_budget_limit_seconds",
               {{"name", b.name}, {"category", b.category}, {"limit", "max"}}, *b.max_ms / 1000.0);
    }
  }
  w.begin("comfyvn_perf_metrics_sites_omitted", "gauge",
          "Sites left out of this exposition to keep it under the response cap "
          "(max_response_bytes), those with the least total time first.");
  w.sample("comfyvn_perf_metrics_sites_omitted", static_cast<double>(omitted));
  w.begin("comfyvn_perf_threads", "gauge", "Recording threads: live, or exited with data kept.");
  w.sample("comfyvn_perf_threads", {{"state", "live"}},
           static_cast<double>(snap.counters.threads_live));
  w.sample("comfyvn_perf_threads", {{"state", "exited"}},
           static_cast<double>(snap.counters.threads_exited));
}

void write_prometheus_budgets(PrometheusWriter& w, BudgetManager& budgets) {
  const BudgetHealth h = budgets.health_data();
  constexpr double kMiB = 1024.0 * 1024.0;
  w.begin("comfyvn_perf_jobs", "gauge", "Jobs the budget manager holds, by state.");
  w.sample("comfyvn_perf_jobs", {{"state", "queued"}}, static_cast<double>(h.queued));
  w.sample("comfyvn_perf_jobs", {{"state", "delayed"}}, static_cast<double>(h.delayed));
  w.sample("comfyvn_perf_jobs", {{"state", "running"}}, static_cast<double>(h.running));
  w.begin("comfyvn_perf_assets_loaded_bytes", "gauge", "Size of the loaded lazy assets.");
  w.sample("comfyvn_perf_assets_loaded_bytes", h.loaded_mb * kMiB);
  w.begin("comfyvn_perf_assets_loaded", "gauge", "Lazy assets loaded.");
  w.sample("comfyvn_perf_assets_loaded", static_cast<double>(h.assets_loaded));
  const Metrics& m = h.metrics;
  double cpu = m.cpu_percent / 100.0;
  cpu = cpu < 0 ? 0 : cpu > 1 ? 1 : cpu;
  w.begin("comfyvn_perf_host_cpu_ratio", "gauge",
          "CPU in use, of what this process may use (0 to 1), at the latest sample.");
  w.sample("comfyvn_perf_host_cpu_ratio", cpu);
  w.begin("comfyvn_perf_host_memory_used_bytes", "gauge",
          "Memory in use (host, or the cgroup's when it sets a limit).");
  w.sample("comfyvn_perf_host_memory_used_bytes", m.mem_used_mb * kMiB);
  w.begin("comfyvn_perf_host_memory_total_bytes", "gauge", "Memory available in all.");
  w.sample("comfyvn_perf_host_memory_total_bytes", m.mem_total_mb * kMiB);
  w.begin("comfyvn_perf_process_resident_bytes", "gauge", "Resident memory of this process.");
  w.sample("comfyvn_perf_process_resident_bytes", m.process_rss_mb * kMiB);
  if (!m.gpus.empty()) {
    w.begin("comfyvn_perf_gpu_memory_used_bytes", "gauge", "GPU memory in use, per device.");
    for (std::size_t i = 0; i < m.gpus.size(); ++i) {
      const std::string gpu = std::to_string(i);
      w.sample("comfyvn_perf_gpu_memory_used_bytes", {{"gpu", gpu}}, m.gpus[i].mem_used * kMiB);
    }
  }
}

std::string prometheus_text(const PrometheusSources& src) {
  // Sized like the previous exposition: growing a multi-megabyte string by
  // doubling costs more than writing it (page faults on fresh memory).
  static std::atomic<std::size_t> last_size{4096};
  std::string out;
  const std::size_t hint = last_size.load(std::memory_order_relaxed);
  out.reserve(hint + hint / 8);
  PrometheusWriter w(out);
  w.begin("comfyvn_perf_build_info", "gauge", "comfyvn_perf version; always 1.");
  w.sample("comfyvn_perf_build_info", {{"version", COMFYVN_PERF_VERSION}}, 1);
  w.begin("comfyvn_perf_feature_flag", "gauge", "The enable_perf feature flag (0 or 1).");
  w.sample("comfyvn_perf_feature_flag", src.feature_flag ? 1 : 0);
  if (!src.feature_flag) return out;
  if (src.profiler != nullptr) write_prometheus_profiler(w, *src.profiler, src.max_bytes);
  if (src.budgets != nullptr) write_prometheus_budgets(w, *src.budgets);
  last_size.store(out.size(), std::memory_order_relaxed);
  return out;
}

std::string prometheus_text(PerfProfiler& profiler, BudgetManager& budgets,
                            const FeatureFlags& flags) {
  PrometheusSources src;
  src.feature_flag = flags.perf_enabled();
  if (flags.profiler_enabled()) src.profiler = &profiler;
  if (flags.budgets_enabled()) src.budgets = &budgets;
  return prometheus_text(src);
}

}  // namespace comfyvn::perf
#endif
