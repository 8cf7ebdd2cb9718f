// comfyvn_perf — JSON views of the profiler's structs (shapes in docs/http_api.md).
#pragma once

#include <cstddef>  // size_t
#include <vector>   // rows

#include <boost/json.hpp>  // value_from_tag, value, object, array: the API's types

#include "../profiler/types.hpp"  // the structs converted

namespace comfyvn::perf {

// Aggregate entry: {name, category, count, total_ms, self_ms, avg_ms, max_ms,
// min_ms, p50_ms, p95_ms, p99_ms, total_kb, max_kb, avg_kb, last_timestamp}.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Aggregate& a);

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FrameStats& f);

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const CategoryTotals& c);

// {name, category, timestamp, metadata}; metadata is {} when none was given.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Mark& m);

// {name, last, min, max, avg, count}.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const CounterSeries& c);

// {name, category, count, total_ms, self_ms, children}.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const CallTreeNode& n);

// {roots, coverage, nodes, folded}.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const CallTree& t);

// {name, category, p95_ms, max_ms, observed_p95_ms, observed_max_ms,
// over_count, state, since}; unset limits and observations are null; an
// empty category (any category) is null too.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const SpanBudgetState& b);

// {id, frame_ms, budget_ms, site, timestamp, spans}.
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const SpikeSummary& s);

// How top lists are ordered.
enum class TopBy { time, memory, self };

// The first `limit` rows by total_ms, total_kb or self_ms, descending (ties
// keep the order of `rows`).
boost::json::array top_rows_json(std::vector<Aggregate> rows, std::size_t limit, TopBy by);

// The dashboard: {top_time, top_memory, top_self, counters, aggregates
// (the first `limit` rows by total time), aggregates_total, categories,
// marks, spans_recorded, dropped, timestamp, frames?, gpu_frames?}.
boost::json::object dashboard_json(const ProfilerSnapshot& s, std::size_t limit);

// Profiler health: {spans_recorded, marks_recorded, dropped, top_time,
// top_memory, timestamp, enabled, threads, dynamic_names}.
boost::json::object health_json(const ProfilerSnapshot& s, std::size_t limit);

// Reads a span budget from JSON: POST /profiler/budgets/set's body, or one
// entry of the config file's perf.span_budgets (then `name_from_key` is the
// entry's key and the object has no "name"). Keys: name, category, p95_ms,
// max_ms; any other is refused, and null is absent. Returns "" or the
// problem, with `field` the key it is about; the rules after the types are
// span_budget_problem's, so code, HTTP and the file agree.
std::string span_budget_from_json(const boost::json::object& o, SpanBudgetSpec& spec,
                                  std::string& field, const std::string* name_from_key = nullptr);

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // stable_sort
#include <cmath>      // isfinite
#include <string>     // problems
#include <string_view>  // keys
#include <utility>    // move

namespace comfyvn::perf {

std::string span_budget_from_json(const boost::json::object& o, SpanBudgetSpec& spec,
                                  std::string& field, const std::string* name_from_key) {
  spec = SpanBudgetSpec{};
  const std::string keys = name_from_key ? "p95_ms, max_ms, category" : "name, category, p95_ms, max_ms";
  bool named = name_from_key != nullptr;
  if (name_from_key) spec.name = *name_from_key;
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    const boost::json::value& v = kv.value();
    field = std::string(key);
    if ((key == "name" && !name_from_key) || key == "category") {
      if (v.is_null()) continue;
      if (!v.is_string()) return field + " must be a string";
      (key == "name" ? spec.name : spec.category) = std::string(v.get_string());
      if (key == "name") named = true;
      if (key == "category" && spec.category.empty()) {
        return "category must be a string of 1-64 characters";
      }
    } else if (key == "p95_ms" || key == "max_ms") {
      if (v.is_null()) continue;
      if (!v.is_number() || !std::isfinite(v.to_number<double>())) {
        return field + " must be a number from 0.001 (1 microsecond) to 1e9";
      }
      (key == "p95_ms" ? spec.p95_ms : spec.max_ms) = v.to_number<double>();
    } else {
      std::string shown(key.substr(0, 64));
      return "unknown key '" + shown + (key.size() > 64 ? "...'" : "'") + " (use " + keys + ")";
    }
  }
  if (!named) {
    field = "name";
    return "name must be a string of 1-128 characters";
  }
  return span_budget_problem(spec, &field);
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Aggregate& a) {
  jv = boost::json::object{
      {"name", a.name},         {"category", a.category}, {"count", a.count},
      {"total_ms", a.total_ms}, {"self_ms", a.self_ms},   {"avg_ms", a.avg_ms},
      {"max_ms", a.max_ms},     {"min_ms", a.min_ms},     {"p50_ms", a.p50_ms},
      {"p95_ms", a.p95_ms},     {"p99_ms", a.p99_ms},     {"total_kb", a.total_kb},
      {"max_kb", a.max_kb},     {"avg_kb", a.avg_kb},     {"last_timestamp", a.last_timestamp},
      {"coverage", a.coverage}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FrameStats& f) {
  jv = boost::json::object{
      {"count", f.count}, {"avg_ms", f.avg_ms}, {"p95_ms", f.p95_ms}, {"max_ms", f.max_ms}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const CategoryTotals& c) {
  jv = boost::json::object{
      {"count", c.count}, {"total_ms", c.total_ms}, {"total_kb", c.total_kb}, {"sites", c.sites}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Mark& m) {
  boost::json::value meta = boost::json::object{};
  if (!m.metadata_json.empty()) {
    boost::system::error_code ec;
    auto v = boost::json::parse(m.metadata_json, ec);
    if (!ec && v.is_object()) meta = std::move(v);
  }
  jv = boost::json::object{{"name", m.name},
                           {"category", m.category},
                           {"timestamp", m.timestamp},
                           {"metadata", std::move(meta)}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const CounterSeries& c) {
  jv = boost::json::object{{"name", c.name}, {"last", c.last}, {"min", c.min},
                           {"max", c.max},   {"avg", c.avg},   {"count", c.count}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const CallTreeNode& n) {
  boost::json::array children;
  children.reserve(n.children.size());
  for (const auto& c : n.children) children.push_back(boost::json::value_from(c));
  jv = boost::json::object{{"name", n.name},       {"category", n.category},
                           {"count", n.count},     {"total_ms", n.total_ms},
                           {"self_ms", n.self_ms}, {"coverage", n.coverage},
                           {"children", std::move(children)}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const CallTree& t) {
  boost::json::array roots;
  roots.reserve(t.roots.size());
  for (const auto& r : t.roots) roots.push_back(boost::json::value_from(r));
  jv = boost::json::object{{"roots", std::move(roots)},
                           {"coverage", t.coverage},
                           {"nodes", t.nodes},
                           {"folded", t.folded}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const SpanBudgetState& b) {
  const auto opt = [](const std::optional<double>& v) {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
  };
  jv = boost::json::object{{"name", b.name},
                           {"category", b.category.empty() ? boost::json::value(nullptr)
                                                           : boost::json::value(b.category)},
                           {"p95_ms", opt(b.p95_ms)},
                           {"max_ms", opt(b.max_ms)},
                           {"observed_p95_ms", opt(b.observed_p95_ms)},
                           {"observed_max_ms", opt(b.observed_max_ms)},
                           {"over_count", b.over_count},
                           {"exceeded_total", b.exceeded_total},
                           {"state", b.state},
                           {"since", b.since},
                           {"source", b.from_config ? "config" : "api"}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const SpikeSummary& s) {
  jv = boost::json::object{{"id", s.id},
                           {"frame_ms", s.frame_ms},
                           {"budget_ms", s.budget_ms},
                           {"site", s.site},
                           {"timestamp", s.timestamp},
                           {"spans", s.spans}};
}

boost::json::array top_rows_json(std::vector<Aggregate> rows, std::size_t limit, TopBy by) {
  std::stable_sort(rows.begin(), rows.end(), [by](const Aggregate& x, const Aggregate& y) {
    switch (by) {
      case TopBy::memory:
        return x.total_kb > y.total_kb;
      case TopBy::self:
        return x.self_ms > y.self_ms;
      case TopBy::time:
        break;
    }
    return x.total_ms > y.total_ms;
  });
  boost::json::array out;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i)
    out.push_back(boost::json::value_from(rows[i]));
  return out;
}

boost::json::object dashboard_json(const ProfilerSnapshot& s, std::size_t limit) {
  // The first `limit` rows by total time (s.rows' order), so that the
  // answer stays bounded however many sites exist; aggregates_total says
  // how many there are.
  boost::json::array all;
  const std::size_t n = std::min(limit, s.rows.size());
  all.reserve(n);
  for (std::size_t i = 0; i < n; ++i) all.push_back(boost::json::value_from(s.rows[i]));
  boost::json::object categories;
  for (const auto& [name, totals] : s.categories)
    categories[name] = boost::json::value_from(totals);
  boost::json::array marks;
  marks.reserve(s.marks.size());
  for (const auto& m : s.marks) marks.push_back(boost::json::value_from(m));
  boost::json::array series;
  series.reserve(s.series.size());
  for (const auto& c : s.series) series.push_back(boost::json::value_from(c));
  boost::json::object out{{"top_time", top_rows_json(s.rows, limit, TopBy::time)},
                          {"top_memory", top_rows_json(s.rows, limit, TopBy::memory)},
                          {"top_self", top_rows_json(s.rows, limit, TopBy::self)},
                          {"counters", std::move(series)},
                          {"aggregates", std::move(all)},
                          {"aggregates_total", s.rows.size()},
                          {"categories", std::move(categories)},
                          {"marks", std::move(marks)},
                          {"spans_recorded", s.counters.spans_recorded},
                          {"dropped", s.counters.dropped},
                          {"timestamp", s.timestamp}};
  if (s.frames.count > 0) out["frames"] = boost::json::value_from(s.frames);
  if (s.gpu_frames.count > 0) out["gpu_frames"] = boost::json::value_from(s.gpu_frames);
  return out;
}

boost::json::object health_json(const ProfilerSnapshot& s, std::size_t limit) {
  const ProfilerCounters& c = s.counters;
  return boost::json::object{
      {"spans_recorded", c.spans_recorded},
      {"marks_recorded", c.marks_recorded},
      {"dropped", c.dropped},
      {"top_time", top_rows_json(s.rows, limit, TopBy::time)},
      {"top_memory", top_rows_json(s.rows, limit, TopBy::memory)},
      {"timestamp", s.timestamp},
      {"enabled", s.enabled},
      {"threads", boost::json::object{{"live", c.threads_live}, {"exited", c.threads_exited}}},
      {"dynamic_names",
       boost::json::object{{"interned", c.dynamic_names}, {"folded", c.dynamic_folded}}}};
}

}  // namespace comfyvn::perf
#endif
