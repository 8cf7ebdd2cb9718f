// Helpers shared by the HTTP adapter tests: a Beast client with deadlines, a
// raw TCP client for bytes no well-behaved client would send, and a switch
// for the feature flags. The clients, which instantiate Beast and Asio, are
// compiled once, in http_test_support.cpp.
#pragma once

#include <comfyvn_perf/http.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>  // io_context
#include <boost/asio/ip/tcp.hpp>      // sockets, make_address
#include <boost/beast/core.hpp>       // tcp_stream, flat_buffer
#include <boost/beast/http.hpp>       // read, write, parsers

#include <chrono>
#include <cstdint>
#include <cstdlib>  // setenv
#include <string>
#include <utility>
#include <vector>

namespace http_test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace phttp = comfyvn::perf::http;
using tcp = net::ip::tcp;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Generous: only a hung adapter ever gets near it.
inline constexpr std::chrono::seconds kIoTimeout{10};

// Every route of the contract with its method.
struct RouteSpec {
  bhttp::verb method;
  const char* path;
};
inline const std::vector<RouteSpec>& all_routes() {
  static const std::vector<RouteSpec> routes = {
      {bhttp::verb::get, "/api/perf/health"},
      {bhttp::verb::get, "/api/perf/budgets"},
      {bhttp::verb::post, "/api/perf/budgets/apply"},
      {bhttp::verb::post, "/api/perf/budgets/jobs/register"},
      {bhttp::verb::post, "/api/perf/budgets/jobs/start"},
      {bhttp::verb::post, "/api/perf/budgets/jobs/finish"},
      {bhttp::verb::post, "/api/perf/budgets/jobs/refresh"},
      {bhttp::verb::post, "/api/perf/budgets/assets/register"},
      {bhttp::verb::post, "/api/perf/budgets/assets/touch"},
      {bhttp::verb::post, "/api/perf/budgets/assets/evict"},
      {bhttp::verb::post, "/api/perf/budgets/assets/unregister"},
      {bhttp::verb::post, "/api/perf/profiler/mark"},
      {bhttp::verb::get, "/api/perf/profiler/dashboard"},
      {bhttp::verb::post, "/api/perf/profiler/reset"},
  };
  return routes;
}

// Switches every subsystem on or off for the lifetime of the object and
// restores "off" afterwards (the state every test program starts in).
// COMFYVN_ENABLE_PERF overrides the config file's umbrella flag; reload()
// makes the change visible at once. Only switch while no request is being
// served: the adapter's threads read the environment when they read a flag.
class Flags {
 public:
  explicit Flags(bool on) { set(on); }
  ~Flags() { set(false); }
  Flags(const Flags&) = delete;
  Flags& operator=(const Flags&) = delete;

  static void set(bool on) {
    ::setenv("COMFYVN_ENABLE_PERF", on ? "1" : "0", 1);
    comfyvn::perf::feature_flags().reload();
    REQUIRE(comfyvn::perf::feature_flags().perf_enabled() == on);
    REQUIRE(comfyvn::perf::feature_flags().budgets_enabled() == on);
    REQUIRE(comfyvn::perf::feature_flags().profiler_enabled() == on);
  }
};

struct Reply {
  int status = 0;  // 0: no response arrived
  bhttp::response<bhttp::string_body> msg;
  json::object body;  // the JSON body, empty when there is none
  beast::error_code ec;
  bool closed_after = false;  // the response announced Connection: close
  std::string problem;        // lenient clients: what broke the response promises

  const json::value& at(const char* key) const { return body.at(key); }
};

// Checks what every adapter response promises: a JSON object with boolean
// `ok` and `feature_flag`, `detail` on errors, no CORS header; 204 has no
// body. Returns the body; `problem` says what is wrong (empty when nothing).
// Free of Catch2 assertions so that client threads may call it.
inline json::object validate(const bhttp::response<bhttp::string_body>& res, std::string& problem) {
  problem.clear();
  if (res.find(bhttp::field::access_control_allow_origin) != res.end()) {
    problem = "CORS header present";
    return {};
  }
  if (res.result() == bhttp::status::no_content) {
    if (!res.body().empty()) problem = "204 with a body";
    return {};
  }
  if (res[bhttp::field::content_type] != "application/json") {
    problem = "Content-Type is not application/json";
    return {};
  }
  boost::system::error_code ec;
  json::value v = json::parse(res.body(), ec);
  if (ec || !v.is_object()) {
    problem = "body is not a JSON object";
    return {};
  }
  json::object& o = v.as_object();
  const json::value* ok = o.if_contains("ok");
  const json::value* flag = o.if_contains("feature_flag");
  if (ok == nullptr || !ok->is_bool() || flag == nullptr || !flag->is_bool()) {
    problem = "ok or feature_flag missing or not a boolean";
  } else if (ok->get_bool() != (res.result() == bhttp::status::ok)) {
    problem = "ok does not match the status";
  } else if (res.result() != bhttp::status::ok) {
    const json::value* detail = o.if_contains("detail");
    if (detail == nullptr || !detail->is_string() || detail->get_string().empty()) {
      problem = "error without a detail";
    }
  }
  return std::move(o);
}

inline json::object parse_and_check(const bhttp::response<bhttp::string_body>& res) {
  std::string problem;
  json::object o = validate(res, problem);
  INFO("status " << res.result_int() << " body: " << res.body());
  REQUIRE(problem == "");
  return o;
}

inline phttp::Request make_request(bhttp::verb method, std::string target, std::string body = {},
                                   const Headers& headers = {}) {
  phttp::Request req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == bhttp::verb::post) {
    req.set(bhttp::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
  }
  return req;
}

// The adapter under test. Its definitions are compiled once, in the tests'
// implementation file (tests/sdk_impl.cpp); the test files see declarations.
using Adapter = phttp::Adapter;

// A keep-alive HTTP/1.1 client on one connection. A strict client asserts
// with Catch2; a lenient one only records problems (for client threads,
// where Catch2 assertions are not allowed). Compiled once, in
// http_test_support.cpp.
class Client {
 public:
  explicit Client(std::uint16_t port, bool strict = true);

  const beast::error_code& connect_error() const { return connect_error_; }

  Reply send(phttp::Request req);

  Reply request(bhttp::verb method, std::string target, std::string body = {},
                const Headers& headers = {}) {
    return send(make_request(method, std::move(target), std::move(body), headers));
  }
  Reply get(std::string target, const Headers& headers = {}) {
    return request(bhttp::verb::get, std::move(target), {}, headers);
  }
  Reply post(std::string target, std::string body = "{}", const Headers& headers = {}) {
    return request(bhttp::verb::post, std::move(target), std::move(body), headers);
  }

  // True when the server has closed the connection (reads end of stream).
  bool peer_closed(std::chrono::milliseconds wait = std::chrono::milliseconds(2000));

  beast::tcp_stream& stream() { return stream_; }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool strict_;
  beast::error_code connect_error_;
};


// Result of sending raw bytes.
struct RawReply {
  int status = 0;            // 0: the server closed without answering (or timed out)
  bool clean_close = false;  // end of stream (FIN) rather than a reset or timeout
  bool timed_out = false;
  std::string body;
  json::object json;
};

struct RawOptions {
  bool half_close = false;  // shut down our sending side after the bytes
  std::chrono::milliseconds timeout{5000};
  bool head = false;  // the reply answers a HEAD request (no body follows)
};

// Sends `bytes` over a fresh connection and reads one response (or the close).
RawReply raw_exchange(std::uint16_t port, const std::string& bytes, RawOptions opt = {});

// /health on a fresh connection answers 200.
inline bool health_answers(std::uint16_t port) {
  Client c(port);
  const Reply r = c.get("/api/perf/health");
  return r.status == 200 && r.body.at("ok").as_bool();
}

inline phttp::Options test_options() {
  phttp::Options o;
  o.port = 0;
  return o;
}

}  // namespace http_test
