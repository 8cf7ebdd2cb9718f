// Span and frame budgets: windows closed by the test (an injected clock),
// over_count against a known distribution, one hook event per transition,
// the config file (reload, bad entries), every 422 of the HTTP routes, spikes
// with their traces, the metrics, and 8 threads recording while budgets come
// and go.
#include <comfyvn_perf/http/handler.hpp>
#include <comfyvn_perf/os/log.hpp>
#include <comfyvn_perf/runtime/span_budget_config.hpp>
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace perf = comfyvn::perf;
namespace phttp = comfyvn::perf::http;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// The test closes every window itself: evaluation never runs on its own.
struct Judged {
  Judged() {
    ::setenv("COMFYVN_ENABLE_PERF", "1", 1);
    perf::feature_flags().reload();
    auto& p = perf::perf_profiler();
    p.set_enabled(true);
    p.reset();
    for (const auto& b : p.span_budgets()) p.remove_span_budget(b.name, b.category);
    p.set_span_budget_window(std::chrono::hours(1));
    p.close_span_budget_window();
  }
  ~Judged() {
    auto& p = perf::perf_profiler();
    for (const auto& b : p.span_budgets()) p.remove_span_budget(b.name, b.category);
    p.set_span_budget_window(1s);
    ::setenv("COMFYVN_ENABLE_PERF", "0", 1);
    perf::feature_flags().reload();
  }
};

perf::SpanBudgetState state_of(const std::string& name, const std::string& category = "") {
  for (const auto& b : perf::perf_profiler().span_budgets()) {
    if (b.name == name && b.category == category) return b;
  }
  FAIL("no budget " << name);
  return {};
}

phttp::Reply call(phttp::Method method, const std::string& target, const std::string& body = {}) {
  phttp::RequestView req;
  req.method = method;
  req.target = target;
  req.host = "127.0.0.1:8001";
  req.body = body;
  return phttp::handle(req, phttp::Options{});
}

json::object body_of(const phttp::Reply& r) { return json::parse(r.body).as_object(); }

}  // namespace

TEST_CASE("windows: p95 and max judged per window; ok, over, no_data", "[span_budgets]") {
  Judged judged;
  auto& p = perf::perf_profiler();
  REQUIRE(p.set_span_budget({"sb_p95", "t", 2.0, std::nullopt}).ok());
  REQUIRE(p.set_span_budget({"sb_max", "", std::nullopt, 5.0}).ok());
  CHECK(state_of("sb_p95", "t").state == "no_data");

  // Window 1: p95 of sb_p95 is 3 ms (over 2); sb_max stays under 5 ms.
  for (int i = 0; i < 100; ++i) p.record_span("sb_p95", "t", i < 90 ? 1.0 : 3.0);
  for (int i = 0; i < 10; ++i) p.record_span("sb_max", "any", 4.0);
  p.close_span_budget_window();
  auto b = state_of("sb_p95", "t");
  CHECK(b.state == "over");
  REQUIRE(b.observed_p95_ms);
  CHECK(*b.observed_p95_ms == Approx(3.0).epsilon(0.02));
  CHECK(state_of("sb_max").state == "ok");
  CHECK(*state_of("sb_max").observed_max_ms == Approx(4.0).epsilon(0.02));
  const double since = b.since;

  // Window 2: the category filter matters; sb_max is broken in "other".
  for (int i = 0; i < 100; ++i) p.record_span("sb_p95", "t", 1.0);
  for (int i = 0; i < 100; ++i) p.record_span("sb_p95", "not_t", 9.0);  // another site
  p.record_span("sb_max", "other", 6.0);
  p.close_span_budget_window();
  b = state_of("sb_p95", "t");
  CHECK(b.state == "ok");
  CHECK(b.since >= since);
  CHECK(state_of("sb_max").state == "over");  // no category: any category counts

  // Window 3: nothing recorded.
  p.close_span_budget_window();
  CHECK(state_of("sb_p95", "t").state == "no_data");
  CHECK_FALSE(state_of("sb_p95", "t").observed_p95_ms);
}

TEST_CASE("over_count against a known distribution", "[span_budgets]") {
  Judged judged;
  auto& p = perf::perf_profiler();
  REQUIRE(p.set_span_budget({"sb_count", "", std::nullopt, 2.0}).ok());
  // 1000 spans: 0.5, 1.5, 2.5, 3.5 ms in turn: half are over 2 ms.
  for (int i = 0; i < 1000; ++i) p.record_span("sb_count", "t", 0.5 + (i % 4));
  p.close_span_budget_window();
  CHECK(state_of("sb_count").over_count == 500);
  for (int i = 0; i < 10; ++i) p.record_span("sb_count", "t", 2.5);
  p.close_span_budget_window();
  CHECK(state_of("sb_count").over_count == 510);  // counted since the budget was set
}

TEST_CASE("exactly one hook event per transition", "[span_budgets][hooks]") {
  Judged judged;
  auto& p = perf::perf_profiler();
  std::mutex mu;
  std::vector<std::string> triggers;
  auto sub = perf::hooks().subscribe(std::string(perf::kProfilerEvent), [&](const json::object& e) {
    const std::string t(e.at("trigger").as_string());
    if (t.rfind("span_budget.", 0) != 0) return;
    CHECK(e.at("payload").as_object().contains("budget"));
    std::lock_guard<std::mutex> lock(mu);
    triggers.push_back(t);
  });
  REQUIRE(p.set_span_budget({"sb_events", "", 1.0, std::nullopt}).ok());
  const auto window = [&](double ms) {
    for (int i = 0; i < 20; ++i) p.record_span("sb_events", "t", ms);
    p.close_span_budget_window();
  };
  window(5);  // over: exceeded
  window(5);  // still over: nothing
  window(5);
  window(0.5);  // ok: recovered
  window(0.5);
  window(5);  // exceeded again
  p.close_span_budget_window();  // no data: recovered
  perf::hooks().flush();
  std::lock_guard<std::mutex> lock(mu);
  CHECK(triggers == std::vector<std::string>{"span_budget.exceeded", "span_budget.recovered",
                                             "span_budget.exceeded", "span_budget.recovered"});
  CHECK(state_of("sb_events").exceeded_total == 2);
}

TEST_CASE("the config file: budgets applied, bad entries named, reload on change",
          "[span_budgets][config]") {
  Judged judged;
  auto& p = perf::perf_profiler();
  char dir[] = "/tmp/comfyvn_sb_XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/comfyvn.json";
  std::vector<std::string> logged;
  std::mutex mu;
  perf::os::set_log_sink([&](perf::os::LogLevel, std::string_view m) {
    // Only this part's messages (the flags read the same file and speak too).
    if (m.find("span_budgets") == std::string_view::npos &&
        m.find("span budgets") == std::string_view::npos)
      return;
    std::lock_guard<std::mutex> lock(mu);
    logged.emplace_back(m);
  });
  const auto write = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  };
  write(R"json({"features": {"enable_perf": true},
            "perf": {"span_budgets": {
              "draw": {"p95_ms": 4},
              "(frame)": {"max_ms": 16.7},
              "upload": {"max_ms": 2, "category": "render"},
              "bad_number": {"p95_ms": -1},
              "bad_type": {"max_ms": "fast"},
              "bad_key": {"max_ms": 1, "p99_ms": 3},
              "empty": {},
              "not_object": 5}}})json");
  REQUIRE(p.set_span_budget({"from_api", "", 1.0, std::nullopt}).ok());
  perf::feature_flags().use_config_files({path, ""});
  perf::detail::runtime::span_budget_config().poll(p);

  CHECK(state_of("draw").p95_ms == 4.0);
  CHECK(state_of("(frame)").max_ms == 16.7);
  CHECK(state_of("upload", "render").max_ms == 2.0);
  CHECK(state_of("draw").from_config);
  CHECK_FALSE(state_of("from_api").from_config);
  CHECK(p.span_budgets().size() == 4);
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(logged.size() == 5);  // one clear message per bad entry
    std::string all;
    for (const auto& m : logged) all += m + "\n";
    for (const char* key : {"bad_number: p95_ms must be a number from 0.001",
                            "bad_type: max_ms must be a number from 0.001",
                            "bad_key: unknown key 'p99_ms'",
                            "empty: set p95_ms, max_ms or both", "not_object must be an object"}) {
      INFO(all);
      CHECK(all.find(key) != std::string::npos);
    }
    logged.clear();
  }

  // Unchanged file: nothing happens. Changed file: the file's budgets are
  // replaced; the API's stays.
  perf::detail::runtime::span_budget_config().poll(p);
  CHECK(logged.empty());
  write(R"({"perf": {"span_budgets": {"draw": {"p95_ms": 6, "max_ms": 10}}}})");
  perf::detail::runtime::span_budget_config().poll(p);
  CHECK(p.span_budgets().size() == 2);
  CHECK(state_of("draw").p95_ms == 6.0);
  CHECK(state_of("draw").max_ms == 10.0);
  CHECK(state_of("from_api").p95_ms == 1.0);

  // Broken JSON: one message, the file's budgets are cleared, nothing crashes.
  write("{ not json");
  perf::detail::runtime::span_budget_config().poll(p);
  CHECK(p.span_budgets().size() == 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    CHECK(logged.size() == 1);
    logged.clear();
  }

  // A hostile file: a key that would forge a log line, and thousands of bad
  // entries. Every message stays one line, at most ten are named per load,
  // and no more entries are read than the API keeps.
  {
    std::string text = R"({"perf": {"span_budgets": {"x\n[comfyvn_perf] error: forged": {"p95_ms": -1})";
    for (int i = 0; i < 2000; ++i) text += ",\"bad" + std::to_string(i) + "\": {\"p95_ms\": -1}";
    write(text + "}}}");
  }
  perf::detail::runtime::span_budget_config().poll(p);
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(logged.size() == 11);
    for (const auto& m : logged) CHECK(m.find('\n') == std::string::npos);
    CHECK(logged[0].find("x\\n[comfyvn_perf] error: forged") != std::string::npos);
    // 256 entries read (each bad), the cap's own message: 247 more than ten.
    CHECK(logged.back().find("and 247 more problems") != std::string::npos);
  }
  perf::os::set_log_sink({});
  perf::feature_flags().use_default_config_files();
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST_CASE("HTTP: GET, set and remove, with a 422 for every bad field", "[span_budgets][http]") {
  Judged judged;
  const phttp::Method post = phttp::Method::post;
  phttp::Reply r = call(post, "/api/perf/profiler/budgets/set",
                        R"({"name":"draw","category":"render","p95_ms":4,"max_ms":8})");
  REQUIRE(r.status == phttp::StatusCode::ok);
  const auto b = body_of(r).at("budget").as_object();
  for (const char* k : {"name", "category", "p95_ms", "max_ms", "observed_p95_ms",
                        "observed_max_ms", "over_count", "state", "since"}) {
    INFO(k);
    CHECK(b.contains(k));
  }
  CHECK(b.at("state").as_string() == "no_data");

  struct Bad {
    std::string body;
    const char* detail_starts;
  };
  for (const Bad& bad : std::vector<Bad>{
           {R"({})", "name"},
           {R"({"name":""})", "name"},
           {R"({"name":5,"p95_ms":1})", "name"},
           {std::string(R"({"p95_ms":1,"name":")") + std::string(129, 'n') + "\"}", "name"},
           {R"({"name":"x","category":"","p95_ms":1})", "category"},
           {std::string(R"({"name":"x","p95_ms":1,"category":")") + std::string(65, 'c') + "\"}",
            "category"},
           {R"({"name":"x","p95_ms":0})", "p95_ms"},
           {R"({"name":"x","p95_ms":-2})", "p95_ms"},
           {R"({"name":"x","p95_ms":"4"})", "p95_ms"},
           {R"({"name":"x","max_ms":0})", "max_ms"},
           // Shorter than a microsecond: never judged, so refused (it was
           // taken as "no maximum" and stayed ok while frames took 76 ms).
           {R"({"name":"x","max_ms":1e-9})", "max_ms"},
           {R"({"name":"x","p95_ms":0.0005})", "p95_ms"},
           // Refused in the config file, so refused here (one reader for both).
           {R"({"name":"x","p95_ms":1,"colour":"red"})", "unknown key 'colour'"},
           {R"({"name":"x","max_ms":null})", "set p95_ms"},  // null is absent
           {R"({"name":"x"})", "set p95_ms"},
       }) {
    INFO(bad.body);
    r = call(post, "/api/perf/profiler/budgets/set", bad.body);
    CHECK(r.status == phttp::StatusCode::unprocessable_entity);
    CHECK(std::string(body_of(r).at("detail").as_string()).rfind(bad.detail_starts, 0) == 0);
    // Every 422 names its field, as docs/http_api.md promises.
    REQUIRE(body_of(r).contains("field"));
    const std::string field(body_of(r).at("field").as_string());
    CHECK((std::string(bad.detail_starts).find(field) != std::string::npos ||
           field == "colour"));
  }
  // The cap: 256 budgets, then 422.
  for (std::size_t i = perf::perf_profiler().span_budgets().size(); i < perf::kMaxSpanBudgets; ++i) {
    REQUIRE(perf::perf_profiler().set_span_budget({"cap_" + std::to_string(i), "", 1.0, {}}).ok());
  }
  r = call(post, "/api/perf/profiler/budgets/set", R"({"name":"one_too_many","p95_ms":1})");
  CHECK(r.status == phttp::StatusCode::unprocessable_entity);
  CHECK(body_of(r).at("detail").as_string() == "at most 256 span budgets");
  // Replacing an existing one is not adding.
  r = call(post, "/api/perf/profiler/budgets/set",
           R"({"name":"draw","category":"render","p95_ms":5})");
  CHECK(r.status == phttp::StatusCode::ok);

  r = call(phttp::Method::get, "/api/perf/profiler/budgets");
  REQUIRE(r.status == phttp::StatusCode::ok);
  CHECK(body_of(r).at("budgets").as_array().size() == perf::kMaxSpanBudgets);

  r = call(post, "/api/perf/profiler/budgets/remove", R"({"name":"draw","category":"render"})");
  CHECK(body_of(r).at("removed").as_bool());
  r = call(post, "/api/perf/profiler/budgets/remove", R"({"name":"draw","category":"render"})");
  CHECK_FALSE(body_of(r).at("removed").as_bool());
  r = call(post, "/api/perf/profiler/budgets/remove", R"({"category":"render"})");
  CHECK(r.status == phttp::StatusCode::unprocessable_entity);
  r = call(post, "/api/perf/profiler/budgets/remove", R"({"name":"x","category":""})");
  CHECK(r.status == phttp::StatusCode::unprocessable_entity);
}

TEST_CASE("spikes: frames over the frame budget keep every thread's spans", "[span_budgets][spikes]") {
  Judged judged;
  auto& p = perf::perf_profiler();
  p.set_max_spikes(3);
  REQUIRE(p.set_span_budget({"(frame)", "", std::nullopt, 15.0}).ok());
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    perf::set_thread_name("spike worker");
    while (!stop.load()) {
      PERF_SCOPE("spike_side_work", "t");
      std::this_thread::sleep_for(2ms);
    }
  });
  for (int f = 0; f < 12; ++f) {
    {
      PERF_SCOPE("spike_frame", "t");
      std::this_thread::sleep_for(f % 3 == 2 ? 30ms : 2ms);
    }
    PERF_FRAME();
    p.close_span_budget_window();
  }
  stop = true;
  worker.join();
  p.close_span_budget_window();
  p.close_span_budget_window();
  const auto spikes = p.spikes();
  REQUIRE(spikes.size() == 3);  // four slow frames, the newest three kept
  CHECK(spikes[0].id > spikes[1].id);
  for (const auto& s : spikes) {
    CHECK(s.frame_ms > 15.0);
    CHECK(s.budget_ms == 15.0);
    CHECK(s.spans >= 3);
  }
  const auto trace = p.spike_trace_text(spikes[0].id);
  REQUIRE(trace);
  const auto doc = json::parse(*trace).as_object();
  bool side = false, frame = false;
  for (const auto& e : doc.at("traceEvents").as_array()) {
    const auto& o = e.as_object();
    if (o.at("ph") != "X") continue;
    side |= o.at("name") == "spike_side_work";
    frame |= o.at("name") == "spike_frame";
  }
  CHECK(side);  // another thread's spans within the frame
  CHECK(frame);
  CHECK_FALSE(p.spike_trace_text(999999));

  phttp::Reply r = call(phttp::Method::get, "/api/perf/profiler/spikes");
  REQUIRE(r.status == phttp::StatusCode::ok);
  CHECK(body_of(r).at("spikes").as_array().size() == 3);
  r = call(phttp::Method::get, "/api/perf/profiler/spikes?id=" + std::to_string(spikes[1].id));
  REQUIRE(r.status == phttp::StatusCode::ok);
  CHECK(body_of(r).contains("traceEvents"));
  r = call(phttp::Method::get, "/api/perf/profiler/spikes?id=999999");
  CHECK(r.status == phttp::StatusCode::not_found);
  r = call(phttp::Method::get, "/api/perf/profiler/spikes?id=abc");
  CHECK(r.status == phttp::StatusCode::unprocessable_entity);

  // The metrics carry the budget states.
  const std::string text = perf::prometheus_text(p, perf::budget_manager(), perf::feature_flags());
  CHECK(text.find("comfyvn_perf_span_budget_over{name=\"(frame)\",category=\"\"} ") !=
        std::string::npos);
  CHECK(text.find("# TYPE comfyvn_perf_span_budget_exceeded_total counter") != std::string::npos);
  // And their limits, in seconds: only the ones the budget sets.
  CHECK(text.find("# TYPE comfyvn_perf_span_budget_limit_seconds gauge") != std::string::npos);
  CHECK(text.find("comfyvn_perf_span_budget_limit_seconds{name=\"(frame)\",category=\"\","
                  "limit=\"max\"} 0.015\n") != std::string::npos);
  CHECK(text.find("comfyvn_perf_span_budget_limit_seconds{name=\"(frame)\",category=\"\","
                  "limit=\"p95\"}") == std::string::npos);
  p.set_max_spikes(8);
}

TEST_CASE("8 threads record while budgets are set, removed and judged", "[span_budgets][concurrency]") {
  Judged judged;
  auto& p = perf::perf_profiler();
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string name = "mt_budget_" + std::to_string(t % 4);
      while (!stop.load()) {
        PERF_SCOPE_DYN(std::string_view(name), "mt");
        { PERF_SCOPE("mt_budget_inner", "mt"); }
        PERF_FRAME();
        std::this_thread::sleep_for(50us);
      }
    });
  }
  for (int round = 0; round < 50; ++round) {
    const std::string name = "mt_budget_" + std::to_string(round % 4);
    REQUIRE(p.set_span_budget({name, "", 0.001, 0.01}).ok());
    if (round % 5 == 0) REQUIRE(p.set_span_budget({"(frame)", "", std::nullopt, 0.01}).ok());
    p.close_span_budget_window();
    (void)p.span_budgets();
    (void)p.spikes();
    if (round % 3 == 0) p.remove_span_budget(name);
    if (round % 7 == 0) p.remove_span_budget("(frame)");
  }
  stop = true;
  for (auto& th : threads) th.join();
  p.close_span_budget_window();
  for (const auto& b : p.span_budgets()) CHECK((b.state == "ok" || b.state == "over" || b.state == "no_data"));
}
