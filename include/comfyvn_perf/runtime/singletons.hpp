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

#include <cstdlib>  // getenv

#include "../budget/manager.hpp"
#include "../config.hpp"
#include "../flags/flags.hpp"
#include "../hooks/bus.hpp"
#include "../os/env.hpp"
#include "../profiler/profiler.hpp"
#include "../profiler/registry.hpp"
#include "fork.hpp"
#include "instances.hpp"
#include "wiring.hpp"

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

}  // namespace detail::runtime

// The one Hooks of the process. Its dispatcher thread starts with the first
// event that has a subscriber.
COMFYVN_PERF_VISIBLE inline Hooks& hooks() {
  static Hooks* h = [] {
    auto* bus = new Hooks();
    detail::runtime::publish(detail::runtime::instances().hooks, bus);
    return bus;
  }();
  return *h;
}

// The one profiler of the process; its events go to hooks().
COMFYVN_PERF_VISIBLE inline PerfProfiler& perf_profiler() {
  static PerfProfiler* p = [] {
    auto* profiler = new PerfProfiler();
    detail::runtime::connect_profiler(*profiler);
    detail::runtime::publish(detail::runtime::instances().profiler, profiler);
    return profiler;
  }();
  return *p;
}

// The one budget manager of the process; its events go to hooks().
COMFYVN_PERF_VISIBLE inline BudgetManager& budget_manager() {
  static BudgetManager* b = [] {
    auto* manager = new BudgetManager();
    detail::runtime::connect_budgets(*manager);
    detail::runtime::publish(detail::runtime::instances().budgets, manager);
    // COMFYVN_ENABLE_PERF=1 turns budgets on even in a process that never
    // reads a flag. Checked here, on first use, rather than at static
    // initialisation: enabling starts the sampler thread, and a thread
    // started before main() breaks programs that fork early.
    if (os::env_flag_true(std::getenv("COMFYVN_ENABLE_PERF"))) manager->set_enabled(true);
    return manager;
  }();
  return *b;
}

// The flags of the process. Created by the first call — the HTTP adapter,
// the demo or your own start-up code — which reads the files relative to
// the working directory of that moment. It drives the profiler and the
// budget manager from then on.
COMFYVN_PERF_VISIBLE inline FeatureFlags& feature_flags() {
  static FeatureFlags* f = [] {
    auto* flags = new FeatureFlags();
    detail::runtime::publish(detail::runtime::instances().flags, flags);
    flags->drive_subsystems(true);
    return flags;
  }();
  return *f;
}

}  // namespace comfyvn::perf
