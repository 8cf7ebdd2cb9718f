// PerfProfiler: the JSON shapes of the contract, marks, frames, record_span.
#include <comfyvn_perf/profiler.hpp>
#include <comfyvn_perf/os/time.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

using comfyvn::perf::perf_profiler;
namespace json = boost::json;

namespace {
struct Enabled {
  Enabled() {
    perf_profiler().set_enabled(true);
    perf_profiler().reset();
  }
  ~Enabled() { perf_profiler().set_enabled(false); }
};
void spin_for(std::chrono::microseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}
}  // namespace

TEST_CASE("dashboard has the contract's shape and ordering", "[profiler]") {
  Enabled on;
  for (int i = 0; i < 3; ++i) {
    PERF_SCOPE("slow", "render");
    spin_for(std::chrono::microseconds(2000));
  }
  for (int i = 0; i < 10; ++i) {
    PERF_SCOPE("fast", "update");
    spin_for(std::chrono::microseconds(50));
  }
  auto& p = perf_profiler();
  p.mark("checkpoint", "demo", {{"frame", 1}});
  const json::object d = p.dashboard(5);
  for (const char* k :
       {"top_time", "top_memory", "aggregates", "categories", "marks", "timestamp"}) {
    INFO(k);
    REQUIRE(d.contains(k));
  }
  const auto& top = d.at("top_time").as_array();
  REQUIRE(top.size() == 2);
  REQUIRE(top[0].at("name").as_string() == "slow");
  for (const char* k :
       {"name", "category", "count", "total_ms", "avg_ms", "max_ms", "min_ms", "p50_ms", "p95_ms",
        "p99_ms", "total_kb", "max_kb", "avg_kb", "last_timestamp"}) {
    INFO(k);
    REQUIRE(top[0].as_object().contains(k));
  }
  const auto& slow = top[0].as_object();
  CHECK(slow.at("count").to_number<int>() == 3);
  CHECK(slow.at("avg_ms").to_number<double>() >= 1.9);
  CHECK(slow.at("avg_ms").to_number<double>() < 50.0);
  // The median lies within the spans' range (histogram buckets are within
  // about 3%); unlike the mean, one preempted span cannot move it far.
  CHECK(slow.at("p50_ms").to_number<double>() >= 1.9);
  CHECK(slow.at("p50_ms").to_number<double>() <= slow.at("max_ms").to_number<double>() * 1.03);
  CHECK(slow.at("min_ms").to_number<double>() >= 1.9);
  CHECK(slow.at("min_ms").to_number<double>() <= slow.at("p50_ms").to_number<double>() * 1.03);
  const double now = comfyvn::perf::os::epoch_now();
  CHECK(slow.at("last_timestamp").to_number<double>() <= now + 1);
  CHECK(slow.at("last_timestamp").to_number<double>() >= now - 60);
  REQUIRE(d.at("marks").as_array().size() == 1);
  CHECK(d.at("marks").as_array()[0].at("metadata").at("frame").to_number<int>() == 1);
  CHECK(d.at("categories").as_object().contains("render"));
  CHECK(d.at("categories").at("update").at("count").to_number<int>() == 10);
  // limit
  REQUIRE(p.dashboard(1).at("top_time").as_array().size() == 1);
}

TEST_CASE("health counts every span since reset", "[profiler]") {
  Enabled on;
  auto& p = perf_profiler();
  for (int i = 0; i < 1000; ++i) {
    PERF_SCOPE("h", "x");
  }
  p.mark("m");
  const json::object h = p.health(3);
  for (const char* k :
       {"spans_recorded", "marks_recorded", "dropped", "top_time", "top_memory", "timestamp"}) {
    INFO(k);
    REQUIRE(h.contains(k));
  }
  REQUIRE(h.at("spans_recorded").to_number<int>() == 1000);
  REQUIRE(h.at("marks_recorded").to_number<int>() == 1);
  p.reset();
  REQUIRE(p.health().at("spans_recorded").to_number<int>() == 0);
  REQUIRE(p.dashboard().at("marks").as_array().empty());
}

TEST_CASE("marks keep the newest N", "[profiler]") {
  Enabled on;
  auto& p = perf_profiler();
  for (int i = 0; i < 300; ++i) p.mark("m" + std::to_string(i), "loop");
  auto marks = p.dashboard().at("marks").as_array();
  REQUIRE(marks.size() == COMFYVN_PERF_MAX_MARKS);
  CHECK(marks.back().at("name").as_string() == "m299");
  p.set_max_marks(10);
  marks = p.dashboard().at("marks").as_array();
  REQUIRE(marks.size() == 10);
  CHECK(marks.front().at("name").as_string() == "m290");
  REQUIRE(p.health().at("marks_recorded").to_number<int>() == 300);
  p.set_max_marks(COMFYVN_PERF_MAX_MARKS);
  PERF_MARK("quick", "macro");
  CHECK(p.dashboard().at("marks").as_array().back().at("name").as_string() == "quick");
}

TEST_CASE("marks are bounded in bytes, and a dashboard lists the newest N", "[profiler]") {
  Enabled on;
  auto& p = perf_profiler();
  const std::string blob(64 * 1024, 'x');
  for (int i = 0; i < 200; ++i)
    p.mark("big" + std::to_string(i), "bytes", json::object{{"blob", blob}});
  // 200 marks of 64 KiB would be 12.8 MB; the kept ones fit the byte bound.
  const json::array marks = p.dashboard().at("marks").as_array();
  std::size_t bytes = 0;
  for (const auto& m : marks) bytes += json::serialize(m.at("metadata")).size();
  CHECK(bytes <= COMFYVN_PERF_MAX_MARK_BYTES);
  REQUIRE(marks.size() >= 10);
  CHECK(marks.size() < 200);
  CHECK(marks.back().at("name").as_string() == "big199");  // the newest survive
  CHECK(p.health().at("marks_recorded").to_number<int>() == 200);

  // The newest N, oldest first.
  const json::array three = p.dashboard(5, 3).at("marks").as_array();
  REQUIRE(three.size() == 3);
  CHECK(three.front().at("name").as_string() == "big197");
  CHECK(three.back().at("name").as_string() == "big199");
  CHECK(p.dashboard(5, 0).at("marks").as_array().empty());

  // One mark over the whole bound keeps its name, not its metadata.
  p.set_max_mark_bytes(8192);
  p.mark("huge", "bytes", json::object{{"blob", std::string(20000, 'y')}});
  const json::array after = p.dashboard().at("marks").as_array();
  REQUIRE_FALSE(after.empty());
  CHECK(after.back().at("name").as_string() == "huge");
  CHECK(after.back().at("metadata").as_object().at("metadata_dropped").as_bool());
  p.set_max_mark_bytes(COMFYVN_PERF_MAX_MARK_BYTES);
}

TEST_CASE("aggregates carry min_ms; report() prints a table", "[profiler]") {
  Enabled on;
  auto& p = perf_profiler();
  for (int i = 1; i <= 3; ++i) REQUIRE(p.record_span("timed", "report", i * 2.0));
  const json::object d = p.dashboard();
  const auto& row = d.at("aggregates").as_array().at(0).as_object();
  CHECK(row.at("name").as_string() == "timed");
  CHECK(row.at("min_ms").to_number<double>() == Approx(2.0).epsilon(0.01));
  CHECK(row.at("max_ms").to_number<double>() == Approx(6.0).epsilon(0.01));
  const std::string text = p.report();
  CHECK(text.find("span") == 0);
  CHECK(text.find("timed") != std::string::npos);
  CHECK(text.find("report") != std::string::npos);
  CHECK(text.find("E1") == std::string::npos);  // plain numbers, not JSON's 6E0
  CHECK(text.find("6.000") != std::string::npos);
}

TEST_CASE("frames add frame-time stats", "[profiler]") {
  Enabled on;
  auto& p = perf_profiler();
  REQUIRE_FALSE(p.dashboard().contains("frames"));
  for (int i = 0; i < 11; ++i) {
    spin_for(std::chrono::microseconds(1000));
    PERF_FRAME();
  }
  const json::object d = p.dashboard();
  REQUIRE(d.contains("frames"));
  const auto& f = d.at("frames").as_object();
  CHECK(f.at("count").to_number<int>() == 10);
  CHECK(f.at("avg_ms").to_number<double>() >= 0.9);
  CHECK(f.at("max_ms").to_number<double>() >= f.at("p95_ms").to_number<double>() * 0.98);
  // Frames are not spans: they stay out of the offender lists.
  for (const auto& r : d.at("aggregates").as_array()) CHECK(r.at("name").as_string() != "(frame)");
}

TEST_CASE("(gpu frame) spans give gpu_frames and stay a row", "[profiler]") {
  Enabled on;
  auto& p = perf_profiler();
  REQUIRE_FALSE(p.dashboard().contains("gpu_frames"));
  CHECK(p.gpu_frames().count == 0);
  // Two GPU contexts feed the one site; the same name in another category
  // is another site and no GPU frame.
  for (int i = 1; i <= 10; ++i) REQUIRE(p.record_span("(gpu frame)", "gpu", 2.0 * i));
  REQUIRE(p.record_span("(gpu frame)", "gpu", 30.0));
  REQUIRE(p.record_span("(gpu frame)", "render", 500.0));
  const auto g = p.snapshot(0).gpu_frames;
  CHECK(g.count == 11);
  CHECK(g.avg_ms == Approx(140.0 / 11).epsilon(0.01));
  CHECK(g.max_ms == Approx(30.0).epsilon(0.01));
  CHECK(g.p95_ms <= g.max_ms * 1.02);
  CHECK(g.p95_ms >= 18.0);
  CHECK(p.gpu_frames().count == 11);
  CHECK(p.frames().count == 0);
  const json::object d = p.dashboard();
  CHECK_FALSE(d.contains("frames"));
  REQUIRE(d.contains("gpu_frames"));
  const auto& f = d.at("gpu_frames").as_object();
  CHECK(f.size() == 4);
  CHECK(f.at("count").to_number<int>() == 11);
  CHECK(f.at("avg_ms").to_number<double>() == Approx(140.0 / 11).epsilon(0.01));
  CHECK(f.at("p95_ms").to_number<double>() == Approx(g.p95_ms));
  CHECK(f.at("max_ms").to_number<double>() == Approx(30.0).epsilon(0.01));
  // Unlike "(frame)", the site stays a row of the offender lists.
  int rows = 0;
  for (const auto& r : d.at("aggregates").as_array())
    if (r.at("name").as_string() == "(gpu frame)" && r.at("category").as_string() == "gpu") {
      ++rows;
      CHECK(r.at("count").to_number<int>() == 11);
    }
  CHECK(rows == 1);
  CHECK(p.report().find("gpu frames 11 ") != std::string::npos);
}

TEST_CASE("record_span, profile() and top_offenders", "[profiler]") {
  Enabled on;
  auto& p = perf_profiler();
  REQUIRE(p.record_span("upload", "gpu", 12.5, {}, 2048.0));
  REQUIRE(p.record_span("upload", "gpu", 7.5, {}, 1024.0));
  REQUIRE_FALSE(p.record_span("bad", "gpu", -1.0));
  {
    auto s = p.profile("step", "render", {{"k", "v"}});
    REQUIRE(s.active());
  }
  const auto by_time = p.top_offenders(5, "time");
  REQUIRE(by_time.size() == 2);
  const auto& up = by_time[0].as_object();
  CHECK(up.at("name").as_string() == "upload");
  CHECK(up.at("total_ms").to_number<double>() == Approx(20.0).epsilon(0.01));
  CHECK(up.at("max_ms").to_number<double>() == Approx(12.5).epsilon(0.01));
  CHECK(up.at("total_kb").to_number<double>() == Approx(3072.0));
  CHECK(up.at("max_kb").to_number<double>() == Approx(2048.0));
  CHECK(up.at("avg_kb").to_number<double>() == Approx(1536.0));
  const auto by_mem = p.top_offenders(1, "memory");
  REQUIRE(by_mem.size() == 1);
  CHECK(by_mem[0].at("name").as_string() == "upload");
}

TEST_CASE("spans of exited threads are in the dashboard", "[profiler]") {
  Enabled on;
  std::thread([] {
    for (int i = 0; i < 123; ++i) {
      PERF_SCOPE("gone", "thread");
    }
  }).join();
  std::uint64_t n = 0;
  for (const auto& a : perf_profiler().aggregates())
    if (a.name == "gone") n = a.count;
  REQUIRE(n == 123);
}

TEST_CASE("cancel_captures() ends a capture in flight and frees it", "[profiler][trace]") {
  auto& p = perf_profiler();
  p.set_enabled(true);
  bool cancelled = false;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread capture([&] {
    try {
      (void)p.capture_trace_text(std::chrono::seconds(30));
    } catch (const comfyvn::perf::TraceCancelled&) {
      cancelled = true;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  p.cancel_captures();
  capture.join();
  CHECK(cancelled);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  // The next capture is not busy, and a cancel check given by the caller
  // ends it the same way.
  bool asked = false;
  CHECK_THROWS_AS(p.capture_trace_text(std::chrono::seconds(30), 0,
                                       [&] {
                                         asked = true;
                                         return true;
                                       }),
                  comfyvn::perf::TraceCancelled);
  CHECK(asked);
  CHECK_NOTHROW(p.capture_trace_text(std::chrono::milliseconds(10)));
}
