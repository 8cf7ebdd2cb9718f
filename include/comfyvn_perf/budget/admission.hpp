// comfyvn_perf — the admission queue: which jobs may run now, which wait and
// why, and the history of finished ones.
//
// A job is queued (may start now), delayed (with a reason and one blocker
// per failing check), running, or finished (complete, canceled, error).
// Checks run in the contract's order: queue depth (register only), job cap,
// CPU, RAM, VRAM. Two policies on top: a starvation guard, so a large job is
// not overtaken forever, and CPU hysteresis, so a job delayed for CPU is not
// released by a sample that dips just below the limit. docs/budgets.md
// describes both.
//
// Not thread-safe: BudgetManager holds its lock around every call.
#pragma once

#include <cstddef>           // size_t
#include <cstdint>           // uint64_t
#include <deque>             // finished-job history
#include <functional>        // less<>: lookups by string_view
#include <initializer_list>  // concat
#include <map>               // jobs by id, state sets by registration order
#include <optional>          // reasons, thresholds
#include <set>               // delayed jobs ordered by waiting time
#include <string>            // ids, reasons
#include <string_view>       // API arguments
#include <utility>           // pair
#include <vector>            // blockers, job lists

#include <boost/json.hpp>  // payloads, evaluate's transitions

#include "../metrics/sample.hpp"  // Metrics
#include "events.hpp"             // BudgetEvents
#include "types.hpp"              // limits, policy, jobs, results

namespace comfyvn::perf {

// What one call is judged against. BudgetManager builds it under its lock.
struct AdmissionContext {
  const BudgetLimits& limits;
  const BudgetPolicy& policy;
  const Metrics& metrics;  // the latest sample
  double wall = 0;         // epoch seconds: timestamps
  double mono = 0;         // monotonic seconds: waiting times
};

// job_id and job_type: 1-128 characters each.
std::optional<std::string> check_job_fields(std::string_view job_id, std::string_view job_type);

// payload.perf.{cpu_percent, ram_mb, vram_mb}: each optional, a finite
// number 0..1e9 (kMaxSizeMb), so sums with usage stay finite and printable.
std::optional<std::string> parse_job_hints(const boost::json::object& payload,
                                           JobRequirements& req);

// The statuses finish_job accepts.
std::optional<JobStatus> parse_final_status(std::string_view s);

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
  struct Verdict {
    bool admit = true;
    bool infeasible = false;
    bool cpu_blocked = false;
    std::string reason;
    std::vector<JobBlocker> blockers;
  };

  // Messages are assembled by appending: GCC 12 warns (-Wrestrict, a false
  // positive) on `"literal" + std::string&&` in C++20 builds.
  static std::string concat(std::initializer_list<std::string_view> parts);

  // Fixed-point text that ignores the C locale (a "," decimal separator
  // would break the reason strings tools match on). The buffer holds any
  // double in fixed form (DBL_MAX has 309 digits), so a huge figure still
  // prints instead of leaving a hole in the reason.
  static std::string fixed(double v, int precision);

  static BudgetResult already_finished(const BudgetJob& job);
  // start_job and finish_job of an id the queue does not know.
  static BudgetResult job_not_found(std::string_view job_id);

  // The longest-waiting feasible delayed job, once it has waited
  // starvation_after seconds and our own jobs could still make room for it:
  // some are running, or one finished after the latest sample (which then
  // still shows its load). Otherwise what blocks the job is outside the
  // manager, and holding newer jobs back would only idle the host.
  const BudgetJob* current_guard(const AdmissionContext& c) const;

  // Admission in the contract's order: job cap, CPU, RAM, VRAM (queue depth
  // is checked by register_job alone). Every failing check becomes a
  // blocker; the first gives the reason. `holds_slot`: a queued job being
  // started already counts in the cap. `hysteresis`: the CPU threshold is
  // lowered by the release margin.
  Verdict judge(const AdmissionContext& c, const BudgetJob& j, bool holds_slot, bool hysteresis,
                const BudgetJob* guard) const;

  static void block(Verdict& v, std::string reason, JobBlocker b);

  // Stores the verdict on a delayed job, keeping the set of waiting
  // (feasible) jobs in step with its infeasible flag.
  void record_verdict(BudgetJob& job, Verdict&& v);

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
#include <algorithm>  // min, max, sort
#include <charconv>   // to_chars: reason strings independent of locale
#include <utility>    // move

#include "../json/budget.hpp"   // job_json, job_reason_json, limits_json, transition_json
#include "../json/fields.hpp"   // json_number, length_within, quoted_name
#include "../json/metrics.hpp"  // metrics_json

namespace comfyvn::perf {

std::optional<std::string> check_job_fields(std::string_view job_id, std::string_view job_type) {
  if (!detail::length_within(job_id, 1, 128)) return std::string("job_id must be 1-128 characters");
  if (!detail::length_within(job_type, 1, 128)) {
    return std::string("job_type must be 1-128 characters");
  }
  return std::nullopt;
}

std::optional<std::string> parse_job_hints(const boost::json::object& payload,
                                           JobRequirements& req) {
  const auto* perf = payload.if_contains("perf");
  if (perf == nullptr) return std::nullopt;
  if (!perf->is_object()) return std::string("payload.perf must be an object");
  const auto& o = perf->get_object();
  const std::pair<const char*, double*> fields[] = {
      {"cpu_percent", &req.cpu_percent}, {"ram_mb", &req.ram_mb}, {"vram_mb", &req.vram_mb}};
  for (const auto& [name, dst] : fields) {
    const auto* v = o.if_contains(name);
    if (v == nullptr) continue;
    const auto d = detail::json_number(*v);
    if (!d || *d < 0 || *d > kMaxSizeMb) {
      return std::string("payload.perf.") + name + " must be a number >= 0 and <= 1e9";
    }
    *dst = *d;
  }
  return std::nullopt;
}

std::optional<JobStatus> parse_final_status(std::string_view s) {
  if (s == "complete") return JobStatus::complete;
  if (s == "canceled") return JobStatus::canceled;
  if (s == "error") return JobStatus::error;
  return std::nullopt;
}

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
  Verdict v = judge(c, job, false, false, current_guard(c));
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
                               concat({"job ", detail::quoted_name(job_id), " not found"}));
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
  Verdict v = judge(c, job, was_queued, !was_queued && job.cpu_hold, current_guard(c));
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
    Verdict v = judge(c, job, false, job.cpu_hold, guard);
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

std::string AdmissionQueue::concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (const auto p : parts) out.append(p);
  return out;
}

std::string AdmissionQueue::fixed(double v, int precision) {
  char buf[384];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, precision);
  if (r.ec == std::errc()) return std::string(buf, r.ptr);
  return std::string("?");  // unreachable for precision <= 8; never an empty number
}

BudgetResult AdmissionQueue::already_finished(const BudgetJob& job) {
  return BudgetResult::failure(
      BudgetError::conflict,
      concat({"job ", job.id, " has already finished (", status_name(job.status), ")"}));
}

const BudgetJob* AdmissionQueue::current_guard(const AdmissionContext& c) const {
  if (waiting_.empty()) return nullptr;
  if (running_.empty() && finishes_ == finishes_at_sample_) return nullptr;
  const auto& [since, seq] = *waiting_.begin();
  if (c.mono - since < c.policy.starvation_after) return nullptr;
  return delayed_.at(seq);
}

AdmissionQueue::Verdict AdmissionQueue::judge(const AdmissionContext& c, const BudgetJob& j,
                                              bool holds_slot, bool hysteresis,
                                              const BudgetJob* guard) const {
  Verdict v;
  const BudgetLimits& l = c.limits;
  if (l.max_running_jobs > 0) {
    const std::size_t in_use = running_.size() + (holds_slot ? 0 : queued_.size());
    if (in_use >= l.max_running_jobs) {
      block(v, "job cap reached",
            {"jobs",
             1,
             static_cast<double>(in_use),
             static_cast<double>(l.max_running_jobs),
             {},
             {}});
    }
  }
  std::string infeasible;
  if (l.max_cpu_percent > 0) {
    const double usage = c.metrics.cpu_percent;
    const double hint = j.req.cpu_percent;
    const double lim = l.max_cpu_percent;
    auto text = [&](double amount) {
      return concat({"cpu ", fixed(amount, 1), "%/", fixed(lim, 1), "%"});
    };
    double threshold = lim;
    std::optional<double> release_below;
    if (hysteresis) {
      threshold -= std::min(c.policy.cpu_release_margin, std::max(0.0, lim - hint) / 2);
      release_below = threshold;
    }
    if (usage + hint > threshold) {
      block(v, v.admit ? text(usage + hint) : std::string(),
            {"cpu", hint, usage, lim, {}, release_below});
      v.cpu_blocked = true;
    }
    if (hint > lim) infeasible = text(hint);
  }
  auto memory = [&](const char* name, double usage, double hint, std::uint64_t limit) {
    if (limit == 0) return;
    const auto lim = static_cast<double>(limit);
    auto text = [&](double amount) {
      return concat({name, " ", fixed(amount, 0), "MB/", std::to_string(limit), "MB"});
    };
    if (usage + hint > lim) {
      block(v, v.admit ? text(usage + hint) : std::string(), {name, hint, usage, lim, {}, {}});
    }
    if (hint > lim && infeasible.empty()) infeasible = text(hint);
  };
  memory("ram", c.metrics.mem_used_mb, j.req.ram_mb, l.max_mem_mb);
  memory("vram", c.metrics.vram_used_mb(), j.req.vram_mb, l.max_vram_mb);
  if (!infeasible.empty()) {
    v.infeasible = true;
    v.reason = infeasible + ": can never run under the current limits";
  }
  if (v.admit && guard != nullptr && guard != &j && j.seq > guard->seq) {
    block(v, "held for starved job " + guard->id, {"starvation_guard", 0, 0, 0, guard->id, {}});
  }
  return v;
}

void AdmissionQueue::block(Verdict& v, std::string reason, JobBlocker b) {
  if (v.admit) {
    v.admit = false;
    if (v.reason.empty()) v.reason = std::move(reason);
  }
  v.blockers.push_back(std::move(b));
}

void AdmissionQueue::record_verdict(BudgetJob& job, Verdict&& v) {
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
