// comfyvn_perf — what the profiler reports, as plain structs.
//
// The data model knows nothing of its wire format: <comfyvn_perf/json/profiler.hpp>
// converts these to JSON.
#pragma once

#include <cstddef>   // size_t
#include <cstdint>   // uint64_t
#include <map>       // categories by name
#include <optional>  // span budget limits
#include <string>    // names
#include <vector>    // rows, marks

namespace comfyvn::perf {

// Bytes a site's or a mark's name and category keep at most, each: longer
// ones are cut on a character boundary and end in "…" (U+2026), and
// ill-formed UTF-8 and control characters become U+FFFD
// (profiler/site_table.hpp, CONTRACT §8).
inline constexpr std::size_t kMaxNameBytes = 256;

// One row of the dashboard: exact count/total/max, percentiles from the
// log-linear histogram of the spans the collector saw.
struct Aggregate {
  std::string name;
  std::string category;
  std::uint64_t count = 0;
  double total_ms = 0, avg_ms = 0, max_ms = 0, min_ms = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  // Time not spent in child scopes of the same thread. Measured on the
  // spans the collector saw, scaled to the site's exact total when rings
  // lost some (then an estimate: `coverage` < 1; a leaf's equals its total).
  double self_ms = 0;
  // The fraction of this site's spans the percentiles and self time rest on
  // (1: all of them; below 1 when rings overwrote spans before collection).
  double coverage = 1.0;
  double total_kb = 0, max_kb = 0, avg_kb = 0;
  double last_timestamp = 0;
};

// Frame-time statistics from PERF_FRAME(); count 0 when no frame was marked.
struct FrameStats {
  std::uint64_t count = 0;
  double avg_ms = 0, p95_ms = 0, max_ms = 0;
};

// The sites of one category, summed.
struct CategoryTotals {
  std::uint64_t count = 0;
  double total_ms = 0;
  double total_kb = 0;
  std::uint64_t sites = 0;
};

// One instant mark as kept by the profiler.
struct Mark {
  std::string name;
  std::string category;
  double timestamp = 0;       // epoch seconds
  std::string metadata_json;  // a serialised object, "" when none
};

// Counters of the recording machinery.
struct ProfilerCounters {
  std::uint64_t spans_recorded = 0;  // since the last reset, frames excluded
  std::uint64_t marks_recorded = 0;
  std::uint64_t dropped = 0;  // spans overwritten before collection or without a buffer
  std::uint64_t threads_live = 0;
  std::uint64_t threads_exited = 0;
  std::uint64_t dynamic_names = 0;   // interned PERF_SCOPE_DYN names
  std::uint64_t dynamic_folded = 0;  // names folded into "(other)"
};

// One site's span durations as a histogram over fixed bounds: `count` and
// `sum_seconds` are exact; `cumulative[k]` counts the spans at or below
// bound k, from the percentile histogram (profiler/histogram.hpp's
// LogHistogram::cumulative), so it covers only spans the collector saw.
struct SiteHistogram {
  std::string name;
  std::string category;
  std::uint64_t count = 0;
  double sum_seconds = 0;
  std::vector<std::uint64_t> cumulative;
  double coverage = 1.0;  // as Aggregate::coverage
};

// Every site's histogram at the same bounds, plus the frame intervals.
struct HistogramSnapshot {
  std::vector<double> bounds_seconds;
  std::vector<SiteHistogram> sites;  // by total time, descending
  SiteHistogram frames;              // count 0 when no frame was marked
  ProfilerCounters counters;
};

// One PERF_COUNTER series, from the samples the collector saw.
struct CounterSeries {
  std::string name;
  double last = 0, min = 0, max = 0, avg = 0;
  std::uint64_t count = 0;
};

// A call-tree node: every instance of a site under the same parent path.
struct CallTreeNode {
  std::string name;
  std::string category;
  std::uint64_t count = 0;
  double total_ms = 0;
  double self_ms = 0;
  double coverage = 1.0;  // the site's (Aggregate::coverage)
  std::vector<CallTreeNode> children;  // by total_ms, descending
};

// The call tree of every thread, merged by path. `coverage` is the fraction
// of recorded spans the tree was built from (below 1 only when rings
// overwrote spans); `nodes` counts the nodes kept and `folded` the span
// instances that fell into an "(other)" node past the node cap.
struct CallTree {
  std::vector<CallTreeNode> roots;
  double coverage = 1.0;
  std::uint64_t nodes = 0;
  std::uint64_t folded = 0;
};

// What a caller sets.
struct SpanBudgetSpec {
  std::string name;      // 1-128 characters; "(frame)" for frame intervals
  std::string category;  // empty: any category; else 1-64 characters
  std::optional<double> p95_ms;
  std::optional<double> max_ms;
};

inline constexpr std::size_t kMaxSpanBudgets = 256;
// The shortest limit a budget takes, in milliseconds (1 µs): below it a
// limit is shorter than the clock's resolution on some hosts and than any
// span's own cost, so it could never be judged.
inline constexpr double kMinSpanBudgetMs = 0.001;

// Why a spec cannot be set, "" when it can; `field` (when given) gets the
// key the problem is about. The one rule for code, HTTP and the config file
// (profiler/span_budgets.hpp defines it; json/profiler.hpp reads the JSON).
std::string span_budget_problem(const SpanBudgetSpec& s, std::string* field = nullptr);

// A budget and how it stands.
struct SpanBudgetState {
  std::string name;
  std::string category;
  std::optional<double> p95_ms, max_ms;
  std::optional<double> observed_p95_ms;  // latest window; none without data
  std::optional<double> observed_max_ms;
  std::uint64_t over_count = 0;      // spans longer than max_ms since the budget was set
  std::uint64_t exceeded_total = 0;  // transitions into `over`
  std::string state = "no_data";     // "ok", "over", "no_data"
  double since = 0;                  // epoch seconds of the last state change
  bool from_config = false;          // set by the config file (replaced on reload)
};

// One kept frame longer than the frame budget's max_ms.
struct SpikeSummary {
  std::uint64_t id = 0;
  double frame_ms = 0;
  double budget_ms = 0;
  std::string site = "(frame)";  // the frame site: "(frame)" or "(gpu frame)"
  double timestamp = 0;  // epoch seconds of the frame's end
  std::size_t spans = 0;
};

// Everything the dashboard shows, taken at one moment. `rows` is sorted by
// total_ms, descending.
struct ProfilerSnapshot {
  std::vector<Aggregate> rows;
  std::map<std::string, CategoryTotals> categories;
  std::vector<Mark> marks;
  std::vector<CounterSeries> series;  // PERF_COUNTER series, by name
  FrameStats frames;
  // The "(gpu frame)" site (category "gpu", PERF_GPU_FRAME of every GPU
  // context); count 0 when none. The site also stays a row of its own.
  FrameStats gpu_frames;
  ProfilerCounters counters;
  bool enabled = false;
  double timestamp = 0;
};

}  // namespace comfyvn::perf
