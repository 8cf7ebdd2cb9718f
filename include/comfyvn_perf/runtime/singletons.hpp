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
//
// A program whose only use is PERF_SCOPE needs none of them called: at
// start-up the implementation reads whether the config files (or
// COMFYVN_ENABLE_PERF) switch the profiler on, and the first thread
// registration then loads the flags (see "start-up" below).
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
#include <string>  // problems of the start-up read
#include <vector>  // problems of the start-up read

#include "../profiler/registry.hpp"
#include "fork.hpp"
#include "instances.hpp"

namespace comfyvn::perf {

namespace detail::runtime {

// Set by feature_flags() before it may wait for the flags' creation, and by
// the registration hook before it creates them (below).
COMFYVN_PERF_VISIBLE std::atomic<bool> g_flags_requested{false};
// Set when the start-up read switched the profiler on.
std::atomic<bool> g_switched_on_at_startup{false};

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

// ---- start-up: the config file switches recording on from the first scope ----

// Whether the config files and COMFYVN_ENABLE_PERF switch the profiler on,
// read and combined by the flags' own code and rules (the same files as
// FeatureFlags(), relative to the working directory now). Creates nothing,
// starts no thread and logs nothing: the flags report problems when they load.
bool profiler_on_at_startup() noexcept {
  namespace fl = detail::flags;
  try {
    fl::FlagSource source;
    source.set_files(fl::FlagSource::default_files());
    const fl::SourceRead read = fl::FlagSource::read(source.files(), 0);
    std::vector<std::string> problems;  // reported by the flags when they load
    fl::FlagRules rules;
    rules.set(fl::FlagRules::combine(read.local, read.config, read.files_ok),
              fl::FlagRules::env_switch(read.env, problems), fl::FlagOverrides{});
    return rules.profiler();
  } catch (...) {
    return false;
  }
}

// The cold path's registration hook: a thread's first span loads the flags
// when no singleton has, so that the rest of the config applies to a program
// whose only use is PERF_SCOPE (the budgets, the span budgets; problems are
// reported). Off the hot path: once per thread, one atomic load once the
// flags exist. Skipped while this thread creates a singleton (its
// registration is part of that creation), and when another thread asked for
// the flags first: a scope never waits for another thread's creation, which
// may call a log sink that wants a lock the scope's thread holds.
void load_flags_on_registration() noexcept {
  if (instances().flags.load(std::memory_order_acquire) != nullptr) return;
  if (creating_depth() != 0) return;
  if (g_flags_requested.exchange(true)) return;
  try {
    feature_flags();
  } catch (...) {
  }
}

// Installs the hook, then switches the profiler on when the config says so,
// unless flags exist already (a library loaded after the program's first
// singleton call: they decide). Runs before main(), or while a library is
// loaded; may run twice.
bool start_from_config() noexcept {
  RegistrationHook none = nullptr;
  g_registration_hook.compare_exchange_strong(none, &load_flags_on_registration);
  if (instances().flags.load(std::memory_order_acquire) != nullptr) return true;
  if (profiler_on_at_startup()) {
    g_switched_on_at_startup.store(true);
    g_enabled.store(true, kRelaxed);
  }
  return true;
}

#if defined(__GNUC__) || defined(__clang__)
// After the cold path's install (priority 101) and before every ordinary
// static initialiser: a span recorded during another file's static
// initialisation already sees the switch.
__attribute__((constructor(102))) static void start_from_config_early() noexcept {
  start_from_config();
}
#else
const bool g_started_from_config = start_from_config();
#endif

// The flags' driver counts their first read as a change from "off". Where
// the start-up switched the profiler on and the flags now say off (a file
// edited since), the driver would leave it on and then take it for a switch
// made from code (an override): switch it off first.
void follow_flags_after_startup(const FeatureFlags& flags) {
  if (!g_switched_on_at_startup.load() || !g_enabled.load(kRelaxed)) return;
  if (flags.profiler_enabled()) return;
  if (Registry* r = g_registry.load(std::memory_order_acquire)) {
    r->set_enabled(false);
  } else {
    g_enabled.store(false, kRelaxed);
  }
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
  // Before the creation below may make this thread wait: a thread's first
  // span that sees it does not wait too (load_flags_on_registration).
  if (!detail::runtime::g_flags_requested.load(std::memory_order_relaxed))
    detail::runtime::g_flags_requested.store(true, std::memory_order_relaxed);
  static FeatureFlags* f = [] {
    detail::runtime::Creating creating;
    auto* flags = new FeatureFlags();
    detail::runtime::publish(detail::runtime::instances().flags, flags);
    detail::runtime::follow_flags_after_startup(*flags);
    flags->drive_subsystems(true);
    return flags;
  }();
  return *f;
}

}  // namespace comfyvn::perf
#endif  // COMFYVN_PERF_IMPLEMENTATION
