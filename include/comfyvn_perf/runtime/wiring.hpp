// comfyvn_perf — the wiring between the parts, which know nothing of each
// other: flags -> profiler and budgets, profiler and budget events -> hooks.
// Each connection is made once, when the singleton it concerns is created
// (runtime/singletons.hpp).
#pragma once

#include "../config.hpp"

namespace comfyvn::perf {

class BudgetManager;
class FeatureFlags;
class Hooks;
class PerfProfiler;

// The process-wide objects (runtime/singletons.hpp).
COMFYVN_PERF_VISIBLE PerfProfiler& perf_profiler();
COMFYVN_PERF_VISIBLE BudgetManager& budget_manager();
COMFYVN_PERF_VISIBLE Hooks& hooks();
COMFYVN_PERF_VISIBLE FeatureFlags& feature_flags();

namespace detail::runtime {

// Installs the flags' subsystem driver and switch probe, once per process.
bool install_subsystem_driver() noexcept;
// The profiler's events go to the hook bus, traces plot the budget
// manager's metrics, the config file's span budgets are polled.
void connect_profiler(PerfProfiler& profiler);
// The budget manager's events go to the hook bus.
void connect_budgets(BudgetManager& budgets);

}  // namespace detail::runtime
}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <atomic>       // what the driver last set
#include <cstdint>      // uint64_t
#include <string>       // counter names
#include <string_view>  // triggers
#include <utility>      // move, pair
#include <vector>       // counter samples

#include <boost/json.hpp>

#include "../budget/events.hpp"
#include "../budget/manager.hpp"
#include "../flags/flags.hpp"
#include "../hooks/bus.hpp"
#include "../profiler/events.hpp"
#include "../profiler/profiler.hpp"
#include "../profiler/registry.hpp"
#include "instances.hpp"
#include "span_budget_config.hpp"

namespace comfyvn::perf::detail::runtime {

// What the drivers last set, so that a switch made from code (the public
// set_enabled of the profiler or the budget manager) can be told apart from
// the flags' own: the flags are the one source of truth, and such a switch
// becomes an in-memory override of the matching flag (switch_probe below).
// `active` counts drivers running now and `generation` every start, so a
// probe never reads a half-made switch.
struct DriverState {
  std::atomic<int> active{0};
  std::atomic<std::uint64_t> generation{0};
  std::atomic<bool> profiler{false};  // off until a driver says otherwise
  std::atomic<bool> budgets{false};
};

COMFYVN_PERF_VISIBLE DriverState& driver_state() noexcept {
  static DriverState state;
  return state;
}

// The subsystem driver of every FeatureFlags that drives the subsystems
// (feature_flags() does): the flags call it once per switch that changed.
void switch_subsystems(const FlagChange& c) {
  DriverState& d = driver_state();
  d.active.fetch_add(1);
  d.generation.fetch_add(1);
  struct Done {
    DriverState& d;
    ~Done() { d.active.fetch_sub(1); }
  } done{d};
  if (c.profiler_changed) {
    d.profiler.store(c.profiler_enabled);
    perf_profiler().set_enabled(c.profiler_enabled);
  }
  if (c.budgets_changed) {
    d.budgets.store(c.budgets_enabled);
    budget_manager().set_enabled(c.budgets_enabled);
  }
}

// Where a subsystem's real switch differs from what the driver last set,
// code switched it: report that (the flags record it as an override). The
// budget manager is looked at only once it exists; nothing is created here.
bool switch_probe(flags::SwitchReport& out) {
  DriverState& d = driver_state();
  const std::uint64_t gen = d.generation.load();
  if (d.active.load() != 0) return false;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const bool want_profiler = d.profiler.load();
  const bool want_budgets = d.budgets.load();
  const bool profiler_on = g_enabled.load(kRelaxed);
  BudgetManager* budgets = instances().budgets.load(std::memory_order_acquire);
  const bool budgets_on = budgets != nullptr ? budgets->enabled() : want_budgets;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (d.active.load() != 0 || d.generation.load() != gen) return false;
  if (profiler_on != want_profiler) out.profiler = profiler_on;
  if (budgets_on != want_budgets) out.budgets = budgets_on;
  return true;
}

// Keeps a driver installed by a library loaded earlier: any copy does the
// same, through the same process-wide singletons. Installed when the first
// singleton is created (runtime/singletons.hpp), not at static
// initialisation: taking the driver's address compiles the whole profiler and
// budget manager into the file that does it, and a static initialiser would
// do that in every file that includes <comfyvn_perf/perf.hpp>.
bool install_subsystem_driver() noexcept {
  flags::SubsystemDriver none = nullptr;
  flags::subsystem_driver().compare_exchange_strong(none, &switch_subsystems);
  flags::SwitchProbe no_probe = nullptr;
  flags::switch_probe().compare_exchange_strong(no_probe, &switch_probe);
  return true;
}

// The profiler's events go to the hook bus; they are built only while the
// bus has a subscriber for them, which the collector checks with one load.
void connect_profiler(PerfProfiler& profiler) {
  const Hooks::Topic topic = hooks().topic(kProfilerEvent);
  profiler.set_event_sink(
      [](std::string_view trigger, boost::json::object payload) {
        hooks().emit(kProfilerEvent, trigger, std::move(payload));
      },
      [topic] { return topic.has_subscribers(); });
  // Traces plot the budget manager's host metrics and job counts, once it
  // exists and runs (nothing is created here).
  profiler.set_trace_counter_source([](std::vector<std::pair<std::string, double>>& out) {
    BudgetManager* budgets = instances().budgets.load(std::memory_order_acquire);
    if (budgets == nullptr || !budgets->enabled()) return;
    const BudgetHealth h = budgets->health_data();
    if (h.metrics.timestamp == 0) return;  // never sampled yet
    out.emplace_back("host_cpu_percent", h.metrics.cpu_percent);
    out.emplace_back("host_memory_used_mb", h.metrics.mem_used_mb);
    if (!h.metrics.gpus.empty()) out.emplace_back("gpu_memory_used_mb", h.metrics.vram_used_mb());
    out.emplace_back("jobs_running", static_cast<double>(h.running));
    out.emplace_back("jobs_waiting", static_cast<double>(h.queued + h.delayed));
  });
  // The config file's span budgets, re-read when the file changes (checked
  // about once a second by the collection).
  detail::registry().set_second_tick([&profiler] { span_budget_config().poll(profiler); });
  // health()["hooks"]: what became of the events, for whoever reads health.
  profiler.set_health_extension([](boost::json::object& health) {
    const HooksStats s = hooks().stats();
    health["hooks"] = boost::json::object{{"emitted", s.emitted},
                                          {"delivered", s.delivered},
                                          {"dropped", s.dropped},
                                          {"subscriber_errors", s.subscriber_errors}};
  });
}

void connect_budgets(BudgetManager& budgets) {
  const Hooks::Topic topic = hooks().topic(kBudgetEvent);
  budgets.set_event_sink(
      [](std::string_view trigger, boost::json::object payload) {
        hooks().emit(kBudgetEvent, trigger, std::move(payload));
      },
      [topic] { return topic.has_subscribers(); });
}

}  // namespace comfyvn::perf::detail::runtime
#endif  // COMFYVN_PERF_IMPLEMENTATION
