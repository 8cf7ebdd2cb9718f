#include <comfyvn_perf/perf.hpp>

#include "odr_shared.hpp"

comfyvn::perf::PerfProfiler* profiler_from_b() {
  return &comfyvn::perf::perf_profiler();
}
comfyvn::perf::BudgetManager* budgets_from_b() {
  return &comfyvn::perf::budget_manager();
}
void run_shared_from_b(int n) {
  odr_shared_work(n);
}
