// comfyvn_perf — in-memory overrides of the feature flags' switches.
//
// Code (or the HTTP adapter) may force profiler_enabled or budgets_enabled for
// this process whatever the files say; an override wins over the rules of
// flags/rules.hpp and is never written to a file. FeatureFlags holds one and
// guards it with its lock.
#pragma once

#include <atomic>    // the process-wide probe
#include <optional>  // an override, or none

#include "../config.hpp"  // COMFYVN_PERF_VISIBLE

namespace comfyvn::perf::detail::flags {

// What the subsystems' real switches say where they differ from what the
// driver last set: someone switched them from code (perf_profiler()
// .set_enabled(true), budget_manager().set_enabled(false)). nullopt: no
// such difference.
struct SwitchReport {
  std::optional<bool> profiler;
  std::optional<bool> budgets;
};

// Fills a SwitchReport; returns false when it cannot tell right now (a
// driver is switching). Installed by the runtime with the driver. A
// FeatureFlags that drives the subsystems asks it on every flag read, so that
// the flags stay the one source of truth: a switch made from code becomes an
// in-memory override of the matching flag.
using SwitchProbe = bool (*)(SwitchReport&);

COMFYVN_PERF_VISIBLE std::atomic<SwitchProbe>& switch_probe() noexcept;

// The two overrides. Not thread-safe: FeatureFlags holds its lock around
// every call but probe().
class FlagOverrides {
 public:
  std::optional<bool> profiler() const noexcept { return profiler_; }
  std::optional<bool> budgets() const noexcept { return budgets_; }
  void set_profiler(std::optional<bool> on) noexcept { profiler_ = on; }
  void set_budgets(std::optional<bool> on) noexcept { budgets_ = on; }

  // Asks the installed probe (switch_probe()) for switches made from code.
  // False when there is no probe, it cannot tell now, or nothing differs.
  // Takes no lock: call it before taking the flags' lock.
  static bool probe(SwitchReport& report);

  // Makes each switch the report names an override; true when one changed.
  bool adopt(const SwitchReport& report) noexcept;

 private:
  std::optional<bool> profiler_;
  std::optional<bool> budgets_;
};

}  // namespace comfyvn::perf::detail::flags

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
namespace comfyvn::perf::detail::flags {

std::atomic<SwitchProbe>& switch_probe() noexcept {
  static std::atomic<SwitchProbe> probe{nullptr};
  return probe;
}

bool FlagOverrides::probe(SwitchReport& report) {
  const SwitchProbe probe = switch_probe().load(std::memory_order_acquire);
  if (probe == nullptr) return false;
  return probe(report) && (report.profiler || report.budgets);
}

bool FlagOverrides::adopt(const SwitchReport& report) noexcept {
  bool changed = false;
  if (report.profiler && profiler_ != report.profiler) {
    profiler_ = report.profiler;
    changed = true;
  }
  if (report.budgets && budgets_ != report.budgets) {
    budgets_ = report.budgets;
    changed = true;
  }
  return changed;
}

}  // namespace comfyvn::perf::detail::flags
#endif
