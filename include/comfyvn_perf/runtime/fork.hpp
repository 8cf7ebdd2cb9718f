// comfyvn_perf — the process's one fork handler.
//
// A forked child has only the thread that called fork(). A lock held at that
// moment by any other thread stays locked in the child forever, so every part
// that has a lock and may be used in a child takes its locks across fork()
// and releases them on both sides; the child also forgets its background
// threads, which do not exist there. One handler does this for every part, in
// one fixed order:
//
//   prepare:  registry -> PerfProfiler -> BudgetManager -> Hooks
//   parent, child:  Hooks -> BudgetManager -> PerfProfiler -> registry (the reverse)
//
// The order follows how the code nests the locks: the collector asks, under
// the registry's locks, whether the profiler's sink wants spans, and that
// question may reach the hook bus; the budget manager emits only after releasing its own
// locks; the bus calls into neither while it holds its lock. FeatureFlags
// takes no part: it has no thread, and it holds its locks only around file
// reads and notifications.
#pragma once

#include "../config.hpp"
#include "instances.hpp"

namespace comfyvn::perf {
class PerfProfiler;
class BudgetManager;
class Hooks;
namespace detail {
class Registry;
}  // namespace detail
}  // namespace comfyvn::perf

namespace comfyvn::perf::detail::runtime {

// What the prepare handler locked, so that the parent and the child release
// exactly that even when another thread creates an object in between.
// Thread-local: the three handlers of one fork() run on the forking thread
// (in the child, on its copy), and two threads may fork at once.
struct ForkLocked {
  Registry* registry = nullptr;
  PerfProfiler* profiler = nullptr;
  BudgetManager* budgets = nullptr;
  Hooks* hooks = nullptr;
};

ForkLocked& fork_locked() noexcept;
void fork_prepare();
void fork_parent();
void fork_child();

// Registers the handler once per process, whichever library gets there
// first: at static initialisation of the implementation file (so the
// registry is covered even in a program whose only use is PERF_SCOPE) and
// again, harmlessly, when a singleton is created.
COMFYVN_PERF_VISIBLE void install_fork_handler() noexcept;

}  // namespace comfyvn::perf::detail::runtime

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <pthread.h>  // pthread_atfork

#include "../budget/manager.hpp"
#include "../hooks/bus.hpp"
#include "../profiler/profiler.hpp"
#include "../profiler/registry.hpp"

namespace comfyvn::perf::detail::runtime {

ForkLocked& fork_locked() noexcept {
  static thread_local ForkLocked locked;
  return locked;
}

void fork_prepare() {
  Instances& in = instances();
  ForkLocked& l = fork_locked();
  l.registry = g_registry.load(std::memory_order_acquire);
  l.profiler = in.profiler.load(std::memory_order_acquire);
  l.budgets = in.budgets.load(std::memory_order_acquire);
  l.hooks = in.hooks.load(std::memory_order_acquire);
  if (l.registry != nullptr) l.registry->fork_prepare();
  if (l.profiler != nullptr) l.profiler->fork_prepare();
  if (l.budgets != nullptr) l.budgets->fork_prepare();
  if (l.hooks != nullptr) l.hooks->fork_prepare();
}

void fork_parent() {
  const ForkLocked l = fork_locked();
  fork_locked() = {};
  if (l.hooks != nullptr) l.hooks->fork_parent();
  if (l.budgets != nullptr) l.budgets->fork_parent();
  if (l.profiler != nullptr) l.profiler->fork_parent();
  if (l.registry != nullptr) l.registry->fork_parent();
}

void fork_child() {
  const ForkLocked l = fork_locked();
  fork_locked() = {};
  if (l.hooks != nullptr) l.hooks->fork_child();
  if (l.budgets != nullptr) l.budgets->fork_child();
  if (l.profiler != nullptr) l.profiler->fork_child();
  if (l.registry != nullptr) l.registry->fork_child();
}

void install_fork_handler() noexcept {
  static const bool installed = ::pthread_atfork(&fork_prepare, &fork_parent, &fork_child) == 0;
  static_cast<void>(installed);
}

// At static initialisation of the implementation file.
const bool g_fork_handler_installed = (install_fork_handler(), true);

}  // namespace comfyvn::perf::detail::runtime
#endif  // COMFYVN_PERF_IMPLEMENTATION
