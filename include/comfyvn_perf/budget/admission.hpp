// comfyvn_perf — the admission queue: which jobs may run now, which wait and
// why, and the history of finished ones.
//
// A job is queued (may start now), delayed (with a reason and one blocker
// per failing check), running, or finished (complete, canceled, error). The
// queue keeps the jobs and moves them between states; whether one may run is
// judged by the rules of admission_rules.hpp. Two policies on top: a
// starvation guard, so a large job is not overtaken forever, and CPU
// hysteresis, so a job delayed for CPU is not released by a sample that dips
// just below the limit. docs/budgets.md describes both.
//
// Not thread-safe: BudgetManager holds its lock around every call.
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <deque>        // finished-job history
#include <functional>   // less<>: lookups by string_view
#include <map>          // jobs by id, state sets by registration order
#include <optional>     // reasons
#include <set>          // delayed jobs ordered by waiting time
#include <string>       // ids, reasons
#include <string_view>  // API arguments
#include <utility>      // pair
#include <vector>       // job lists

#include <boost/json.hpp>  // evaluate's transitions

#include "admission_rules.hpp"  // AdmissionContext, AdmissionVerdict, judge_admission
#include "events.hpp"           // BudgetEvents
#include "types.hpp"            // limits, policy, jobs, results

namespace comfyvn::perf {

class AdmissionQueue {
 public:
  // Admits the job as queued or delayed. Refused: an id that is still
  // active (conflict) or a full queue (queue_full, nothing stored). A
  // finished job of the same id gives way. Body: {job, queue_state, reason,
  // metrics, limits}.
  BudgetResult register_job(const AdmissionContext& c, std::string job_id, std::string job_type,
                            const JobRequirements& req, BudgetEvents& ev);

  // Runs a queued or delayed job if it is admissible now; otherwise it is
  // (or stays) delayed and the result is a conflict whose detail is the
  // reason. Body: {job}, or {job, reason} on conflict.
  BudgetResult start_job(const AdmissionContext& c, std::string_view job_id, BudgetEvents& ev);

  // Ends an active job with a final status, frees its slot and re-evaluates
  // the delayed jobs at once. Body: {job}.
  BudgetResult finish_job(const AdmissionContext& c, std::string_view job_id,
                          JobStatus final_status, std::optional<std::string> reason,
                          BudgetEvents& ev);

  // Re-evaluates every delayed job in registration order. With `all` it
  // returns a transition per job evaluated (refresh_queue); otherwise it
  // returns nothing and its queue.refreshed event lists only the jobs that
  // changed state.
  boost::json::array evaluate(const AdmissionContext& c, const char* cause, bool all,
                              BudgetEvents& ev);

  // Drops the oldest finished jobs beyond `keep`.
  void trim_history(std::size_t keep);

  // A new sample arrived: jobs that finished before it no longer weigh on
  // the figures (see current_guard).
  void note_sample() noexcept { finishes_at_sample_ = finishes_; }
  void set_last_evaluation(double wall) noexcept { last_evaluation_ = wall; }

  // ---- reading ---------------------------------------------------------------

  // Active and kept finished jobs, in registration order.
  std::vector<const BudgetJob*> jobs_in_order() const;

  const BudgetJob* find(std::string_view job_id) const;

  std::size_t queued() const noexcept { return queued_.size(); }
  std::size_t delayed() const noexcept { return delayed_.size(); }
  std::size_t running() const noexcept { return running_.size(); }
  double last_evaluation() const noexcept { return last_evaluation_; }

  // The queue's figures of BudgetManager::health().
  void fill(BudgetHealth& h) const noexcept;

 private:
  static BudgetResult already_finished(const BudgetJob& job);
  // start_job and finish_job of an id the queue does not know.
  static BudgetResult job_not_found(std::string_view job_id);

  // The longest-waiting feasible delayed job, once it has waited
  // starvation_after seconds and our own jobs could still make room for it:
  // some are running, or one finished after the latest sample (which then
  // still shows its load). Otherwise what blocks the job is outside the
  // manager, and holding newer jobs back would only idle the host.
  const BudgetJob* current_guard(const AdmissionContext& c) const;

  // judge_admission with the slots this queue holds (queue depth is
  // checked by register_job alone). `holds_slot`: a queued job being
  // started already counts in the cap.
  AdmissionVerdict judge(const AdmissionContext& c, const BudgetJob& j, bool holds_slot,
                         bool hysteresis, const BudgetJob* guard) const;

  // Stores the verdict on a delayed job, keeping the set of waiting
  // (feasible) jobs in step with its infeasible flag.
  void record_verdict(BudgetJob& job, AdmissionVerdict&& v);

  // Removes a job from the set of its current (active) state.
  void leave_state(BudgetJob& job);

  void forget_finished(const BudgetJob& job);

  std::map<std::string, BudgetJob, std::less<>> jobs_;              // active and kept finished
  std::map<std::uint64_t, BudgetJob*> queued_, delayed_, running_;  // by registration order
  std::set<std::pair<double, std::uint64_t>> waiting_;          // feasible delayed: (since, seq)
  std::deque<std::pair<std::string, std::uint64_t>> finished_;  // oldest first
  std::uint64_t job_seq_ = 0;
  std::uint64_t seen_jobs_ = 0;
  std::uint64_t finishes_ = 0;            // running jobs that finished, ever
  std::uint64_t finishes_at_sample_ = 0;  // ... as of the latest sample
  double last_evaluation_ = 0;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // sort
#include <utility>    // move

#include "../json/budget.hpp"   // job_json, job_reason_json, limits_json, transition_json
#include "../json/fields.hpp"   // quoted_name
#include "../json/metrics.hpp"  // metrics_json

namespace comfyvn::perf {

BudgetResult AdmissionQueue::register_job(const AdmissionContext& c, std::string job_id,
                                          std::string job_type, const JobRequirements& req,
                                          BudgetEvents& ev) {
  const auto previous = jobs_.find(job_id);
  if (previous != jobs_.end() && is_active(previous->second.status)) {
    return BudgetResult::failure(
        BudgetError::conflict,
        "job " + job_id + " is already registered (" + status_name(previous->second.status) + ")");
  }
  const std::size_t depth = queued_.size() + delayed_.size();
  if (depth >= c.limits.max_queue_depth) {
    BudgetResult r = BudgetResult::failure(BudgetError::queue_full, "queue capacity reached");
    r.body = {{"reason", "queue capacity reached"},
              {"queue_depth", depth},
              {"limits", limits_json(c.limits)}};
    return r;
  }
  if (previous != jobs_.end()) forget_finished(previous->second);
  BudgetJob& job = jobs_[job_id];
  job.id = std::move(job_id);
  job.type = std::move(job_type);
  job.seq = ++job_seq_;
  job.req = req;
  job.submitted_at = c.wall;
  job.last_transition = c.wall;
  ++seen_jobs_;
  AdmissionVerdict v = judge(c, job, false, false, current_guard(c));
  if (v.admit) {
    job.status = JobStatus::queued;
    queued_.emplace(job.seq, &job);
  } else {
    job.status = JobStatus::delayed;
    job.delayed_since = c.mono;
    delayed_.emplace(job.seq, &job);
    record_verdict(job, std::move(v));
  }
  boost::json::object job_view = job_json(job);
  boost::json::value reason = job_reason_json(job);
  const char* state = status_name(job.status);
  if (ev.wanted()) {
    ev.add(kBudgetJobRegistered, {{"job", job_view}, {"queue_state", state}, {"reason", reason}});
  }
  BudgetResult out;
  out.body = {{"job", std::move(job_view)},
              {"queue_state", state},
              {"reason", std::move(reason)},
              {"metrics", metrics_json(c.metrics)},
              {"limits", limits_json(c.limits)}};
  return out;
}

BudgetResult AdmissionQueue::job_not_found(std::string_view job_id) {
  return BudgetResult::failure(BudgetError::not_found,
                               detail::concat({"job ", detail::quoted_name(job_id), " not found"}));
}

BudgetResult AdmissionQueue::start_job(const AdmissionContext& c, std::string_view job_id,
                                       BudgetEvents& ev) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return job_not_found(job_id);
  }
  BudgetJob& job = it->second;
  if (job.status == JobStatus::running) {
    return BudgetResult::failure(BudgetError::conflict, "job " + job.id + " is already running");
  }
  if (!is_active(job.status)) return already_finished(job);
  BudgetResult out;
  const bool was_queued = job.status == JobStatus::queued;
  AdmissionVerdict v = judge(c, job, was_queued, !was_queued && job.cpu_hold, current_guard(c));
  if (v.admit) {
    leave_state(job);
    job.status = JobStatus::running;
    job.reason.reset();
    job.blockers.clear();
    job.infeasible = false;
    job.cpu_hold = false;
    job.last_transition = c.wall;
    running_.emplace(job.seq, &job);
    out.body = {{"job", job_json(job)}};
    if (ev.wanted()) ev.add(kBudgetJobStarted, out.body);
    return out;
  }
  if (was_queued) {
    leave_state(job);
    job.status = JobStatus::delayed;
    job.delayed_since = c.mono;
    job.last_transition = c.wall;
    delayed_.emplace(job.seq, &job);
  }
  record_verdict(job, std::move(v));
  out.error = BudgetError::conflict;
  out.detail = *job.reason;
  out.body = {{"job", job_json(job)}, {"reason", *job.reason}};
  if (was_queued && ev.wanted()) {
    boost::json::array transitions;
    transitions.push_back(transition_json(job));
    ev.add(kBudgetQueueRefreshed, {{"cause", "start"},
                                   {"evaluated", 1},
                                   {"promoted", 0},
                                   {"transitions", std::move(transitions)}});
  }
  return out;
}

BudgetResult AdmissionQueue::finish_job(const AdmissionContext& c, std::string_view job_id,
                                        JobStatus final_status, std::optional<std::string> reason,
                                        BudgetEvents& ev) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return job_not_found(job_id);
  }
  BudgetJob& job = it->second;
  if (!is_active(job.status)) return already_finished(job);
  if (job.status == JobStatus::running) ++finishes_;
  leave_state(job);
  job.status = final_status;
  job.reason = std::move(reason);
  job.blockers.clear();
  job.cpu_hold = false;
  job.last_transition = c.wall;
  finished_.emplace_back(job.id, job.seq);
  BudgetResult out;
  out.body = {{"job", job_json(job)}};
  if (ev.wanted()) ev.add(kBudgetJobFinished, out.body);
  trim_history(c.policy.finished_jobs_kept);
  evaluate(c, "finish", false, ev);
  return out;
}

boost::json::array AdmissionQueue::evaluate(const AdmissionContext& c, const char* cause, bool all,
                                            BudgetEvents& ev) {
  boost::json::array transitions;
  const bool events = ev.wanted();
  const bool report = all || events;
  std::size_t evaluated = 0;
  std::size_t promoted = 0;
  const BudgetJob* guard = current_guard(c);
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    BudgetJob& job = *it->second;
    ++it;  // the job may leave delayed_ below
    ++evaluated;
    AdmissionVerdict v = judge(c, job, false, job.cpu_hold, guard);
    if (v.admit) {
      const bool was_guard = guard == &job;
      leave_state(job);
      job.status = JobStatus::queued;
      job.reason.reset();
      job.blockers.clear();
      job.cpu_hold = false;
      job.last_transition = c.wall;
      queued_.emplace(job.seq, &job);
      ++promoted;
      if (was_guard) guard = current_guard(c);
      if (report) transitions.push_back(transition_json(job));
    } else {
      record_verdict(job, std::move(v));
      if (all) transitions.push_back(transition_json(job));
    }
  }
  if (evaluated > 0 || all) last_evaluation_ = c.wall;
  if (events && (evaluated > 0 || all)) {
    ev.add(kBudgetQueueRefreshed, {{"cause", cause},
                                   {"evaluated", evaluated},
                                   {"promoted", promoted},
                                   {"transitions", transitions}});
  }
  return all ? transitions : boost::json::array{};
}

void AdmissionQueue::trim_history(std::size_t keep) {
  while (finished_.size() > keep) {
    const auto [id, seq] = finished_.front();
    finished_.pop_front();
    auto it = jobs_.find(id);
    if (it != jobs_.end() && it->second.seq == seq) jobs_.erase(it);
  }
}

std::vector<const BudgetJob*> AdmissionQueue::jobs_in_order() const {
  std::vector<const BudgetJob*> all;
  all.reserve(jobs_.size());
  for (const auto& kv : jobs_) all.push_back(&kv.second);
  std::sort(all.begin(), all.end(),
            [](const BudgetJob* a, const BudgetJob* b) { return a->seq < b->seq; });
  return all;
}

const BudgetJob* AdmissionQueue::find(std::string_view job_id) const {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : &it->second;
}

void AdmissionQueue::fill(BudgetHealth& h) const noexcept {
  h.queued = queued_.size();
  h.delayed = delayed_.size();
  h.running = running_.size();
  h.seen_jobs = seen_jobs_;
  h.infeasible = delayed_.size() - waiting_.size();
  h.finished_kept = finished_.size();
  h.last_evaluation = last_evaluation_;
}

BudgetResult AdmissionQueue::already_finished(const BudgetJob& job) {
  return BudgetResult::failure(
      BudgetError::conflict,
      detail::concat({"job ", job.id, " has already finished (", status_name(job.status), ")"}));
}

const BudgetJob* AdmissionQueue::current_guard(const AdmissionContext& c) const {
  if (waiting_.empty()) return nullptr;
  if (running_.empty() && finishes_ == finishes_at_sample_) return nullptr;
  const auto& [since, seq] = *waiting_.begin();
  if (c.mono - since < c.policy.starvation_after) return nullptr;
  return delayed_.at(seq);
}

AdmissionVerdict AdmissionQueue::judge(const AdmissionContext& c, const BudgetJob& j,
                                       bool holds_slot, bool hysteresis,
                                       const BudgetJob* guard) const {
  const std::size_t in_use = running_.size() + (holds_slot ? 0 : queued_.size());
  return judge_admission(c, j, in_use, hysteresis, guard);
}

void AdmissionQueue::record_verdict(BudgetJob& job, AdmissionVerdict&& v) {
  const bool was_waiting = !job.infeasible;
  if (job.status == JobStatus::delayed && was_waiting) {
    waiting_.erase({job.delayed_since, job.seq});
  }
  job.reason = std::move(v.reason);
  job.blockers = std::move(v.blockers);
  job.infeasible = v.infeasible;
  job.cpu_hold = job.cpu_hold || v.cpu_blocked;
  if (job.status == JobStatus::delayed && !job.infeasible) {
    waiting_.emplace(job.delayed_since, job.seq);
  }
}

void AdmissionQueue::leave_state(BudgetJob& job) {
  switch (job.status) {
    case JobStatus::queued:
      queued_.erase(job.seq);
      break;
    case JobStatus::running:
      running_.erase(job.seq);
      break;
    case JobStatus::delayed:
      delayed_.erase(job.seq);
      if (!job.infeasible) waiting_.erase({job.delayed_since, job.seq});
      job.infeasible = false;
      break;
    default:
      break;
  }
}

void AdmissionQueue::forget_finished(const BudgetJob& job) {
  for (auto it = finished_.begin(); it != finished_.end(); ++it) {
    if (it->second == job.seq) {
      finished_.erase(it);
      break;
    }
  }
  jobs_.erase(job.id);
}

}  // namespace comfyvn::perf
#endif
