// comfyvn_perf — the route table of the HTTP adapter: every /api/perf path
// with its method, the subsystem whose flag guards it and the action that
// serves it. Plain data, so that documentation checks and tests can walk it.
#pragma once

#include <cstddef>      // size_t
#include <string_view>  // paths, Allow values

namespace comfyvn::perf::http {

// The request methods the adapter tells apart; everything else is `other`
// (answered 405 on a known route).
enum class Method { get, head, post, options, other };

// Whose feature flag must be on for a route to answer (403 otherwise).
enum class Subsystem { none, budgets, profiler };

// What a route does; http/handler.hpp maps each to its body.
enum class Action {
  health,
  budgets_snapshot,
  budgets_apply,
  job_register,
  job_start,
  job_finish,
  job_refresh,
  asset_register,
  asset_touch,
  asset_evict,
  asset_unregister,
  profiler_mark,
  profiler_dashboard,
  profiler_reset,
  metrics,
  profiler_trace,
  profiler_tree,
  span_budgets,
  span_budget_set,
  span_budget_remove,
  profiler_spikes,
  ui,
};

struct Route {
  std::string_view path;
  Method method;  // get (HEAD answers like GET without a body) or post
  Subsystem subsystem;
  Action action;
};

inline constexpr std::string_view kHealthPath = "/api/perf/health";
inline constexpr std::string_view kUiPath = "/api/perf/ui";

inline constexpr Route kRoutes[] = {
    {kHealthPath, Method::get, Subsystem::none, Action::health},
    {"/api/perf/budgets", Method::get, Subsystem::budgets, Action::budgets_snapshot},
    {"/api/perf/budgets/apply", Method::post, Subsystem::budgets, Action::budgets_apply},
    {"/api/perf/budgets/jobs/register", Method::post, Subsystem::budgets, Action::job_register},
    {"/api/perf/budgets/jobs/start", Method::post, Subsystem::budgets, Action::job_start},
    {"/api/perf/budgets/jobs/finish", Method::post, Subsystem::budgets, Action::job_finish},
    {"/api/perf/budgets/jobs/refresh", Method::post, Subsystem::budgets, Action::job_refresh},
    {"/api/perf/budgets/assets/register", Method::post, Subsystem::budgets, Action::asset_register},
    {"/api/perf/budgets/assets/touch", Method::post, Subsystem::budgets, Action::asset_touch},
    {"/api/perf/budgets/assets/evict", Method::post, Subsystem::budgets, Action::asset_evict},
    {"/api/perf/budgets/assets/unregister", Method::post, Subsystem::budgets,
     Action::asset_unregister},
    {"/api/perf/profiler/mark", Method::post, Subsystem::profiler, Action::profiler_mark},
    {"/api/perf/profiler/dashboard", Method::get, Subsystem::profiler, Action::profiler_dashboard},
    {"/api/perf/profiler/reset", Method::post, Subsystem::profiler, Action::profiler_reset},
    // Prometheus text; never refused for the flags (with them off it says so).
    {"/api/perf/metrics", Method::get, Subsystem::none, Action::metrics},
    // Chrome Trace Event JSON of the next `seconds`.
    {"/api/perf/profiler/trace", Method::get, Subsystem::profiler, Action::profiler_trace},
    {"/api/perf/profiler/tree", Method::get, Subsystem::profiler, Action::profiler_tree},
    {"/api/perf/profiler/budgets", Method::get, Subsystem::profiler, Action::span_budgets},
    {"/api/perf/profiler/budgets/set", Method::post, Subsystem::profiler, Action::span_budget_set},
    {"/api/perf/profiler/budgets/remove", Method::post, Subsystem::profiler,
     Action::span_budget_remove},
    // The list; with ?id=N, that spike's frame as Chrome Trace Event JSON.
    {"/api/perf/profiler/spikes", Method::get, Subsystem::profiler, Action::profiler_spikes},
    // The dashboard page: public like /health (it holds no data; it asks for
    // the token itself), never refused for the flags.
    {kUiPath, Method::get, Subsystem::none, Action::ui},
};

// Paths are compared exactly as sent (see split_target in http/handler.hpp).
constexpr const Route* find_route(std::string_view path) noexcept {
  for (const Route& r : kRoutes) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

// The Allow header of a route: what a 405 and an OPTIONS answer name.
constexpr std::string_view allowed_methods(const Route& r) noexcept {
  return r.method == Method::post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
}

constexpr bool accepts(const Route& r, Method m) noexcept {
  return r.method == Method::post ? m == Method::post : (m == Method::get || m == Method::head);
}

}  // namespace comfyvn::perf::http
