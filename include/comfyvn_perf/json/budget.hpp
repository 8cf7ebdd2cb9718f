// comfyvn_perf — JSON views of the budget part: limits, public jobs and
// assets, queue transitions, snapshot and health, in the shapes of the HTTP
// routes and the on_perf_budget_state events.
//
// Free functions (and tag_invoke for Boost.JSON's value_from), so the
// records in budget/types.hpp stay plain data.
#pragma once

#include <cstddef>  // size_t
#include <vector>   // snapshot parts

#include <boost/json.hpp>  // the views, value_from_tag

#include "../budget/types.hpp"    // the records
#include "../metrics/sample.hpp"  // Metrics

namespace comfyvn::perf {

// All seven limits, always: clients read the effective value of each.
boost::json::object limits_json(const BudgetLimits& l);

// The limits.updated payload: {limits, changed: [names of the limits that
// changed value]}.
boost::json::object limits_update_json(const BudgetLimits& before, const BudgetLimits& after);

boost::json::value job_reason_json(const BudgetJob& j);

// The public job of the contract, plus why it waits: a blocker per failing
// check (a starvation hold names the job it is `behind` instead of figures).
boost::json::object job_json(const BudgetJob& j);

// One entry of refresh's `transitions`: {job, queue_state, reason}.
boost::json::object transition_json(const BudgetJob& j);

// Without metadata (`metadata: null`) when a snapshot's metadata budget is
// spent: the copy is what costs, so it is never made.
boost::json::object asset_json(const BudgetAsset& a, bool with_metadata = true);

// {limits, queue: {queued, delayed, running, seen_jobs}, assets: {registered,
// loaded, loaded_mb}, last_evaluation, metrics}, plus a few counters.
boost::json::object health_json(const BudgetHealth& h);

// What a snapshot shows, gathered under the manager's lock: the pointers
// are only valid while it is held. `jobs` and `assets` are complete; the
// page [offset, offset + limit) of each is what snapshot_json lists (the
// defaults list everything).
struct BudgetSnapshotView {
  const BudgetLimits* limits = nullptr;
  const Metrics* metrics = nullptr;
  std::vector<const BudgetJob*> jobs;      // active and kept finished, registration order
  std::vector<const BudgetAsset*> assets;  // loaded least recently used first, then unloaded
  std::size_t limit = static_cast<std::size_t>(-1);
  std::size_t offset = 0;
  // Asset metadata is included, in page order, while the running total of
  // BudgetAsset::metadata_bytes stays within this; later assets show
  // `metadata: null` and are counted in `metadata_omitted`.
  std::size_t max_metadata_bytes = static_cast<std::size_t>(-1);
};

// {limits, metrics, jobs, queued_ids, delayed_ids, running_ids, assets,
// jobs_total, assets_total, metadata_omitted}. The id lists cover every
// active job; `jobs` and `assets` only the page.
boost::json::object snapshot_json(const BudgetSnapshotView& v);

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const BudgetLimits& l);
void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const BudgetJob& j);
void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const BudgetAsset& a);
void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const BudgetHealth& h);

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min: snapshot pages
#include <utility>    // move, pair

#include "metrics.hpp"  // metrics_json

namespace comfyvn::perf {

boost::json::object limits_json(const BudgetLimits& l) {
  return boost::json::object{{"max_cpu_percent", l.max_cpu_percent},
                             {"max_mem_mb", l.max_mem_mb},
                             {"max_vram_mb", l.max_vram_mb},
                             {"max_running_jobs", l.max_running_jobs},
                             {"lazy_asset_target_mb", l.lazy_asset_target_mb},
                             {"max_queue_depth", l.max_queue_depth},
                             {"evaluation_interval", l.evaluation_interval}};
}

boost::json::object limits_update_json(const BudgetLimits& before, const BudgetLimits& after) {
  boost::json::object now = limits_json(after);
  const boost::json::object old = limits_json(before);
  boost::json::array changed;
  for (const auto& kv : now) {
    if (old.at(kv.key()) != kv.value()) changed.push_back(boost::json::string(kv.key()));
  }
  return boost::json::object{{"limits", std::move(now)}, {"changed", std::move(changed)}};
}

boost::json::value job_reason_json(const BudgetJob& j) {
  if (j.reason) return boost::json::string(*j.reason);
  return nullptr;
}

boost::json::object job_json(const BudgetJob& j) {
  boost::json::array blockers;
  for (const auto& b : j.blockers) {
    boost::json::object o{{"resource", b.resource}};
    if (b.behind.empty()) {
      o["requested"] = b.requested;
      o["in_use"] = b.in_use;
      o["limit"] = b.limit;
    } else {
      o["requested"] = nullptr;
      o["in_use"] = nullptr;
      o["limit"] = nullptr;
      o["behind"] = b.behind;
    }
    if (b.release_below) o["release_below"] = *b.release_below;
    blockers.push_back(std::move(o));
  }
  return boost::json::object{
      {"id", j.id},
      {"type", j.type},
      {"status", status_name(j.status)},
      {"reason", job_reason_json(j)},
      {"submitted_at", j.submitted_at},
      {"last_transition", j.last_transition},
      {"requirements", boost::json::object{{"cpu_percent", j.req.cpu_percent},
                                           {"ram_mb", j.req.ram_mb},
                                           {"vram_mb", j.req.vram_mb}}},
      {"infeasible", j.infeasible},
      {"blockers", std::move(blockers)}};
}

boost::json::object transition_json(const BudgetJob& j) {
  return boost::json::object{
      {"job", job_json(j)}, {"queue_state", status_name(j.status)}, {"reason", job_reason_json(j)}};
}

boost::json::object asset_json(const BudgetAsset& a, bool with_metadata) {
  boost::json::value last = nullptr;
  if (a.last_eviction) last = to_string(*a.last_eviction);
  boost::json::value metadata = nullptr;
  if (with_metadata) metadata = a.metadata;
  return boost::json::object{{"asset_id", a.id},
                             {"size_mb", a.size_mb},
                             {"loaded", a.loaded},
                             {"pinned", a.pins},
                             {"metadata", std::move(metadata)},
                             {"registered_at", a.registered_at},
                             {"last_used", a.last_used},
                             {"evictions", a.evictions},
                             {"last_eviction", std::move(last)}};
}

boost::json::object health_json(const BudgetHealth& h) {
  boost::json::value last = nullptr;
  if (h.last_evaluation > 0) last = h.last_evaluation;
  return boost::json::object{
      {"limits", limits_json(h.limits)},
      {"queue", boost::json::object{{"queued", h.queued},
                                    {"delayed", h.delayed},
                                    {"running", h.running},
                                    {"seen_jobs", h.seen_jobs},
                                    {"infeasible", h.infeasible},
                                    {"finished_kept", h.finished_kept}}},
      {"assets", boost::json::object{{"registered", h.assets_registered},
                                     {"loaded", h.assets_loaded},
                                     {"loaded_mb", h.loaded_mb},
                                     {"pinned", h.assets_pinned},
                                     {"metadata_bytes", h.asset_metadata_bytes},
                                     {"evictions", h.evictions},
                                     {"handler_errors", h.handler_errors}}},
      {"last_evaluation", std::move(last)},
      {"metrics", metrics_json(h.metrics)},
      {"enabled", h.enabled},
      {"sampler_errors", h.sampler_errors}};
}

boost::json::object snapshot_json(const BudgetSnapshotView& v) {
  auto page = [&v](std::size_t total) {
    const std::size_t first = std::min(v.offset, total);
    return std::make_pair(first, first + std::min(v.limit, total - first));
  };
  boost::json::array jobs, queued, delayed, running;
  const auto [jobs_first, jobs_end] = page(v.jobs.size());
  jobs.reserve(jobs_end - jobs_first);
  for (std::size_t i = 0; i < v.jobs.size(); ++i) {
    const BudgetJob* j = v.jobs[i];
    if (i >= jobs_first && i < jobs_end) jobs.push_back(job_json(*j));
    // Jobs come in registration order, so each id list is in that order too.
    if (j->status == JobStatus::queued) queued.push_back(boost::json::string(j->id));
    if (j->status == JobStatus::delayed) delayed.push_back(boost::json::string(j->id));
    if (j->status == JobStatus::running) running.push_back(boost::json::string(j->id));
  }
  boost::json::array assets;
  const auto [assets_first, assets_end] = page(v.assets.size());
  assets.reserve(assets_end - assets_first);
  std::size_t metadata_bytes = 0;
  std::size_t omitted = 0;
  for (std::size_t i = assets_first; i < assets_end; ++i) {
    const BudgetAsset& a = *v.assets[i];
    // Once one asset's metadata does not fit, none after it is included, so
    // the assets that carry metadata are always a prefix of the page.
    const bool fits = omitted == 0 && a.metadata_bytes <= v.max_metadata_bytes - metadata_bytes;
    if (fits) {
      metadata_bytes += a.metadata_bytes;
    } else {
      ++omitted;
    }
    assets.push_back(asset_json(a, fits));
  }
  return boost::json::object{
      {"limits", limits_json(*v.limits)},  {"metrics", metrics_json(*v.metrics)},
      {"jobs", std::move(jobs)},           {"queued_ids", std::move(queued)},
      {"delayed_ids", std::move(delayed)}, {"running_ids", std::move(running)},
      {"assets", std::move(assets)},       {"jobs_total", v.jobs.size()},
      {"assets_total", v.assets.size()},   {"metadata_omitted", omitted}};
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const BudgetLimits& l) {
  out = limits_json(l);
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const BudgetJob& j) {
  out = job_json(j);
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const BudgetAsset& a) {
  out = asset_json(a);
}

void tag_invoke(boost::json::value_from_tag, boost::json::value& out, const BudgetHealth& h) {
  out = health_json(h);
}

}  // namespace comfyvn::perf
#endif
