// Safe before anything is initialised and during static destruction, and
// COMFYVN_ENABLE_PERF switches the profiler on from the first scope (this
// program is registered with COMFYVN_ENABLE_PERF=1).
#include <comfyvn_perf/profiler.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

std::uint64_t count_of(const char* name) {
  std::uint64_t n = 0;
  for (const auto& a : comfyvn::perf::perf_profiler().aggregates())
    if (a.name == name) n += a.count;
  return n;
}

// Runs during dynamic initialisation, before main() and before anything in
// the SDK has been touched.
const bool g_recorded_before_main = [] {
  PERF_SCOPE("before_main", "lifecycle");
  return true;
}();

// Runs during static destruction, after main() returned; must neither crash
// nor lose the process's exit code.
struct RecordsAtExit {
  ~RecordsAtExit() {
    PERF_SCOPE("static_destruction", "lifecycle");
    PERF_MARK("at_exit", "lifecycle");
    if (count_of("before_main") != 1) std::_Exit(3);
  }
} g_records_at_exit;

}  // namespace

TEST_CASE("COMFYVN_ENABLE_PERF=1 enables recording from the first scope", "[lifecycle]") {
  REQUIRE(g_recorded_before_main);
  REQUIRE(comfyvn::perf::perf_profiler().enabled());
  REQUIRE(count_of("before_main") == 1);
}

TEST_CASE("a detached thread still recording at exit is harmless", "[lifecycle]") {
  std::thread([] {
    for (;;) {
      PERF_SCOPE("detached", "lifecycle");
    }
  }).detach();
  std::this_thread::yield();
  SUCCEED("process exit with a recording thread is covered by this program's exit code");
}
