// comfyvn_perf — checking and patching the budget limits and policy.
//
// Every check returns the message that names the offending field, or nullopt;
// a patch is applied to a copy, so a bad key leaves the limits untouched.
#pragma once

#include <optional>     // "no error"
#include <string>       // messages
#include <string_view>  // keys

#include <boost/json.hpp>  // patch objects and values

#include "types.hpp"  // BudgetLimits, BudgetPolicy

namespace comfyvn::perf {

// The ranges of the contract, on a whole struct (configure(BudgetLimits)).
// Every figure has a maximum, so a limit can neither pause the sampler
// (evaluation_interval 1e300) nor let the queue grow without bound.
std::optional<std::string> check_limits(const BudgetLimits& l);

// Replaces `l` with `next` if its ranges are valid (configure(BudgetLimits)).
std::optional<std::string> assign_limits(BudgetLimits& l, const BudgetLimits& next);

// Sets one limit from its JSON value: unknown keys, wrong types and values
// out of range are refused. Messages quote an unknown key only in part.
std::optional<std::string> apply_limit(BudgetLimits& l, std::string_view key,
                                       const boost::json::value& v);

// Applies every key of `patch` to `l`, stopping at the first bad one (the
// caller passes a copy and keeps it only on success).
std::optional<std::string> apply_limits_patch(BudgetLimits& l, const boost::json::object& patch);

// Negative or non-finite durations and margins are refused.
std::optional<std::string> check_policy(const BudgetPolicy& p);

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cmath>    // isfinite
#include <cstdint>  // uint64_t
#include <utility>  // pair

#include "../json/fields.hpp"  // json_number, json_whole_number, quoted_name

namespace comfyvn::perf {

std::optional<std::string> check_limits(const BudgetLimits& l) {
  if (!std::isfinite(l.max_cpu_percent) || l.max_cpu_percent < 0 || l.max_cpu_percent > 100) {
    return std::string("max_cpu_percent must be a number between 0 and 100");
  }
  if (l.max_queue_depth < 1 || l.max_queue_depth > kMaxQueueDepth) {
    return std::string("max_queue_depth must be an integer >= 1 and <= ") +
           std::to_string(kMaxQueueDepth);
  }
  if (!std::isfinite(l.evaluation_interval) || l.evaluation_interval < kMinEvaluationInterval ||
      l.evaluation_interval > kMaxEvaluationInterval) {
    return std::string("evaluation_interval must be a number >= 0.1 and <= 3600");
  }
  const std::pair<const char*, std::uint64_t> sizes[] = {
      {"max_mem_mb", l.max_mem_mb},
      {"max_vram_mb", l.max_vram_mb},
      {"max_running_jobs", l.max_running_jobs},
      {"lazy_asset_target_mb", l.lazy_asset_target_mb}};
  for (const auto& [name, value] : sizes) {
    if (value > kMaxLimitMb) {
      return std::string(name) + " must be an integer >= 0 and <= " + std::to_string(kMaxLimitMb);
    }
  }
  return std::nullopt;
}

std::optional<std::string> assign_limits(BudgetLimits& l, const BudgetLimits& next) {
  if (auto err = check_limits(next)) return err;
  l = next;
  return std::nullopt;
}

std::optional<std::string> apply_limit(BudgetLimits& l, std::string_view key,
                                       const boost::json::value& v) {
  if (key == "max_cpu_percent") {
    const auto d = detail::json_number(v);
    if (!d || *d < 0 || *d > 100)
      return std::string("max_cpu_percent must be a number between 0 and 100");
    l.max_cpu_percent = *d;
    return std::nullopt;
  }
  if (key == "evaluation_interval") {
    const auto d = detail::json_number(v);
    if (!d || *d < kMinEvaluationInterval || *d > kMaxEvaluationInterval) {
      return std::string("evaluation_interval must be a number >= 0.1 and <= 3600");
    }
    l.evaluation_interval = *d;
    return std::nullopt;
  }
  std::uint64_t* field = nullptr;
  std::uint64_t lowest = 0;
  std::uint64_t highest = kMaxLimitMb;
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
    highest = kMaxQueueDepth;
  } else {
    return detail::quoted_name(key) + " is not a known limit";
  }
  const auto n = detail::json_whole_number(v);
  if (!n || *n < lowest || *n > highest) {
    return std::string(key) + " must be an integer >= " + std::to_string(lowest) +
           " and <= " + std::to_string(highest);
  }
  *field = *n;
  return std::nullopt;
}

std::optional<std::string> apply_limits_patch(BudgetLimits& l, const boost::json::object& patch) {
  for (const auto& kv : patch) {
    if (auto err = apply_limit(l, kv.key(), kv.value())) return err;
  }
  return std::nullopt;
}

std::optional<std::string> check_policy(const BudgetPolicy& p) {
  if (!std::isfinite(p.starvation_after) || p.starvation_after < 0) {
    return std::string("starvation_after must be a number >= 0");
  }
  if (!std::isfinite(p.cpu_release_margin) || p.cpu_release_margin < 0) {
    return std::string("cpu_release_margin must be a number >= 0");
  }
  // The ceiling keeps the integer total of loaded sizes below 2^64 (types.hpp).
  if (p.max_assets < 1 || p.max_assets > kMaxAssetsCeiling) {
    return std::string("max_assets must be an integer >= 1 and <= ") +
           std::to_string(kMaxAssetsCeiling);
  }
  return std::nullopt;
}

}  // namespace comfyvn::perf
#endif
