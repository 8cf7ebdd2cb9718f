// Memory attribution through the opt-in operator new hook (included in
// exactly one source file of the program: this one).
#include <comfyvn_perf/alloc_hook.hpp>

#include <comfyvn_perf/profiler.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using comfyvn::perf::perf_profiler;

namespace {
const comfyvn::perf::Aggregate* find(const std::vector<comfyvn::perf::Aggregate>& rows,
                                     const char* name) {
  for (const auto& a : rows)
    if (a.name == name) return &a;
  return nullptr;
}
}  // namespace

TEST_CASE("bytes allocated inside a span are attributed to it", "[alloc]") {
  auto& p = perf_profiler();
  p.set_enabled(true);
  p.reset();
  for (int i = 0; i < 4; ++i) {
    PERF_SCOPE("allocating", "mem");
    auto block = std::make_unique<char[]>(256 * 1024);
    block[0] = 1;
  }
  {
    PERF_SCOPE("outer", "mem");
    {
      PERF_SCOPE("inner", "mem");
      std::vector<int> v(1024 * 64);  // 256 KiB
      v[1] = 2;
    }
  }
  {
    PERF_SCOPE("gpu_upload", "mem");
    comfyvn::perf::note_alloc(8 * 1024 * 1024);
    comfyvn::perf::note_free(8 * 1024 * 1024);
  }
  { PERF_SCOPE("quiet", "mem"); }
  const auto rows = p.aggregates();
  const auto* a = find(rows, "allocating");
  REQUIRE(a != nullptr);
  CHECK(a->total_kb >= 4 * 256.0);
  CHECK(a->max_kb >= 256.0);
  CHECK(a->avg_kb >= 256.0);
  CHECK(a->avg_kb < 300.0);
  const auto* outer = find(rows, "outer");
  const auto* inner = find(rows, "inner");
  REQUIRE(outer);
  REQUIRE(inner);
  CHECK(inner->total_kb >= 256.0);
  CHECK(outer->total_kb >= inner->total_kb);  // nested spans see their children
  const auto* gpu = find(rows, "gpu_upload");
  REQUIRE(gpu);
  CHECK(gpu->total_kb == Approx(8 * 1024.0));
  const auto* quiet = find(rows, "quiet");
  REQUIRE(quiet);
  CHECK(quiet->total_kb == 0.0);
  const auto mem = p.top_offenders(1, "memory");
  CHECK(mem[0].at("name").as_string() == "gpu_upload");
  p.set_enabled(false);
}
