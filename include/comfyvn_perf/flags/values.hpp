// comfyvn_perf — the plain data of the feature flags (no JSON, no I/O).
#pragma once

#include <optional>  // the environment override, when set
#include <string>    // paths, problems
#include <vector>    // problems

namespace comfyvn::perf {

// The three keys after every source has been applied.
struct FlagValues {
  bool enable_perf = false;                     // umbrella, COMFYVN_ENABLE_PERF included
  bool enable_perf_budgets = false;             // legacy: budgets only
  bool enable_perf_profiler_dashboard = false;  // legacy: profiler only
};

// The two files read, lowest precedence last. An empty `local` means none.
struct FlagFiles {
  std::string config;
  std::string local;
};

// What a change listener receives (FeatureFlags::on_change). The derived
// switches are what subsystems follow; `*_changed` says which of them differ
// from the previous notification of the same listener (off before its first).
struct FlagChange {
  FlagValues values;
  bool budgets_enabled = false;   // enable_perf || enable_perf_budgets
  bool profiler_enabled = false;  // enable_perf || enable_perf_profiler_dashboard
  bool budgets_changed = false;
  bool profiler_changed = false;
};

// Everything FeatureFlags::to_json() shows, as one consistent snapshot.
struct FlagReport {
  FlagValues values;
  bool budgets_enabled = false;
  bool profiler_enabled = false;
  std::optional<bool> env_override;  // COMFYVN_ENABLE_PERF, when set and valid
  // In-memory overrides of the derived switches (enabling from code, e.g.
  // perf_profiler().set_enabled(true)); never written to a file.
  std::optional<bool> profiler_override;
  std::optional<bool> budgets_override;
  FlagFiles files;
  std::vector<std::string> problems;
};

}  // namespace comfyvn::perf
