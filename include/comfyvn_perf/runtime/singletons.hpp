// comfyvn_perf — the process-wide objects: perf_profiler(), budget_manager(),
// hooks() and feature_flags().
//
// Exactly one of each per process, also when code lives in several shared
// libraries loaded with dlopen (even built with -fvisibility=hidden): each
// function is exported, so the dynamic linker binds every library to the
// first definition. None is ever destroyed, so using one during static
// destruction or from a thread outliving main() stays safe. Each is created
// by its first call, which also connects it to the others (runtime/wiring.hpp),
// publishes it for the fork handler (runtime/fork.hpp) and registers that
// handler once per process.
#pragma once

#include "../budget/manager.hpp"
#include "../config.hpp"
#include "../flags/flags.hpp"
#include "../hooks/bus.hpp"
#include "../profiler/profiler.hpp"
#include "wiring.hpp"  // the four functions' declarations

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <atomic>  // published pointers

#include "../profiler/registry.hpp"
#include "fork.hpp"
#include "instances.hpp"

namespace comfyvn::perf {

namespace detail::runtime {

// Makes `object` visible to the fork handler (the registry publishes itself:
// profiler/registry.hpp, g_registry).
template <typename T>
void publish(std::atomic<T*>& slot, T* object) {
  install_fork_handler();
  install_subsystem_driver();
  slot.store(object, std::memory_order_release);
}

// How many singletons this thread is creating right now. Creating one may
// create others (the profiler needs hooks(); the flags drive the profiler
// and the budget manager); none of those nested calls may create the flags,
// since the flags' own creation may be the one in progress (a recursive
// static initialisation deadlocks). The outermost call loads them instead.
int& creating_depth() noexcept {
  static thread_local int depth = 0;
  return depth;
}

struct Creating {
  Creating() noexcept { ++creating_depth(); }
  ~Creating() { --creating_depth(); }
  Creating(const Creating&) = delete;
  Creating& operator=(const Creating&) = delete;
};

// The configuration takes effect, and its problems are reported, on the
// first use of any singleton, without the program calling feature_flags().
// After that it is one atomic load; PERF_SCOPE never comes here.
void load_flags_on_first_use() {
  if (instances().flags.load(std::memory_order_acquire) != nullptr) return;
  if (creating_depth() != 0) return;
  feature_flags();
}

}  // namespace detail::runtime

// The one Hooks of the process. Its dispatcher thread starts with the first
// event that has a subscriber.
Hooks& hooks() {
  static Hooks* h = [] {
    detail::runtime::Creating creating;
    auto* bus = new Hooks();
    detail::runtime::publish(detail::runtime::instances().hooks, bus);
    return bus;
  }();
  detail::runtime::load_flags_on_first_use();
  return *h;
}

// The one profiler of the process; its events go to hooks().
PerfProfiler& perf_profiler() {
  static PerfProfiler* p = [] {
    detail::runtime::Creating creating;
    auto* profiler = new PerfProfiler();
    detail::runtime::connect_profiler(*profiler);
    detail::runtime::publish(detail::runtime::instances().profiler, profiler);
    return profiler;
  }();
  detail::runtime::load_flags_on_first_use();
  return *p;
}

// The one budget manager of the process; its events go to hooks().
BudgetManager& budget_manager() {
  static BudgetManager* b = [] {
    detail::runtime::Creating creating;
    auto* manager = new BudgetManager();
    detail::runtime::connect_budgets(*manager);
    detail::runtime::publish(detail::runtime::instances().budgets, manager);
    return manager;
  }();
  // The flags, loaded on this first use, switch budgets on when the config
  // or COMFYVN_ENABLE_PERF=1 says so, even in a process that never reads a
  // flag. On first use rather than at static initialisation: enabling starts
  // the sampler thread, and a thread started before main() breaks programs
  // that fork early.
  detail::runtime::load_flags_on_first_use();
  return *b;
}

// The flags of the process. Created on the first use of any singleton
// (perf_profiler(), budget_manager(), hooks(), feature_flags(); the HTTP
// adapter uses them), which reads the files relative to the working
// directory of that moment. It drives the profiler and the budget manager
// from then on, and is the one source of truth for their switches: a
// set_enabled() from code becomes an in-memory override of the flag.
FeatureFlags& feature_flags() {
  static FeatureFlags* f = [] {
    detail::runtime::Creating creating;
    auto* flags = new FeatureFlags();
    detail::runtime::publish(detail::runtime::instances().flags, flags);
    flags->drive_subsystems(true);
    return flags;
  }();
  return *f;
}

}  // namespace comfyvn::perf
#endif  // COMFYVN_PERF_IMPLEMENTATION
