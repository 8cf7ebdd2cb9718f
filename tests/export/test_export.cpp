// Exports: the Prometheus exposition (escaping, histogram invariants, exact
// counts, the flags-off and token rules) and trace captures (nesting on every
// thread, thread names, marks and counters, threads that start and exit
// during a capture, the buffer bound, the 409 and 422 answers). The real
// tools (promtool, a Prometheus server, speedscope) check the same output in
// tests/tools/.
#include <comfyvn_perf/http/handler.hpp>
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>  // unlink, rmdir

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace perf = comfyvn::perf;
namespace phttp = comfyvn::perf::http;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// COMFYVN_ENABLE_PERF overrides the config file; reload() applies it now.
struct FlagsOn {
  explicit FlagsOn(bool on = true) { set(on); }
  ~FlagsOn() { set(false); }
  static void set(bool on) {
    ::setenv("COMFYVN_ENABLE_PERF", on ? "1" : "0", 1);
    perf::feature_flags().reload();
    REQUIRE(perf::feature_flags().profiler_enabled() == on);
  }
};

phttp::Reply get(const std::string& target, const phttp::Options& options = {},
                 std::string_view authorization = {}) {
  phttp::RequestView req;
  req.method = phttp::Method::get;
  req.target = target;
  req.host = "127.0.0.1:8001";
  req.authorization = authorization;
  return phttp::handle(req, options);
}

// ---- a strict reader of the exposition format ----

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
struct Family {
  std::string type;
  bool help = false;
  std::vector<Sample> samples;
};

// Undoes the label escaping; fails on an escape the format does not define.
std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    REQUIRE(i + 1 < s.size());
    const char c = s[++i];
    REQUIRE((c == '\\' || c == '"' || c == 'n'));
    out += c == 'n' ? '\n' : c;
  }
  return out;
}

// The family a sample belongs to: histograms own _bucket, _sum and _count.
std::string family_of(const std::string& sample, const std::map<std::string, Family>& families) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string sfx(suffix);
    if (sample.size() > sfx.size() && sample.compare(sample.size() - sfx.size(), sfx.size(), sfx) == 0) {
      const std::string base = sample.substr(0, sample.size() - sfx.size());
      auto it = families.find(base);
      if (it != families.end() && it->second.type == "histogram") return base;
    }
  }
  return sample;
}

// Parses the whole text, checking that each family is one contiguous block
// opened by its HELP and TYPE lines.
std::map<std::string, Family> parse_exposition(const std::string& text) {
  std::map<std::string, Family> families;
  std::set<std::string> closed;
  std::string current;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    REQUIRE(eol != std::string::npos);  // every line ends with a newline
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    INFO(line);
    REQUIRE_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      if (name != current) {
        if (!current.empty()) closed.insert(current);
        REQUIRE(closed.count(name) == 0);  // a family appears once
        current = name;
      }
      if (line[2] == 'H') {
        families[name].help = true;
      } else {
        families[name].type = rest.substr(name.size() + 1);
      }
      continue;
    }
    Sample s;
    std::size_t i = line.find_first_of("{ ");
    REQUIRE(i != std::string::npos);
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        const std::size_t eq = line.find("=\"", i);
        REQUIRE(eq != std::string::npos);
        const std::string key = line.substr(i, eq - i);
        std::size_t j = eq + 2;
        std::string raw;
        while (line[j] != '"') {
          if (line[j] == '\\') raw += line[j++];
          raw += line[j++];
        }
        REQUIRE(s.labels.emplace(key, unescape(raw)).second);
        i = j + 1;
        if (line[i] == ',') ++i;
      }
      ++i;
    }
    REQUIRE(line[i] == ' ');
    const std::string value = line.substr(i + 1);
    s.value = value == "+Inf" ? INFINITY : std::stod(value);
    const std::string fam = family_of(s.name, families);
    REQUIRE(fam == current);  // inside its own block
    REQUIRE(families[fam].help);
    REQUIRE_FALSE(families[fam].type.empty());
    families[fam].samples.push_back(std::move(s));
  }
  return families;
}

std::string key_of(const Sample& s) {
  auto it = s.labels.find("name");
  return it == s.labels.end() ? "" : it->second + "\x1f" + s.labels.at("category");
}

// Histogram invariants: for every series, buckets in the same ascending
// `le` order, cumulative, +Inf == _count.
void check_histogram(const Family& f, std::vector<std::string>& les_seen) {
  std::map<std::string, std::vector<const Sample*>> buckets;
  std::map<std::string, double> counts;
  for (const Sample& s : f.samples) {
    if (s.name.size() > 7 && s.name.compare(s.name.size() - 7, 7, "_bucket") == 0) {
      buckets[key_of(s)].push_back(&s);
    } else if (s.name.size() > 6 && s.name.compare(s.name.size() - 6, 6, "_count") == 0) {
      counts[key_of(s)] = s.value;
    }
  }
  REQUIRE(buckets.size() == counts.size());
  for (const auto& [key, list] : buckets) {
    INFO("series " << key);
    std::vector<std::string> les;
    double prev = -1, prev_le = -1;
    for (const Sample* b : list) {
      const std::string le = b->labels.at("le");
      les.push_back(le);
      const double bound = le == "+Inf" ? INFINITY : std::stod(le);
      CHECK(bound > prev_le);
      CHECK(b->value >= prev);  // cumulative
      prev = b->value;
      prev_le = bound;
    }
    REQUIRE_FALSE(les.empty());
    CHECK(les.back() == "+Inf");
    CHECK(list.back()->value == counts.at(key));
    if (les_seen.empty()) les_seen = les;
    CHECK(les == les_seen);  // the same boundaries everywhere
  }
}

}  // namespace

TEST_CASE("label values and JSON strings are escaped; bad UTF-8 becomes U+FFFD", "[export]") {
  std::string out;
  perf::os::append_label_escaped(out, "a\\b\"c\nd\te");
  CHECK(out == "a\\\\b\\\"c\\nd\te");
  out.clear();
  perf::os::append_label_escaped(out, std::string("x\xff" "y\xc3\xa9z\xe2\x82", 8));
  CHECK(out == "x\xEF\xBF\xBDy\xc3\xa9z\xEF\xBF\xBD\xEF\xBF\xBD");
  out.clear();
  perf::os::append_json_escaped(out, std::string("q\"b\\n\n\x01\x7f", 8));
  CHECK(out == "q\\\"b\\\\n\\n\\u0001\x7f");
  CHECK(json::parse("\"" + out + "\"").as_string() == std::string("q\"b\\n\n\x01\x7f", 8));
}

TEST_CASE("the exposition: exact counts, histogram invariants, escaped labels", "[export]") {
  FlagsOn on;
  auto& p = perf::perf_profiler();
  p.reset();
  const std::string odd = "we\"ird\\name\nwith lines";
  // Known durations: 10 x 3 us, 5 x 30 us, 2 x 3 ms on one site.
  for (int i = 0; i < 10; ++i) REQUIRE(p.record_span("known", "test", 0.003));
  for (int i = 0; i < 5; ++i) REQUIRE(p.record_span("known", "test", 0.030));
  for (int i = 0; i < 2; ++i) REQUIRE(p.record_span("known", "test", 3.0));
  for (int i = 0; i < 7; ++i) REQUIRE(p.record_span(odd, "cat\"q", 0.5));
  for (int f = 0; f < 4; ++f) {
    PERF_SCOPE("framed", "test");
    std::this_thread::sleep_for(1ms);
    PERF_FRAME();
  }

  perf::PrometheusSources src;
  src.feature_flag = true;
  src.profiler = &p;
  src.budgets = &perf::budget_manager();
  const std::string text = perf::prometheus_text(src);
  const auto families = parse_exposition(text);

  for (const char* name :
       {"comfyvn_perf_build_info", "comfyvn_perf_feature_flag", "comfyvn_perf_span_calls_total",
        "comfyvn_perf_span_seconds_total", "comfyvn_perf_span_duration_seconds",
        "comfyvn_perf_frame_duration_seconds", "comfyvn_perf_spans_dropped_total",
        "comfyvn_perf_marks_total", "comfyvn_perf_jobs", "comfyvn_perf_assets_loaded_bytes",
        "comfyvn_perf_host_cpu_ratio", "comfyvn_perf_host_memory_used_bytes"}) {
    INFO(name);
    CHECK(families.count(name) == 1);
  }
  CHECK(families.at("comfyvn_perf_span_calls_total").type == "counter");
  CHECK(families.at("comfyvn_perf_span_duration_seconds").type == "histogram");
  CHECK(families.at("comfyvn_perf_jobs").type == "gauge");

  // Counts and totals are the dashboard's exact numbers.
  std::map<std::string, perf::Aggregate> rows;
  for (auto& a : p.aggregates()) rows[a.name + "\x1f" + a.category] = a;
  const auto& calls = families.at("comfyvn_perf_span_calls_total").samples;
  REQUIRE(calls.size() == rows.size());
  for (const Sample& s : calls) {
    INFO(key_of(s));
    REQUIRE(rows.count(key_of(s)) == 1);
    CHECK(s.value == static_cast<double>(rows.at(key_of(s)).count));
  }
  for (const Sample& s : families.at("comfyvn_perf_span_seconds_total").samples) {
    CHECK(s.value == Approx(rows.at(key_of(s)).total_ms / 1000.0).epsilon(1e-9));
  }
  // The odd name survived the round trip, its newline cleaned at interning
  // (a control character becomes U+FFFD).
  CHECK(rows.count("we\"ird\\name\xEF\xBF\xBDwith lines\x1f" "cat\"q") == 1);

  std::vector<std::string> les;
  check_histogram(families.at("comfyvn_perf_span_duration_seconds"), les);
  CHECK(les.size() == perf::prometheus_duration_bounds().size() + 1);
  std::vector<std::string> frame_les = les;
  check_histogram(families.at("comfyvn_perf_frame_duration_seconds"), frame_les);
  CHECK(families.at("comfyvn_perf_frame_duration_seconds").samples.back().value == 3);

  // The known site's buckets land where its durations are.
  std::map<std::string, double> known;
  for (const Sample& s : families.at("comfyvn_perf_span_duration_seconds").samples) {
    if (key_of(s) == "known\x1ftest" && s.labels.count("le")) known[s.labels.at("le")] = s.value;
  }
  CHECK(known.at("2.5e-06") == 0);
  CHECK(known.at("5e-06") == 10);
  CHECK(known.at("2.5e-05") == 10);
  CHECK(known.at("5e-05") == 15);
  CHECK(known.at("0.0025") == 15);
  CHECK(known.at("0.005") == 17);
  CHECK(known.at("+Inf") == 17);
}

TEST_CASE("GET /metrics: content type, flags off, token", "[export][http]") {
  SECTION("flags off: 200 with only the flag and the build info") {
    FlagsOn off(false);
    const phttp::Reply r = get("/api/perf/metrics");
    CHECK(r.status == phttp::StatusCode::ok);
    CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
    const auto families = parse_exposition(r.body);
    CHECK(families.size() == 2);
    REQUIRE(families.count("comfyvn_perf_feature_flag") == 1);
    CHECK(families.at("comfyvn_perf_feature_flag").samples.at(0).value == 0);
    REQUIRE(families.count("comfyvn_perf_build_info") == 1);
    CHECK(families.at("comfyvn_perf_build_info").samples.at(0).labels.at("version") ==
          COMFYVN_PERF_VERSION);
  }
  SECTION("flags on: the whole exposition") {
    FlagsOn on;
    const phttp::Reply r = get("/api/perf/metrics");
    CHECK(r.status == phttp::StatusCode::ok);
    const auto families = parse_exposition(r.body);
    CHECK(families.at("comfyvn_perf_feature_flag").samples.at(0).value == 1);
    CHECK(families.count("comfyvn_perf_span_duration_seconds") == 1);
  }
  SECTION("with a token, the bearer rule applies") {
    FlagsOn on;
    phttp::Options o;
    o.token = "scrape-secret";
    CHECK(get("/api/perf/metrics", o).status == phttp::StatusCode::unauthorized);
    CHECK(get("/api/perf/metrics", o, "Bearer wrong").status == phttp::StatusCode::unauthorized);
    const phttp::Reply r = get("/api/perf/metrics", o, "Bearer scrape-secret");
    CHECK(r.status == phttp::StatusCode::ok);
    CHECK(r.body.rfind("# HELP", 0) == 0);
  }
}

// ---- traces ----

namespace {

struct Event {
  std::string ph, name;
  std::uint64_t tid = 0;
  double ts = 0, dur = 0;
};

std::vector<Event> events_of(const json::object& trace) {
  std::vector<Event> out;
  for (const auto& v : trace.at("traceEvents").as_array()) {
    const auto& o = v.as_object();
    Event e;
    e.ph = std::string(o.at("ph").as_string());
    e.name = std::string(o.at("name").as_string());
    if (o.contains("tid")) e.tid = o.at("tid").to_number<std::uint64_t>();
    if (o.contains("ts")) e.ts = o.at("ts").to_number<double>();
    if (o.contains("dur")) e.dur = o.at("dur").to_number<double>();
    if (e.ph != "M") CHECK(o.contains("ts"));
    out.push_back(std::move(e));
  }
  return out;
}

// As a viewer builds stacks: on each tid, sorted by start, every slice
// either starts after the top ends or ends strictly before it does; siblings
// and parents never share an edge. Doubles, as JavaScript computes them.
void check_nesting(const std::vector<Event>& events) {
  std::map<std::uint64_t, std::vector<const Event*>> tracks;
  for (const Event& e : events) {
    if (e.ph == "X") tracks[e.tid].push_back(&e);
  }
  for (auto& [tid, list] : tracks) {
    INFO("tid " << tid);
    std::stable_sort(list.begin(), list.end(), [](const Event* a, const Event* b) {
      return a->ts != b->ts ? a->ts < b->ts : a->dur > b->dur;
    });
    std::vector<const Event*> stack;
    double last_end = -1;
    for (const Event* e : list) {
      CHECK(e->dur >= 0);
      while (!stack.empty() && stack.back()->ts + stack.back()->dur < e->ts) {
        last_end = stack.back()->ts + stack.back()->dur;
        stack.pop_back();
      }
      CHECK(e->ts > last_end);  // never on a sibling's edge
      if (!stack.empty()) {
        INFO(e->name << " in " << stack.back()->name);
        CHECK(e->ts > stack.back()->ts);
        CHECK(e->ts + e->dur < stack.back()->ts + stack.back()->dur);
      }
      stack.push_back(e);
      last_end = -1;
    }
  }
}

}  // namespace

TEST_CASE("nesting: touching siblings and children are moved by a nanosecond", "[export][trace]") {
  using perf::detail::TraceSlice;
  std::vector<TraceSlice> in = {
      {5, 1, 0, 100},   // parent
      {6, 1, 0, 40},    // child sharing the parent's start
      {7, 1, 40, 100},  // child touching the sibling and ending with the parent
      {8, 1, 50, 150},  // overlaps the parent's end: cannot nest
  };
  std::vector<TraceSlice> out;
  std::vector<TraceSlice> rest = perf::detail::nest_track(in, out, false);
  REQUIRE(out.size() == 3);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].site == 8);
  CHECK(out[0].start == 0);
  CHECK(out[0].end == 100);
  CHECK(out[1].start == 1);  // after the parent's start
  CHECK(out[1].end == 40);
  CHECK(out[2].start == 41);  // after the sibling's end
  CHECK(out[2].end == 99);    // before the parent's end
  std::vector<TraceSlice> forced;
  perf::detail::nest_track(rest, forced, true);
  CHECK(forced.size() == 1);
}

TEST_CASE("a capture: nested spans on every thread, names, marks, counters, exiting threads",
          "[export][trace][concurrency]") {
  FlagsOn on;
  auto& p = perf::perf_profiler();
  p.set_trace_counter_source([](std::vector<std::pair<std::string, double>>& out) {
    out.emplace_back("test_counter", 42.0);
  });
  perf::set_thread_name("capture main");

  std::atomic<bool> stop{false};
  std::atomic<int> started{0};
  auto work = [&](int id) {
    perf::set_thread_name("worker \"" + std::to_string(id) + "\"");
    ++started;
    for (int i = 0; i < 40 && !stop.load(); ++i) {
      PERF_SCOPE("outer", "trace_test");
      {
        PERF_SCOPE("inner", "trace_test");
        { PERF_SCOPE("leaf", "trace_test"); }
        { PERF_SCOPE("leaf", "trace_test"); }
      }
      std::this_thread::sleep_for(1ms);
    }
  };
  std::string text;
  std::thread capture([&] { text = p.capture_trace_text(600ms); });
  std::this_thread::sleep_for(50ms);  // the capture has begun
  std::vector<std::thread> threads;
  for (int wave = 0; wave < 2; ++wave) {  // threads start and exit during the capture
    for (int i = 0; i < 4; ++i) threads.emplace_back(work, wave * 4 + i);
    std::this_thread::sleep_for(150ms);
    p.mark("wave", "trace_test");
  }
  for (auto& t : threads) t.join();
  stop = true;
  capture.join();

  const json::object trace = json::parse(text).as_object();
  CHECK(trace.at("displayTimeUnit").as_string() == "ms");
  const auto& other = trace.at("otherData").as_object();
  CHECK(other.at("version").as_string() == COMFYVN_PERF_VERSION);
  CHECK(other.at("dropped").to_number<std::uint64_t>() == 0);
  CHECK(other.at("seconds").to_number<double>() == Approx(0.6).margin(0.2));
  const auto events = events_of(trace);
  check_nesting(events);

  std::size_t complete = 0, instants = 0, counters = 0;
  std::map<std::uint64_t, std::string> names;
  std::set<std::uint64_t> tids;
  for (const Event& e : events) {
    if (e.ph == "X") {
      ++complete;
      tids.insert(e.tid);
    }
    instants += e.ph == "i" && e.name == "wave";
    counters += e.ph == "C" && e.name == "test_counter";
  }
  for (const auto& v : trace.at("traceEvents").as_array()) {
    const auto& o = v.as_object();
    if (o.at("ph") == "M" && o.at("name") == "thread_name") {
      names[o.at("tid").to_number<std::uint64_t>()] =
          std::string(o.at("args").at("name").as_string());
    }
  }
  CHECK(other.at("spans").to_number<std::size_t>() == complete);
  CHECK(instants == 2);
  CHECK(counters >= 3);  // sampled every 100 ms
  // 8 workers x 40 iterations x 4 spans, all ended inside the window.
  std::size_t worker_spans = 0;
  std::set<std::string> worker_names;
  for (std::uint64_t tid : tids) {
    INFO("tid " << tid);
    REQUIRE(names.count(tid) == 1);  // every track is named
    if (names[tid].rfind("worker \"", 0) == 0) worker_names.insert(names[tid]);
  }
  for (const Event& e : events) worker_spans += e.ph == "X" && names[e.tid].rfind("worker", 0) == 0;
  CHECK(worker_names.size() == 8);  // exited threads keep their names
  CHECK(worker_spans == 8 * 40 * 4);
  p.set_trace_counter_source({});
}

TEST_CASE("one capture at a time; the buffer bound counts what it drops", "[export][trace]") {
  FlagsOn on;
  auto& p = perf::perf_profiler();
  SECTION("a second capture is refused, in C++ and over HTTP (409)") {
    std::thread first([&] { p.capture_trace_text(500ms); });
    std::this_thread::sleep_for(100ms);
    CHECK_THROWS_AS(p.capture_trace_text(100ms), perf::TraceBusy);
    const phttp::Reply r = get("/api/perf/profiler/trace?seconds=0.1");
    CHECK(r.status == phttp::StatusCode::conflict);
    CHECK(json::parse(r.body).at("detail").as_string() == "a trace capture is already running");
    first.join();
    CHECK_NOTHROW(p.capture_trace_text(10ms));  // free again
  }
  SECTION("spans past max_spans count as dropped") {
    std::thread rec([] {
      for (int i = 0; i < 100; ++i) {
        PERF_SCOPE("bounded", "trace_test");
        std::this_thread::sleep_for(100us);
      }
    });
    std::this_thread::sleep_for(1ms);
    std::string text;
    std::thread capture([&] { text = p.capture_trace_text(200ms, 10); });
    rec.join();
    capture.join();
    const auto trace = json::parse(text).as_object();
    const auto& other = trace.at("otherData").as_object();
    CHECK(other.at("spans").to_number<std::size_t>() <= 10);
    CHECK(other.at("spans").to_number<std::size_t>() + other.at("dropped").to_number<std::size_t>() >=
          50);
  }
}

TEST_CASE("GET /profiler/trace: seconds 0.1-30 else 422; 403 while the profiler is off",
          "[export][trace][http]") {
  {
    FlagsOn off(false);
    CHECK(get("/api/perf/profiler/trace?seconds=1").status == phttp::StatusCode::forbidden);
  }
  FlagsOn on;
  for (const char* bad : {"0.05", "31", "abc", "-1", "1e1", "", "0x10", "1.2.3", ".", "nan",
                          "30.0001", "0.0999"}) {
    INFO(bad);
    const phttp::Reply r = get(std::string("/api/perf/profiler/trace?seconds=") + bad);
    CHECK(r.status == phttp::StatusCode::unprocessable_entity);
    CHECK(std::string(json::parse(r.body).at("detail").as_string()) ==
          "seconds must be a number from 0.1 to 30");
  }
  // An adapter may allow shorter captures only.
  phttp::Options short_captures;
  short_captures.max_trace_seconds = 1;
  const phttp::Reply too_long = get("/api/perf/profiler/trace?seconds=2", short_captures);
  CHECK(too_long.status == phttp::StatusCode::unprocessable_entity);
  CHECK(std::string(json::parse(too_long.body).at("detail").as_string()) ==
        "seconds must be a number from 0.1 to 1");
  const phttp::Reply r = get("/api/perf/profiler/trace?seconds=0.1");
  REQUIRE(r.status == phttp::StatusCode::ok);
  CHECK(r.content_type.empty());  // application/json
  const auto trace = json::parse(r.body).as_object();
  CHECK(trace.at("otherData").at("seconds").to_number<double>() == Approx(0.1).margin(0.05));
}

TEST_CASE("a trace recorder keeps the newest window; write_trace writes a whole file",
          "[export][trace]") {
  FlagsOn on;
  auto& p = perf::perf_profiler();
  auto rec = p.trace_recorder(150ms);
  REQUIRE(rec.active());
  { PERF_SCOPE("old_span", "trace_test"); }
  std::this_thread::sleep_for(300ms);
  { PERF_SCOPE("new_span", "trace_test"); }
  const auto events = events_of(json::parse(rec.text()).as_object());
  bool old_seen = false, new_seen = false;
  for (const Event& e : events) {
    old_seen |= e.name == "old_span";
    new_seen |= e.name == "new_span";
  }
  CHECK_FALSE(old_seen);
  CHECK(new_seen);
  rec.stop();
  CHECK_FALSE(rec.active());

  char dir[] = "/tmp/comfyvn_trace_XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/t.json";
  CHECK(p.write_trace(path, 50ms).empty());
  const perf::os::FileRead f = perf::os::read_file(path, 64 << 20);
  REQUIRE(f.status == perf::os::FileRead::ok);
  CHECK(json::parse(f.text).as_object().contains("traceEvents"));
  // Nothing can be written under /proc: an error, and no file.
  CHECK_FALSE(p.write_trace("/proc/comfyvn_perf_no_such_dir/t.json", 10ms).empty());
  ::unlink(path.c_str());
  ::rmdir(dir);
}
