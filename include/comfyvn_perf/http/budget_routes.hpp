// comfyvn_perf — the bodies of the /api/perf/budgets/* routes: the snapshot,
// the limits, jobs and lazy assets, over the injected BudgetManager. Each
// returns the success fields besides ok/feature_flag, or throws the Rejection
// that becomes the error reply (http/handler.hpp dispatches).
#pragma once

#include <boost/json/object.hpp>  // route bodies

#include "../budget/types.hpp"  // BudgetResult
#include "services.hpp"         // RouteContext

namespace comfyvn::perf::http::detail {

// The body of a successful BudgetManager call, or the matching error (its
// body's fields, e.g. the 409's `reason` and `job`, travel with it).
json::object unwrap(BudgetResult r);

// `jobs` and `assets` are paged by the manager, under its lock, which also
// stops including asset metadata once it totals max_response_bytes; the
// adapter then drops more if the whole body still would not fit.
json::object route_budgets(const RouteContext& c);

json::object route_apply(const RouteContext& c);
json::object route_job_register(const RouteContext& c);
json::object route_job_start(const RouteContext& c);
json::object route_job_finish(const RouteContext& c);
json::object route_job_refresh(const RouteContext& c);
json::object route_asset_register(const RouteContext& c);
json::object route_asset_touch(const RouteContext& c);
json::object route_asset_evict(const RouteContext& c);
json::object route_asset_unregister(const RouteContext& c);

}  // namespace comfyvn::perf::http::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <optional>  // optional fields
#include <string>    // ids, statuses
#include <utility>   // move

#include "options.hpp"  // page bounds
#include "reply.hpp"    // fit_metadata, add_omitted
#include "status.hpp"   // status_of: BudgetError -> StatusCode

namespace comfyvn::perf::http::detail {

json::object unwrap(BudgetResult r) {
  if (r.ok()) return std::move(r.body);
  throw Rejection{status_of(r.error), r.detail.empty() ? "request refused" : r.detail,
                  std::move(r.body)};
}

json::object route_budgets(const RouteContext& c) {
  const std::size_t limit = parse_count(c.query, "limit", kDefaultPageLimit, kMaxPageLimit);
  const std::size_t offset = parse_count(c.query, "offset", 0, kMaxPageOffset);
  json::object fields{
      {"budgets", c.budgets().snapshot(limit, offset, c.options.max_response_bytes)}};
  json::object& snap = fields["budgets"].as_object();
  std::size_t omitted = 0;
  if (json::value* assets = snap.if_contains("assets"); assets != nullptr && assets->is_array()) {
    omitted = fit_metadata(fields, assets->get_array(), c.options.max_response_bytes);
  }
  add_omitted(snap, omitted);
  return fields;
}

json::object route_apply(const RouteContext& c) {
  // The manager owns the limits' names, types and ranges; it names the field.
  return unwrap(c.budgets().configure(c.body));
}

json::object route_job_register(const RouteContext& c) {
  const Fields f = c.fields();
  std::string job_id = f.required_text("job_id", 1, 128);
  std::string job_type = f.text("job_type", 1, 128).value_or("generic");
  json::object payload = f.object("payload").value_or(json::object());
  const Fields p(payload, c.options.max_metadata_bytes, "payload.");
  if (auto perf = p.object("perf")) {
    const Fields hints(*perf, c.options.max_metadata_bytes, "payload.perf.");
    for (const char* key : {"cpu_percent", "ram_mb", "vram_mb"}) hints.number(key, 0.0);
  }
  return unwrap(
      c.budgets().register_job(std::move(job_id), std::move(job_type), std::move(payload)));
}

json::object route_job_start(const RouteContext& c) {
  const std::string job_id = c.fields().required_text("job_id", 1, 128);
  return unwrap(c.budgets().start_job(job_id));
}

json::object route_job_finish(const RouteContext& c) {
  const Fields f = c.fields();
  const std::string job_id = f.required_text("job_id", 1, 128);
  std::string status = f.text("status", 1, 32).value_or("complete");
  std::optional<std::string> reason = f.text("reason", 0, 1024);
  return unwrap(c.budgets().finish_job(job_id, std::move(status), std::move(reason)));
}

json::object route_job_refresh(const RouteContext& c) {
  return {{"transitions", c.budgets().refresh_queue()}};
}

json::object route_asset_register(const RouteContext& c) {
  const Fields f = c.fields();
  std::string asset_id = f.required_text("asset_id", 1, 256);
  const double size_mb = f.required_number("size_mb", 0.0);
  json::object metadata = f.object("metadata").value_or(json::object());
  return unwrap(c.budgets().register_asset(std::move(asset_id), size_mb, std::move(metadata)));
}

json::object route_asset_touch(const RouteContext& c) {
  const std::string asset_id = c.fields().required_text("asset_id", 1, 256);
  return unwrap(c.budgets().touch_asset(asset_id));
}

json::object route_asset_evict(const RouteContext& c) {
  const Fields f = c.fields();
  std::optional<double> target_mb = f.number("target_mb", 0.0);
  std::optional<std::string> asset_id = f.text("asset_id", 1, 256);
  return unwrap(c.budgets().evict_lazy_assets(target_mb, std::move(asset_id)));
}

json::object route_asset_unregister(const RouteContext& c) {
  const std::string asset_id = c.fields().required_text("asset_id", 1, 256);
  return unwrap(c.budgets().unregister_asset(asset_id));
}

}  // namespace comfyvn::perf::http::detail
#endif
