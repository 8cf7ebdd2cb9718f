// comfyvn_perf — the HTTP adapter: every /api/perf route over Boost.Beast.
//
// The only header of the SDK that pulls in Beast and Asio. It has two layers:
//   * RequestHandler: a pure function from one parsed request to its response
//     (routing, authentication, validation, JSON). The unit tests and the
//     fuzzer drive it directly, without a socket.
//   * Adapter: the network side. An acceptor and keep-alive sessions on the
//     adapter's own threads, with the limits that stop slow or hostile clients
//     from starving the others.
// docs/http_api.md documents every route, body, status code and option.
#pragma once

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>  // pthread_sigmask, pthread_setname_np
#include <signal.h>   // sigset_t: serving threads never take the application's signals
#endif

#include <algorithm>    // min, find_if
#include <atomic>       // connection and request counters
#include <chrono>       // timeouts
#include <cmath>        // isfinite
#include <cstddef>      // size_t
#include <cstdint>      // uint16_t, uint64_t
#include <memory>       // shared_ptr sessions, unique_ptr server
#include <mutex>        // start/stop from several threads
#include <new>          // bad_alloc
#include <optional>     // optional fields
#include <sstream>      // serialising the canned refusal
#include <stdexcept>    // runtime_error from start()
#include <string>       // owned text
#include <string_view>  // header values, paths
#include <thread>       // serving threads
#include <utility>      // move
#include <vector>       // threads

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "perf.hpp"

namespace comfyvn::perf::http {

// ===========================================================================
// Public API
// ===========================================================================

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Status = boost::beast::http::status;

// `limit` query parameter of /health and /profiler/dashboard: used when the
// parameter is absent, and the largest value accepted.
inline constexpr std::size_t kDefaultLimit = 5;
inline constexpr std::size_t kMaxLimit = 1000;

struct Options {
  // Address to listen on. Anything but a loopback address needs a token.
  std::string bind = "127.0.0.1";
  // TCP port; 0 picks a free one (Adapter::port() tells which).
  std::uint16_t port = 8001;
  // Bearer token required on every route except /api/perf/health; empty = none.
  std::string token;
  // Threads serving connections (0 is treated as 1).
  unsigned threads = 2;
  // Request line plus header fields. Larger: 431 (414 when the request line
  // alone does not fit), then the connection closes.
  std::size_t max_header_bytes = 8 * 1024;
  // Request body. Larger: 413, decided from Content-Length before the body is
  // read (a chunked body is cut off when it crosses the limit).
  std::size_t max_body_bytes = 1024 * 1024;
  // Deadline for each step of a request: its header, its body, writing the
  // response. Also how long a keep-alive connection may sit idle.
  std::chrono::milliseconds read_timeout{10'000};
  // Open connections. The next one is answered 503 at once and closed.
  std::size_t max_connections = 512;
  // Nesting depth of a request's JSON body; deeper bodies answer 400.
  std::size_t max_json_depth = 32;
  // Serialised size of one `metadata` or `payload` object; larger answers 422.
  // Marks and assets keep their metadata, so this bounds what a client can pin.
  std::size_t max_metadata_bytes = 64 * 1024;
};

// Routes one parsed request to its response. Stateless apart from the options
// and safe to call from any number of threads at once.
class RequestHandler {
 public:
  explicit RequestHandler(Options options = {}) : options_(std::move(options)) {}

  const Options& options() const noexcept { return options_; }

  // The complete response, errors included: JSON body with `ok` and
  // `feature_flag`, keep-alive mirrored from the request. Unexpected failures
  // become a JSON 500 rather than an exception; only std::bad_alloc while
  // building that answer can escape.
  Response handle(const Request& req) const;

  // Status for a request that Beast failed to parse. `received`: the bytes of
  // the request from its first byte when the parser failed before accepting
  // the request line, else empty. 431 for a header over the limit (414 when
  // the request line alone is), 413 for a body over the limit, 505 for a
  // well-formed request line naming another HTTP version, 400 otherwise.
  static Status parse_error_status(const boost::system::error_code& ec,
                                   std::string_view received = {});

  // A JSON error response ({"ok": false, "detail", "feature_flag"}) that
  // closes the connection; used for requests that could not be parsed.
  static Response error_response(Status status, std::string_view detail);

 private:
  Response route(const Request& req, bool flag) const;
  Options options_;
};

struct AdapterStats {
  std::size_t open_connections = 0;
  std::uint64_t accepted_connections = 0;
  std::uint64_t refused_connections = 0;  // turned away by max_connections
  std::uint64_t requests = 0;
};

namespace detail {
class Server;
}

// The adapter: off until start(). Several adapters (different ports) may run
// in one process; each owns its threads and sockets.
class Adapter {
 public:
  explicit Adapter(Options options = {}) : options_(std::move(options)) {}
  ~Adapter() { stop(); }
  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;

  // Binds and starts serving. Throws std::runtime_error, with the reason in
  // what(), when the adapter already runs, the bind address is invalid, a
  // non-loopback address is requested without a token, or the port cannot be
  // bound. Returns once connections are accepted.
  void start();

  // Closes the listener and every connection and joins the serving threads.
  // Returns within a second even with clients connected (a request already
  // being answered finishes first). Safe to call twice; start() may follow.
  void stop() noexcept;

  bool running() const noexcept;
  // The bound port once started (the real one when Options::port is 0), else 0.
  std::uint16_t port() const noexcept;
  AdapterStats stats() const noexcept;
  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
  mutable std::mutex mutex_;
  std::unique_ptr<detail::Server> server_;
};

// ===========================================================================
// Implementation: request handling
// ===========================================================================

namespace detail {

namespace bhttp = boost::beast::http;
namespace json = boost::json;

// Thrown inside the handler and turned into the error response at the top.
struct Rejection {
  Status status;
  std::string detail;
  json::object extra = {};      // fields that travel with the error (a 409's reason)
  std::string_view allow = {};  // Allow header of a 405
  bool close = false;           // the request cannot be trusted to frame the next one
};

inline std::string_view to_sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

inline char lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  }
  return true;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Compares a presented secret with the expected one in time that depends only
// on their lengths, so response timing does not reveal how many leading
// characters were right.
inline bool constant_time_equal(std::string_view presented, std::string_view expected) {
  std::size_t diff = presented.size() ^ expected.size();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff |= static_cast<std::size_t>(p ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

inline bool is_loopback(const boost::asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().is_loopback();
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).is_loopback();
  }
  return v6.is_loopback();
}

// A Host header naming a loopback address or "localhost" (any port), or none
// at all (HTTP/1.0 clients may omit it).
inline bool host_is_loopback(std::string_view host) {
  host = trim(host);
  if (host.empty()) return true;
  std::string_view name = host;
  if (name.front() == '[') {
    const auto close = name.find(']');
    if (close == std::string_view::npos) return false;
    name = name.substr(1, close - 1);
  } else if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  if (iequals(name, "localhost")) return true;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(std::string(name), ec);
  return !ec && is_loopback(addr);
}

struct Target {
  std::string_view path;
  std::string_view query;
};

// Paths are matched exactly as sent: no percent-decoding, no dot-segment
// removal, so "/api/perf/../x" or "%2e%2e" can only ever miss (404).
inline Target split_target(std::string_view t) {
  // Absolute-form ("GET http://host/path") is valid HTTP/1.1; keep the path.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (t.size() >= scheme.size() && iequals(t.substr(0, scheme.size()), scheme)) {
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

inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding; false on a broken escape.
inline bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// The `limit` query parameter: an integer 0..kMaxLimit, kDefaultLimit when
// absent. Every occurrence must be valid; the last one wins. Other
// parameters are ignored.
inline std::size_t parse_limit(std::string_view query) {
  std::size_t limit = kDefaultLimit;
  std::string key, value;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (!percent_decode(pair.substr(0, eq), key) || key != "limit") continue;
    const std::string_view raw =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    bool good = percent_decode(raw, value) && !value.empty() && value.size() <= 4;
    std::size_t n = 0;
    for (const char c : value) {
      if (c < '0' || c > '9') good = false;
      if (good) n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    if (!good || n > kMaxLimit) {
      throw Rejection{Status::unprocessable_entity,
                      "limit must be an integer between 0 and " + std::to_string(kMaxLimit)};
    }
    limit = n;
  }
  return limit;
}

// Boost.JSON reads 1e999999 as infinity and would write it back as the
// non-JSON token "Infinity"; refuse such numbers before anything stores them.
// True when `v` holds one; `path` then names it ("metadata.v[1]"). The
// parser's depth cap bounds the recursion.
inline bool find_non_finite(const json::value& v, std::string& path) {
  if (v.is_double()) return !std::isfinite(v.get_double());
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (find_non_finite(kv.value(), path)) {
        const std::string key(kv.key());
        path = path.empty() ? key : (path.front() == '[' ? key + path : key + "." + path);
        return true;
      }
    }
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (find_non_finite(arr[i], path)) {
        const std::string idx = "[" + std::to_string(i) + "]";
        path = path.empty() ? idx : (path.front() == '[' ? idx + path : idx + "." + path);
        return true;
      }
    }
  }
  return false;
}

// A POST body: a JSON object, or nothing at all (treated as {} so that
// `curl -X POST .../profiler/reset` works).
inline json::object parse_body(std::string_view body, std::size_t max_depth) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  json::parse_options opts;
  opts.max_depth = max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, json::storage_ptr(), opts);
  if (ec == json::error::too_deep) {
    throw Rejection{Status::bad_request,
                    "body nests deeper than " + std::to_string(max_depth) + " levels"};
  }
  if (ec) throw Rejection{Status::bad_request, "body is not valid JSON: " + ec.message()};
  if (!v.is_object()) throw Rejection{Status::bad_request, "body must be a JSON object"};
  std::string where;
  if (find_non_finite(v, where)) {
    throw Rejection{Status::unprocessable_entity, where + " is out of range (not a finite number)"};
  }
  return std::move(v.get_object());
}

// Characters as a person counts them: UTF-8 code points (Boost.JSON has
// already rejected invalid UTF-8).
inline std::size_t char_count(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Typed access to the fields of one JSON object; every failure is a 422 whose
// detail names the field (with its path, e.g. "payload.perf.ram_mb").
class Fields {
 public:
  Fields(const json::object& obj, std::size_t max_object_bytes, std::string prefix = {})
      : obj_(obj), max_object_bytes_(max_object_bytes), prefix_(std::move(prefix)) {}

  std::optional<std::string> text(std::string_view key, std::size_t min_chars,
                                  std::size_t max_chars) const {
    const json::value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail(key, "must be a string");
    const std::string_view s = v->get_string();
    const std::size_t n = char_count(s);
    if (n < min_chars || n > max_chars) {
      fail(key, "must be " + std::to_string(min_chars) + "-" + std::to_string(max_chars) +
                    " characters long");
    }
    for (const char c : s) {
      // Ids and names end up in logs and keys: no NUL, newline or escape codes.
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
        fail(key, "must not contain control characters");
      }
    }
    return std::string(s);
  }

  std::string required_text(std::string_view key, std::size_t min_chars,
                            std::size_t max_chars) const {
    auto s = text(key, min_chars, max_chars);
    if (!s) fail(key, "is required");
    return std::move(*s);
  }

  std::optional<double> number(std::string_view key, double min) const {
    const json::value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) fail(key, "must be a number");
    const double d = v->to_number<double>();
    if (!std::isfinite(d) || d < min) fail(key, "must be a number >= " + format_min(min));
    return d;
  }

  double required_number(std::string_view key, double min) const {
    auto d = number(key, min);
    if (!d) fail(key, "is required");
    return *d;
  }

  std::optional<json::object> object(std::string_view key) const {
    const json::value* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_object()) fail(key, "must be an object");
    if (json::serialize(*v).size() > max_object_bytes_) {
      fail(key, "is too large (at most " + std::to_string(max_object_bytes_) + " bytes of JSON)");
    }
    return v->get_object();
  }

  std::string name_of(std::string_view key) const { return prefix_ + std::string(key); }

 private:
  // Absent and null both mean "not given".
  const json::value* find(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }
  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw Rejection{Status::unprocessable_entity, name_of(key) + " " + what};
  }
  static std::string format_min(double min) {
    std::string s = std::to_string(min);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  const json::object& obj_;
  std::size_t max_object_bytes_;
  std::string prefix_;
};

// The body of a successful BudgetManager call, or the matching error (its
// body's fields, e.g. the 409's `reason` and `job`, travel with it).
inline json::object unwrap(BudgetResult r) {
  if (r.ok()) return std::move(r.body);
  throw Rejection{static_cast<Status>(http_status(r.error)),
                  r.detail.empty() ? "request refused" : r.detail, std::move(r.body)};
}

enum class Subsystem { none, budgets, profiler };

struct RouteContext {
  const Options& options;
  std::string_view query;
  const json::object& body;
  Fields fields() const { return Fields(body, options.max_metadata_bytes); }
};

using RouteFn = json::object (*)(const RouteContext&);

struct Route {
  std::string_view path;
  bool post;  // false: GET (HEAD answers like GET without a body)
  Subsystem subsystem;
  RouteFn run;
};

inline constexpr std::string_view kHealthPath = "/api/perf/health";
inline constexpr std::string_view kAllowGet = "GET, HEAD, OPTIONS";
inline constexpr std::string_view kAllowPost = "POST, OPTIONS";
inline constexpr const char* kVersionDetail = "only HTTP/1.0 and HTTP/1.1 are served";

// ---- route bodies: each returns the success fields besides ok/feature_flag ----

inline json::object route_health(const RouteContext& c) {
  const std::size_t limit = parse_limit(c.query);
  const bool budgets = feature_flags().budgets_enabled();
  const bool profiler = feature_flags().profiler_enabled();
  json::object out;
  out["budgets_enabled"] = budgets;
  out["profiler_enabled"] = profiler;
  out["budgets"] = budgets ? json::value(budget_manager().health()) : json::value(nullptr);
  out["profiler"] = profiler ? json::value(perf_profiler().health(limit)) : json::value(nullptr);
  return out;
}

inline json::object route_budgets(const RouteContext&) {
  return {{"budgets", budget_manager().snapshot()}};
}

inline json::object route_apply(const RouteContext& c) {
  // The manager owns the limits' names, types and ranges; it names the field.
  return unwrap(budget_manager().configure(c.body));
}

inline json::object route_job_register(const RouteContext& c) {
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
      budget_manager().register_job(std::move(job_id), std::move(job_type), std::move(payload)));
}

inline json::object route_job_start(const RouteContext& c) {
  const std::string job_id = c.fields().required_text("job_id", 1, 128);
  return unwrap(budget_manager().start_job(job_id));
}

inline json::object route_job_finish(const RouteContext& c) {
  const Fields f = c.fields();
  const std::string job_id = f.required_text("job_id", 1, 128);
  std::string status = f.text("status", 1, 32).value_or("complete");
  std::optional<std::string> reason = f.text("reason", 0, 1024);
  return unwrap(budget_manager().finish_job(job_id, std::move(status), std::move(reason)));
}

inline json::object route_job_refresh(const RouteContext&) {
  return {{"transitions", budget_manager().refresh_queue()}};
}

inline json::object route_asset_register(const RouteContext& c) {
  const Fields f = c.fields();
  std::string asset_id = f.required_text("asset_id", 1, 256);
  const double size_mb = f.required_number("size_mb", 0.0);
  json::object metadata = f.object("metadata").value_or(json::object());
  return unwrap(budget_manager().register_asset(std::move(asset_id), size_mb, std::move(metadata)));
}

inline json::object route_asset_touch(const RouteContext& c) {
  const std::string asset_id = c.fields().required_text("asset_id", 1, 256);
  return unwrap(budget_manager().touch_asset(asset_id));
}

inline json::object route_asset_evict(const RouteContext& c) {
  const Fields f = c.fields();
  std::optional<double> target_mb = f.number("target_mb", 0.0);
  std::optional<std::string> asset_id = f.text("asset_id", 1, 256);
  return unwrap(budget_manager().evict_lazy_assets(target_mb, std::move(asset_id)));
}

inline json::object route_mark(const RouteContext& c) {
  const Fields f = c.fields();
  const std::string name = f.required_text("name", 1, 128);
  const std::string category = f.text("category", 1, 64).value_or("general");
  json::object metadata = f.object("metadata").value_or(json::object());
  return {{"mark", perf_profiler().mark(name, category, std::move(metadata))}};
}

inline json::object route_dashboard(const RouteContext& c) {
  return {{"dashboard", perf_profiler().dashboard(parse_limit(c.query))}};
}

inline json::object route_reset(const RouteContext&) {
  perf_profiler().reset();
  return {};
}

inline const Route* find_route(std::string_view path) {
  static const Route routes[] = {
      {kHealthPath, false, Subsystem::none, &route_health},
      {"/api/perf/budgets", false, Subsystem::budgets, &route_budgets},
      {"/api/perf/budgets/apply", true, Subsystem::budgets, &route_apply},
      {"/api/perf/budgets/jobs/register", true, Subsystem::budgets, &route_job_register},
      {"/api/perf/budgets/jobs/start", true, Subsystem::budgets, &route_job_start},
      {"/api/perf/budgets/jobs/finish", true, Subsystem::budgets, &route_job_finish},
      {"/api/perf/budgets/jobs/refresh", true, Subsystem::budgets, &route_job_refresh},
      {"/api/perf/budgets/assets/register", true, Subsystem::budgets, &route_asset_register},
      {"/api/perf/budgets/assets/touch", true, Subsystem::budgets, &route_asset_touch},
      {"/api/perf/budgets/assets/evict", true, Subsystem::budgets, &route_asset_evict},
      {"/api/perf/profiler/mark", true, Subsystem::profiler, &route_mark},
      {"/api/perf/profiler/dashboard", false, Subsystem::profiler, &route_dashboard},
      {"/api/perf/profiler/reset", true, Subsystem::profiler, &route_reset},
  };
  for (const Route& r : routes) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

// Headers every response carries. No Access-Control-* header is ever sent:
// browsers on other origins cannot read these responses.
inline void set_common_headers(Response& res) {
  res.set(bhttp::field::server, "comfyvn_perf");
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
}

// {"ok", ["detail",] "feature_flag", ...fields} as a complete response.
inline Response json_response(Status status, bool flag, std::string_view detail,
                              json::object fields) {
  const bool ok = status == Status::ok;
  json::object body;
  body.reserve(fields.size() + 3);
  body["ok"] = ok;
  if (!ok) body["detail"] = detail;
  body["feature_flag"] = flag;
  for (auto& kv : fields) body.emplace(kv.key(), std::move(kv.value()));
  Response res{status, 11};
  set_common_headers(res);
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

}  // namespace detail

inline Response RequestHandler::handle(const Request& req) const {
  const bool flag = feature_flags().perf_enabled();
  Response res;
  bool close = false;
  try {
    res = route(req, flag);
  } catch (detail::Rejection& r) {
    close = r.close;
    res = detail::json_response(r.status, flag, r.detail, std::move(r.extra));
    if (!r.allow.empty()) res.set(detail::bhttp::field::allow, r.allow);
    if (r.status == Status::unauthorized) {
      res.set(detail::bhttp::field::www_authenticate, "Bearer realm=\"comfyvn_perf\"");
    }
  } catch (const std::bad_alloc&) {
    res = detail::json_response(Status::service_unavailable, flag, "out of memory", {});
  } catch (const std::exception&) {
    res = detail::json_response(Status::internal_server_error, flag, "internal error", {});
  }
  res.version(req.version() == 10 ? 10 : 11);
  res.keep_alive(req.keep_alive() && !close);
  if (req.method() == detail::bhttp::verb::head) {
    // HEAD: the GET response's headers (Content-Length included), no body.
    const std::size_t n = res.body().size();
    res.body().clear();
    if (res.result() != Status::no_content) res.content_length(n);
  }
  return res;
}

inline Response RequestHandler::route(const Request& req, bool flag) const {
  using detail::Rejection;
  namespace bhttp = detail::bhttp;
  if (req.version() / 10 != 1) {
    throw Rejection{Status::http_version_not_supported, detail::kVersionDetail, {}, {}, true};
  }
  // RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked
  // has no knowable length. Beast would read it as bodiless and parse the
  // rest as the next request, the seed of request smuggling; refuse it.
  if (req.find(bhttp::field::transfer_encoding) != req.end() && !req.chunked()) {
    throw Rejection{Status::bad_request, "unsupported Transfer-Encoding", {}, {}, true};
  }
  const detail::Target target = detail::split_target(detail::to_sv(req.target()));
  const detail::Route* route = detail::find_route(target.path);

  // /health is the one public route: smoke checks need it without secrets.
  if (target.path != detail::kHealthPath) {
    if (!options_.token.empty()) {
      std::string_view auth = detail::trim(detail::to_sv(req[bhttp::field::authorization]));
      const bool bearer = auth.size() > 7 && detail::iequals(auth.substr(0, 7), "Bearer ");
      if (!bearer || !detail::constant_time_equal(detail::trim(auth.substr(7)), options_.token)) {
        throw Rejection{Status::unauthorized, "missing or invalid bearer token"};
      }
    }
    // A web page can make a browser send simple requests here (CSRF) and,
    // through DNS rebinding, read the answers. Browsers always label such
    // requests with Origin or a foreign Host; tools such as curl do not.
    if (req.find(bhttp::field::origin) != req.end()) {
      throw Rejection{Status::forbidden, "cross-origin requests are refused"};
    }
    if (options_.token.empty() &&
        !detail::host_is_loopback(detail::to_sv(req[bhttp::field::host]))) {
      throw Rejection{Status::forbidden, "Host must name a loopback address"};
    }
  }
  if (route == nullptr) throw Rejection{Status::not_found, "no such route"};

  const std::string_view allow = route->post ? detail::kAllowPost : detail::kAllowGet;
  const bhttp::verb method = req.method();
  if (method == bhttp::verb::options) {
    Response res{Status::no_content, 11};
    detail::set_common_headers(res);
    res.set(bhttp::field::allow, allow);
    return res;
  }
  const bool method_ok = route->post ? method == bhttp::verb::post
                                     : (method == bhttp::verb::get || method == bhttp::verb::head);
  if (!method_ok) {
    throw Rejection{Status::method_not_allowed,
                    "method not allowed; use " + std::string(route->post ? "POST" : "GET"),
                    {},
                    allow};
  }
  const bool enabled =
      route->subsystem == detail::Subsystem::budgets    ? feature_flags().budgets_enabled()
      : route->subsystem == detail::Subsystem::profiler ? feature_flags().profiler_enabled()
                                                        : true;
  if (!enabled) throw Rejection{Status::forbidden, "enable_perf flag disabled"};

  boost::json::object body;
  if (route->post) {
    if (req.body().size() > options_.max_body_bytes) {
      throw Rejection{Status::payload_too_large,
                      "body exceeds " + std::to_string(options_.max_body_bytes) + " bytes"};
    }
    body = detail::parse_body(req.body(), options_.max_json_depth);
  }
  const detail::RouteContext ctx{options_, target.query, body};
  return detail::json_response(Status::ok, flag, {}, route->run(ctx));
}

inline Status RequestHandler::parse_error_status(const boost::system::error_code& ec,
                                                 std::string_view received) {
  namespace bhttp = detail::bhttp;
  if (ec == bhttp::error::header_limit) {
    const bool line_ended = received.empty() || received.find('\n') != std::string_view::npos;
    return line_ended ? Status::request_header_fields_too_large : Status::uri_too_long;
  }
  if (ec == bhttp::error::body_limit) return Status::payload_too_large;
  if (ec == bhttp::error::bad_version) {
    // Beast accepts only 1.0 and 1.1 and says bad_version both for "HTTP/9.9"
    // and for a mangled line; only the first deserves 505.
    const auto eol = received.find("\r\n");
    const std::string_view line = received.substr(0, eol);
    const std::size_t n = line.size();
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (eol != std::string_view::npos && n >= 9 && line.substr(n - 9, 6) == " HTTP/" &&
        digit(line[n - 3]) && line[n - 2] == '.' && digit(line[n - 1])) {
      return Status::http_version_not_supported;
    }
  }
  return Status::bad_request;
}

inline Response RequestHandler::error_response(Status status, std::string_view detail) {
  Response res = detail::json_response(status, feature_flags().perf_enabled(), detail, {});
  res.keep_alive(false);
  return res;
}

// ===========================================================================
// Implementation: networking
// ===========================================================================

namespace detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Shared by the acceptor and every session; outlives both.
struct ServerState {
  explicit ServerState(Options o) : handler(std::move(o)) {}
  RequestHandler handler;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> requests{0};
};

inline const char* describe_parse_error(const boost::system::error_code& ec, Status status) {
  switch (status) {
    case Status::uri_too_long:
      return "request line too long";
    case Status::request_header_fields_too_large:
      return "request header too large";
    case Status::payload_too_large:
      return "request body too large";
    case Status::http_version_not_supported:
      return kVersionDetail;
    default:
      break;
  }
  if (ec == bhttp::error::partial_message) return "truncated request";
  return "malformed HTTP request";
}

// One connection: read a request, answer it, repeat while keep-alive holds.
// Every step runs on the connection's strand and has a deadline.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    state_->open.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() { state_->open.fetch_sub(1, std::memory_order_relaxed); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  const Options& options() const { return state_->handler.options(); }

  void read_header() {
    parser_.emplace();
    const std::size_t header_limit = std::min<std::size_t>(options().max_header_bytes, UINT32_MAX);
    parser_->header_limit(static_cast<std::uint32_t>(header_limit));
    parser_->body_limit(options().max_body_bytes);
    stream_.expires_after(options().read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(boost::beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return respond();
    const Request& req = parser_->get();
    if (req.version() >= 11 && iequals(trim(to_sv(req[bhttp::field::expect])), "100-continue")) {
      // The client waits for this before sending its body (HTTP/1.0 never does).
      continue_.emplace(Status::continue_, req.version());
      stream_.expires_after(options().read_timeout);
      bhttp::async_write(stream_, *continue_,
                         [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                           if (!ec) self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(options().read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->respond();
                      });
  }

  void on_read_error(const boost::beast::error_code& ec) {
    // Only a parser error gets an answer. Anything else (the peer left
    // between requests, the deadline closed the socket, a socket error, the
    // server stopping) leaves nobody to answer: the session just ends.
    static const auto& parser_errors =
        bhttp::make_error_code(bhttp::error::end_of_stream).category();
    if (ec.category() != parser_errors || ec == bhttp::error::end_of_stream) return;
    // Until the parser accepts the request line it leaves it unconsumed in
    // the buffer, which tells an overlong line or a foreign version apart.
    std::string_view received;
    if (!parser_->is_header_done() && parser_->get().target().empty()) {
      const auto data = buffer_.cdata();
      received = std::string_view(static_cast<const char*>(data.data()), data.size());
    }
    const Status status = RequestHandler::parse_error_status(ec, received);
    state_->requests.fetch_add(1, std::memory_order_relaxed);
    send(RequestHandler::error_response(status, describe_parse_error(ec, status)));
  }

  void respond() {
    state_->requests.fetch_add(1, std::memory_order_relaxed);
    Response res;
    try {
      res = state_->handler.handle(parser_->get());
    } catch (...) {
      return;  // not even an error response could be built: drop the connection
    }
    send(std::move(res));
  }

  void send(Response res) {
    res_ = std::move(res);
    const bool close = !res_.keep_alive();
    stream_.expires_after(options().read_timeout);
    bhttp::async_write(
        stream_, res_,
        [self = shared_from_this(), close](boost::beast::error_code ec, std::size_t) {
          if (ec) return;
          if (close) {
            self->linger();
          } else {
            self->read_header();
          }
        });
  }

  // Closing a socket that still has unread input makes the kernel send a
  // reset, which can destroy the error response before the client reads it.
  // So: stop sending, then read and discard briefly before the socket closes.
  void linger() {
    boost::beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    stream_.expires_after(std::min<std::chrono::milliseconds>(options().read_timeout,
                                                              std::chrono::milliseconds(1000)));
    buffer_.clear();
    drain();
  }

  void drain() {
    stream_.async_read_some(
        buffer_.prepare(16 * 1024),
        [self = shared_from_this()](boost::beast::error_code ec, std::size_t n) {
          if (ec) return;
          self->buffer_.clear();
          self->drained_ += n;
          if (self->drained_ > 2 * self->options().max_body_bytes + 65536) {
            return;
          }
          self->drain();
        });
  }

  boost::beast::tcp_stream stream_;
  std::shared_ptr<ServerState> state_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  Response res_;
  std::size_t drained_ = 0;
};

class Server {
 public:
  Server(Options options, const tcp::endpoint& endpoint)
      : state_(std::make_shared<ServerState>(std::move(options))),
        ioc_(std::make_unique<net::io_context>(static_cast<int>(thread_count()))),
        acceptor_(std::make_unique<tcp::acceptor>(net::make_strand(*ioc_))),
        retry_(std::make_unique<net::steady_timer>(acceptor_->get_executor())) {
    boost::system::error_code ec;
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("comfyvn_perf http: cannot listen on " +
                               endpoint.address().to_string() + ":" +
                               std::to_string(endpoint.port()) + ": " + ec.message());
    }
    port_ = acceptor_->local_endpoint().port();
    accept();
    launch_threads();
  }

  ~Server() {
    ioc_->stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    // Order matters: the I/O objects go before their io_context, whose
    // destruction then frees the sessions still parked in pending handlers
    // (closing their sockets).
    retry_.reset();
    acceptor_.reset();
    ioc_.reset();
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept { return port_; }

  AdapterStats stats() const noexcept {
    AdapterStats s;
    s.open_connections = state_->open.load(std::memory_order_relaxed);
    s.accepted_connections = state_->accepted.load(std::memory_order_relaxed);
    s.refused_connections = state_->refused.load(std::memory_order_relaxed);
    s.requests = state_->requests.load(std::memory_order_relaxed);
    return s;
  }

 private:
  unsigned thread_count() const { return std::max(1u, state_->handler.options().threads); }

  void accept() {
    // Each connection gets its own strand so that, with several threads, its
    // handlers never run concurrently.
    acceptor_->async_accept(net::make_strand(*ioc_),
                            [this](boost::system::error_code ec, tcp::socket socket) {
                              on_accept(ec, std::move(socket));
                            });
  }

  void on_accept(const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) {
      // Out of descriptors or a connection aborted while queued: back off
      // briefly instead of spinning on an error that repeats at once.
      retry_->expires_after(std::chrono::milliseconds(50));
      retry_->async_wait([this](const boost::system::error_code& wait_ec) {
        if (!wait_ec) accept();
      });
      return;
    }
    if (state_->open.load(std::memory_order_relaxed) >= state_->handler.options().max_connections) {
      refuse(std::move(socket));
    } else {
      state_->accepted.fetch_add(1, std::memory_order_relaxed);
      std::make_shared<Session>(std::move(socket), state_)->start();
    }
    accept();
  }

  // Over the connection cap: one non-blocking write of a canned 503, then
  // close. Never waits on the client, so a flood cannot slow the acceptor.
  void refuse(tcp::socket socket) {
    state_->refused.fetch_add(1, std::memory_order_relaxed);
    Response res =
        RequestHandler::error_response(Status::service_unavailable, "too many open connections");
    res.set(bhttp::field::retry_after, "1");
    std::ostringstream text;
    text << res;
    const std::string wire = text.str();
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(net::buffer(wire), ec);
    // Discard what the client already sent so that closing sends FIN, not RST.
    char scratch[4096];
    for (int i = 0; i < 16 && !ec; ++i) socket.read_some(net::buffer(scratch), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  void launch_threads() {
#if defined(__unix__) || defined(__APPLE__)
    // Serving threads inherit a full signal mask: the application's signal
    // handling (sigwait, SIGINT handlers) keeps running on its own threads.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
#endif
    try {
      for (unsigned i = 0; i < thread_count(); ++i) {
        threads_.emplace_back([ioc = ioc_.get()] {
#if defined(__linux__)
          pthread_setname_np(pthread_self(), "perf-http");
#endif
          // A handler that throws must not end the serving thread.
          for (;;) {
            try {
              ioc->run();
              return;
            } catch (...) {
            }
          }
        });
      }
    } catch (...) {
#if defined(__unix__) || defined(__APPLE__)
      pthread_sigmask(SIG_SETMASK, &previous, nullptr);
#endif
      ioc_->stop();
      for (auto& t : threads_) t.join();
      throw;
    }
#if defined(__unix__) || defined(__APPLE__)
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
#endif
  }

  std::shared_ptr<ServerState> state_;
  std::unique_ptr<net::io_context> ioc_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<net::steady_timer> retry_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
};

// The listening endpoint, or the reason it is refused.
inline tcp::endpoint resolve_bind(const Options& o) {
  const std::string host = iequals(o.bind, "localhost") ? std::string("127.0.0.1") : o.bind;
  boost::system::error_code ec;
  const auto addr = net::ip::make_address(host, ec);
  if (ec) {
    throw std::runtime_error("comfyvn_perf http: bind address '" + o.bind +
                             "' is not an IP address (use 127.0.0.1)");
  }
  if (!is_loopback(addr) && o.token.empty()) {
    throw std::runtime_error("comfyvn_perf http: refusing to bind " + o.bind +
                             " without a token; set Options::token or bind 127.0.0.1");
  }
  return tcp::endpoint(addr, o.port);
}

}  // namespace detail

inline void Adapter::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (server_) throw std::runtime_error("comfyvn_perf http: adapter already started");
  const auto endpoint = detail::resolve_bind(options_);
  server_ = std::make_unique<detail::Server>(options_, endpoint);
}

inline void Adapter::stop() noexcept {
  std::unique_ptr<detail::Server> server;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    server = std::move(server_);
  }
  server.reset();
}

inline bool Adapter::running() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return server_ != nullptr;
}

inline std::uint16_t Adapter::port() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return server_ ? server_->port() : 0;
}

inline AdapterStats Adapter::stats() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return server_ ? server_->stats() : AdapterStats{};
}

}  // namespace comfyvn::perf::http
