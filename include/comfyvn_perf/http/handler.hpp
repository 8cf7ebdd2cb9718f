// comfyvn_perf — the HTTP adapter's request handler: one parsed request in,
// one response out. Routing, authentication, browser guards, validation and
// the JSON bodies live here; sockets, framing and header syntax live in
// http/server.hpp. No Beast or Asio: a request is a RequestView and an
// answer a Reply, so unit tests and the fuzzer need no network types to
// drive it, and the services it serves can be injected.
#pragma once

#include <cstddef>      // size_t
#include <string>       // owned text
#include <string_view>  // header values, paths

#include <boost/json/serializer.hpp>  // serialized_size_upto
#include <boost/json/value.hpp>       // route bodies

#include "../budget/manager.hpp"      // BudgetManager, a service
#include "../budget/types.hpp"        // BudgetResult
#include "../flags/flags.hpp"         // FeatureFlags, a service
#include "../profiler/profiler.hpp"   // PerfProfiler, a service
#include "../runtime/singletons.hpp"  // the process-wide services a null member means
#include "address.hpp"                // loopback Host names (is_loopback_literal, host_is_loopback)
#include "options.hpp"                // Options
#include "routes.hpp"                 // Method, Action, Subsystem
#include "status.hpp"                 // StatusCode
#include "ui_page.hpp"                // kDashboardHtml, the page GET /api/perf/ui serves
#include "validate.hpp"               // Rejection, Fields

namespace comfyvn::perf::http {

// ===========================================================================
// Public API
// ===========================================================================

// What the handler serves. A null member means the process-wide instance
// (perf_profiler(), budget_manager(), feature_flags()), looked up at each
// request so that building a handler creates none of them.
struct Services {
  PerfProfiler* profiler = nullptr;
  BudgetManager* budgets = nullptr;
  FeatureFlags* flags = nullptr;
};

// The parts of a parsed request the handler reads. Views into the caller's
// request, valid for the duration of handle().
struct RequestView {
  Method method = Method::get;
  unsigned version = 11;  // HTTP/1.1 as 11, HTTP/1.0 as 10
  std::string_view target;
  std::string_view host;           // the Host header; empty when absent
  std::string_view authorization;  // the Authorization header; empty when absent
  bool has_origin = false;         // an Origin header was sent
  std::string_view origin;         // its value
  // A Transfer-Encoding that does not end in chunked (RFC 9112 §6.3): the
  // body has no knowable length.
  bool unframed = false;
  // More than one Host header (RFC 9112 §3.2 says: answer 400). Only the
  // first would be checked against loopback, so the request is refused.
  bool duplicate_host = false;
  bool keep_alive = true;  // the client asked to keep the connection open
  std::string_view body;
};

// The complete answer. Every error carries a JSON body with `ok` and
// `feature_flag`, and so does every success but 204 and the routes that serve
// another format (/metrics, /profiler/trace). A HEAD request gets the GET
// answer: the transport sends its headers and length without the body.
struct Reply {
  StatusCode status = StatusCode::ok;
  std::string body;                   // JSON text unless content_type says otherwise
  std::string_view content_type;      // empty: application/json
  std::string_view allow;             // Allow header (405 and OPTIONS), else empty
  std::string_view www_authenticate;  // challenge of a 401, else empty
  bool keep_alive = true;             // false: close the connection after this reply
};

// Answers one request. Unexpected failures become a JSON 500 (503 when out
// of memory) rather than an exception; only std::bad_alloc while building
// that answer can escape. Safe to call from any number of threads at once.
Reply handle(const RequestView& req, const Options& options, const Services& services = {});

// A JSON error ({"ok": false, "detail", "feature_flag"}) that closes the
// connection; for requests that could not be parsed.
Reply error_reply(StatusCode status, std::string_view detail, const Services& services = {});

// ===========================================================================
// Implementation (defined under COMFYVN_PERF_IMPLEMENTATION, below)
// ===========================================================================

namespace detail {

namespace json = boost::json;

inline constexpr const char* kVersionDetail = "only HTTP/1.0 and HTTP/1.1 are served";
inline constexpr std::string_view kBearerChallenge = "Bearer realm=\"comfyvn_perf\"";

// Each service is resolved when a route first needs it, so that a 404 or a
// disabled route creates no singleton.
PerfProfiler& profiler_of(const Services& s);
BudgetManager& budgets_of(const Services& s);
FeatureFlags& flags_of(const Services& s);

// Compares a presented secret with the expected one in time that depends only
// on their lengths, so response timing does not reveal how many leading
// characters were right.
bool constant_time_equal(std::string_view presented, std::string_view expected);

struct Target {
  std::string_view path;
  std::string_view query;
};

// Paths are matched exactly as sent: no percent-decoding, no dot-segment
// removal, so "/api/perf/../x" or "%2e%2e" can only ever miss (404).
Target split_target(std::string_view t);

// The body of a successful BudgetManager call, or the matching error (its
// body's fields, e.g. the 409's `reason` and `job`, travel with it).
json::object unwrap(BudgetResult r);

struct RouteContext {
  const Options& options;
  const Services& services;
  std::string_view query;
  const json::object& body;
  Fields fields() const;
  PerfProfiler& profiler() const;
  BudgetManager& budgets() const;
  FeatureFlags& flags() const;
};

// ---- route bodies: each returns the success fields besides ok/feature_flag ----

json::object route_health(const RouteContext& c);

// ---- the response size cap ----

// `metadata_omitted`: how many entries of the list show `metadata: null`
// because of the size cap, counting those the producing part already
// dropped.
void add_omitted(json::object& o, std::size_t more);

// Serialises `v` into `out` unless it exceeds `cap` bytes; false then, having
// done at most about `cap` bytes of work. A serializer is read in chunks so
// that a huge value is never written out in full just to be refused.
bool serialize_capped(const json::value& v, std::size_t cap, std::string& out);

// Serialised size of `v` (a value, object or array), counted up to just past
// `limit` (then it stops).
template <class Json>
std::size_t serialized_size_upto(const Json& v, std::size_t limit) {
  json::serializer sr;
  sr.reset(&v);
  char buf[16 * 1024];
  std::size_t n = 0;
  while (!sr.done() && n <= limit) n += sr.read(buf, sizeof buf).size();
  return n;
}

// Room kept for what json_reply adds around a route's fields: {"ok":true,
// "feature_flag":false} and separators.
inline constexpr std::size_t kEnvelopeBytes = 256;

// Keeps the body of a route under `cap` by dropping client metadata, the one
// part of a list entry whose size a client chooses: the entries of `items`
// keep their `metadata` in order while it fits; from the first that does not
// fit on, `metadata` is null. `fields` is the route's whole answer and
// contains `items`. Returns how many entries lost their metadata.
std::size_t fit_metadata(const json::object& fields, json::array& items, std::size_t cap);

// `jobs` and `assets` are paged by the manager, under its lock, which also
// stops including asset metadata once it totals max_response_bytes; the
// adapter then drops more if the whole body still would not fit.
json::object route_budgets(const RouteContext& c);

json::object route_apply(const RouteContext& c);
json::object route_job_register(const RouteContext& c);
json::object route_job_start(const RouteContext& c);
json::object route_job_finish(const RouteContext& c);
json::object route_job_refresh(const RouteContext& c);
json::object route_asset_register(const RouteContext& c);
json::object route_asset_touch(const RouteContext& c);
json::object route_asset_evict(const RouteContext& c);
json::object route_asset_unregister(const RouteContext& c);
json::object route_mark(const RouteContext& c);
json::object route_dashboard(const RouteContext& c);
json::object route_tree(const RouteContext& c);
json::object route_span_budgets(const RouteContext& c);

// {name (1-128), category (1-64, optional), p95_ms, max_ms (> 0, at least one)}.
json::object route_span_budget_set(const RouteContext& c);

json::object route_span_budget_remove(const RouteContext& c);
json::object route_spikes(const RouteContext& c);
json::object route_reset(const RouteContext& c);

json::object run(Action action, const RouteContext& c);

// NaN and the infinities have no JSON spelling (Boost.JSON would write the
// non-JSON tokens NaN and Infinity, which every strict parser refuses). A
// number that overflowed somewhere (two 1e308 sizes summed) is written as
// null: the field is still there and the rest of the body stays readable.
// The depth is bounded by the request parser's depth cap plus a few levels.
void null_non_finite(json::value& v);

// The body of a response past Options::max_response_bytes. 422 rather than a
// 5xx: nothing failed, and the client can ask for less (`hint` names how).
Rejection too_large(std::size_t cap, std::string_view hint);

// What to tell a client whose answer would not fit.
std::string_view page_hint(Action action);

// {"ok", ["detail",] "feature_flag", ...fields} as a complete reply; an empty
// body when the JSON would exceed `cap` bytes.
Reply json_reply(StatusCode status, bool flag, std::string_view detail, json::object fields,
                 std::size_t cap = static_cast<std::size_t>(-1));

// The routes whose body is not our JSON envelope: the Prometheus
// exposition, and a trace (bounded by max_trace_spans rather than
// max_response_bytes). Errors still answer the JSON error body.
Reply raw_reply(Action action, const RouteContext& c);

// The dashboard's own requests: a browser labels them with Origin
// "http://" + the Host it sent. Anything else ("null", another port, another
// host, https, a missing Host) is another origin.
bool same_origin(std::string_view origin, std::string_view host);

bool subsystem_enabled(Subsystem s, const FeatureFlags& flags);

Reply dispatch(const RequestView& req, const Options& options, const Services& services, bool flag);

}  // namespace detail

}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min, max
#include <chrono>     // milliseconds: a trace's length
#include <cmath>      // isfinite: no NaN or Infinity leaves the adapter
#include <cstdint>    // int64_t
#include <exception>  // exception: any other failure answers 500
#include <new>        // bad_alloc
#include <optional>   // optional fields
#include <utility>    // move
#include <vector>     // metadata set aside while a body is fitted under the cap

#include <boost/json.hpp>  // value_from

#include "../export/prometheus.hpp"  // prometheus_text: GET /metrics
#include "../os/text.hpp"            // istarts_with, iequals, trim

namespace comfyvn::perf::http {

namespace detail {

PerfProfiler& profiler_of(const Services& s) {
  return s.profiler != nullptr ? *s.profiler : perf_profiler();
}
BudgetManager& budgets_of(const Services& s) {
  return s.budgets != nullptr ? *s.budgets : budget_manager();
}
FeatureFlags& flags_of(const Services& s) {
  return s.flags != nullptr ? *s.flags : feature_flags();
}

bool constant_time_equal(std::string_view presented, std::string_view expected) {
  std::size_t diff = presented.size() ^ expected.size();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= static_cast<std::size_t>(p ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

Target split_target(std::string_view t) {
  // Absolute-form ("GET http://host/path") is valid HTTP/1.1; keep the path.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (os::istarts_with(t, scheme)) {
      const auto rest = t.substr(scheme.size());
      const auto start = rest.find_first_of("/?#");
      t = start == std::string_view::npos ? std::string_view("/") : rest.substr(start);
      break;
    }
  }
  if (const auto hash = t.find('#'); hash != std::string_view::npos) t = t.substr(0, hash);
  const auto q = t.find('?');
  if (q == std::string_view::npos) return {t, {}};
  return {t.substr(0, q), t.substr(q + 1)};
}

json::object unwrap(BudgetResult r) {
  if (r.ok()) return std::move(r.body);
  throw Rejection{status_of(r.error), r.detail.empty() ? "request refused" : r.detail,
                  std::move(r.body)};
}

Fields RouteContext::fields() const {
  return Fields(body, options.max_metadata_bytes);
}
PerfProfiler& RouteContext::profiler() const {
  return profiler_of(services);
}
BudgetManager& RouteContext::budgets() const {
  return budgets_of(services);
}
FeatureFlags& RouteContext::flags() const {
  return flags_of(services);
}

json::object route_health(const RouteContext& c) {
  const std::size_t limit = parse_limit(c.query);
  const bool budgets = c.flags().budgets_enabled();
  const bool profiler = c.flags().profiler_enabled();
  json::object out;
  out["budgets_enabled"] = budgets;
  out["profiler_enabled"] = profiler;
  out["budgets"] = budgets ? json::value(c.budgets().health()) : json::value(nullptr);
  out["profiler"] = profiler ? json::value(c.profiler().health(limit)) : json::value(nullptr);
  return out;
}

void add_omitted(json::object& o, std::size_t more) {
  std::size_t already = 0;
  if (const json::value* v = o.if_contains("metadata_omitted"); v != nullptr && v->is_uint64()) {
    already = static_cast<std::size_t>(v->get_uint64());
  } else if (v != nullptr && v->is_int64() && v->get_int64() > 0) {
    already = static_cast<std::size_t>(v->get_int64());
  }
  o["metadata_omitted"] = already + more;
}

bool serialize_capped(const json::value& v, std::size_t cap, std::string& out) {
  json::serializer sr;
  sr.reset(&v);
  out.clear();
  char buf[16 * 1024];
  while (!sr.done()) {
    const std::string_view chunk = sr.read(buf, sizeof buf);
    if (out.size() + chunk.size() > cap) return false;
    out.append(chunk.data(), chunk.size());
  }
  return true;
}

std::size_t fit_metadata(const json::object& fields, json::array& items, std::size_t cap) {
  // Set every entry's metadata aside, measure the rest, then put metadata
  // back while it fits. Moving json values is cheap (no copy).
  std::vector<json::value> kept(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) continue;
    if (json::value* m = items[i].get_object().if_contains("metadata")) {
      kept[i] = std::move(*m);
      *m = nullptr;
    }
  }
  const std::size_t budget = cap > kEnvelopeBytes ? cap - kEnvelopeBytes : 0;
  const std::size_t base = serialized_size_upto(fields, budget);
  std::size_t left = base <= budget ? budget - base : 0;
  std::size_t omitted = 0;
  bool full = false;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (kept[i].is_null()) continue;
    if (!full) {
      // `metadata` replaces "null" (4 bytes) in the text already counted.
      const std::size_t size = serialized_size_upto(kept[i], left + 4);
      if (size <= left + 4) {
        left -= size - std::min<std::size_t>(size, 4);
        items[i].get_object()["metadata"] = std::move(kept[i]);
        continue;
      }
      full = true;
    }
    ++omitted;
  }
  return omitted;
}

json::object route_budgets(const RouteContext& c) {
  const std::size_t limit = parse_count(c.query, "limit", kDefaultPageLimit, kMaxPageLimit);
  const std::size_t offset = parse_count(c.query, "offset", 0, kMaxPageOffset);
  json::object fields{
      {"budgets", c.budgets().snapshot(limit, offset, c.options.max_response_bytes)}};
  json::object& snap = fields["budgets"].as_object();
  std::size_t omitted = 0;
  if (json::value* assets = snap.if_contains("assets"); assets != nullptr && assets->is_array()) {
    omitted = fit_metadata(fields, assets->get_array(), c.options.max_response_bytes);
  }
  add_omitted(snap, omitted);
  return fields;
}

json::object route_apply(const RouteContext& c) {
  // The manager owns the limits' names, types and ranges; it names the field.
  return unwrap(c.budgets().configure(c.body));
}

json::object route_job_register(const RouteContext& c) {
  const Fields f = c.fields();
  std::string job_id = f.required_text("job_id", 1, 128);
  std::string job_type = f.text("job_type", 1, 128).value_or("generic");
  json::object payload = f.object("payload").value_or(json::object());
  const Fields p(payload, c.options.max_metadata_bytes, "payload.");
  if (auto perf = p.object("perf")) {
    const Fields hints(*perf, c.options.max_metadata_bytes, "payload.perf.");
    for (const char* key : {"cpu_percent", "ram_mb", "vram_mb"}) hints.number(key, 0.0);
  }
  return unwrap(
      c.budgets().register_job(std::move(job_id), std::move(job_type), std::move(payload)));
}

json::object route_job_start(const RouteContext& c) {
  const std::string job_id = c.fields().required_text("job_id", 1, 128);
  return unwrap(c.budgets().start_job(job_id));
}

json::object route_job_finish(const RouteContext& c) {
  const Fields f = c.fields();
  const std::string job_id = f.required_text("job_id", 1, 128);
  std::string status = f.text("status", 1, 32).value_or("complete");
  std::optional<std::string> reason = f.text("reason", 0, 1024);
  return unwrap(c.budgets().finish_job(job_id, std::move(status), std::move(reason)));
}

json::object route_job_refresh(const RouteContext& c) {
  return {{"transitions", c.budgets().refresh_queue()}};
}

json::object route_asset_register(const RouteContext& c) {
  const Fields f = c.fields();
  std::string asset_id = f.required_text("asset_id", 1, 256);
  const double size_mb = f.required_number("size_mb", 0.0);
  json::object metadata = f.object("metadata").value_or(json::object());
  return unwrap(c.budgets().register_asset(std::move(asset_id), size_mb, std::move(metadata)));
}

json::object route_asset_touch(const RouteContext& c) {
  const std::string asset_id = c.fields().required_text("asset_id", 1, 256);
  return unwrap(c.budgets().touch_asset(asset_id));
}

json::object route_asset_evict(const RouteContext& c) {
  const Fields f = c.fields();
  std::optional<double> target_mb = f.number("target_mb", 0.0);
  std::optional<std::string> asset_id = f.text("asset_id", 1, 256);
  return unwrap(c.budgets().evict_lazy_assets(target_mb, std::move(asset_id)));
}

json::object route_asset_unregister(const RouteContext& c) {
  const std::string asset_id = c.fields().required_text("asset_id", 1, 256);
  return unwrap(c.budgets().unregister_asset(asset_id));
}

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
  const Fields f = c.fields();
  SpanBudgetSpec spec;
  spec.name = f.required_text("name", 1, 128);
  spec.category = f.text("category", 1, 64).value_or("");
  spec.p95_ms = f.number("p95_ms", 0.0);
  spec.max_ms = f.number("max_ms", 0.0);
  for (const char* key : {"p95_ms", "max_ms"}) {
    const std::optional<double>& v = key[0] == 'p' ? spec.p95_ms : spec.max_ms;
    if (v && !(*v > 0))
      throw Rejection{StatusCode::unprocessable_entity, std::string(key) + " must be a number > 0",
                      json::object{{"field", key}}};
  }
  PerfProfiler::SpanBudgetResult r = c.profiler().set_span_budget(spec);
  if (!r.ok()) {
    // The message starts with the field it is about ("set p95_ms, max_ms or
    // both" is about p95_ms; the cap is about the new name).
    std::string field = r.error.substr(0, r.error.find(' '));
    if (field == "set") field = "p95_ms";
    if (field == "at") field = "name";
    throw Rejection{StatusCode::unprocessable_entity, r.error,
                    json::object{{"field", std::move(field)}}};
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

json::object run(Action action, const RouteContext& c) {
  switch (action) {
    case Action::health:
      return route_health(c);
    case Action::budgets_snapshot:
      return route_budgets(c);
    case Action::budgets_apply:
      return route_apply(c);
    case Action::job_register:
      return route_job_register(c);
    case Action::job_start:
      return route_job_start(c);
    case Action::job_finish:
      return route_job_finish(c);
    case Action::job_refresh:
      return route_job_refresh(c);
    case Action::asset_register:
      return route_asset_register(c);
    case Action::asset_touch:
      return route_asset_touch(c);
    case Action::asset_evict:
      return route_asset_evict(c);
    case Action::asset_unregister:
      return route_asset_unregister(c);
    case Action::profiler_mark:
      return route_mark(c);
    case Action::profiler_dashboard:
      return route_dashboard(c);
    case Action::profiler_reset:
      return route_reset(c);
    case Action::profiler_tree:
      return route_tree(c);
    case Action::span_budgets:
      return route_span_budgets(c);
    case Action::span_budget_set:
      return route_span_budget_set(c);
    case Action::span_budget_remove:
      return route_span_budget_remove(c);
    case Action::profiler_spikes:
      return route_spikes(c);
    case Action::metrics:
    case Action::profiler_trace:
    case Action::ui:
      break;  // not JSON envelopes: raw_reply answers them
  }
  throw Rejection{StatusCode::not_found, "no such route"};
}

void null_non_finite(json::value& v) {
  if (v.is_double()) {
    if (!std::isfinite(v.get_double())) v = nullptr;
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) null_non_finite(kv.value());
  } else if (v.is_array()) {
    for (auto& e : v.get_array()) null_non_finite(e);
  }
}

Rejection too_large(std::size_t cap, std::string_view hint) {
  std::string detail =
      "response would exceed max_response_bytes (" + std::to_string(cap) + " bytes)";
  if (!hint.empty()) detail += "; " + std::string(hint);
  return Rejection{StatusCode::unprocessable_entity, std::move(detail),
                   json::object{{"max_response_bytes", cap}}};
}

std::string_view page_hint(Action action) {
  switch (action) {
    case Action::budgets_snapshot:
      return "lower limit (the jobs and assets per page) and page with offset";
    case Action::profiler_dashboard:
      return "lower limit or marks";
    case Action::health:
    case Action::profiler_tree:
      return "lower limit";
    default:
      return {};
  }
}

Reply json_reply(StatusCode status, bool flag, std::string_view detail, json::object fields,
                 std::size_t cap) {
  const bool ok = status == StatusCode::ok;
  json::object body;
  body.reserve(fields.size() + 3);
  body["ok"] = ok;
  if (!ok) body["detail"] = detail;
  body["feature_flag"] = flag;
  for (auto& kv : fields) body.emplace(kv.key(), std::move(kv.value()));
  json::value whole(std::move(body));
  null_non_finite(whole);
  Reply reply;
  reply.status = status;
  if (!serialize_capped(whole, cap, reply.body)) reply.body.clear();
  return reply;
}

Reply raw_reply(Action action, const RouteContext& c) {
  Reply reply;
  if (action == Action::ui) {
    reply.body = std::string(kDashboardHtml);
    reply.content_type = kHtmlContentType;
    return reply;
  }
  if (action == Action::metrics) {
    // Only the subsystems that are on are looked up: with the flags off
    // this creates no profiler or budget manager.
    const FeatureFlags& flags = c.flags();
    PrometheusSources src;
    src.feature_flag = flags.perf_enabled();
    if (src.feature_flag && flags.profiler_enabled()) src.profiler = &c.profiler();
    if (src.feature_flag && flags.budgets_enabled()) src.budgets = &c.budgets();
    reply.body = prometheus_text(src);
    reply.content_type = kPrometheusContentType;
    return reply;
  }
  if (action == Action::profiler_spikes) {  // ?id=N: that frame's trace
    const std::size_t id = parse_count(c.query, "id", 0, kMaxPageOffset);
    std::optional<std::string> trace = c.profiler().spike_trace_text(id);
    if (!trace) throw Rejection{StatusCode::not_found, "no spike with id " + std::to_string(id)};
    reply.body = std::move(*trace);
    return reply;
  }
  const double longest =
      std::max(kMinTraceSeconds, std::min(kMaxTraceSeconds, c.options.max_trace_seconds));
  const double seconds = parse_decimal(c.query, "seconds", std::min(kDefaultTraceSeconds, longest),
                                       kMinTraceSeconds, longest);
  try {
    reply.body = c.profiler().capture_trace_text(
        std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.5)),
        c.options.max_trace_spans);
  } catch (const TraceBusy& busy) {
    throw Rejection{StatusCode::conflict, busy.what()};
  }
  return reply;
}

bool same_origin(std::string_view origin, std::string_view host) {
  constexpr std::string_view kScheme = "http://";
  if (host.empty() || origin.size() != kScheme.size() + host.size()) return false;
  return os::istarts_with(origin, kScheme) && os::iequals(origin.substr(kScheme.size()), host);
}

bool subsystem_enabled(Subsystem s, const FeatureFlags& flags) {
  switch (s) {
    case Subsystem::budgets:
      return flags.budgets_enabled();
    case Subsystem::profiler:
      return flags.profiler_enabled();
    case Subsystem::none:
      break;
  }
  return true;
}

Reply dispatch(const RequestView& req, const Options& options, const Services& services,
               bool flag) {
  if (req.version / 10 != 1) {
    throw Rejection{StatusCode::http_version_not_supported, kVersionDetail, {}, {}, true};
  }
  // A body without a knowable length would leave its bytes to be read as the
  // next request, the seed of request smuggling; refuse it.
  if (req.unframed) {
    throw Rejection{StatusCode::bad_request, "unsupported Transfer-Encoding", {}, {}, true};
  }
  if (req.duplicate_host) {
    throw Rejection{StatusCode::bad_request, "more than one Host header", {}, {}, true};
  }
  const Target target = split_target(req.target);
  const Route* route = find_route(target.path);

  // /health is public (smoke checks need it without secrets), and so is the
  // page, which holds no data and asks for the token itself.
  if (target.path != kHealthPath && target.path != kUiPath) {
    if (!options.token.empty()) {
      const std::string_view auth = os::trim(req.authorization);
      const bool bearer = auth.size() > 7 && os::istarts_with(auth, "Bearer ");
      if (!bearer || !constant_time_equal(os::trim(auth.substr(7)), options.token)) {
        throw Rejection{StatusCode::unauthorized, "missing or invalid bearer token"};
      }
    }
    // A web page can make a browser send simple requests here (CSRF) and,
    // through DNS rebinding, read the answers. Browsers always label such
    // requests with Origin or a foreign Host; tools such as curl do not.
    if (req.has_origin && !same_origin(req.origin, req.host)) {
      throw Rejection{StatusCode::forbidden, "cross-origin requests are refused"};
    }
    if (options.token.empty() && !host_is_loopback(req.host)) {
      throw Rejection{StatusCode::forbidden, "Host must name a loopback address"};
    }
  }
  if (route == nullptr) throw Rejection{StatusCode::not_found, "no such route"};

  const std::string_view allow = allowed_methods(*route);
  if (req.method == Method::options) {
    Reply reply;
    reply.status = StatusCode::no_content;
    reply.allow = allow;
    return reply;
  }
  if (!accepts(*route, req.method)) {
    throw Rejection{
        StatusCode::method_not_allowed,
        std::string("method not allowed; use ") + (route->method == Method::post ? "POST" : "GET"),
        {},
        allow};
  }
  if (!subsystem_enabled(route->subsystem, flags_of(services))) {
    throw Rejection{StatusCode::forbidden, "enable_perf flag disabled"};
  }

  json::object body;
  if (route->method == Method::post) {
    if (req.body.size() > options.max_body_bytes) {
      throw Rejection{StatusCode::payload_too_large,
                      "body exceeds " + std::to_string(options.max_body_bytes) + " bytes"};
    }
    body = parse_body(req.body, options.max_json_depth);
  }
  const RouteContext ctx{options, services, target.query, body};
  if (route->action == Action::metrics || route->action == Action::profiler_trace ||
      route->action == Action::ui ||
      (route->action == Action::profiler_spikes && has_query_param(target.query, "id"))) {
    return raw_reply(route->action, ctx);
  }
  Reply reply =
      json_reply(StatusCode::ok, flag, {}, run(route->action, ctx), options.max_response_bytes);
  if (reply.body.empty()) throw too_large(options.max_response_bytes, page_hint(route->action));
  return reply;
}

}  // namespace detail

Reply handle(const RequestView& req, const Options& options, const Services& services) {
  const bool flag = detail::flags_of(services).perf_enabled();
  Reply reply;
  bool close = false;
  try {
    reply = detail::dispatch(req, options, services, flag);
  } catch (detail::Rejection& r) {
    close = r.close;
    // Budget and validation details may quote the request; keep them short.
    reply = detail::json_reply(r.status, flag, detail::clip_detail(std::move(r.detail)),
                               std::move(r.extra));
    reply.allow = r.allow;
    if (r.status == StatusCode::unauthorized) reply.www_authenticate = detail::kBearerChallenge;
  } catch (const std::bad_alloc&) {
    reply = detail::json_reply(StatusCode::service_unavailable, flag, "out of memory", {});
  } catch (const std::exception&) {
    reply = detail::json_reply(StatusCode::internal_server_error, flag, "internal error", {});
  }
  reply.keep_alive = req.keep_alive && !close;
  return reply;
}

Reply error_reply(StatusCode status, std::string_view detail, const Services& services) {
  const bool flag = detail::flags_of(services).perf_enabled();
  Reply reply = detail::json_reply(status, flag, detail, {});
  reply.keep_alive = false;
  return reply;
}

}  // namespace comfyvn::perf::http
#endif
