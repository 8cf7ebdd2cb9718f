// The adapter's request handler without a socket: routing, flags, tokens,
// browser guards, validation details and the response promises.
#include <comfyvn_perf/http.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>  // chmod
#include <unistd.h>    // unlink, rmdir

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "http_test_support.hpp"

using namespace http_test;
using comfyvn::perf::http::RequestHandler;
using comfyvn::perf::http::Status;

namespace {

struct Result {
  int status = 0;
  json::object body;
  phttp::Response res;
};

Result call(const RequestHandler& h, bhttp::verb method, const std::string& target,
            std::string body = {}, const Headers& headers = {}) {
  Result r;
  r.res = h.handle(make_request(method, target, std::move(body), headers));
  r.status = r.res.result_int();
  if (method != bhttp::verb::head) r.body = parse_and_check(r.res);
  return r;
}

std::string detail_of(const Result& r) {
  const json::value* d = r.body.if_contains("detail");
  return d != nullptr && d->is_string() ? std::string(d->as_string()) : std::string();
}

std::string nested(std::size_t depth) {
  std::string open, close;
  for (std::size_t i = 0; i < depth; ++i) {
    open += "{\"a\":";
    close += "}";
  }
  return R"({"name":"deep","metadata":)" + open + "1" + close + "}";
}

}  // namespace

TEST_CASE("health answers with every flag off and names no subsystem", "[http][handler]") {
  Flags off(false);
  RequestHandler h;
  const Result r = call(h, bhttp::verb::get, "/api/perf/health");
  REQUIRE(r.status == 200);
  CHECK(r.body.at("ok").as_bool());
  CHECK(r.body.at("feature_flag").as_bool() == false);
  CHECK(r.body.at("budgets_enabled").as_bool() == false);
  CHECK(r.body.at("profiler_enabled").as_bool() == false);
  CHECK(r.body.at("budgets").is_null());
  CHECK(r.body.at("profiler").is_null());
}

TEST_CASE("every other route answers 403 while its subsystem is off, whatever the body",
          "[http][handler]") {
  Flags off(false);
  RequestHandler h;
  for (const auto& route : all_routes()) {
    if (std::string(route.path) == "/api/perf/health") continue;
    for (const char* body : {"", "{}", "{{{ not json", "[1,2]"}) {
      INFO(route.path << " body " << body);
      const Result r = call(h, route.method, route.path, body);
      CHECK(r.status == 403);
      CHECK(detail_of(r) == "enable_perf flag disabled");
      CHECK(r.body.at("feature_flag").as_bool() == false);
    }
  }
}

TEST_CASE("health with the flags on carries both subsystems and feature_flag true",
          "[http][handler]") {
  Flags on(true);
  RequestHandler h;
  const Result r = call(h, bhttp::verb::get, "/api/perf/health?limit=2");
  REQUIRE(r.status == 200);
  CHECK(r.body.at("feature_flag").as_bool());
  CHECK(r.body.at("budgets_enabled").as_bool());
  CHECK(r.body.at("profiler_enabled").as_bool());
  CHECK(r.body.at("budgets").is_object());
  const auto& prof = r.body.at("profiler").as_object();
  for (const char* k :
       {"spans_recorded", "marks_recorded", "dropped", "top_time", "top_memory", "timestamp"}) {
    INFO(k);
    CHECK(prof.contains(k));
  }
}

TEST_CASE("profiler routes: mark, dashboard with limit, reset", "[http][handler]") {
  Flags on(true);
  RequestHandler h;
  comfyvn::perf::perf_profiler().reset();
  for (int i = 0; i < 4; ++i) {
    const std::string site = "site" + std::to_string(i);
    PERF_SCOPE_DYN(site, "test");
  }
  Result r = call(h, bhttp::verb::post, "/api/perf/profiler/mark",
                  R"({"name":"checkpoint","category":"qa","metadata":{"frame":7}})");
  REQUIRE(r.status == 200);
  const auto& mark = r.body.at("mark").as_object();
  CHECK(mark.at("name").as_string() == "checkpoint");
  CHECK(mark.at("category").as_string() == "qa");
  CHECK(mark.at("timestamp").is_number());
  CHECK(mark.at("metadata").as_object().at("frame").to_number<int>() == 7);

  r = call(h, bhttp::verb::post, "/api/perf/profiler/mark", R"({"name":"plain"})");
  REQUIRE(r.status == 200);
  CHECK(r.body.at("mark").at("category").as_string() == "general");

  r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard?limit=2");
  REQUIRE(r.status == 200);
  const auto& d = r.body.at("dashboard").as_object();
  for (const char* k :
       {"top_time", "top_memory", "aggregates", "categories", "marks", "timestamp"}) {
    INFO(k);
    CHECK(d.contains(k));
  }
  CHECK(d.at("top_time").as_array().size() == 2);
  CHECK(d.at("marks").as_array().size() == 2);

  r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard");
  CHECK(r.body.at("dashboard").at("top_time").as_array().size() == 4);
  r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard?limit=0");
  CHECK(r.body.at("dashboard").at("top_time").as_array().empty());
  r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard?x=1&limit=%33&y");
  CHECK(r.body.at("dashboard").at("top_time").as_array().size() == 3);

  r = call(h, bhttp::verb::post, "/api/perf/profiler/reset", "");
  REQUIRE(r.status == 200);
  CHECK(r.body.size() == 2);  // ok and feature_flag only
  r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard");
  CHECK(r.body.at("dashboard").at("aggregates").as_array().empty());
  CHECK(r.body.at("dashboard").at("marks").as_array().empty());
}

TEST_CASE("limit must be an integer 0..1000", "[http][handler]") {
  Flags on(true);
  RequestHandler h;
  for (const char* target : {"/api/perf/health", "/api/perf/profiler/dashboard"}) {
    for (const char* q : {"?limit=abc", "?limit=-1", "?limit=1001", "?limit=", "?limit",
                          "?limit=99999999999999999999", "?limit=1.5", "?limit=%", "?limit=%zz",
                          "?limit=5&limit=x", "?limit=x&limit=5", "?limit= 5", "?limit=0x10"}) {
      const std::string t = std::string(target) + q;
      INFO(t);
      const Result r = call(h, bhttp::verb::get, t);
      CHECK(r.status == 422);
      CHECK(detail_of(r).find("limit") != std::string::npos);
    }
    for (const char* q : {"", "?limit=0", "?limit=1000", "?limit=0005", "?other=x", "?limit=%35",
                          "?limit=7&limit=5", "?#frag"}) {
      const std::string t = std::string(target) + q;
      INFO(t);
      CHECK(call(h, bhttp::verb::get, t).status == 200);
    }
  }
}

TEST_CASE("request bodies: 400 for non-objects, 422 naming the field", "[http][handler]") {
  Flags on(true);
  RequestHandler h;
  const std::string mark = "/api/perf/profiler/mark";
  const std::string jobs = "/api/perf/budgets/jobs/";
  const std::string assets = "/api/perf/budgets/assets/";
  const std::string long_meta =
      R"({"name":"x","metadata":{"blob":")" + std::string(70000, 'a') + "\"}}";
  struct Case {
    std::string path;
    std::string body;
    int status;
    std::string detail;  // substring of the expected detail
  };
  const Case cases[] = {
      {mark, "", 422, "name is required"},
      {mark, "   \r\n", 422, "name is required"},
      {mark, "[]", 400, "JSON object"},
      {mark, "null", 400, "JSON object"},
      {mark, "\"name\"", 400, "JSON object"},
      {mark, "42", 400, "JSON object"},
      {mark, "{", 400, "not valid JSON"},
      {mark, "{} trailing", 400, "not valid JSON"},
      {mark, "{'name':'x'}", 400, "not valid JSON"},
      {mark, "{\"name\":\"\xff\xfe\"}", 400, "not valid JSON"},
      {mark, std::string("{\"name\":\"a\0b\"}", 14), 400, "not valid JSON"},
      {mark, nested(40), 400, "deeper than 32"},
      {mark, std::string(100000, '['), 400, "deeper"},
      {mark, R"({"name":1})", 422, "name must be a string"},
      {mark, R"({"name":null})", 422, "name is required"},
      {mark, R"({"name":""})", 422, "name must be 1-128 characters"},
      {mark, R"({"name":")" + std::string(129, 'n') + "\"}", 422, "name must be 1-128"},
      {mark, R"({"name":"a\u0000b"})", 422, "name must not contain control characters"},
      {mark, R"({"name":"a\nb"})", 422, "control characters"},
      {mark, R"({"name":"x","category":""})", 422, "category must be 1-64"},
      {mark, R"({"name":"x","category":")" + std::string(65, 'c') + "\"}", 422, "category"},
      {mark, R"({"name":"x","category":["a"]})", 422, "category must be a string"},
      {mark, R"({"name":"x","metadata":[]})", 422, "metadata must be an object"},
      {mark, R"({"name":"x","metadata":"m"})", 422, "metadata must be an object"},
      {mark, R"({"name":"x","metadata":{"v":1e999999}})", 422, "metadata.v is out of range"},
      {mark, R"({"name":"x","metadata":{"v":[0,-1e999999]}})", 422, "metadata.v[1]"},
      {mark, long_meta, 422, "metadata is too large"},
      {jobs + "register", "{}", 422, "job_id is required"},
      {jobs + "register", R"({"job_id":""})", 422, "job_id must be 1-128"},
      {jobs + "register", R"({"job_id":")" + std::string(129, 'j') + "\"}", 422, "job_id"},
      {jobs + "register", R"({"job_id":12})", 422, "job_id must be a string"},
      {jobs + "register", R"({"job_id":"a","job_type":5})", 422, "job_type must be a string"},
      {jobs + "register", R"({"job_id":"a","job_type":""})", 422, "job_type must be 1-128"},
      {jobs + "register", R"({"job_id":"a","payload":"x"})", 422, "payload must be an object"},
      {jobs + "register", R"({"job_id":"a","payload":{"perf":1}})", 422,
       "payload.perf must be an object"},
      {jobs + "register", R"({"job_id":"a","payload":{"perf":{"ram_mb":"10"}}})", 422,
       "payload.perf.ram_mb must be a number"},
      {jobs + "register", R"({"job_id":"a","payload":{"perf":{"cpu_percent":-1}}})", 422,
       "payload.perf.cpu_percent must be a number >= 0"},
      {jobs + "register", R"({"job_id":"a","payload":{"perf":{"vram_mb":true}}})", 422,
       "payload.perf.vram_mb"},
      {jobs + "register", R"({"job_id":"a","payload":{"perf":{"vram_mb":1e999999}}})", 422,
       "payload.perf.vram_mb is out of range"},
      {jobs + "start", "{}", 422, "job_id is required"},
      {jobs + "start", R"({"job_id":7})", 422, "job_id must be a string"},
      {jobs + "finish", "{}", 422, "job_id is required"},
      {jobs + "finish", R"({"job_id":"a","status":3})", 422, "status must be a string"},
      {jobs + "finish", R"({"job_id":"a","reason":5})", 422, "reason must be a string"},
      {assets + "register", R"({"asset_id":"a"})", 422, "size_mb is required"},
      {assets + "register", R"({"size_mb":1})", 422, "asset_id is required"},
      {assets + "register", R"({"asset_id":"a","size_mb":-1})", 422,
       "size_mb must be a number >= 0"},
      {assets + "register", R"({"asset_id":"a","size_mb":"1"})", 422, "size_mb must be a number"},
      {assets + "register", R"({"asset_id":"a","size_mb":1e999999})", 422,
       "size_mb is out of range"},
      {assets + "register", R"({"asset_id":")" + std::string(257, 'a') + R"(","size_mb":1})", 422,
       "asset_id must be 1-256"},
      {assets + "register", R"({"asset_id":"a","size_mb":1,"metadata":5})", 422,
       "metadata must be an object"},
      {assets + "touch", "{}", 422, "asset_id is required"},
      {assets + "evict", R"({"target_mb":-5})", 422, "target_mb must be a number >= 0"},
      {assets + "evict", R"({"target_mb":"5"})", 422, "target_mb must be a number"},
      {assets + "evict", R"({"asset_id":""})", 422, "asset_id must be 1-256"},
  };
  for (const Case& c : cases) {
    INFO(c.path << " " << c.body.substr(0, 120));
    const Result r = call(h, bhttp::verb::post, c.path, c.body);
    CHECK(r.status == c.status);
    CHECK_THAT(detail_of(r), Catch::Contains(c.detail));
    CHECK(r.body.at("feature_flag").as_bool());
  }
}

TEST_CASE("lengths count characters, not bytes", "[http][handler]") {
  Flags on(true);
  RequestHandler h;
  std::string name;
  for (int i = 0; i < 128; ++i) name += "\xc3\xa9";  // é: two bytes, one character
  Result r = call(h, bhttp::verb::post, "/api/perf/profiler/mark", R"({"name":")" + name + "\"}");
  CHECK(r.status == 200);
  r = call(h, bhttp::verb::post, "/api/perf/profiler/mark", R"({"name":")" + name + "e\"}");
  CHECK(r.status == 422);
}

TEST_CASE("OPTIONS, wrong methods, HEAD and unknown paths", "[http][handler]") {
  Flags off(false);
  RequestHandler h;
  for (const auto& route : all_routes()) {
    INFO(route.path);
    const bool post = route.method == bhttp::verb::post;
    const std::string allow = post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
    Result r = call(h, bhttp::verb::options, route.path);
    CHECK(r.status == 204);
    CHECK(r.res[bhttp::field::allow] == allow);
    CHECK(r.res.body().empty());
    for (bhttp::verb wrong : {post ? bhttp::verb::get : bhttp::verb::post, bhttp::verb::put,
                              bhttp::verb::delete_, bhttp::verb::patch}) {
      r = call(h, wrong, route.path, "{}");
      CHECK(r.status == 405);
      CHECK(r.res[bhttp::field::allow] == allow);
    }
  }
  // A method Beast does not know by name is still only a wrong method.
  phttp::Request odd = make_request(bhttp::verb::get, "/api/perf/health");
  odd.method_string("BREW");
  CHECK(h.handle(odd).result_int() == 405);

  const phttp::Response head = h.handle(make_request(bhttp::verb::head, "/api/perf/health"));
  CHECK(head.result_int() == 200);
  CHECK(head.body().empty());
  CHECK(std::stoul(std::string(head[bhttp::field::content_length])) > 20);

  for (const char* path :
       {"/", "/api/perf", "/api/perf/", "/api/perf/health/", "/api/perf/../perf/health",
        "/api/perf/./health", "/api/perf/%68ealth", "/../../etc/passwd", "/api/perf/..%2fhealth",
        "//api/perf/health", "/API/PERF/HEALTH", "*", "api/perf/health", "/api/perf/budgets/x",
        "/api/perf/profiler/dashboard/../../../../etc/passwd"}) {
    INFO(path);
    const Result r = call(h, bhttp::verb::get, path);
    CHECK(r.status == 404);
  }
  // Absolute-form targets are valid HTTP/1.1.
  CHECK(call(h, bhttp::verb::get, "http://127.0.0.1:8001/api/perf/health").status == 200);
}

TEST_CASE("unsupported HTTP versions answer 505 and close", "[http][handler]") {
  RequestHandler h;
  for (unsigned version : {9u, 20u, 30u, 99u}) {
    phttp::Request req = make_request(bhttp::verb::get, "/api/perf/health");
    req.version(version);
    const phttp::Response res = h.handle(req);
    CHECK(res.result_int() == 505);
    CHECK_FALSE(res.keep_alive());
    parse_and_check(res);
  }
  phttp::Request old = make_request(bhttp::verb::get, "/api/perf/health");
  old.version(10);
  const phttp::Response res = h.handle(old);
  CHECK(res.result_int() == 200);
  CHECK(res.version() == 10);
  CHECK_FALSE(res.keep_alive());
  old.set(bhttp::field::connection, "keep-alive");
  CHECK(h.handle(old).keep_alive());
}

TEST_CASE("a token guards every route but /health", "[http][handler]") {
  Flags on(true);
  phttp::Options o;
  o.token = "s3cret-token";
  RequestHandler h(o);
  for (const auto& route : all_routes()) {
    INFO(route.path);
    const std::string body = route.method == bhttp::verb::post ? "{}" : "";
    const bool health = std::string(route.path) == "/api/perf/health";
    Result r = call(h, route.method, route.path, body);
    CHECK(r.status == (health ? 200 : 401));
    if (!health) {
      CHECK(r.res[bhttp::field::www_authenticate] == "Bearer realm=\"comfyvn_perf\"");
      CHECK(detail_of(r) == "missing or invalid bearer token");
    }
    for (const char* bad :
         {"Bearer s3cret-tokeX", "Bearer s3cret", "Bearer s3cret-token-and-more", "s3cret-token",
          "Basic czNjcmV0LXRva2Vu", "Bearer", "Bearer ", "Bearers3cret-token"}) {
      INFO(bad);
      r = call(h, route.method, route.path, body, {{"Authorization", bad}});
      CHECK(r.status == (health ? 200 : 401));
    }
    for (const char* good :
         {"Bearer s3cret-token", "bearer s3cret-token", "BEARER  s3cret-token "}) {
      INFO(good);
      r = call(h, route.method, route.path, body, {{"Authorization", good}});
      CHECK(r.status != 401);
    }
  }
  // Unknown paths do not reveal themselves without the token.
  CHECK(call(h, bhttp::verb::get, "/nope").status == 401);
  CHECK(call(h, bhttp::verb::get, "/nope", {}, {{"Authorization", "Bearer s3cret-token"}}).status ==
        404);
}

TEST_CASE("browser requests: Origin and foreign Host are refused, /health excepted",
          "[http][handler]") {
  Flags on(true);
  RequestHandler h;
  const std::string dash = "/api/perf/profiler/dashboard";
  Result r = call(h, bhttp::verb::get, dash, {}, {{"Origin", "http://evil.example"}});
  CHECK(r.status == 403);
  CHECK(detail_of(r) == "cross-origin requests are refused");
  r = call(h, bhttp::verb::post, "/api/perf/profiler/reset", "", {{"Origin", "null"}});
  CHECK(r.status == 403);
  CHECK(call(h, bhttp::verb::get, "/api/perf/health", {}, {{"Origin", "http://evil.example"}})
            .status == 200);

  for (const char* host : {"evil.example", "evil.example:8001", "127.0.0.1.evil.example", "[::1",
                           "10.0.0.1:8001", "localhost.evil.example"}) {
    INFO(host);
    r = call(h, bhttp::verb::get, dash, {}, {{"Host", host}});
    CHECK(r.status == 403);
    CHECK(detail_of(r) == "Host must name a loopback address");
    CHECK(call(h, bhttp::verb::get, "/api/perf/health", {}, {{"Host", host}}).status == 200);
  }
  for (const char* host :
       {"127.0.0.1", "127.0.0.1:8001", "localhost", "LOCALHOST:9", "[::1]:8001", "127.9.9.9"}) {
    INFO(host);
    CHECK(call(h, bhttp::verb::get, dash, {}, {{"Host", host}}).status == 200);
  }
  phttp::Request no_host = make_request(bhttp::verb::get, dash);
  no_host.erase(bhttp::field::host);
  CHECK(h.handle(no_host).result_int() == 200);

  // With a token the client has proven itself; any Host will do.
  phttp::Options o;
  o.token = "t";
  RequestHandler guarded(o);
  CHECK(call(guarded, bhttp::verb::get, dash, {},
             {{"Host", "perf.example"}, {"Authorization", "Bearer t"}})
            .status == 200);
}

TEST_CASE("a Transfer-Encoding that does not end in chunked is refused and closes",
          "[http][handler]") {
  RequestHandler h;
  for (const char* te : {"gzip", "chunked, gzip", "identity"}) {
    INFO(te);
    phttp::Request req = make_request(bhttp::verb::get, "/api/perf/health");
    req.set(bhttp::field::transfer_encoding, te);
    const phttp::Response res = h.handle(req);
    CHECK(res.result_int() == 400);
    CHECK_FALSE(res.keep_alive());
  }
}

TEST_CASE("a body over the limit answers 413 even without the network layer", "[http][handler]") {
  Flags on(true);
  phttp::Options o;
  o.max_body_bytes = 64;
  RequestHandler h(o);
  const Result r = call(h, bhttp::verb::post, "/api/perf/profiler/mark",
                        R"({"name":")" + std::string(100, 'x') + "\"}");
  CHECK(r.status == 413);
}

TEST_CASE("parser errors map to 4xx statuses, foreign versions to 505", "[http][handler]") {
  using E = bhttp::error;
  CHECK(RequestHandler::parse_error_status(E::header_limit) ==
        Status::request_header_fields_too_large);
  CHECK(RequestHandler::parse_error_status(E::header_limit, "GET /x HTTP/1.1\r\nA: b") ==
        Status::request_header_fields_too_large);
  CHECK(RequestHandler::parse_error_status(E::header_limit, "GET /xxxxxxxx") ==
        Status::uri_too_long);
  CHECK(RequestHandler::parse_error_status(E::bad_version, "GET / HTTP/9.9\r\n\r\n") ==
        Status::http_version_not_supported);
  CHECK(RequestHandler::parse_error_status(E::bad_version, "GET / HTTP/2.0\r\nHost: x\r\n\r\n") ==
        Status::http_version_not_supported);
  for (const char* line : {"GET / HTTP/1.1x\r\n\r\n", "GET / FTP/1.1\r\n\r\n",
                           "GET / HTTP/a.b\r\n\r\n", "GET / HTTP/1.1", "HTTP/9.9\r\n", ""}) {
    INFO(line);
    CHECK(RequestHandler::parse_error_status(E::bad_version, line) == Status::bad_request);
  }
  CHECK(RequestHandler::parse_error_status(E::body_limit) == Status::payload_too_large);
  for (E e : {E::bad_method, E::bad_target, E::bad_version, E::bad_field, E::bad_value,
              E::bad_content_length, E::bad_transfer_encoding, E::bad_chunk, E::partial_message,
              E::bad_line_ending, E::bad_chunk_extension, E::bad_obs_fold}) {
    CHECK(RequestHandler::parse_error_status(e) == Status::bad_request);
  }
  const phttp::Response res = RequestHandler::error_response(Status::bad_request, "malformed");
  CHECK_FALSE(res.keep_alive());
  CHECK(parse_and_check(res).at("detail").as_string() == "malformed");
}

TEST_CASE("constant-time token comparison is still a comparison", "[http][handler]") {
  using comfyvn::perf::http::detail::constant_time_equal;
  CHECK(constant_time_equal("abc", "abc"));
  CHECK(constant_time_equal("", ""));
  CHECK_FALSE(constant_time_equal("abd", "abc"));
  CHECK_FALSE(constant_time_equal("ab", "abc"));
  CHECK_FALSE(constant_time_equal("abcd", "abc"));
  CHECK_FALSE(constant_time_equal("", "abc"));
  CHECK_FALSE(constant_time_equal(std::string("ab\0", 3), "ab"));
}

TEST_CASE("same origin: Origin http:// + the request's own Host is served, any other refused",
          "[http][handler][origin]") {
  Flags on(true);
  RequestHandler h;
  const std::string dash = "/api/perf/profiler/dashboard";
  // `host` empty: the request carries no Host header at all.
  const auto with = [&](const std::string& host, const std::string& origin) {
    phttp::Request req = make_request(bhttp::verb::get, dash, {}, {{"Origin", origin}});
    if (host.empty()) {
      req.erase(bhttp::field::host);
    } else {
      req.set(bhttp::field::host, host);
    }
    return h.handle(req).result_int();
  };
  // Same host and port: the dashboard's own fetches.
  CHECK(with("127.0.0.1:8001", "http://127.0.0.1:8001") == 200);
  CHECK(with("localhost:8001", "http://LOCALHOST:8001") == 200);
  CHECK(with("[::1]:9", "http://[::1]:9") == 200);
  // Another port, another host, another scheme, null, trailing bytes.
  CHECK(with("127.0.0.1:8001", "http://127.0.0.1:8002") == 403);
  CHECK(with("127.0.0.1:8001", "http://localhost:8001") == 403);
  CHECK(with("127.0.0.1:8001", "http://evil.example") == 403);
  CHECK(with("127.0.0.1:8001", "https://127.0.0.1:8001") == 403);
  CHECK(with("127.0.0.1:8001", "null") == 403);
  CHECK(with("127.0.0.1:8001", "http://127.0.0.1:8001/") == 403);
  CHECK(with("127.0.0.1:8001", "") == 403);
  // No Host header: nothing to be the same as.
  CHECK(with("", "http://") == 403);
  CHECK(with("", "http://127.0.0.1") == 403);
  // Same origin does not lift the loopback rule for Host.
  CHECK(with("evil.example", "http://evil.example") == 403);
}

TEST_CASE("GET /ui: the page, as HTML, with the flags off and without the token",
          "[http][handler][ui]") {
  Flags off(false);
  phttp::Options o;
  o.token = "page-token";
  RequestHandler h(o);
  const phttp::Response res = h.handle(make_request(bhttp::verb::get, "/api/perf/ui"));
  REQUIRE(res.result_int() == 200);
  CHECK(res[bhttp::field::content_type] == "text/html; charset=utf-8");
  const std::string policy(res["Content-Security-Policy"]);
  CHECK(policy.find("connect-src 'self'") != std::string::npos);
  // No inline code runs but the page's own script and style, pinned by hash.
  CHECK(policy.find("unsafe-inline") == std::string::npos);
  CHECK(policy.find("script-src '" + std::string(comfyvn::perf::http::kDashboardScriptHash) + "'") !=
        std::string::npos);
  CHECK(policy.find("style-src '" + std::string(comfyvn::perf::http::kDashboardStyleHash) + "'") !=
        std::string::npos);
  CHECK(res.body() == comfyvn::perf::http::kDashboardHtml);
  CHECK(res.body().find("data-testid=\"feature-flag\"") != std::string::npos);
  // The data still needs the token.
  CHECK(h.handle(make_request(bhttp::verb::get, "/api/perf/metrics")).result_int() == 401);
  CHECK(h.handle(make_request(bhttp::verb::post, "/api/perf/ui")).result_int() == 405);
}

TEST_CASE("numbers: whole values as integers, others in their shortest exact form",
          "[http][handler]") {
  Flags on(true);
  comfyvn::perf::BudgetManager budgets;
  RequestHandler h(phttp::Options{}, phttp::Services{nullptr, &budgets, nullptr});
  const Result r = call(h, bhttp::verb::post, "/api/perf/budgets/apply",
                        R"({"max_cpu_percent": 85, "evaluation_interval": 0.25})");
  REQUIRE(r.status == 200);
  const std::string& text = r.res.body();
  INFO(text);
  // Boost.JSON alone writes 8.5E1 and 2.5E-1.
  CHECK(text.find("\"max_cpu_percent\":85") != std::string::npos);
  CHECK(text.find("\"evaluation_interval\":0.25") != std::string::npos);
  CHECK(text.find("E+") == std::string::npos);
  CHECK(text.find("E-") == std::string::npos);
  CHECK(text.find("E0") == std::string::npos);
  CHECK(r.body.at("limits").at("max_cpu_percent").to_number<double>() == 85.0);
}

TEST_CASE("the token from COMFYVN_PERF_TOKEN or a token file", "[http][handler]") {
  Flags on(true);
  ::setenv("COMFYVN_PERF_TOKEN", "from-env", 1);
  {
    const RequestHandler h;
    CHECK(h.options().token == "from-env");
    CHECK(call(h, bhttp::verb::get, "/api/perf/profiler/dashboard").status == 401);
    CHECK(call(h, bhttp::verb::get, "/api/perf/profiler/dashboard", {},
               {{"Authorization", "Bearer from-env"}})
              .status == 200);
    phttp::Options o;
    o.token = "given";  // a token given in code wins
    CHECK(RequestHandler(o).options().token == "given");
  }
  ::unsetenv("COMFYVN_PERF_TOKEN");
  CHECK(RequestHandler().options().token.empty());

  char dir[] = "/tmp/comfyvn_token_XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/token";
  const auto write = [&](const std::string& text, mode_t mode) {
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    ::chmod(path.c_str(), mode);
  };
  std::string token, problem, warning;
  write("S3cr3t\n", 0600);
  CHECK(phttp::read_token_file(path, token, problem, warning));
  CHECK(token == "S3cr3t");
  CHECK(warning.empty());
  write("S3cr3t\n", 0644);
  warning.clear();
  CHECK(phttp::read_token_file(path, token, problem, warning));
  CHECK(warning.find("other users") != std::string::npos);
  for (const char* bad : {"", "\n", "one\ntwo\n"}) {
    write(bad, 0600);
    problem.clear();
    CHECK_FALSE(phttp::read_token_file(path, token, problem, warning));
    CHECK_FALSE(problem.empty());
  }
  ::unlink(path.c_str());
  problem.clear();
  CHECK_FALSE(phttp::read_token_file(path, token, problem, warning));
  CHECK(problem.find("does not exist") != std::string::npos);
  ::rmdir(dir);
}

TEST_CASE("Fetch Metadata: a Sec-Fetch-Site other than same-origin or none is refused",
          "[http][handler][origin]") {
  Flags on(true);
  RequestHandler h;
  const std::string dash = "/api/perf/profiler/dashboard";
  const std::string mark = "/api/perf/profiler/mark";
  const std::string body = R"({"name":"fetch-site"})";
  // No Origin header: Chromium sends none with a no-cors GET from another
  // site, so only Sec-Fetch-Site tells such a request apart.
  for (const char* site : {"cross-site", "same-site", "CROSS-SITE", "garbage", "",
                           "same-origin, cross-site", "same-origin;x", "nonee"}) {
    INFO("Sec-Fetch-Site: " << site);
    Result r = call(h, bhttp::verb::get, dash, {}, {{"Sec-Fetch-Site", site}});
    CHECK(r.status == 403);
    CHECK(detail_of(r) == "requests from other sites are refused (Sec-Fetch-Site)");
    CHECK(r.body.at("ok").as_bool() == false);
    CHECK(r.body.at("feature_flag").as_bool());
    r = call(h, bhttp::verb::post, mark, body, {{"Sec-Fetch-Site", site}});
    CHECK(r.status == 403);
    CHECK(call(h, bhttp::verb::post, "/api/perf/profiler/reset", "", {{"Sec-Fetch-Site", site}})
              .status == 403);
    CHECK(call(h, bhttp::verb::get, "/api/perf/profiler/trace?seconds=0", {},
               {{"Sec-Fetch-Site", site}})
              .status == 403);
    // The public routes stay public.
    CHECK(call(h, bhttp::verb::get, "/api/perf/health", {}, {{"Sec-Fetch-Site", site}}).status ==
          200);
    CHECK(h.handle(make_request(bhttp::verb::get, "/api/perf/ui", {}, {{"Sec-Fetch-Site", site}}))
              .result_int() == 200);
  }
  // The page's own requests, a typed URL, and tools that send no such header.
  for (const char* site : {"same-origin", "none", "Same-Origin", "NONE"}) {
    INFO("Sec-Fetch-Site: " << site);
    CHECK(call(h, bhttp::verb::get, dash, {}, {{"Sec-Fetch-Site", site}}).status == 200);
    CHECK(call(h, bhttp::verb::post, mark, body, {{"Sec-Fetch-Site", site}}).status == 200);
  }
  CHECK(call(h, bhttp::verb::get, dash).status == 200);
  CHECK(call(h, bhttp::verb::post, mark, body).status == 200);

  // The header twice is several values: refused, even when each would pass.
  phttp::Request twice = make_request(bhttp::verb::get, dash);
  twice.insert("Sec-Fetch-Site", "same-origin");
  twice.insert("sec-fetch-site", "same-origin");
  CHECK(h.handle(twice).result_int() == 403);

  // A token does not lift the rule: the answer is 403 with or without it.
  phttp::Options o;
  o.token = "t";
  RequestHandler guarded(o);
  CHECK(call(guarded, bhttp::verb::get, dash, {},
             {{"Sec-Fetch-Site", "cross-site"}, {"Authorization", "Bearer t"}})
            .status == 403);
  CHECK(call(guarded, bhttp::verb::get, dash, {}, {{"Sec-Fetch-Site", "cross-site"}}).status ==
        403);
  CHECK(call(guarded, bhttp::verb::get, dash, {},
             {{"Sec-Fetch-Site", "same-origin"}, {"Authorization", "Bearer t"}})
            .status == 200);
}
