// comfyvn_perf — what the HTTP adapter serves (the profiler, the budget
// manager and the flags, injected or process-wide) and what a route body
// reads of one request (RouteContext). The route bodies themselves are in
// http/budget_routes.hpp and http/profiler_routes.hpp.
#pragma once

#include <functional>   // the cancel check
#include <string_view>  // the query

#include <boost/json/object.hpp>  // the parsed body

#include "../budget/manager.hpp"      // BudgetManager, a service
#include "../flags/flags.hpp"         // FeatureFlags, a service
#include "../profiler/profiler.hpp"   // PerfProfiler, a service
#include "../runtime/singletons.hpp"  // the process-wide services a null member means
#include "options.hpp"                // Options
#include "validate.hpp"               // Fields

namespace comfyvn::perf::http {

// What the handler serves. A null member means the process-wide instance
// (perf_profiler(), budget_manager(), feature_flags()), looked up at each
// request so that building a handler creates none of them.
struct Services {
  PerfProfiler* profiler = nullptr;
  BudgetManager* budgets = nullptr;
  FeatureFlags* flags = nullptr;
};

namespace detail {

// Each service is resolved when a route first needs it, so that a 404 or a
// disabled route creates no singleton.
PerfProfiler& profiler_of(const Services& s);
BudgetManager& budgets_of(const Services& s);
FeatureFlags& flags_of(const Services& s);

// One request as a route body sees it: the query, the parsed JSON body (an
// empty object for GET) and the services.
struct RouteContext {
  const Options& options;
  const Services& services;
  std::string_view query;
  const json::object& body;
  const std::function<bool()>* cancelled = nullptr;  // RequestView::cancelled
  Fields fields() const;
  PerfProfiler& profiler() const;
  BudgetManager& budgets() const;
  FeatureFlags& flags() const;
};

}  // namespace detail

}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
namespace comfyvn::perf::http::detail {

PerfProfiler& profiler_of(const Services& s) {
  return s.profiler != nullptr ? *s.profiler : perf_profiler();
}
BudgetManager& budgets_of(const Services& s) {
  return s.budgets != nullptr ? *s.budgets : budget_manager();
}
FeatureFlags& flags_of(const Services& s) {
  return s.flags != nullptr ? *s.flags : feature_flags();
}

Fields RouteContext::fields() const {
  return Fields(body, options.max_metadata_bytes);
}
PerfProfiler& RouteContext::profiler() const {
  return profiler_of(services);
}
BudgetManager& RouteContext::budgets() const {
  return budgets_of(services);
}
FeatureFlags& RouteContext::flags() const {
  return flags_of(services);
}

}  // namespace comfyvn::perf::http::detail
#endif
