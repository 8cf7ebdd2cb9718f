// comfyvn_perf — the Prometheus exposition as a prometheus-cpp Collectable,
// for programs that already serve prometheus-cpp registries with an Exposer:
//
//   #include <comfyvn_perf/export/prometheus_cpp.hpp>
//   auto perf_metrics = std::make_shared<comfyvn::perf::PrometheusCollectable>(
//       comfyvn::perf::perf_profiler(), comfyvn::perf::budget_manager(),
//       comfyvn::perf::feature_flags());
//   exposer.RegisterCollectable(perf_metrics);
//
// Collect() returns the families of export/prometheus.hpp with the same
// names, types, help, labels and histogram buckets (prometheus_text()
// documents them); the flags decide what is included exactly as they do for
// prometheus_text(). Label values are passed on with ill-formed UTF-8
// replaced by U+FFFD, as prometheus_text() writes them; prometheus-cpp does
// the escaping.
//
// Two differences come from prometheus-cpp's TextSerializer (1.0): it writes
// values with 16 significant digits where prometheus_text() writes the
// shortest form that reads back exactly, so a sum can differ in its last
// digit; and within a histogram it writes _count and _sum before the
// buckets. Both expositions hold the same series.
//
// Needs prometheus-cpp (core): perf.hpp does not include this header.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <cstddef>           // size_t
#include <cstdint>           // uint64_t
#include <initializer_list>  // labels
#include <limits>            // +Inf bucket
#include <string>            // names
#include <string_view>       // names
#include <utility>           // move
#include <vector>            // families

#include "../budget/manager.hpp"
#include "../config.hpp"
#include "../flags/flags.hpp"
#include "../os/text.hpp"
#include "../profiler/profiler.hpp"
#include "prometheus.hpp"

namespace comfyvn::perf {

namespace detail {

// Builds prometheus-cpp metric families in the order prometheus_text()
// writes them.
class PromFamilies {
 public:
  using Label = PrometheusWriter::Label;

  explicit PromFamilies(std::vector<prometheus::MetricFamily>& out) : out_(out) {}

  void begin(std::string_view name, prometheus::MetricType type, std::string_view help) {
    prometheus::MetricFamily f;
    f.name = std::string(name);
    f.help = std::string(help);
    f.type = type;
    out_.push_back(std::move(f));
  }

  // A counter or gauge sample of the current family.
  void sample(std::initializer_list<Label> labels, double value) {
    prometheus::ClientMetric& m = add(labels);
    if (out_.back().type == prometheus::MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
  }
  void sample(double value) { sample({}, value); }

  // A histogram of the current family: one bucket per bound, then +Inf.
  void histogram(std::initializer_list<Label> labels, const std::vector<double>& bounds,
                 const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum) {
    prometheus::ClientMetric& m = add(labels);
    m.histogram.sample_count = count;
    m.histogram.sample_sum = sum;
    m.histogram.bucket.reserve(bounds.size() + 1);
    for (std::size_t k = 0; k < bounds.size(); ++k) {
      prometheus::ClientMetric::Bucket b;
      b.upper_bound = bounds[k];
      b.cumulative_count = k < cumulative.size() ? cumulative[k] : count;
      m.histogram.bucket.push_back(b);
    }
    prometheus::ClientMetric::Bucket inf;
    inf.upper_bound = std::numeric_limits<double>::infinity();
    inf.cumulative_count = count;
    m.histogram.bucket.push_back(inf);
  }

 private:
  prometheus::ClientMetric& add(std::initializer_list<Label> labels) {
    prometheus::ClientMetric& m = out_.back().metric.emplace_back();
    m.label.reserve(labels.size());
    for (const Label& l : labels) {
      prometheus::ClientMetric::Label pl;
      pl.name = std::string(l.key);
      os::append_utf8(pl.value, l.value, [](std::string& o, std::string_view ch) {
        o.append(ch.data(), ch.size());
      });
      m.label.push_back(std::move(pl));
    }
    return m;
  }

  std::vector<prometheus::MetricFamily>& out_;
};

inline void prom_profiler_families(PromFamilies& f, PerfProfiler& profiler) {
  using prometheus::MetricType;
  const std::vector<double>& bounds = prometheus_duration_bounds();
  const HistogramSnapshot snap = profiler.histograms(bounds);
  f.begin("comfyvn_perf_span_calls_total", MetricType::Counter, "Spans recorded per site (exact).");
  for (const auto& s : snap.sites) {
    f.sample({{"name", s.name}, {"category", s.category}}, static_cast<double>(s.count));
  }
  f.begin("comfyvn_perf_span_seconds_total", MetricType::Counter,
          "Total time in spans per site (exact).");
  for (const auto& s : snap.sites) {
    f.sample({{"name", s.name}, {"category", s.category}}, s.sum_seconds);
  }
  f.begin("comfyvn_perf_span_duration_seconds", MetricType::Histogram,
          "Span durations per site; buckets from the percentile histograms.");
  for (const auto& s : snap.sites) {
    f.histogram({{"name", s.name}, {"category", s.category}}, bounds, s.cumulative, s.count,
                s.sum_seconds);
  }
  f.begin("comfyvn_perf_frame_duration_seconds", MetricType::Histogram,
          "Intervals between PERF_FRAME() calls.");
  f.histogram({}, bounds, snap.frames.cumulative, snap.frames.count, snap.frames.sum_seconds);
  f.begin("comfyvn_perf_spans_dropped_total", MetricType::Counter,
          "Spans overwritten before collection or recorded without a buffer.");
  f.sample(static_cast<double>(snap.counters.dropped));
  f.begin("comfyvn_perf_marks_total", MetricType::Counter, "Marks recorded.");
  f.sample(static_cast<double>(snap.counters.marks_recorded));
  f.begin("comfyvn_perf_threads", MetricType::Gauge,
          "Recording threads: live, or exited with data kept.");
  f.sample({{"state", "live"}}, static_cast<double>(snap.counters.threads_live));
  f.sample({{"state", "exited"}}, static_cast<double>(snap.counters.threads_exited));
}

inline void prom_budget_families(PromFamilies& f, BudgetManager& budgets) {
  using prometheus::MetricType;
  const BudgetHealth h = budgets.health_data();
  constexpr double kMiB = 1024.0 * 1024.0;
  f.begin("comfyvn_perf_jobs", MetricType::Gauge, "Jobs the budget manager holds, by state.");
  f.sample({{"state", "queued"}}, static_cast<double>(h.queued));
  f.sample({{"state", "delayed"}}, static_cast<double>(h.delayed));
  f.sample({{"state", "running"}}, static_cast<double>(h.running));
  f.begin("comfyvn_perf_assets_loaded_bytes", MetricType::Gauge, "Size of the loaded lazy assets.");
  f.sample(h.loaded_mb * kMiB);
  f.begin("comfyvn_perf_assets_loaded", MetricType::Gauge, "Lazy assets loaded.");
  f.sample(static_cast<double>(h.assets_loaded));
  const Metrics& m = h.metrics;
  double cpu = m.cpu_percent / 100.0;
  cpu = cpu < 0 ? 0 : cpu > 1 ? 1 : cpu;
  f.begin("comfyvn_perf_host_cpu_ratio", MetricType::Gauge,
          "CPU in use, of what this process may use (0 to 1), at the latest sample.");
  f.sample(cpu);
  f.begin("comfyvn_perf_host_memory_used_bytes", MetricType::Gauge,
          "Memory in use (host, or the cgroup's when it sets a limit).");
  f.sample(m.mem_used_mb * kMiB);
  f.begin("comfyvn_perf_host_memory_total_bytes", MetricType::Gauge, "Memory available in all.");
  f.sample(m.mem_total_mb * kMiB);
  f.begin("comfyvn_perf_process_resident_bytes", MetricType::Gauge,
          "Resident memory of this process.");
  f.sample(m.process_rss_mb * kMiB);
  if (!m.gpus.empty()) {
    f.begin("comfyvn_perf_gpu_memory_used_bytes", MetricType::Gauge,
            "GPU memory in use, per device.");
    for (std::size_t i = 0; i < m.gpus.size(); ++i) {
      const std::string gpu = std::to_string(i);
      f.sample({{"gpu", gpu}}, m.gpus[i].mem_used * kMiB);
    }
  }
}

}  // namespace detail

// The families prometheus_text(src) writes, as prometheus-cpp metric families.
inline std::vector<prometheus::MetricFamily> prometheus_families(const PrometheusSources& src) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  detail::PromFamilies f(out);
  f.begin("comfyvn_perf_build_info", MetricType::Gauge, "comfyvn_perf version; always 1.");
  f.sample({{"version", COMFYVN_PERF_VERSION}}, 1);
  f.begin("comfyvn_perf_feature_flag", MetricType::Gauge, "The enable_perf feature flag (0 or 1).");
  f.sample(src.feature_flag ? 1 : 0);
  if (!src.feature_flag) return out;
  if (src.profiler != nullptr) detail::prom_profiler_families(f, *src.profiler);
  if (src.budgets != nullptr) detail::prom_budget_families(f, *src.budgets);
  return out;
}

// A prometheus-cpp Collectable over the profiler and the budget manager.
class PrometheusCollectable : public prometheus::Collectable {
 public:
  // Fixed sources: what prometheus_text(sources) reads.
  explicit PrometheusCollectable(PrometheusSources sources) : fixed_(sources) {}
  // As prometheus_text(profiler, budgets, flags): the flags, read at each
  // Collect(), decide which subsystems are included.
  PrometheusCollectable(PerfProfiler& profiler, BudgetManager& budgets, const FeatureFlags& flags)
      : profiler_(&profiler), budgets_(&budgets), flags_(&flags) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    return prometheus_families(sources());
  }

 private:
  PrometheusSources sources() const {
    if (flags_ == nullptr) return fixed_;
    PrometheusSources src;
    src.feature_flag = flags_->perf_enabled();
    if (flags_->profiler_enabled()) src.profiler = profiler_;
    if (flags_->budgets_enabled()) src.budgets = budgets_;
    return src;
  }

  PrometheusSources fixed_;
  PerfProfiler* profiler_ = nullptr;
  BudgetManager* budgets_ = nullptr;
  const FeatureFlags* flags_ = nullptr;
};

}  // namespace comfyvn::perf
