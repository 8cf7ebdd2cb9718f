// comfyvn_perf — checking and patching the budget limits and policy.
//
// Every check returns the message that names the offending field, or nullopt;
// a patch is applied to a copy, so a bad key leaves the limits untouched.
#pragma once

#include <cmath>        // isfinite
#include <cstdint>      // uint64_t
#include <optional>     // "no error"
#include <string>       // messages
#include <string_view>  // keys

#include <boost/json.hpp>

#include "../json/fields.hpp"
#include "types.hpp"

namespace comfyvn::perf {

// The ranges of the contract, on a whole struct (configure(BudgetLimits)).
inline std::optional<std::string> check_limits(const BudgetLimits& l) {
  if (!std::isfinite(l.max_cpu_percent) || l.max_cpu_percent < 0 || l.max_cpu_percent > 100) {
    return std::string("max_cpu_percent must be a number between 0 and 100");
  }
  if (l.max_queue_depth < 1) return std::string("max_queue_depth must be an integer >= 1");
  if (!std::isfinite(l.evaluation_interval) || l.evaluation_interval < 0.1) {
    return std::string("evaluation_interval must be a number >= 0.1");
  }
  return std::nullopt;
}

// Replaces `l` with `next` if its ranges are valid (configure(BudgetLimits)).
inline std::optional<std::string> assign_limits(BudgetLimits& l, const BudgetLimits& next) {
  if (auto err = check_limits(next)) return err;
  l = next;
  return std::nullopt;
}

// Sets one limit from its JSON value: unknown keys, wrong types and values
// out of range are refused.
inline std::optional<std::string> apply_limit(BudgetLimits& l, std::string_view key,
                                              const boost::json::value& v) {
  const std::string k(key);
  if (key == "max_cpu_percent" || key == "evaluation_interval") {
    const auto d = detail::json_number(v);
    const bool cpu = key == "max_cpu_percent";
    if (!d || (cpu && (*d < 0 || *d > 100)) || (!cpu && *d < 0.1)) {
      return cpu ? k + " must be a number between 0 and 100" : k + " must be a number >= 0.1";
    }
    (cpu ? l.max_cpu_percent : l.evaluation_interval) = *d;
    return std::nullopt;
  }
  std::uint64_t* field = nullptr;
  std::uint64_t lowest = 0;
  if (key == "max_mem_mb") {
    field = &l.max_mem_mb;
  } else if (key == "max_vram_mb") {
    field = &l.max_vram_mb;
  } else if (key == "max_running_jobs") {
    field = &l.max_running_jobs;
  } else if (key == "lazy_asset_target_mb") {
    field = &l.lazy_asset_target_mb;
  } else if (key == "max_queue_depth") {
    field = &l.max_queue_depth;
    lowest = 1;
  } else {
    return k + " is not a known limit";
  }
  const auto n = detail::json_whole_number(v);
  if (!n || *n < lowest) return k + " must be an integer >= " + std::to_string(lowest);
  *field = *n;
  return std::nullopt;
}

// Applies every key of `patch` to `l`, stopping at the first bad one (the
// caller passes a copy and keeps it only on success).
inline std::optional<std::string> apply_limits_patch(BudgetLimits& l,
                                                     const boost::json::object& patch) {
  for (const auto& kv : patch) {
    if (auto err = apply_limit(l, kv.key(), kv.value())) return err;
  }
  return std::nullopt;
}

// Negative or non-finite durations and margins are refused.
inline std::optional<std::string> check_policy(const BudgetPolicy& p) {
  if (!std::isfinite(p.starvation_after) || p.starvation_after < 0) {
    return std::string("starvation_after must be a number >= 0");
  }
  if (!std::isfinite(p.cpu_release_margin) || p.cpu_release_margin < 0) {
    return std::string("cpu_release_margin must be a number >= 0");
  }
  return std::nullopt;
}

}  // namespace comfyvn::perf
