// comfyvn_perf — JSON views of the feature flags.
#pragma once

#include <boost/json/fwd.hpp>  // value, value_from_tag: the conversions' signatures

#include "../flags/values.hpp"  // FlagValues, FlagReport

namespace comfyvn::perf {

// {enable_perf, enable_perf_budgets, enable_perf_profiler_dashboard}
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FlagValues& v);

// {enable_perf, enable_perf_budgets, enable_perf_profiler_dashboard,
//  budgets_enabled, profiler_enabled, env_override (null when unset),
//  profiler_override, budgets_override (null when unset),
//  config_path, local_config_path, problems}
void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FlagReport& r);

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <utility>  // move

#include <boost/json.hpp>  // object, array, value

namespace comfyvn::perf {

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FlagValues& v) {
  jv = boost::json::object{{"enable_perf", v.enable_perf},
                           {"enable_perf_budgets", v.enable_perf_budgets},
                           {"enable_perf_profiler_dashboard", v.enable_perf_profiler_dashboard}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const FlagReport& r) {
  boost::json::array problems;
  problems.reserve(r.problems.size());
  for (const auto& p : r.problems) problems.emplace_back(p);
  boost::json::value env = nullptr;
  if (r.env_override) env = *r.env_override;
  boost::json::value profiler_override = nullptr, budgets_override = nullptr;
  if (r.profiler_override) profiler_override = *r.profiler_override;
  if (r.budgets_override) budgets_override = *r.budgets_override;
  jv = boost::json::object{
      {"enable_perf", r.values.enable_perf},
      {"enable_perf_budgets", r.values.enable_perf_budgets},
      {"enable_perf_profiler_dashboard", r.values.enable_perf_profiler_dashboard},
      {"budgets_enabled", r.budgets_enabled},
      {"profiler_enabled", r.profiler_enabled},
      {"env_override", std::move(env)},
      {"profiler_override", std::move(profiler_override)},
      {"budgets_override", std::move(budgets_override)},
      {"config_path", r.files.config},
      {"local_config_path", r.files.local},
      {"problems", std::move(problems)}};
}

}  // namespace comfyvn::perf
#endif
