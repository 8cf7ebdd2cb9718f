// comfyvn_perf — the wiring between the parts, which know nothing of each
// other: flags -> profiler and budgets, profiler and budget events -> hooks.
// Each connection is made once, when the singleton it concerns is created
// (runtime/singletons.hpp).
#pragma once

#include <cstdint>      // uint64_t
#include <string_view>  // triggers
#include <utility>      // move

#include <boost/json.hpp>

#include "../budget/events.hpp"
#include "../budget/manager.hpp"
#include "../config.hpp"
#include "../flags/flags.hpp"
#include "../hooks/bus.hpp"
#include "../profiler/events.hpp"
#include "../profiler/profiler.hpp"

namespace comfyvn::perf {

// Defined in runtime/singletons.hpp.
COMFYVN_PERF_VISIBLE inline PerfProfiler& perf_profiler();
COMFYVN_PERF_VISIBLE inline BudgetManager& budget_manager();
COMFYVN_PERF_VISIBLE inline Hooks& hooks();
COMFYVN_PERF_VISIBLE inline FeatureFlags& feature_flags();

namespace detail::runtime {

// The subsystem driver of every FeatureFlags that drives the subsystems
// (feature_flags() does): the flags call it once per switch that changed.
inline void switch_subsystems(const FlagChange& c) {
  if (c.profiler_changed) perf_profiler().set_enabled(c.profiler_enabled);
  if (c.budgets_changed) budget_manager().set_enabled(c.budgets_enabled);
}

// Keeps a driver installed by a library loaded earlier: any copy does the
// same, through the same process-wide singletons. Installed when the first
// singleton is created (runtime/singletons.hpp), not at static
// initialisation: taking the driver's address compiles the whole profiler and
// budget manager into the file that does it, and a static initialiser would
// do that in every file that includes <comfyvn_perf/perf.hpp>.
inline bool install_subsystem_driver() noexcept {
  flags::SubsystemDriver none = nullptr;
  flags::subsystem_driver().compare_exchange_strong(none, &switch_subsystems);
  return true;
}

// The profiler's events go to the hook bus; they are built only while the
// bus has a subscriber for them, which the collector checks with one load.
inline void connect_profiler(PerfProfiler& profiler) {
  const Hooks::Topic topic = hooks().topic(kProfilerEvent);
  profiler.set_event_sink(
      [](std::string_view trigger, boost::json::object payload) {
        hooks().emit(kProfilerEvent, trigger, std::move(payload));
      },
      [topic] { return topic.has_subscribers(); });
  // health()["hooks"]: what became of the events, for whoever reads health.
  profiler.set_health_extension([](boost::json::object& health) {
    const HooksStats s = hooks().stats();
    health["hooks"] = boost::json::object{{"emitted", s.emitted},
                                          {"delivered", s.delivered},
                                          {"dropped", s.dropped},
                                          {"subscriber_errors", s.subscriber_errors}};
  });
}

inline void connect_budgets(BudgetManager& budgets) {
  const Hooks::Topic topic = hooks().topic(kBudgetEvent);
  budgets.set_event_sink(
      [](std::string_view trigger, boost::json::object payload) {
        hooks().emit(kBudgetEvent, trigger, std::move(payload));
      },
      [topic] { return topic.has_subscribers(); });
}

}  // namespace detail::runtime

}  // namespace comfyvn::perf

// The definitions of the singletons declared above.
#include "singletons.hpp"  // IWYU pragma: export
