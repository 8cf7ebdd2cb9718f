// comfyvn_perf — the bodies of the /api/perf/profiler/* routes: marks, the
// dashboard, the call tree, span budgets, spikes, reset, and the two that
// answer Chrome trace JSON instead of the envelope (a capture, a spike's
// frame), over the injected PerfProfiler. Each throws the Rejection that
// becomes the error reply (http/handler.hpp dispatches).
#pragma once

#include <string>  // trace text

#include <boost/json/object.hpp>  // route bodies

#include "services.hpp"  // RouteContext

namespace comfyvn::perf::http::detail {

// ---- JSON envelope routes: the success fields besides ok/feature_flag ----

json::object route_mark(const RouteContext& c);
json::object route_dashboard(const RouteContext& c);
json::object route_tree(const RouteContext& c);
json::object route_span_budgets(const RouteContext& c);

// {name (1-128), category (1-64, optional), p95_ms, max_ms (> 0, at least one)}.
json::object route_span_budget_set(const RouteContext& c);

json::object route_span_budget_remove(const RouteContext& c);
json::object route_spikes(const RouteContext& c);
json::object route_reset(const RouteContext& c);

// ---- trace routes: the whole body, bounded by max_trace_spans ----

// GET /profiler/trace?seconds=S: the spans that end during the next S seconds
// (409 while another capture runs).
std::string trace_text(const RouteContext& c);

// GET /profiler/spikes?id=N: that spike's frame (404 for an unknown id).
std::string spike_trace_text(const RouteContext& c);

}  // namespace comfyvn::perf::http::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min, max
#include <chrono>     // milliseconds: a trace's length
#include <cstdint>    // int64_t
#include <optional>   // optional fields
#include <utility>    // move

#include <boost/json.hpp>  // value_from

#include "options.hpp"  // limits of the query parameters
#include "reply.hpp"    // fit_metadata, add_omitted
#include "status.hpp"   // StatusCode

namespace comfyvn::perf::http::detail {

json::object route_mark(const RouteContext& c) {
  const Fields f = c.fields();
  const std::string name = f.required_text("name", 1, 128);
  const std::string category = f.text("category", 1, 64).value_or("general");
  json::object metadata = f.object("metadata").value_or(json::object());
  return {{"mark", c.profiler().mark(name, category, std::move(metadata))}};
}

json::object route_dashboard(const RouteContext& c) {
  const std::size_t limit = parse_limit(c.query);
  const std::size_t marks = parse_count(c.query, "marks", kDefaultMarksLimit, kMaxMarksLimit);
  json::object fields{{"dashboard", c.profiler().dashboard(limit, marks)}};
  json::object& dash = fields["dashboard"].as_object();
  std::size_t omitted = 0;
  if (json::value* list = dash.if_contains("marks"); list != nullptr && list->is_array()) {
    // Marks come oldest first. The profiler already keeps the newest
    // `marks`; trimming again here costs nothing and keeps the bound local.
    json::array& all = list->get_array();
    if (all.size() > marks) {
      json::array newest;
      newest.reserve(marks);
      for (std::size_t i = all.size() - marks; i < all.size(); ++i) {
        newest.push_back(std::move(all[i]));
      }
      all = std::move(newest);
    }
    omitted = fit_metadata(fields, all, c.options.max_response_bytes);
  }
  add_omitted(dash, omitted);
  return fields;
}

json::object route_tree(const RouteContext& c) {
  const std::size_t limit = parse_count(c.query, "limit", kDefaultTreeLimit, kMaxTreeLimit);
  return {{"tree", json::value_from(c.profiler().call_tree(limit))}};
}

json::object route_span_budgets(const RouteContext& c) {
  json::array list;
  for (const auto& b : c.profiler().span_budgets()) list.push_back(json::value_from(b));
  return {{"budgets", std::move(list)}};
}

json::object route_span_budget_set(const RouteContext& c) {
  // The config file's reader too (json/profiler.hpp): one set of rules.
  SpanBudgetSpec spec;
  std::string field;
  std::string problem = span_budget_from_json(c.body, spec, field);
  if (!problem.empty()) {
    throw Rejection{StatusCode::unprocessable_entity, std::move(problem),
                    json::object{{"field", std::move(field)}}};
  }
  PerfProfiler::SpanBudgetResult r = c.profiler().set_span_budget(spec);
  if (!r.ok()) {  // the cap, about the new name
    throw Rejection{StatusCode::unprocessable_entity, r.error, json::object{{"field", "name"}}};
  }
  return {{"budget", json::value_from(r.state)}};
}

json::object route_span_budget_remove(const RouteContext& c) {
  const Fields f = c.fields();
  const std::string name = f.required_text("name", 1, 128);
  const std::string category = f.text("category", 1, 64).value_or("");
  return {{"removed", c.profiler().remove_span_budget(name, category)}};
}

json::object route_spikes(const RouteContext& c) {
  json::array list;
  for (const auto& s : c.profiler().spikes()) list.push_back(json::value_from(s));
  return {{"spikes", std::move(list)}};
}

json::object route_reset(const RouteContext& c) {
  c.profiler().reset();
  return {};
}

std::string trace_text(const RouteContext& c) {
  const double longest =
      std::max(kMinTraceSeconds, std::min(kMaxTraceSeconds, c.options.max_trace_seconds));
  const double seconds = parse_decimal(c.query, "seconds", std::min(kDefaultTraceSeconds, longest),
                                       kMinTraceSeconds, longest);
  try {
    static const std::function<bool()> kNever;
    return c.profiler().capture_trace_text(
        std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5)),
        c.options.max_trace_spans, c.cancelled != nullptr ? *c.cancelled : kNever);
  } catch (const TraceBusy& busy) {
    throw Rejection{StatusCode::conflict, busy.what()};
  } catch (const TraceCancelled&) {
    // Nobody waits for it: the client left or the adapter stops.
    throw Rejection{StatusCode::service_unavailable, "the trace capture was cancelled"};
  }
}

std::string spike_trace_text(const RouteContext& c) {
  const std::size_t id = parse_count(c.query, "id", 0, kMaxPageOffset);
  std::optional<std::string> trace = c.profiler().spike_trace_text(id);
  if (!trace) throw Rejection{StatusCode::not_found, "no spike with id " + std::to_string(id)};
  return std::move(*trace);
}

}  // namespace comfyvn::perf::http::detail
#endif
