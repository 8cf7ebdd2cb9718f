// comfyvn_perf — the feature flags' rules: the defaults (all off), which
// source wins, which COMFYVN_ENABLE_PERF values count, and which flag implies
// which switch (budgets: enable_perf || enable_perf_budgets; profiler:
// enable_perf || enable_perf_profiler_dashboard; an override wins over both).
// docs/configuration.md states them for users.
//
// FlagRules holds the values all sources gave and the switches derived from
// them. The switches are atomics, so a flag read needs no lock; everything
// else is guarded by FeatureFlags' lock.
#pragma once

#include <atomic>    // switches read without a lock
#include <optional>  // the environment override
#include <string>    // problems
#include <vector>    // problems

#include "config_file.hpp"  // Layer: one file's say
#include "overrides.hpp"    // FlagOverrides: they win over the rules
#include "values.hpp"       // FlagValues, FlagChange

namespace comfyvn::perf::detail::flags {

class FlagRules {
 public:
  // The file values: defaults, then the local file, then the config file
  // (later wins). A file that cannot be trusted (`files_ok` false) turns
  // every file flag off.
  static FlagValues combine(const Layer& local, const Layer& config, bool files_ok);

  // COMFYVN_ENABLE_PERF as a switch: nullopt when unset, empty or invalid
  // (an invalid value adds a problem that quotes it).
  static std::optional<bool> env_switch(const std::optional<std::string>& text,
                                        std::vector<std::string>& problems);

  // Takes the file values, with the environment's say on the umbrella, and
  // derives the switches.
  void set(FlagValues files, std::optional<bool> env, const FlagOverrides& overrides);

  // Derives the switches again (after an override changed).
  void derive(const FlagOverrides& overrides);

  const FlagValues& values() const noexcept { return values_; }
  std::optional<bool> env_override() const noexcept { return env_override_; }

  // Lock-free.
  bool perf() const noexcept { return perf_.load(std::memory_order_acquire); }
  bool budgets() const noexcept { return budgets_.load(std::memory_order_acquire); }
  bool profiler() const noexcept { return profiler_.load(std::memory_order_acquire); }

  // The values and switches, as a listener receives them (nothing marked
  // changed yet).
  FlagChange change() const;

 private:
  FlagValues values_;
  std::optional<bool> env_override_;  // COMFYVN_ENABLE_PERF, when set and valid
  std::atomic<bool> perf_{false};
  std::atomic<bool> budgets_{false};
  std::atomic<bool> profiler_{false};
};

}  // namespace comfyvn::perf::detail::flags

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include "../os/env.hpp"  // parse_switch

namespace comfyvn::perf::detail::flags {

FlagValues FlagRules::combine(const Layer& local, const Layer& config, bool files_ok) {
  FlagValues v;
  if (!files_ok) return v;
  for (const Layer* l : {&local, &config}) {
    if (l->perf) v.enable_perf = *l->perf;
    if (l->budgets) v.enable_perf_budgets = *l->budgets;
    if (l->dashboard) v.enable_perf_profiler_dashboard = *l->dashboard;
  }
  return v;
}

std::optional<bool> FlagRules::env_switch(const std::optional<std::string>& text,
                                          std::vector<std::string>& problems) {
  if (!text) return std::nullopt;
  bool invalid = false;
  const std::optional<bool> on = os::parse_switch(*text, invalid);
  if (invalid) {
    problems.push_back("COMFYVN_ENABLE_PERF='" + *text +
                       "' is not one of 1, 0, true, false, yes, no, on, off; ignored");
  }
  return on;
}

void FlagRules::set(FlagValues files, std::optional<bool> env, const FlagOverrides& overrides) {
  env_override_ = env;
  if (env) files.enable_perf = *env;
  values_ = files;
  derive(overrides);
}

void FlagRules::derive(const FlagOverrides& overrides) {
  const FlagValues& v = values_;
  perf_.store(v.enable_perf, std::memory_order_release);
  budgets_.store(overrides.budgets().value_or(v.enable_perf || v.enable_perf_budgets),
                 std::memory_order_release);
  profiler_.store(overrides.profiler().value_or(v.enable_perf || v.enable_perf_profiler_dashboard),
                  std::memory_order_release);
}

FlagChange FlagRules::change() const {
  FlagChange c;
  c.values = values_;
  c.profiler_enabled = profiler();
  c.budgets_enabled = budgets();
  return c;
}

}  // namespace comfyvn::perf::detail::flags
#endif
