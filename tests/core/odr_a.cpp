// Two translation units include the whole SDK and instrument the same inline
// function: the link must succeed and both see one profiler and one site.
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>

#include "odr_shared.hpp"

comfyvn::perf::PerfProfiler* profiler_from_b();
comfyvn::perf::BudgetManager* budgets_from_b();
void run_shared_from_b(int n);

TEST_CASE("two translation units share singletons and sites", "[odr]") {
  auto& p = comfyvn::perf::perf_profiler();
  REQUIRE(&p == profiler_from_b());
  REQUIRE(&comfyvn::perf::budget_manager() == budgets_from_b());
  p.set_enabled(true);
  p.reset();
  odr_shared_work(3);
  run_shared_from_b(4);
  std::uint64_t count = 0;
  for (const auto& a : p.aggregates()) {
    if (a.name == "odr.shared") count += a.count;
  }
  REQUIRE(count == 7);
  p.set_enabled(false);
}
