// comfyvn_perf — the Prometheus exposition as a prometheus-cpp Collectable,
// for programs that already serve prometheus-cpp registries with an Exposer:
//
//   #include <comfyvn_perf/export/prometheus_cpp.hpp>
//   auto perf_metrics = std::make_shared<comfyvn::perf::PrometheusCollectable>(
//       comfyvn::perf::perf_profiler(), comfyvn::perf::budget_manager(),
//       comfyvn::perf::feature_flags());
//   exposer.RegisterCollectable(perf_metrics);
//
// Collect() returns exactly the families prometheus_text() writes (names,
// types, help, labels, histogram buckets, values): it reads them back from
// that text, so the two cannot drift apart as families are added. The
// flags decide what is included as they do for prometheus_text().
//
// Two differences come from prometheus-cpp's TextSerializer (1.0), not from
// the data: it writes numbers with 16 significant digits where
// prometheus_text() writes the shortest form that reads back exactly (a sum
// can differ in its last digit), and within a histogram it writes _count and
// _sum before the buckets. The `le` bounds are spelled alike ("1e-05",
// "0.0001"), so both expositions give the same series.
//
// Needs prometheus-cpp (core): perf.hpp does not include this header.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <cstdlib>      // strtod
#include <limits>       // infinity, NaN
#include <string>       // names
#include <string_view>  // lines
#include <utility>      // move
#include <vector>       // families

#include "../budget/manager.hpp"
#include "../flags/flags.hpp"
#include "../profiler/profiler.hpp"
#include "prometheus.hpp"

namespace comfyvn::perf {

namespace detail {

// A number as the exposition writes it: digits, +Inf, -Inf, NaN.
inline double prom_number(std::string_view s) {
  if (s == "+Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  return std::strtod(std::string(s).c_str(), nullptr);
}

// Undoes the escaping of a label value (\\, \" and \n) or of HELP text
// (\\ and \n).
inline std::string prom_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out += c == 'n' ? '\n' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Parses one sample line: name, labels (le taken out into `le`), value.
// Returns false on a line the text format does not allow.
inline bool prom_sample(std::string_view line, std::string_view& name,
                        std::vector<prometheus::ClientMetric::Label>& labels, std::string_view& le,
                        double& value) {
  labels.clear();
  le = {};
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find("=\"", i);
      if (eq == std::string_view::npos) return false;
      const std::string_view key = line.substr(i, eq - i);
      std::size_t j = eq + 2;
      while (j < line.size() && line[j] != '"') j += line[j] == '\\' ? 2u : 1u;
      if (j >= line.size()) return false;
      const std::string_view raw = line.substr(eq + 2, j - eq - 2);
      if (key == "le") {
        le = raw;
      } else {
        labels.push_back({std::string(key), prom_unescape(raw)});
      }
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return false;
  value = prom_number(line.substr(i + 1));
  return true;
}

inline bool prom_has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace detail

// Exposition text (format 0.0.4, families contiguous, as prometheus_text()
// writes it) as prometheus-cpp metric families. Lines that do not parse are
// skipped.
inline std::vector<prometheus::MetricFamily> prometheus_families_from_text(std::string_view text) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  std::vector<prometheus::ClientMetric::Label> labels;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# HELP name text" starts a family; "# TYPE name type" sets its type.
      const bool help = line.rfind("# HELP ", 0) == 0;
      const bool type = line.rfind("# TYPE ", 0) == 0;
      if (!help && !type) continue;
      const std::string_view rest = line.substr(7);
      const std::size_t sp = rest.find(' ');
      const std::string_view name = rest.substr(0, sp);
      const std::string_view arg = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
      if (out.empty() || out.back().name != name) {
        out.emplace_back();
        out.back().name = std::string(name);
      }
      if (help) {
        out.back().help = detail::prom_unescape(arg);
      } else {
        out.back().type = arg == "counter"     ? MetricType::Counter
                          : arg == "gauge"     ? MetricType::Gauge
                          : arg == "histogram" ? MetricType::Histogram
                          : arg == "summary"   ? MetricType::Summary
                                               : MetricType::Untyped;
      }
      continue;
    }
    std::string_view name, le;
    double value = 0;
    if (out.empty() || !detail::prom_sample(line, name, labels, le, value)) continue;
    prometheus::MetricFamily& f = out.back();
    if (f.type != MetricType::Histogram) {
      prometheus::ClientMetric& m = f.metric.emplace_back();
      m.label = std::move(labels);
      labels = {};
      if (f.type == MetricType::Counter) {
        m.counter.value = value;
      } else if (f.type == MetricType::Gauge) {
        m.gauge.value = value;
      } else {
        m.untyped.value = value;
      }
      continue;
    }
    // A histogram's lines: _bucket per bound, _sum, _count, one series at a
    // time (the series is the labels without le).
    if (f.metric.empty() || f.metric.back().label != labels) {
      f.metric.emplace_back().label = labels;
    }
    prometheus::ClientMetric::Histogram& h = f.metric.back().histogram;
    if (detail::prom_has_suffix(name, "_bucket")) {
      prometheus::ClientMetric::Bucket b;
      b.upper_bound = detail::prom_number(le);
      b.cumulative_count = static_cast<std::uint64_t>(value);
      h.bucket.push_back(b);
    } else if (detail::prom_has_suffix(name, "_sum")) {
      h.sample_sum = value;
    } else if (detail::prom_has_suffix(name, "_count")) {
      h.sample_count = static_cast<std::uint64_t>(value);
    }
  }
  return out;
}

// The families prometheus_text(src) writes, as prometheus-cpp metric families.
inline std::vector<prometheus::MetricFamily> prometheus_families(const PrometheusSources& src) {
  return prometheus_families_from_text(prometheus_text(src));
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
    if (flags_ == nullptr) return prometheus_families(fixed_);
    return prometheus_families_from_text(prometheus_text(*profiler_, *budgets_, *flags_));
  }

 private:
  PrometheusSources fixed_;
  PerfProfiler* profiler_ = nullptr;
  BudgetManager* budgets_ = nullptr;
  const FeatureFlags* flags_ = nullptr;
};

}  // namespace comfyvn::perf
