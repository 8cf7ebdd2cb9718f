// The hot path: exact counts under contention, the runtime switch, reset while
// recording, the dynamic-name cap, and a forked child.
#include <comfyvn_perf/scope.hpp>

#include <comfyvn_perf/profiler.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using comfyvn::perf::perf_profiler;

namespace {

std::uint64_t count_of(const std::string& name, const std::string& category = "") {
  std::uint64_t n = 0;
  for (const auto& a : perf_profiler().aggregates()) {
    if (a.name == name && (category.empty() || a.category == category)) n += a.count;
  }
  return n;
}

struct Enabled {
  Enabled() {
    perf_profiler().set_enabled(true);
    perf_profiler().reset();
  }
  ~Enabled() { perf_profiler().set_enabled(false); }
};

}  // namespace

TEST_CASE("8 threads x 1M scopes are counted exactly", "[scope][concurrency]") {
  Enabled on;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1'000'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < kPerThread; ++i) {
        PERF_SCOPE("hot", "exact");
      }
    });
  }
  // Read while they record: must not disturb the result.
  for (int i = 0; i < 5; ++i) (void)perf_profiler().aggregates();
  for (auto& t : threads) t.join();
  REQUIRE(count_of("hot", "exact") == std::uint64_t(kThreads) * kPerThread);
  const auto rows = perf_profiler().aggregates();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].total_ms > 0);
  CHECK(rows[0].max_ms >= rows[0].avg_ms);
  CHECK(rows[0].p99_ms >= rows[0].p50_ms);
}

TEST_CASE("several scopes in one block and nesting", "[scope]") {
  Enabled on;
  for (int i = 0; i < 10; ++i) {
    PERF_SCOPE("outer", "nest");
    PERF_SCOPE("second", "nest");
    { PERF_SCOPE("inner", "nest"); }
  }
  CHECK(count_of("outer") == 10);
  CHECK(count_of("second") == 10);
  CHECK(count_of("inner") == 10);
}

TEST_CASE("a disabled profiler records nothing", "[scope]") {
  perf_profiler().set_enabled(true);
  perf_profiler().reset();
  perf_profiler().set_enabled(false);
  for (int i = 0; i < 1000; ++i) {
    PERF_SCOPE("off", "switch");
    PERF_SCOPE_DYN(std::string("off.dyn"), "switch");
  }
  REQUIRE(count_of("off") == 0);
  REQUIRE(count_of("off.dyn") == 0);
}

TEST_CASE("a scope open across disable is still recorded", "[scope]") {
  Enabled on;
  {
    PERF_SCOPE("straddle", "switch");
    perf_profiler().set_enabled(false);
  }
  perf_profiler().set_enabled(true);
  REQUIRE(count_of("straddle") == 1);
}

TEST_CASE("dynamic names are interned and merge with static ones", "[scope]") {
  Enabled on;
  const std::string name = "dyn.step";
  for (int i = 0; i < 50; ++i) {
    PERF_SCOPE_DYN(name, "render");
  }
  for (int i = 0; i < 5; ++i) {
    PERF_SCOPE("dyn.step", "render");
  }
  REQUIRE(count_of("dyn.step", "render") == 55);
}

TEST_CASE("reset while other threads record", "[scope][concurrency]") {
  Enabled on;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> after_reset{0};
  std::atomic<bool> counting{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        PERF_SCOPE("busy", "reset");
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    perf_profiler().reset();
    (void)perf_profiler().aggregates();
  }
  stop = true;
  for (auto& t : threads) t.join();
  (void)counting;
  (void)after_reset;
  // After a final reset nothing survives, and recording works again.
  perf_profiler().reset();
  REQUIRE(count_of("busy") == 0);
  for (int i = 0; i < 7; ++i) {
    PERF_SCOPE("busy", "reset");
  }
  REQUIRE(count_of("busy") == 7);
  const auto h = perf_profiler().health();
  REQUIRE(h.at("spans_recorded").to_number<std::uint64_t>() == 7);
}

TEST_CASE("distinct dynamic names past the cap fold into (other)", "[scope]") {
  Enabled on;
  auto& p = perf_profiler();
  const auto before = p.health().at("dynamic_names").as_object().at("interned").to_number<int>();
  const int cap = before + 20;
  p.set_max_dynamic_names(static_cast<std::size_t>(cap));
  for (int i = 0; i < 40; ++i) {
    const std::string n = "cap.name." + std::to_string(i);
    PERF_SCOPE_DYN(n, "cap");
  }
  int named = 0;
  std::uint64_t other = 0;
  for (const auto& a : p.aggregates()) {
    if (a.category == "cap") ++named;
    if (a.name == "(other)") other += a.count;
  }
  CHECK(named == 20);
  CHECK(other == 20);
  p.set_max_dynamic_names(COMFYVN_PERF_MAX_DYNAMIC_NAMES);
}

TEST_CASE("a forked child can record and read", "[scope]") {
  Enabled on;
  std::atomic<bool> stop{false};
  // A thread that keeps the registry busy while we fork.
  std::thread busy([&] {
    while (!stop.load()) {
      PERF_SCOPE("before.fork", "fork");
      (void)perf_profiler().aggregates();
    }
  });
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (int i = 0; i < 100; ++i) {
      PERF_SCOPE("child", "fork");
    }
    std::uint64_t n = 0;
    for (const auto& a : perf_profiler().aggregates()) {
      if (a.name == "child") n = a.count;
    }
    _exit(n == 100 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  stop = true;
  busy.join();
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

TEST_CASE("scopes before the profiler object exists are safe", "[scope]") {
  // The registry is created on demand by the first scope; nothing else needs
  // to be initialised. (Static-initialisation use is covered by plugin.cpp.)
  comfyvn::perf::detail::g_enabled.store(true);
  { PERF_SCOPE("early", "init"); }
  perf_profiler().set_enabled(true);
  REQUIRE(count_of("early") >= 1);
  perf_profiler().set_enabled(false);
}

TEST_CASE("one PERF_SCOPE_DYN site seeing changing names attributes each", "[scope]") {
  Enabled on;
  const std::string names[] = {"alt.a", "alt.bb", "alt.a", "alt.c"};
  std::string reused;  // same buffer, different contents
  for (int i = 0; i < 40; ++i) {
    reused = names[i % 4];
    PERF_SCOPE_DYN(reused, i % 2 ? "odd" : "even");
  }
  CHECK(count_of("alt.a", "even") == 20);
  CHECK(count_of("alt.bb", "odd") == 10);
  CHECK(count_of("alt.c", "odd") == 10);
  // Names longer than the per-site memo still work.
  const std::string long_name(200, 'n');
  for (int i = 0; i < 3; ++i) {
    PERF_SCOPE_DYN(long_name, "long");
  }
  CHECK(count_of(long_name, "long") == 3);
}
