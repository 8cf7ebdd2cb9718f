// Thread exit hands a thread's data to the profiler and frees its buffer.
#include <comfyvn_perf/profiler.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <thread>
#include <vector>

using comfyvn::perf::perf_profiler;

namespace {
std::uint64_t count_of(const char* name) {
  std::uint64_t n = 0;
  for (const auto& a : perf_profiler().aggregates())
    if (a.name == name) n += a.count;
  return n;
}
std::uint64_t live_threads() {
  return perf_profiler().health().at("threads").at("live").to_number<std::uint64_t>();
}
long rss_kb() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif
}  // namespace

TEST_CASE("1,000 short-lived threads lose nothing", "[threads][concurrency]") {
  auto& p = perf_profiler();
  p.set_enabled(true);
  p.reset();
  const auto live_before = live_threads();
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<std::thread> ts;
    for (int t = 0; t < 100; ++t) {
      ts.emplace_back([t] {
        for (int i = 0; i < 10 + t; ++i) {
          PERF_SCOPE("short", "threads");
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  std::uint64_t expected = 0;
  for (int t = 0; t < 100; ++t) expected += 10 + t;
  REQUIRE(count_of("short") == expected * 10);
  REQUIRE(live_threads() == live_before);
  p.set_enabled(false);
}

TEST_CASE("buffers of exited threads are reclaimed over 10,000 threads", "[threads]") {
  auto& p = perf_profiler();
  p.set_enabled(true);
  p.reset();
  auto run = [](int n) {
    for (int i = 0; i < n; ++i) {
      std::thread([] {
        for (int k = 0; k < 50; ++k) {
          PERF_SCOPE("churn", "threads");
        }
      }).join();
    }
  };
  run(1000);  // warm up allocator arenas
  const long rss_before = rss_kb();
  const auto live_before = live_threads();
  run(9000);
  const long rss_after = rss_kb();
  REQUIRE(live_threads() == live_before);
  REQUIRE(count_of("churn") == 10000u * 50u);
  // A leaked buffer is >128 KiB, so 9,000 of them would be >1 GiB; allow
  // allocator noise. Sanitizer builds quarantine freed memory, so RSS there
  // says nothing about reclamation (the live-thread count above still does).
  if (!kSanitized) {
    INFO("rss before " << rss_before << " KiB, after " << rss_after << " KiB");
    CHECK(rss_after - rss_before < 16 * 1024);
  }
  p.set_enabled(false);
}
