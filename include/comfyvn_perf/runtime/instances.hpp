// comfyvn_perf — which process-wide objects exist, asked without creating any.
//
// The singleton functions (runtime/singletons.hpp) publish each object here
// once it is complete. The fork handler reads these pointers: it must lock
// what exists and must never create anything.
#pragma once

#include <atomic>  // published pointers, read by the fork handler

#include "../config.hpp"

namespace comfyvn::perf {

class BudgetManager;
class FeatureFlags;
class Hooks;
class PerfProfiler;

namespace detail::runtime {

struct Instances {
  std::atomic<BudgetManager*> budgets{nullptr};
  std::atomic<Hooks*> hooks{nullptr};
  std::atomic<PerfProfiler*> profiler{nullptr};
  std::atomic<FeatureFlags*> flags{nullptr};
};

// One per process (exported like the singletons). Constant-initialised, so
// it is usable from static initialisation and from a fork handler.
COMFYVN_PERF_VISIBLE inline Instances& instances() noexcept {
  static Instances created;
  return created;
}

}  // namespace detail::runtime
}  // namespace comfyvn::perf
