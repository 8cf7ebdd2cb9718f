// The adapter against a hostile or buggy local client (issue 10): a cap on
// every response, paged /budgets, a bounded dashboard, unregistering assets,
// duplicate Host headers, short error details, strictly valid JSON, and
// /health answering while many clients pull large bodies without reading.
#include <comfyvn_perf/http.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_test_support.hpp"

using namespace http_test;
using comfyvn::perf::BudgetManager;
using comfyvn::perf::http::RequestHandler;

namespace {

struct Result {
  int status = 0;
  json::object body;
  std::string text;
};

Result call(const RequestHandler& h, bhttp::verb method, const std::string& target,
            std::string body = {}) {
  const phttp::Response res = h.handle(make_request(method, target, std::move(body)));
  Result r;
  r.status = res.result_int();
  r.text = res.body();
  if (method != bhttp::verb::head) r.body = parse_and_check(res);
  return r;
}

std::string detail_of(const Result& r) {
  const json::value* d = r.body.if_contains("detail");
  return d != nullptr && d->is_string() ? std::string(d->as_string()) : std::string();
}

json::object metadata_of_size(std::size_t bytes) {
  return json::object{{"blob", std::string(bytes, 'm')}};
}

// A handler over a private budget manager (the process-wide profiler and
// flags), so that what one test registers never leaks into another.
struct Fixture {
  explicit Fixture(phttp::Options o = {}) : handler(std::move(o), phttp::Services{nullptr, &budgets, nullptr}) {}
  BudgetManager budgets;
  RequestHandler handler;
};

void register_assets(BudgetManager& b, std::size_t n, std::size_t metadata_bytes,
                     double size_mb = 1.0) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = b.register_asset("asset-" + std::to_string(i), size_mb,
                                    metadata_bytes ? metadata_of_size(metadata_bytes)
                                                   : json::object());
    REQUIRE(r.ok());
  }
}

}  // namespace

TEST_CASE("GET /budgets pages jobs and assets and reports their totals", "[http][robustness]") {
  Flags on(true);
  Fixture f;
  register_assets(f.budgets, 600, 0);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(f.budgets.register_job("job-" + std::to_string(i), "render", {}).ok());
  }

  Result r = call(f.handler, bhttp::verb::get, "/api/perf/budgets");
  REQUIRE(r.status == 200);
  const json::object* snap = &r.body.at("budgets").as_object();
  CHECK(snap->at("assets").as_array().size() == 256);  // the default page
  CHECK(snap->at("assets_total") == 600);
  CHECK(snap->at("jobs").as_array().size() == 5);
  CHECK(snap->at("jobs_total") == 5);
  for (const char* key : {"limits", "metrics", "queued_ids", "delayed_ids", "running_ids"}) {
    CHECK(snap->contains(key));
  }

  r = call(f.handler, bhttp::verb::get, "/api/perf/budgets?limit=100&offset=550");
  REQUIRE(r.status == 200);
  snap = &r.body.at("budgets").as_object();
  CHECK(snap->at("assets").as_array().size() == 50);
  CHECK(snap->at("assets_total") == 600);
  CHECK(snap->at("jobs").as_array().empty());  // offset past the 5 jobs
  CHECK(snap->at("jobs_total") == 5);

  r = call(f.handler, bhttp::verb::get, "/api/perf/budgets?limit=2&offset=1");
  REQUIRE(r.status == 200);
  const json::array& jobs = r.body.at("budgets").at("jobs").as_array();
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].at("id") == "job-1");
  CHECK(jobs[1].at("id") == "job-2");

  r = call(f.handler, bhttp::verb::get, "/api/perf/budgets?limit=10000");
  REQUIRE(r.status == 200);
  CHECK(r.body.at("budgets").at("assets").as_array().size() == 600);

  for (const char* bad : {"limit=10001", "limit=-1", "limit=abc", "limit=", "limit=99999999999"}) {
    INFO(bad);
    r = call(f.handler, bhttp::verb::get, std::string("/api/perf/budgets?") + bad);
    CHECK(r.status == 422);
    CHECK(detail_of(r).find("limit") != std::string::npos);
  }
  for (const char* bad : {"offset=-1", "offset=x", "offset=1000000001"}) {
    INFO(bad);
    r = call(f.handler, bhttp::verb::get, std::string("/api/perf/budgets?") + bad);
    CHECK(r.status == 422);
    CHECK(detail_of(r).find("offset") != std::string::npos);
  }
}

TEST_CASE("no response exceeds max_response_bytes: metadata goes first, then 422 naming limit",
          "[http][robustness]") {
  Flags on(true);
  phttp::Options o;
  o.max_response_bytes = 256 * 1024;
  Fixture f(o);
  register_assets(f.budgets, 400, 2048);  // about 850 KB of metadata alone

  Result r = call(f.handler, bhttp::verb::get, "/api/perf/budgets?limit=400");
  REQUIRE(r.status == 200);
  CHECK(r.text.size() <= o.max_response_bytes);
  const json::object& snap = r.body.at("budgets").as_object();
  const json::array& assets = snap.at("assets").as_array();
  REQUIRE(assets.size() == 400);
  const auto omitted = snap.at("metadata_omitted").to_number<std::size_t>();
  CHECK(omitted > 0);
  CHECK(omitted < 400);
  // Metadata stays on a prefix of the page, then is null.
  CHECK(assets.front().at("metadata").is_object());
  CHECK(assets.back().at("metadata").is_null());
  std::size_t with = 0;
  for (const auto& a : assets) with += a.at("metadata").is_object() ? 1 : 0;
  CHECK(with + omitted == 400);

  // Small enough that even the page without metadata does not fit: 422.
  phttp::Options tiny;
  tiny.max_response_bytes = 4096;
  const RequestHandler small(tiny, phttp::Services{nullptr, &f.budgets, nullptr});
  r = call(small, bhttp::verb::get, "/api/perf/budgets?limit=400");
  CHECK(r.status == 422);
  CHECK(detail_of(r).find("limit") != std::string::npos);
  CHECK(r.body.at("max_response_bytes") == 4096);
  // A small page fits.
  r = call(small, bhttp::verb::get, "/api/perf/budgets?limit=1");
  CHECK(r.status == 200);
  CHECK(r.text.size() <= tiny.max_response_bytes);

  // With the default cap every route stays under 8 MiB even with much data.
  CHECK(phttp::Options{}.max_response_bytes == 8u * 1024 * 1024);
}

TEST_CASE("the dashboard lists the newest `marks` marks, bounded", "[http][robustness]") {
  Flags on(true);
  auto& prof = comfyvn::perf::perf_profiler();
  prof.reset();
  RequestHandler h;
  for (int i = 0; i < 100; ++i) {
    const Result m = call(h, bhttp::verb::post, "/api/perf/profiler/mark",
                          R"({"name":"m)" + std::to_string(i) + R"(","metadata":{"i":)" +
                              std::to_string(i) + "}}");
    REQUIRE(m.status == 200);
  }
  Result r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard");
  REQUIRE(r.status == 200);
  const json::array& marks = r.body.at("dashboard").at("marks").as_array();
  REQUIRE(marks.size() == 64);  // the default
  CHECK(marks.back().at("name") == "m99");
  CHECK(marks.front().at("name") == "m36");

  r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard?marks=3&limit=2");
  REQUIRE(r.status == 200);
  const json::array& three = r.body.at("dashboard").at("marks").as_array();
  REQUIRE(three.size() == 3);
  CHECK(three[2].at("name") == "m99");
  r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard?marks=0");
  CHECK(r.body.at("dashboard").at("marks").as_array().empty());

  r = call(h, bhttp::verb::get, "/api/perf/profiler/dashboard?marks=1001");
  CHECK(r.status == 422);
  CHECK(detail_of(r).find("marks") != std::string::npos);

  // Under a small cap, marks' metadata is dropped before anything fails.
  prof.reset();
  for (int i = 0; i < 20; ++i) {
    REQUIRE(call(h, bhttp::verb::post, "/api/perf/profiler/mark",
                 R"({"name":"big","metadata":{"blob":")" + std::string(8000, 'x') + "\"}}")
                .status == 200);
  }
  phttp::Options o;
  o.max_response_bytes = 64 * 1024;
  const RequestHandler capped(o);
  r = call(capped, bhttp::verb::get, "/api/perf/profiler/dashboard?marks=20");
  REQUIRE(r.status == 200);
  CHECK(r.text.size() <= o.max_response_bytes);
  CHECK(r.body.at("dashboard").at("metadata_omitted").to_number<int>() > 0);
  CHECK(r.body.at("dashboard").at("marks").as_array().size() == 20);
  prof.reset();
}

TEST_CASE("POST /budgets/assets/unregister removes an asset", "[http][robustness]") {
  Flags on(true);
  Fixture f;
  register_assets(f.budgets, 2, 0);
  Result r = call(f.handler, bhttp::verb::post, "/api/perf/budgets/assets/unregister",
                  R"({"asset_id":"asset-0"})");
  REQUIRE(r.status == 200);
  CHECK(r.body.at("removed") == true);
  r = call(f.handler, bhttp::verb::get, "/api/perf/budgets");
  CHECK(r.body.at("budgets").at("assets_total") == 1);
  r = call(f.handler, bhttp::verb::post, "/api/perf/budgets/assets/unregister",
           R"({"asset_id":"asset-0"})");
  REQUIRE(r.status == 200);
  CHECK(r.body.at("removed") == false);
  r = call(f.handler, bhttp::verb::post, "/api/perf/budgets/assets/unregister", "{}");
  CHECK(r.status == 422);
  CHECK(detail_of(r).find("asset_id") != std::string::npos);
  r = call(f.handler, bhttp::verb::get, "/api/perf/budgets/assets/unregister");
  CHECK(r.status == 405);
}

TEST_CASE("an asset register past max_assets answers 429 and stores nothing",
          "[http][robustness]") {
  Flags on(true);
  Fixture f;
  register_assets(f.budgets, 10'000, 0);
  const Result r = call(f.handler, bhttp::verb::post, "/api/perf/budgets/assets/register",
                        R"({"asset_id":"one-too-many","size_mb":1})");
  CHECK(r.status == 429);
  CHECK(detail_of(r).find("max_assets") != std::string::npos);
  const Result snap = call(f.handler, bhttp::verb::get, "/api/perf/budgets?limit=0");
  CHECK(snap.body.at("budgets").at("assets_total") == 10'000);
}

TEST_CASE("more than one Host header answers 400", "[http][robustness]") {
  Flags off(false);
  RequestHandler h;
  phttp::Request req = make_request(bhttp::verb::get, "/api/perf/health");
  req.insert(bhttp::field::host, "evil.example");
  const phttp::Response res = h.handle(req);
  CHECK(res.result_int() == 400);
  const json::object body = parse_and_check(res);
  CHECK(body.at("detail") == "more than one Host header");
  CHECK_FALSE(res.keep_alive());

  // Over the network, with the same name in two spellings.
  Adapter adapter(test_options());
  adapter.start();
  const RawReply raw = raw_exchange(
      adapter.port(),
      "GET /api/perf/health HTTP/1.1\r\nHost: 127.0.0.1\r\nhost: 127.0.0.1\r\n\r\n");
  CHECK(raw.status == 400);
  CHECK(health_answers(adapter.port()));
}

TEST_CASE("error details are cut to about 200 characters", "[http][robustness]") {
  Flags on(true);
  Fixture f;
  const std::string key(500'000, 'k');
  // A non-finite number under a huge key: the detail names its path.
  Result r = call(f.handler, bhttp::verb::post, "/api/perf/profiler/mark",
                  R"({"name":"x","metadata":{")" + key + R"(":1e999}})");
  CHECK(r.status == 422);
  CHECK(detail_of(r).size() <= 210);
  CHECK(detail_of(r).rfind("metadata.kkk", 0) == 0);
  // An unknown limit key: the budget part words the detail, the adapter cuts it.
  r = call(f.handler, bhttp::verb::post, "/api/perf/budgets/apply", R"({")" + key + R"(":1})");
  CHECK(r.status == 422);
  CHECK(detail_of(r).size() <= 210);
  // Cutting never splits a UTF-8 character.
  std::string accents;
  for (int i = 0; i < 300; ++i) accents += "\xc3\xa9";
  const std::string cut = phttp::detail::clip_detail("x" + accents);
  CHECK(cut.size() <= 210);
  boost::system::error_code ec;
  json::parse(json::serialize(json::value(cut)), ec);
  CHECK(!ec);
  CHECK((static_cast<unsigned char>(cut[cut.size() - 4]) & 0xC0) != 0xC0);
}

TEST_CASE("non-finite numbers never leave the adapter", "[http][robustness]") {
  // The reply path writes them as null whatever produced them.
  const phttp::Reply reply = phttp::detail::json_reply(
      phttp::StatusCode::ok, false, {},
      json::object{{"a", std::numeric_limits<double>::infinity()},
                   {"b", json::array{std::numeric_limits<double>::quiet_NaN(), 1.5}},
                   {"c", json::object{{"d", -std::numeric_limits<double>::infinity()}}}});
  const json::value v = json::parse(reply.body);
  CHECK(v.at("a").is_null());
  CHECK(v.at("b").at(0).is_null());
  CHECK(v.at("b").at(1) == 1.5);
  CHECK(v.at("c").at("d").is_null());
}

TEST_CASE("every route answers strictly valid JSON, with large and odd data", "[http][robustness]") {
  Flags on(true);
  Fixture f;
  comfyvn::perf::perf_profiler().reset();
  {
    PERF_SCOPE("strict-json-span", "test");
  }
  register_assets(f.budgets, 3, 512, 1e9);
  // Sizes whose sum overflows a double: 422 where sizes are bounded, or
  // accepted; either way no later body may carry Infinity.
  for (const char* id : {"huge-a", "huge-b"}) {
    (void)f.budgets.register_asset(id, 1e308, {});
  }
  for (int i = 0; i < 3; ++i) {
    REQUIRE(f.budgets
                .register_job("strict-" + std::to_string(i), "render",
                              json::object{{"perf", json::object{{"cpu_percent", 1e9},
                                                                 {"ram_mb", 1e9}}}})
                .error != comfyvn::perf::BudgetError::invalid);
  }
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"/api/perf/budgets/apply", R"({"max_cpu_percent": 90})"},
      {"/api/perf/budgets/jobs/register", R"({"job_id":"strict-x","payload":{"perf":{"ram_mb":1e9}}})"},
      {"/api/perf/budgets/jobs/start", R"({"job_id":"strict-0"})"},
      {"/api/perf/budgets/jobs/finish", R"({"job_id":"strict-0"})"},
      {"/api/perf/budgets/jobs/refresh", "{}"},
      {"/api/perf/budgets/assets/register", R"({"asset_id":"big","size_mb":1e9,"metadata":{"k":1}})"},
      {"/api/perf/budgets/assets/touch", R"({"asset_id":"asset-1"})"},
      {"/api/perf/budgets/assets/evict", R"({"target_mb": 0})"},
      {"/api/perf/budgets/assets/unregister", R"({"asset_id":"asset-2"})"},
      {"/api/perf/profiler/mark", R"({"name":"strict","metadata":{"x":1e300}})"},
      {"/api/perf/profiler/reset", "{}"},
  };
  auto strict = [](const Result& r, const std::string& what) {
    INFO(what << " -> " << r.status << " " << r.text.substr(0, 300));
    boost::system::error_code ec;
    json::parse(r.text, ec);  // Boost.JSON 1.81 refuses NaN and Infinity tokens
    CHECK(!ec);
    CHECK(r.text.find("Infinity") == std::string::npos);
    CHECK(r.text.find("NaN") == std::string::npos);
  };
  for (int round = 0; round < 2; ++round) {
    for (const auto& route : all_routes()) {
      if (route.method == bhttp::verb::get) {
        for (const char* q : {"", "?limit=1000"}) {
          const std::string target = std::string(route.path) + q;
          strict(call(f.handler, bhttp::verb::get, target), target);
        }
        continue;
      }
      auto it = std::find_if(bodies.begin(), bodies.end(),
                             [&](const auto& b) { return b.first == route.path; });
      strict(call(f.handler, route.method, route.path, it == bodies.end() ? "{}" : it->second),
             route.path);
    }
  }
}

TEST_CASE("/health answers within a second while 50 clients pull /budgets without reading",
          "[http][robustness][slow]") {
  Flags on(true);
  BudgetManager budgets;
  // 10,000 assets (max_assets) with 2 KiB of metadata: 20 MB, so every page
  // of 10,000 is built up to the default 8 MiB cap; expensive to build and
  // to send.
  register_assets(budgets, 10'000, 2048);
  phttp::Options o = test_options();
  Adapter adapter(o, phttp::Services{nullptr, &budgets, nullptr});
  adapter.start();
  const std::uint16_t port = adapter.port();
  REQUIRE(health_answers(port));

  // 50 connections each ask for the largest page and never read a byte.
  net::io_context ioc;
  std::vector<std::unique_ptr<tcp::socket>> hogs;
  const std::string request =
      "GET /api/perf/budgets?limit=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (int i = 0; i < 50; ++i) {
    auto s = std::make_unique<tcp::socket>(ioc);
    s->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    net::write(*s, net::buffer(request));
    hogs.push_back(std::move(s));
  }
  // Timed at once, while the 50 bodies are still being built and written:
  // /health must not queue behind them (with body building on the I/O
  // threads the first answer took 50 builds / 2 threads).
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Client c(port);
    const Reply r = c.get("/api/perf/health");
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                     .count());
    CHECK(r.status == 200);
  }
  std::sort(ms.begin(), ms.end());
  INFO("health latencies (ms): " << ms[0] << " " << ms[2] << " " << ms[4]);
  CHECK(ms[2] < 1000.0);  // the median: the contract's bound
  CHECK(ms[4] < 1500.0);  // the worst, with some slack for a loaded machine
  // Every hog's request was read and is being answered.
  const auto seen_by = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (adapter.stats().requests < 55 && std::chrono::steady_clock::now() < seen_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(adapter.stats().requests >= 55);

  // The hogs never read; stopping still returns promptly.
  const auto t0 = std::chrono::steady_clock::now();
  adapter.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
}

namespace {

// Every byte sequence of `s` is well-formed UTF-8 (a strict decoder's rule).
bool strict_utf8(std::string_view s) {
  while (!s.empty()) {
    const std::size_t n = comfyvn::perf::os::utf8_sequence(s);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

}  // namespace

TEST_CASE("hostile names: cleaned once, sites stay distinct, every body strict UTF-8",
          "[http][robustness]") {
  Flags on(true);
  Fixture f;
  auto& p = comfyvn::perf::perf_profiler();
  p.reset();
  const std::string long_name(1000, 'n');
  struct Span {
    std::string name, category;
  };
  const std::vector<Span> spans = {
      {"bad\xff\xfeutf8", "hostile"},  // these two clean to one text: one site
      {"bad\xfe\xffutf8", "hostile"},
      {"a\x1f"
       "b",
       "c"},  // these two pairs once shared a key
      {"a", "b\x1f"
            "c"},
      {"line\nbreak\x7f\xc2\x85", "ctl\t"},
      {long_name, std::string(300, 'k')},
      {"\xe2\x82", "truncated-sequence"},
  };
  for (const Span& s : spans) REQUIRE(p.record_span(s.name, s.category, 1.0));
  comfyvn::perf::set_thread_name("thread\xff\n");
  p.mark("mark\xfe", "cat\x01");

  const auto rows = p.aggregates();
  auto count_of = [&](const std::string& name, const std::string& category) -> std::uint64_t {
    for (const auto& r : rows)
      if (r.name == name && r.category == category) return r.count;
    return 0;
  };
  const std::string fffd = "\xef\xbf\xbd";
  CHECK(count_of("bad" + fffd + fffd + "utf8", "hostile") == 2);
  CHECK(count_of("a" + fffd + "b", "c") == 1);
  CHECK(count_of("a", "b" + fffd + "c") == 1);
  CHECK(count_of("line" + fffd + "break" + fffd + fffd, "ctl" + fffd) == 1);
  CHECK(count_of(fffd + fffd, "truncated-sequence") == 1);
  bool long_seen = false;
  for (const auto& r : rows) {
    INFO(r.name);
    CHECK(strict_utf8(r.name));
    CHECK(strict_utf8(r.category));
    CHECK(r.name.size() <= comfyvn::perf::kMaxNameBytes);
    CHECK(r.category.size() <= comfyvn::perf::kMaxNameBytes);
    if (r.name.rfind("nnnn", 0) == 0) {
      long_seen = true;
      CHECK(r.name.size() == comfyvn::perf::kMaxNameBytes);
      CHECK(r.name.substr(r.name.size() - 3) == "\xe2\x80\xa6");  // the truncation marker
      CHECK(r.category.substr(r.category.size() - 3) == "\xe2\x80\xa6");
    }
  }
  CHECK(long_seen);
  CHECK(rows.size() == 6);

  // Every route, read back by a strict parser (Boost.JSON refuses ill-formed
  // UTF-8 in strings) and by a strict UTF-8 check of the raw bytes.
  for (const char* target :
       {"/api/perf/health?limit=1000", "/api/perf/profiler/dashboard?limit=1000&marks=100",
        "/api/perf/profiler/tree?limit=1000", "/api/perf/profiler/budgets",
        "/api/perf/profiler/spikes", "/api/perf/profiler/trace?seconds=0.01"}) {
    const phttp::Response res = f.handler.handle(make_request(bhttp::verb::get, target));
    INFO(target << " -> " << res.result_int());
    CHECK(strict_utf8(res.body()));
    boost::system::error_code ec;
    json::parse(res.body(), ec);
    CHECK(!ec);
  }
  const phttp::Response metrics =
      f.handler.handle(make_request(bhttp::verb::get, "/api/perf/metrics"));
  CHECK(metrics.result_int() == 200);
  CHECK(strict_utf8(metrics.body()));
  // One series per site: the two raw names that clean alike are one.
  const std::string series = "comfyvn_perf_span_calls_total{name=\"bad" + fffd + fffd +
                             "utf8\",category=\"hostile\"}";
  const std::size_t at = metrics.body().find(series);
  CHECK(at != std::string::npos);
  CHECK(metrics.body().find(series, at + 1) == std::string::npos);
  const std::string trace = p.capture_trace_text(std::chrono::milliseconds(1));
  CHECK(strict_utf8(trace));
  p.reset();
}

TEST_CASE("many long names: /metrics stays under the cap, the dashboard answers, scrapers share",
          "[http][robustness]") {
  Flags on(true);
  auto& p = comfyvn::perf::perf_profiler();
  p.reset();
  const std::string filler(1000, 'n');
  for (int i = 0; i < 2000; ++i) REQUIRE(p.record_span(std::to_string(i) + filler, "long", 1.0));
  phttp::Options o;
  o.max_response_bytes = 1 << 20;
  o.metrics_interval = std::chrono::seconds(30);
  Fixture f(o);

  // /metrics used to ignore the cap (120 MB with 5,000 such sites).
  const phttp::Response m = f.handler.handle(make_request(bhttp::verb::get, "/api/perf/metrics"));
  REQUIRE(m.result_int() == 200);
  CHECK(m.body().size() <= o.max_response_bytes);
  const std::size_t at = m.body().find("\ncomfyvn_perf_metrics_sites_omitted ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(m.body().substr(at + 36)) > 0);

  // The dashboard lists `limit` aggregates and says how many exist (it used
  // to answer only 422 "lower limit or marks").
  const Result d = call(f.handler, bhttp::verb::get, "/api/perf/profiler/dashboard?limit=5&marks=0");
  REQUIRE(d.status == 200);
  const auto& dash = d.body.at("dashboard").as_object();
  CHECK(dash.at("aggregates").as_array().size() == 5);
  CHECK(dash.at("aggregates_total").to_number<std::uint64_t>() == 2000);

  // Eight scrapers at once: one exposition is built, every one gets it.
  o.max_response_bytes += 1;  // other sources than the scrape above: a new build
  Fixture g(o);
  const std::uint64_t before = phttp::detail::shared_exposition().builds();
  std::vector<std::thread> scrapers;
  std::vector<std::size_t> sizes(8, 0);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    scrapers.emplace_back([&, i] {
      sizes[i] = g.handler.handle(make_request(bhttp::verb::get, "/api/perf/metrics")).body().size();
    });
  }
  for (auto& t : scrapers) t.join();
  CHECK(phttp::detail::shared_exposition().builds() - before == 1);
  for (std::size_t s : sizes) CHECK(s == sizes[0]);
  p.reset();
}
