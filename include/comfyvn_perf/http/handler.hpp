// comfyvn_perf — the HTTP adapter's request handler: one parsed request in,
// one response out. Routing, authentication, browser guards and the choice
// of route live here; the route bodies in http/budget_routes.hpp and
// http/profiler_routes.hpp, the JSON envelope and the size cap in
// http/reply.hpp; sockets, framing and header syntax in http/server.hpp. No
// Beast or Asio: a request is a RequestView and an answer a Reply, so unit
// tests and the fuzzer need no network types to drive it, and the services
// it serves can be injected (http/services.hpp).
#pragma once

#include <chrono>              // the exposition's interval
#include <condition_variable>  // waiting for the exposition being built
#include <cstdint>             // uint64_t
#include <functional>          // a caller's cancel check
#include <memory>              // a shared exposition
#include <mutex>               // the exposition's state
#include <string>              // exposition text
#include <string_view>         // header values, paths

#include <boost/json/object.hpp>  // route bodies

#include "../export/prometheus.hpp"  // PrometheusSources
#include "address.hpp"          // loopback Host names (is_loopback_literal, host_is_loopback)
#include "budget_routes.hpp"    // the /budgets routes
#include "options.hpp"          // Options
#include "profiler_routes.hpp"  // the /profiler routes
#include "reply.hpp"            // Reply, the JSON envelope and the size cap
#include "routes.hpp"           // Method, Action, Subsystem
#include "services.hpp"         // Services, RouteContext
#include "status.hpp"           // StatusCode
#include "ui_page.hpp"          // kDashboardHtml, the page GET /api/perf/ui serves
#include "validate.hpp"         // Rejection, Fields

namespace comfyvn::perf::http {

// ===========================================================================
// Public API
// ===========================================================================

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
  // Sec-Fetch-Site headers (Fetch Metadata): how many were sent, and the
  // first one's value.
  unsigned fetch_site_count = 0;
  std::string_view fetch_site;
  // A Transfer-Encoding that does not end in chunked (RFC 9112 §6.3): the
  // body has no knowable length.
  bool unframed = false;
  // More than one Host header (RFC 9112 §3.2 says: answer 400). Only the
  // first would be checked against loopback, so the request is refused.
  bool duplicate_host = false;
  bool keep_alive = true;  // the client asked to keep the connection open
  std::string_view body;
  // The caller's cancel check, asked by long routes (a trace capture): true
  // once nobody waits for the answer (the client left, the adapter stops).
  const std::function<bool()>* cancelled = nullptr;
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

// GET /health: the flags, and each enabled subsystem's health. The other
// route bodies are in http/budget_routes.hpp and http/profiler_routes.hpp.
json::object route_health(const RouteContext& c);

json::object run(Action action, const RouteContext& c);

// What to tell a client whose answer would not fit.
std::string_view page_hint(Action action);

// The routes whose body is not our JSON envelope: the Prometheus
// exposition, and a trace (bounded by max_trace_spans rather than
// max_response_bytes). Errors still answer the JSON error body.
Reply raw_reply(Action action, const RouteContext& c);

// The dashboard's own requests: a browser labels them with Origin
// "http://" + the Host it sent. Anything else ("null", another port, another
// host, https, a missing Host) is another origin.
bool same_origin(std::string_view origin, std::string_view host);

// Fetch Metadata: a browser labels every request with Sec-Fetch-Site, even
// the no-cors fetches, images, scripts and forms that carry no Origin. Only
// "same-origin" (the page's own requests) and "none" (a typed URL, a
// bookmark) are the user's; any other value, several, or an unknown one
// means another site made the browser send it. No header: not a browser.
bool cross_site(const RequestView& req);

bool subsystem_enabled(Subsystem s, const FeatureFlags& flags);

Reply dispatch(const RequestView& req, const Options& options, const Services& services, bool flag);

// The /metrics exposition, shared: built at most once per interval for the
// same sources, and never twice at a time (a second scraper waits for the
// build in progress and takes its text).
class SharedExposition {
 public:
  std::shared_ptr<const std::string> get(const PrometheusSources& src,
                                         std::chrono::milliseconds interval);
  // Expositions built so far (tests).
  std::uint64_t builds() const;

 private:
  struct Key {
    bool flag = false;
    const void* profiler = nullptr;
    const void* budgets = nullptr;
    std::size_t max_bytes = 0;
    bool operator==(const Key& o) const {
      return flag == o.flag && profiler == o.profiler && budgets == o.budgets &&
             max_bytes == o.max_bytes;
    }
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool building_ = false;
  std::uint64_t generation_ = 0;
  std::uint64_t builds_ = 0;
  Key key_;
  std::shared_ptr<const std::string> text_;
  std::chrono::steady_clock::time_point built_at_;
};

// The process's one (adapters of one process share their scrapes' cost).
SharedExposition& shared_exposition();

}  // namespace detail

}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <exception>  // exception: any other failure answers 500
#include <new>        // bad_alloc
#include <string>     // details
#include <utility>    // move

#include "../export/prometheus.hpp"  // prometheus_text: GET /metrics
#include "../os/text.hpp"            // istarts_with, iequals, trim

namespace comfyvn::perf::http {

namespace detail {

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

SharedExposition& shared_exposition() {
  static SharedExposition* e = new SharedExposition();  // never destroyed: adapters may outlive main
  return *e;
}

std::shared_ptr<const std::string> SharedExposition::get(const PrometheusSources& src,
                                                         std::chrono::milliseconds interval) {
  const Key key{src.feature_flag, src.profiler, src.budgets, src.max_bytes};
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (text_ && key_ == key && std::chrono::steady_clock::now() - built_at_ < interval) {
      return text_;
    }
    if (!building_) break;
    const std::uint64_t generation = generation_;
    cv_.wait(lock, [&] { return generation_ != generation; });
    if (text_ && key_ == key) return text_;  // just built for the same sources
  }
  building_ = true;
  lock.unlock();
  std::shared_ptr<const std::string> text;
  try {
    text = std::make_shared<const std::string>(prometheus_text(src));
  } catch (...) {
    lock.lock();
    building_ = false;
    ++generation_;
    cv_.notify_all();
    throw;
  }
  lock.lock();
  text_ = text;
  key_ = key;
  built_at_ = std::chrono::steady_clock::now();
  building_ = false;
  ++generation_;
  ++builds_;
  cv_.notify_all();
  return text;
}

std::uint64_t SharedExposition::builds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return builds_;
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
    src.max_bytes = c.options.max_response_bytes;
    reply.body = *shared_exposition().get(src, c.options.metrics_interval);
    reply.content_type = kPrometheusContentType;
    return reply;
  }
  if (action == Action::profiler_spikes) {  // ?id=N: that frame's trace
    reply.body = spike_trace_text(c);
    return reply;
  }
  reply.body = trace_text(c);
  return reply;
}

bool same_origin(std::string_view origin, std::string_view host) {
  constexpr std::string_view kScheme = "http://";
  if (host.empty() || origin.size() != kScheme.size() + host.size()) return false;
  return os::istarts_with(origin, kScheme) && os::iequals(origin.substr(kScheme.size()), host);
}

bool cross_site(const RequestView& req) {
  if (req.fetch_site_count == 0) return false;
  if (req.fetch_site_count > 1) return true;
  const std::string_view site = os::trim(req.fetch_site);
  return !os::iequals(site, "same-origin") && !os::iequals(site, "none");
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
    // Before the token: a page on another site gets 403 whatever it sends.
    if (cross_site(req)) {
      throw Rejection{StatusCode::forbidden,
                      "requests from other sites are refused (Sec-Fetch-Site)"};
    }
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
  const RouteContext ctx{options, services, target.query, body, req.cancelled};
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
