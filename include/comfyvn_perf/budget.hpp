// comfyvn_perf — BudgetManager: soft CPU/RAM/VRAM limits, job admission that
// explains itself, and an LRU of lazily loaded assets.
//
// One mutex guards all state; every public method is safe from any thread.
// Work that calls out of the manager (unload handlers, hook events, metric
// sampling) runs without that mutex held, so handlers and subscribers may call
// back in. docs/budgets.md describes the policies this file implements.
#pragma once

#include <pthread.h>  // pthread_atfork: a forked child inherits no held lock

#include <algorithm>           // sort, min, max
#include <atomic>              // enabled flag, sampler id, counters
#include <charconv>            // to_chars: reason strings independent of locale
#include <chrono>              // sampler waits
#include <cmath>               // isfinite
#include <condition_variable>  // sampler wake-up
#include <cstdint>             // uint64_t
#include <cstdlib>             // getenv
#include <deque>               // finished-job history
#include <functional>          // handlers, clock, event sink
#include <initializer_list>    // concat
#include <map>                 // jobs and assets by id, state sets by order
#include <memory>              // shared_ptr<MetricsProvider>
#include <mutex>               // the state lock
#include <optional>            // optional arguments
#include <set>                 // delayed jobs ordered by waiting time
#include <string>              // ids, reasons
#include <string_view>         // API arguments
#include <thread>              // sampler thread
#include <type_traits>         // invoke_result_t
#include <utility>             // move, pair
#include <vector>              // evictions, transitions

#include <boost/json.hpp>

#include "config.hpp"
#include "detail/env.hpp"
#include "detail/json_fields.hpp"
#include "detail/time.hpp"
#include "hooks.hpp"
#include "metrics.hpp"

namespace comfyvn::perf {

// ===========================================================================
// Public types
// ===========================================================================

// The seven limits of the contract. 0 = no limit for the memory, job and
// asset limits, and also for max_cpu_percent (no CPU check).
struct BudgetLimits {
  double max_cpu_percent = 85.0;
  std::uint64_t max_mem_mb = 0;
  std::uint64_t max_vram_mb = 0;
  std::uint64_t max_running_jobs = 3;
  std::uint64_t lazy_asset_target_mb = 128;
  std::uint64_t max_queue_depth = 512;
  double evaluation_interval = 2.0;  // seconds

  boost::json::object to_json() const {
    return boost::json::object{{"max_cpu_percent", max_cpu_percent},
                               {"max_mem_mb", max_mem_mb},
                               {"max_vram_mb", max_vram_mb},
                               {"max_running_jobs", max_running_jobs},
                               {"lazy_asset_target_mb", lazy_asset_target_mb},
                               {"max_queue_depth", max_queue_depth},
                               {"evaluation_interval", evaluation_interval}};
  }
};

enum class BudgetError {
  none,
  invalid,     // a field is missing, of the wrong type or out of range (HTTP 422)
  not_found,   // unknown job or asset (404)
  conflict,    // not admissible now, duplicate, pinned, already finished (409)
  queue_full,  // max_queue_depth jobs are already waiting (429)
};

constexpr int http_status(BudgetError e) noexcept {
  switch (e) {
    case BudgetError::none:
      return 200;
    case BudgetError::invalid:
      return 422;
    case BudgetError::not_found:
      return 404;
    case BudgetError::conflict:
      return 409;
    case BudgetError::queue_full:
      return 429;
  }
  return 500;
}

// Outcome of a mutating call: `body` holds the success fields of CONTRACT §4
// (and, for some errors, context such as the job and its reason); `detail`
// is the human-readable message of an error.
struct BudgetResult {
  BudgetError error = BudgetError::none;
  std::string detail;
  boost::json::object body;

  bool ok() const noexcept { return error == BudgetError::none; }
};

// Why an asset was unloaded, as handlers and the asset.evicted event see it.
enum class EvictionCause {
  explicit_,  // "explicit": evict_lazy_assets
  target,     // "target": the loaded total went over lazy_asset_target_mb
  pressure,   // "pressure": RAM or VRAM over their limit at a sample
  shutdown,   // "shutdown": BudgetManager::shutdown
};

constexpr const char* to_string(EvictionCause c) noexcept {
  switch (c) {
    case EvictionCause::explicit_:
      return "explicit";
    case EvictionCause::target:
      return "target";
    case EvictionCause::pressure:
      return "pressure";
    case EvictionCause::shutdown:
      return "shutdown";
  }
  return "unknown";
}

// Called after an asset is marked unloaded, without the manager's lock held.
using UnloadHandler = std::function<void(const std::string& asset_id,
                                         const boost::json::object& metadata, EvictionCause cause)>;

// Knobs of the scheduling policy that are not among the contract's limits.
struct BudgetPolicy {
  // A delayed job that has waited this long (seconds) stops newer jobs from
  // being admitted while running jobs could still make room for it.
  double starvation_after = 30.0;
  // A job delayed for CPU is released only once usage + hint is this many
  // percentage points below the limit (never more than half the headroom the
  // job's own hint leaves).
  double cpu_release_margin = 5.0;
  // Finished jobs kept for inspection; the oldest are dropped first.
  std::size_t finished_jobs_kept = 1024;
};

class BudgetManager;

// Keeps one asset from being evicted while it lives. Move-only; an empty pin
// (unknown asset) converts to false.
class AssetPin {
 public:
  AssetPin() = default;
  AssetPin(AssetPin&& o) noexcept : manager_(o.manager_), asset_id_(std::move(o.asset_id_)) {
    o.manager_ = nullptr;
  }
  AssetPin& operator=(AssetPin&& o) noexcept {
    if (this != &o) {
      release();
      manager_ = o.manager_;
      asset_id_ = std::move(o.asset_id_);
      o.manager_ = nullptr;
    }
    return *this;
  }
  AssetPin(const AssetPin&) = delete;
  AssetPin& operator=(const AssetPin&) = delete;
  ~AssetPin() { release(); }

  explicit operator bool() const noexcept { return manager_ != nullptr; }
  const std::string& asset_id() const noexcept { return asset_id_; }
  inline void release() noexcept;

 private:
  friend class BudgetManager;
  AssetPin(BudgetManager* m, std::string id) : manager_(m), asset_id_(std::move(id)) {}
  BudgetManager* manager_ = nullptr;
  std::string asset_id_;
};

// ===========================================================================
// BudgetManager
// ===========================================================================

class BudgetManager {
 public:
  // Seconds. Replaces both the wall clock of timestamps and the monotonic
  // clock of waiting times, so tests can move time by hand.
  using Clock = std::function<double()>;
  // Receives every event instead of hooks() (tests, embedders).
  using EventSink = std::function<void(std::string_view trigger, boost::json::object payload)>;

  BudgetManager() = default;
  BudgetManager(const BudgetManager&) = delete;
  BudgetManager& operator=(const BudgetManager&) = delete;
  ~BudgetManager() { set_enabled(false); }

  // ---- limits -------------------------------------------------------------

  // Applies the keys present in `patch`; every key is checked before any is
  // applied. Body: {"limits": {all seven}}.
  BudgetResult configure(const boost::json::object& patch) {
    return apply_limits([&patch](BudgetLimits& next) -> std::optional<std::string> {
      for (const auto& kv : patch) {
        if (auto err = apply_field(next, kv.key(), kv.value())) return err;
      }
      return std::nullopt;
    });
  }

  BudgetResult configure(const BudgetLimits& l) {
    if (auto err = check_ranges(l)) return invalid(std::move(*err));
    return apply_limits([&l](BudgetLimits& next) -> std::optional<std::string> {
      next = l;
      return std::nullopt;
    });
  }

  BudgetLimits limits() const {
    std::lock_guard<std::mutex> lk(mu_);
    return limits_;
  }

  BudgetPolicy policy() const {
    std::lock_guard<std::mutex> lk(mu_);
    return policy_;
  }

  // Negative or non-finite values are refused.
  BudgetResult set_policy(const BudgetPolicy& p) {
    if (!std::isfinite(p.starvation_after) || p.starvation_after < 0) {
      return invalid("starvation_after must be a number >= 0");
    }
    if (!std::isfinite(p.cpu_release_margin) || p.cpu_release_margin < 0) {
      return invalid("cpu_release_margin must be a number >= 0");
    }
    std::lock_guard<std::mutex> lk(mu_);
    policy_ = p;
    trim_history();
    return {};
  }

  // ---- jobs ---------------------------------------------------------------

  // Admits the job as queued (may start now) or delayed (with its reason).
  // Refused: invalid fields (422), an id that is still queued, delayed or
  // running (409), or a queue that already holds max_queue_depth jobs (429,
  // nothing stored). An id whose job has finished may be registered again.
  // Body: {job, queue_state, reason, metrics, limits}.
  BudgetResult register_job(std::string job_id, std::string job_type = "generic",
                            boost::json::object payload = {}) {
    if (!detail::length_within(job_id, 1, 128)) return invalid("job_id must be 1-128 characters");
    if (!detail::length_within(job_type, 1, 128)) {
      return invalid("job_type must be 1-128 characters");
    }
    Requirements req;
    if (auto err = parse_hints(payload, req)) return invalid(std::move(*err));

    return locked([&](Effects& fx) -> BudgetResult {
      BudgetResult out;
      const auto previous = jobs_.find(job_id);
      if (previous != jobs_.end() && is_active(previous->second.status)) {
        return conflict("job " + job_id + " is already registered (" +
                        status_name(previous->second.status) + ")");
      }
      const std::size_t depth = queued_.size() + delayed_.size();
      if (depth >= limits_.max_queue_depth) {
        BudgetResult r;
        r.error = BudgetError::queue_full;
        r.detail = "queue capacity reached";
        r.body = {{"reason", "queue capacity reached"},
                  {"queue_depth", depth},
                  {"limits", limits_.to_json()}};
        return r;
      }
      // A finished job of the same id gives way to the new one.
      if (previous != jobs_.end()) forget_finished(previous->second);
      const double now = wall_now();
      Job& job = jobs_[job_id];
      job.id = std::move(job_id);
      job.type = std::move(job_type);
      job.seq = ++job_seq_;
      job.req = req;
      job.submitted_at = now;
      job.last_transition = now;
      ++seen_jobs_;
      Verdict v = judge(job, false, false, current_guard());
      if (v.admit) {
        job.status = JobStatus::queued;
        queued_.emplace(job.seq, &job);
      } else {
        job.status = JobStatus::delayed;
        job.delayed_since = mono_now();
        delayed_.emplace(job.seq, &job);
        record_verdict(job, std::move(v));
      }
      boost::json::object job_json = public_job(job);
      boost::json::value reason = reason_json(job);
      const char* state = status_name(job.status);
      if (wants_events(fx)) {
        fx.events.emplace_back(
            "job.registered",
            boost::json::object{{"job", job_json}, {"queue_state", state}, {"reason", reason}});
      }
      out.body = {{"job", std::move(job_json)},
                  {"queue_state", state},
                  {"reason", std::move(reason)},
                  {"metrics", latest_.to_json()},
                  {"limits", limits_.to_json()}};
      return out;
    });
  }

  // Runs a queued or delayed job if it is admissible now. If not, the job
  // is (or stays) delayed and the result is a conflict whose detail is the
  // reason. Body: {job} on success, {job, reason} on conflict.
  BudgetResult start_job(std::string_view job_id) {
    return locked([&](Effects& fx) -> BudgetResult {
      BudgetResult out;
      auto it = jobs_.find(job_id);
      if (it == jobs_.end()) return not_found(concat({"job ", job_id, " not found"}));
      Job& job = it->second;
      if (job.status == JobStatus::running) {
        return conflict("job " + job.id + " is already running");
      }
      if (!is_active(job.status)) {
        return conflict("job " + job.id + " has already finished (" + status_name(job.status) +
                        ")");
      }
      const bool was_queued = job.status == JobStatus::queued;
      Verdict v = judge(job, was_queued, !was_queued && job.cpu_hold, current_guard());
      if (v.admit) {
        leave_state(job);
        job.status = JobStatus::running;
        job.reason.reset();
        job.blockers.clear();
        job.infeasible = false;
        job.cpu_hold = false;
        job.last_transition = wall_now();
        running_.emplace(job.seq, &job);
        out.body = {{"job", public_job(job)}};
        if (wants_events(fx)) fx.events.emplace_back("job.started", out.body);
      } else {
        if (was_queued) {
          leave_state(job);
          job.status = JobStatus::delayed;
          job.delayed_since = mono_now();
          job.last_transition = wall_now();
          delayed_.emplace(job.seq, &job);
        }
        record_verdict(job, std::move(v));
        out.error = BudgetError::conflict;
        out.detail = *job.reason;
        out.body = {{"job", public_job(job)}, {"reason", *job.reason}};
        if (was_queued && wants_events(fx)) {
          boost::json::array transitions;
          transitions.push_back(transition_json(job));
          fx.events.emplace_back("queue.refreshed",
                                 boost::json::object{{"cause", "start"},
                                                     {"evaluated", 1},
                                                     {"promoted", 0},
                                                     {"transitions", std::move(transitions)}});
        }
      }
      return out;
    });
  }

  // Ends a job that has not finished yet, from any state, with status
  // complete, canceled or error. Frees its slot and re-evaluates the delayed
  // jobs at once. Body: {job}.
  BudgetResult finish_job(std::string_view job_id, std::string status = "complete",
                          std::optional<std::string> reason = std::nullopt) {
    JobStatus final_status = JobStatus::complete;
    if (status == "complete") {
      final_status = JobStatus::complete;
    } else if (status == "canceled") {
      final_status = JobStatus::canceled;
    } else if (status == "error") {
      final_status = JobStatus::error;
    } else {
      return invalid("status must be one of complete, canceled, error");
    }
    return locked([&](Effects& fx) -> BudgetResult {
      BudgetResult out;
      auto it = jobs_.find(job_id);
      if (it == jobs_.end()) return not_found(concat({"job ", job_id, " not found"}));
      Job& job = it->second;
      if (!is_active(job.status)) {
        return conflict("job " + job.id + " has already finished (" + status_name(job.status) +
                        ")");
      }
      if (job.status == JobStatus::running) ++finishes_;
      leave_state(job);
      job.status = final_status;
      job.reason = std::move(reason);
      job.blockers.clear();
      job.cpu_hold = false;
      job.last_transition = wall_now();
      finished_.emplace_back(job.id, job.seq);
      out.body = {{"job", public_job(job)}};
      if (wants_events(fx)) fx.events.emplace_back("job.finished", out.body);
      trim_history();
      evaluate("finish", false, fx);
      return out;
    });
  }

  // Re-evaluates every delayed job now, in registration order, and returns
  // one transition per job evaluated: [{job, queue_state, reason}].
  boost::json::array refresh_queue() {
    return locked([&](Effects& fx) -> boost::json::array {
      boost::json::array out;
      out = evaluate("manual", true, fx);
      return out;
    });
  }

  // ---- lazy assets ----------------------------------------------------------

  // Registers (or re-registers) a loaded asset and makes it the most recently
  // used. Re-registering replaces size and metadata and keeps the existing
  // handler unless a new one is given; pins survive. Then trims the loaded
  // total to lazy_asset_target_mb, never evicting this asset. Body: {asset}.
  BudgetResult register_asset(std::string asset_id, double size_mb,
                              boost::json::object metadata = {}, UnloadHandler handler = {}) {
    if (!detail::length_within(asset_id, 1, 256)) {
      return invalid("asset_id must be 1-256 characters");
    }
    if (!std::isfinite(size_mb) || size_mb < 0) return invalid("size_mb must be a number >= 0");
    return locked([&](Effects& fx) -> BudgetResult {
      BudgetResult out;
      const double now = wall_now();
      auto [it, inserted] = assets_.try_emplace(asset_id);
      Asset& a = it->second;
      if (inserted) {
        a.id = std::move(asset_id);
        a.registered_at = now;
      } else if (a.loaded) {
        unload_bytes(a);
      }
      a.size_mb = size_mb;
      a.metadata = std::move(metadata);
      if (handler) a.handler = std::move(handler);
      load(a);
      out.body = {{"asset", public_asset(a)}};
      if (wants_events(fx)) fx.events.emplace_back("asset.registered", out.body);
      trim_to_target(&a, fx);
      return out;
    });
  }

  // Marks an asset used now (loading it again if it had been evicted), then
  // trims to the target as register_asset does. Body: {asset}.
  BudgetResult touch_asset(std::string_view asset_id) {
    return locked([&](Effects& fx) -> BudgetResult {
      BudgetResult out;
      auto it = assets_.find(asset_id);
      if (it == assets_.end()) return not_found(concat({"asset ", asset_id, " not found"}));
      Asset& a = it->second;
      touch(a);
      out.body = {{"asset", public_asset(a)}};
      trim_to_target(&a, fx);
      return out;
    });
  }

  // Either trims loaded, unpinned assets (least recently used first) until
  // their total is <= target_mb (default lazy_asset_target_mb; 0 evicts
  // every unpinned asset), or evicts the one asset `asset_id` (404 unknown,
  // 409 pinned). Body: {evicted: [{asset_id, size_mb}], freed_mb}.
  BudgetResult evict_lazy_assets(std::optional<double> target_mb = std::nullopt,
                                 std::optional<std::string> asset_id = std::nullopt) {
    if (target_mb && asset_id) return invalid("give either target_mb or asset_id, not both");
    if (target_mb && (!std::isfinite(*target_mb) || *target_mb < 0)) {
      return invalid("target_mb must be a number >= 0");
    }
    return locked([&](Effects& fx) -> BudgetResult {
      BudgetResult out;
      if (asset_id) {
        auto it = assets_.find(*asset_id);
        if (it == assets_.end()) return not_found("asset " + *asset_id + " not found");
        if (it->second.pins > 0) return conflict("asset " + *asset_id + " is pinned");
        if (it->second.loaded) evict(it->second, EvictionCause::explicit_, fx);
      } else {
        const double target =
            target_mb ? *target_mb : static_cast<double>(limits_.lazy_asset_target_mb);
        trim_to(target, nullptr, EvictionCause::explicit_, fx);
      }
      boost::json::array evicted;
      double freed = 0;
      for (const auto& e : fx.evictions) {
        evicted.push_back(boost::json::object{{"asset_id", e.asset_id}, {"size_mb", e.size_mb}});
        freed += e.size_mb;
      }
      out.body = {{"evicted", std::move(evicted)}, {"freed_mb", freed}};
      return out;
    });
  }

  // Touches the asset and keeps it from eviction until the pin is released.
  // An unknown asset gives an empty pin.
  AssetPin pin_asset(std::string_view asset_id) {
    return locked([&](Effects& fx) -> AssetPin {
      AssetPin pin;
      auto it = assets_.find(asset_id);
      if (it == assets_.end()) return pin;
      Asset& a = it->second;
      touch(a);
      ++a.pins;
      pin = AssetPin(this, a.id);
      trim_to_target(&a, fx);
      return pin;
    });
  }

  // Called for evicted assets that have no handler of their own.
  void set_default_unload_handler(UnloadHandler handler) {
    std::lock_guard<std::mutex> lk(mu_);
    default_handler_ = std::move(handler);
  }

  // ---- reading ----------------------------------------------------------------

  // {limits, metrics, jobs, queued_ids, delayed_ids, running_ids, assets}:
  // jobs (active and kept finished ones) in registration order, assets least
  // recently used first among the loaded ones, then the unloaded ones.
  boost::json::object snapshot() const {
    std::lock_guard<std::mutex> lk(mu_);
    std::vector<const Job*> all;
    all.reserve(jobs_.size());
    for (const auto& kv : jobs_) all.push_back(&kv.second);
    std::sort(all.begin(), all.end(), [](const Job* a, const Job* b) { return a->seq < b->seq; });
    boost::json::array jobs;
    jobs.reserve(all.size());
    for (const Job* j : all) jobs.push_back(public_job(*j));
    auto ids = [](const std::map<std::uint64_t, Job*>& m) {
      boost::json::array a;
      a.reserve(m.size());
      for (const auto& kv : m) a.push_back(boost::json::string(kv.second->id));
      return a;
    };
    boost::json::array assets;
    assets.reserve(assets_.size());
    for (const auto& kv : lru_) assets.push_back(public_asset(*kv.second));
    for (const auto& kv : assets_) {
      if (!kv.second.loaded) assets.push_back(public_asset(kv.second));
    }
    return boost::json::object{{"limits", limits_.to_json()},  {"metrics", latest_.to_json()},
                               {"jobs", std::move(jobs)},      {"queued_ids", ids(queued_)},
                               {"delayed_ids", ids(delayed_)}, {"running_ids", ids(running_)},
                               {"assets", std::move(assets)}};
  }

  // {limits, queue: {queued, delayed, running, seen_jobs}, assets: {registered,
  // loaded, loaded_mb}, last_evaluation, metrics}, plus a few counters.
  boost::json::object health() const {
    std::lock_guard<std::mutex> lk(mu_);
    std::uint64_t pinned = 0;
    for (const auto& kv : assets_) pinned += kv.second.pins > 0;
    boost::json::value last = nullptr;
    if (last_evaluation_ > 0) last = last_evaluation_;
    return boost::json::object{
        {"limits", limits_.to_json()},
        {"queue", boost::json::object{{"queued", queued_.size()},
                                      {"delayed", delayed_.size()},
                                      {"running", running_.size()},
                                      {"seen_jobs", seen_jobs_},
                                      {"infeasible", delayed_.size() - waiting_.size()},
                                      {"finished_kept", finished_.size()}}},
        {"assets", boost::json::object{{"registered", assets_.size()},
                                       {"loaded", lru_.size()},
                                       {"loaded_mb", loaded_mb()},
                                       {"pinned", pinned},
                                       {"evictions", evictions_},
                                       {"handler_errors", handler_errors_.load()}}},
        {"last_evaluation", std::move(last)},
        {"metrics", latest_.to_json()},
        {"enabled", enabled()},
        {"sampler_errors", sampler_errors_.load()}};
  }

  // The latest sample (all zeros before the first one).
  Metrics metrics() const {
    std::lock_guard<std::mutex> lk(mu_);
    return latest_;
  }

  // ---- metrics and the sampler thread -------------------------------------

  // nullptr restores the system provider.
  void set_metrics_provider(std::shared_ptr<MetricsProvider> provider) {
    std::lock_guard<std::mutex> lk(mu_);
    provider_ = std::move(provider);
  }

  // Takes a sample on the calling thread and runs the evaluation the sampler
  // thread runs each interval: delayed jobs, pressure and target trims.
  // For tests and tools; the API never calls it. Returns the sample as JSON.
  boost::json::object sample_now() {
    tick();
    std::lock_guard<std::mutex> lk(mu_);
    return latest_.to_json();
  }

  // On: starts the sampler thread (sample + evaluation every
  // evaluation_interval). Off: stops and joins it. Default off.
  void set_enabled(bool on) {
    if (sampler_id_.load() == std::this_thread::get_id()) {
      // From a handler on the sampler thread itself: joining would deadlock,
      // so only ask the loop to end; a later call joins the finished thread.
      // Turning it on from there is a no-op (it is running), and must not
      // cancel a stop another thread is waiting for.
      if (on) return;
      std::lock_guard<std::mutex> lk(thread_mu_);
      stop_ = true;
      enabled_.store(false);
      thread_cv_.notify_all();
      return;
    }
    std::lock_guard<std::mutex> life(lifecycle_mu_);
    std::thread done;
    {
      std::lock_guard<std::mutex> lk(thread_mu_);
      if (on && thread_.joinable() && !stop_) return;
      stop_ = true;
      enabled_.store(false);
      done = std::move(thread_);
    }
    thread_cv_.notify_all();
    if (done.joinable()) done.join();
    if (!on) return;
    std::lock_guard<std::mutex> lk(thread_mu_);
    stop_ = false;
    enabled_.store(true);
    thread_ = std::thread([this] { sampler_loop(); });
  }

  bool enabled() const noexcept { return enabled_.load(); }

  // pthread_atfork handlers of the process-wide instance: every lock is taken
  // across fork() (in the order the code nests them), so the child inherits
  // none held by a thread that no longer exists. The child has no sampler
  // thread: it starts with the sampler off, and set_enabled(true) there
  // starts a new one.
  void fork_prepare() {
    lifecycle_mu_.lock();
    sample_mu_.lock();
    mu_.lock();
    thread_mu_.lock();
  }
  void fork_parent() {
    thread_mu_.unlock();
    mu_.unlock();
    sample_mu_.unlock();
    lifecycle_mu_.unlock();
  }
  void fork_child() {
    // The thread object leaks: it can be neither joined nor destroyed here.
    if (thread_.joinable()) static_cast<void>(new std::thread(std::move(thread_)));
    stop_ = true;
    enabled_.store(false);
    sampler_id_.store(std::thread::id());
    fork_parent();
  }

  // ---- test and embedding hooks -------------------------------------------

  // nullptr restores the real clocks.
  void set_clock(Clock clock) {
    std::lock_guard<std::mutex> lk(mu_);
    clock_ = std::move(clock);
  }

  // nullptr restores delivery through hooks().
  void set_event_sink(EventSink sink) {
    std::lock_guard<std::mutex> lk(mu_);
    sink_ = std::move(sink);
  }

  // Stops the sampler and unloads every loaded asset, pinned or not, with
  // cause "shutdown". Jobs are left as they are.
  void shutdown() {
    set_enabled(false);
    locked([this](Effects& fx) {
      while (!lru_.empty()) evict(*lru_.begin()->second, EvictionCause::shutdown, fx);
      return true;
    });
  }

 private:
  friend class AssetPin;

  enum class JobStatus { queued, delayed, running, complete, canceled, error };

  struct Requirements {
    double cpu_percent = 0;
    double ram_mb = 0;
    double vram_mb = 0;
  };

  // One reason a job waits. `behind` names the job a starvation hold waits
  // for; `release_below` is the CPU threshold while hysteresis applies.
  struct Blocker {
    const char* resource = "";
    double requested = 0;
    double in_use = 0;
    double limit = 0;
    std::string behind;
    std::optional<double> release_below;
  };

  struct Job {
    std::string id;
    std::string type;
    std::uint64_t seq = 0;
    JobStatus status = JobStatus::queued;
    std::optional<std::string> reason;
    double submitted_at = 0;
    double last_transition = 0;
    double delayed_since = 0;  // monotonic seconds
    Requirements req;
    bool infeasible = false;
    bool cpu_hold = false;  // delayed for CPU at some point: release with the margin
    std::vector<Blocker> blockers;
  };

  struct Asset {
    std::string id;
    double size_mb = 0;
    boost::json::object metadata;
    UnloadHandler handler;
    bool loaded = false;
    std::uint64_t pins = 0;
    std::uint64_t use_seq = 0;  // key in lru_ while loaded
    double registered_at = 0;
    double last_used = 0;
    std::uint64_t evictions = 0;
    std::optional<EvictionCause> last_eviction;
  };

  struct Verdict {
    bool admit = true;
    bool infeasible = false;
    bool cpu_blocked = false;
    std::string reason;
    std::vector<Blocker> blockers;
  };

  struct Eviction {
    std::string asset_id;
    double size_mb = 0;
    boost::json::object metadata;
    UnloadHandler handler;
    EvictionCause cause = EvictionCause::target;
  };

  // What a call must do once the lock is released: unload handlers, then
  // events, in the order they arose.
  struct Effects {
    std::vector<Eviction> evictions;
    std::vector<std::pair<const char*, boost::json::object>> events;
    EventSink sink;
    bool events_checked = false;
    bool events_wanted = false;
  };

  // ---- small helpers ---------------------------------------------------------

  // Runs `fn` under the lock, then what it left in its Effects (unload
  // handlers, events) after releasing it.
  template <typename Fn>
  std::invoke_result_t<Fn&, Effects&> locked(Fn&& fn) {
    Effects fx;
    auto out = [&] {
      std::lock_guard<std::mutex> lk(mu_);
      return fn(fx);
    }();
    run(fx);
    return out;
  }

  static BudgetResult invalid(std::string d) { return {BudgetError::invalid, std::move(d), {}}; }
  static BudgetResult not_found(std::string d) {
    return {BudgetError::not_found, std::move(d), {}};
  }
  static BudgetResult conflict(std::string d) { return {BudgetError::conflict, std::move(d), {}}; }

  static bool is_active(JobStatus s) noexcept {
    return s == JobStatus::queued || s == JobStatus::delayed || s == JobStatus::running;
  }

  static const char* status_name(JobStatus s) noexcept {
    switch (s) {
      case JobStatus::queued:
        return "queued";
      case JobStatus::delayed:
        return "delayed";
      case JobStatus::running:
        return "running";
      case JobStatus::complete:
        return "complete";
      case JobStatus::canceled:
        return "canceled";
      case JobStatus::error:
        return "error";
    }
    return "unknown";
  }

  // Messages are assembled by appending: GCC 12 warns (-Wrestrict, a false
  // positive) on `"literal" + std::string&&` in C++20 builds.
  static std::string concat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto p : parts) out.append(p);
    return out;
  }

  // Fixed-point text that ignores the C locale (a "," decimal separator
  // would break the reason strings tools match on).
  static std::string fixed(double v, int precision) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, precision);
    return std::string(buf, r.ec == std::errc() ? r.ptr : buf);
  }

  double wall_now() const { return clock_ ? clock_() : detail::epoch_now(); }
  double mono_now() const {
    if (clock_) return clock_();
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  bool wants_events(Effects& fx) const {
    if (!fx.events_checked) {
      fx.events_checked = true;
      fx.sink = sink_;
      fx.events_wanted = sink_ ? true : hooks().has_subscribers(kBudgetEvent);
    }
    return fx.events_wanted;
  }

  // ---- limits ------------------------------------------------------------------

  static std::optional<std::string> check_ranges(const BudgetLimits& l) {
    if (!std::isfinite(l.max_cpu_percent) || l.max_cpu_percent < 0 || l.max_cpu_percent > 100) {
      return std::string("max_cpu_percent must be a number between 0 and 100");
    }
    if (l.max_queue_depth < 1) return std::string("max_queue_depth must be an integer >= 1");
    if (!std::isfinite(l.evaluation_interval) || l.evaluation_interval < 0.1) {
      return std::string("evaluation_interval must be a number >= 0.1");
    }
    return std::nullopt;
  }

  static std::optional<std::string> apply_field(BudgetLimits& l, std::string_view key,
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

  // `edit` patches a copy of the current limits under the lock, so two
  // concurrent patches of different keys both take effect.
  template <typename Edit>
  BudgetResult apply_limits(Edit&& edit) {
    BudgetResult result = locked([&](Effects& fx) -> BudgetResult {
      BudgetResult out;
      BudgetLimits next = limits_;
      if (auto err = edit(next)) return invalid(std::move(*err));
      const BudgetLimits prev = limits_;
      limits_ = next;
      interval_.store(next.evaluation_interval);
      boost::json::object now_json = limits_.to_json();
      if (wants_events(fx)) {
        const boost::json::object before = prev.to_json();
        boost::json::array changed;
        for (const auto& kv : now_json) {
          if (before.at(kv.key()) != kv.value()) changed.push_back(boost::json::string(kv.key()));
        }
        fx.events.emplace_back(
            "limits.updated",
            boost::json::object{{"limits", now_json}, {"changed", std::move(changed)}});
      }
      out.body = {{"limits", std::move(now_json)}};
      evaluate("limits", false, fx);
      trim_to_target(nullptr, fx);
      return out;
    });
    if (result.ok()) thread_cv_.notify_all();  // the sampler picks up a new interval
    return result;
  }

  // payload.perf.{cpu_percent, ram_mb, vram_mb}: each optional, a number >= 0.
  static std::optional<std::string> parse_hints(const boost::json::object& payload,
                                                Requirements& req) {
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
      if (!d || *d < 0) return std::string("payload.perf.") + name + " must be a number >= 0";
      *dst = *d;
    }
    return std::nullopt;
  }

  // ---- admission ------------------------------------------------------------------

  // The longest-waiting feasible delayed job, once it has waited
  // starvation_after seconds and our own jobs could still make room for it:
  // some are running, or one finished after the latest sample (which then
  // still shows its load). Otherwise what blocks the job is outside the
  // manager, and holding newer jobs back would only idle the host.
  const Job* current_guard() const {
    if (waiting_.empty()) return nullptr;
    if (running_.empty() && finishes_ == finishes_at_sample_) return nullptr;
    const auto& [since, seq] = *waiting_.begin();
    if (mono_now() - since < policy_.starvation_after) return nullptr;
    return delayed_.at(seq);
  }

  // Admission in the contract's order: job cap, CPU, RAM, VRAM (queue depth
  // is checked by register_job alone). Every failing check becomes a
  // blocker; the first gives the reason. `holds_slot`: a queued job being
  // started already counts in the cap. `hysteresis`: the CPU threshold is
  // lowered by the release margin.
  Verdict judge(const Job& j, bool holds_slot, bool hysteresis, const Job* guard) const {
    Verdict v;
    const BudgetLimits& l = limits_;
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
      const double usage = latest_.cpu_percent;
      const double hint = j.req.cpu_percent;
      const double lim = l.max_cpu_percent;
      auto text = [&](double amount) {
        return concat({"cpu ", fixed(amount, 1), "%/", fixed(lim, 1), "%"});
      };
      double threshold = lim;
      std::optional<double> release_below;
      if (hysteresis) {
        threshold -= std::min(policy_.cpu_release_margin, std::max(0.0, lim - hint) / 2);
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
    memory("ram", latest_.mem_used_mb, j.req.ram_mb, l.max_mem_mb);
    memory("vram", latest_.vram_used_mb(), j.req.vram_mb, l.max_vram_mb);
    if (!infeasible.empty()) {
      v.infeasible = true;
      v.reason = infeasible + ": can never run under the current limits";
    }
    if (v.admit && guard != nullptr && guard != &j && j.seq > guard->seq) {
      block(v, "held for starved job " + guard->id, {"starvation_guard", 0, 0, 0, guard->id, {}});
    }
    return v;
  }

  static void block(Verdict& v, std::string reason, Blocker b) {
    if (v.admit) {
      v.admit = false;
      if (v.reason.empty()) v.reason = std::move(reason);
    }
    v.blockers.push_back(std::move(b));
  }

  // Stores the verdict on a delayed job, keeping the set of waiting
  // (feasible) jobs in step with its infeasible flag.
  void record_verdict(Job& job, Verdict&& v) {
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

  // Removes a job from the set of its current (active) state.
  void leave_state(Job& job) {
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

  // Re-evaluates every delayed job in registration order. With `all` it
  // returns a transition per job evaluated (refresh_queue); otherwise it
  // returns nothing and its queue.refreshed event lists only the jobs that
  // changed state.
  boost::json::array evaluate(const char* cause, bool all, Effects& fx) {
    boost::json::array transitions;
    const bool events = wants_events(fx);
    const bool report = all || events;
    std::size_t evaluated = 0;
    std::size_t promoted = 0;
    const Job* guard = current_guard();
    for (auto it = delayed_.begin(); it != delayed_.end();) {
      Job& job = *it->second;
      ++it;  // the job may leave delayed_ below
      ++evaluated;
      Verdict v = judge(job, false, job.cpu_hold, guard);
      if (v.admit) {
        const bool was_guard = guard == &job;
        leave_state(job);
        job.status = JobStatus::queued;
        job.reason.reset();
        job.blockers.clear();
        job.cpu_hold = false;
        job.last_transition = wall_now();
        queued_.emplace(job.seq, &job);
        ++promoted;
        if (was_guard) guard = current_guard();
        if (report) transitions.push_back(transition_json(job));
      } else {
        record_verdict(job, std::move(v));
        if (all) transitions.push_back(transition_json(job));
      }
    }
    if (evaluated > 0 || all) last_evaluation_ = wall_now();
    if (events && (evaluated > 0 || all)) {
      fx.events.emplace_back("queue.refreshed", boost::json::object{{"cause", cause},
                                                                    {"evaluated", evaluated},
                                                                    {"promoted", promoted},
                                                                    {"transitions", transitions}});
    }
    return all ? transitions : boost::json::array{};
  }

  // ---- finished-job history ----------------------------------------------------

  void forget_finished(const Job& job) {
    for (auto it = finished_.begin(); it != finished_.end(); ++it) {
      if (it->second == job.seq) {
        finished_.erase(it);
        break;
      }
    }
    jobs_.erase(job.id);
  }

  void trim_history() {
    while (finished_.size() > policy_.finished_jobs_kept) {
      const auto [id, seq] = finished_.front();
      finished_.pop_front();
      auto it = jobs_.find(id);
      if (it != jobs_.end() && it->second.seq == seq) jobs_.erase(it);
    }
  }

  // ---- JSON views ----------------------------------------------------------------

  static boost::json::value reason_json(const Job& j) {
    if (j.reason) return boost::json::string(*j.reason);
    return nullptr;
  }

  static boost::json::object public_job(const Job& j) {
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
        {"reason", reason_json(j)},
        {"submitted_at", j.submitted_at},
        {"last_transition", j.last_transition},
        {"requirements", boost::json::object{{"cpu_percent", j.req.cpu_percent},
                                             {"ram_mb", j.req.ram_mb},
                                             {"vram_mb", j.req.vram_mb}}},
        {"infeasible", j.infeasible},
        {"blockers", std::move(blockers)}};
  }

  static boost::json::object transition_json(const Job& j) {
    return boost::json::object{
        {"job", public_job(j)}, {"queue_state", status_name(j.status)}, {"reason", reason_json(j)}};
  }

  static boost::json::object public_asset(const Asset& a) {
    boost::json::value last = nullptr;
    if (a.last_eviction) last = to_string(*a.last_eviction);
    return boost::json::object{
        {"asset_id", a.id},         {"size_mb", a.size_mb},     {"loaded", a.loaded},
        {"pinned", a.pins},         {"metadata", a.metadata},   {"registered_at", a.registered_at},
        {"last_used", a.last_used}, {"evictions", a.evictions}, {"last_eviction", std::move(last)}};
  }

  // ---- assets ----------------------------------------------------------------------

  double loaded_mb() const { return loaded_mb_ > 0 ? loaded_mb_ : 0.0; }

  // Marks loaded and most recently used.
  void load(Asset& a) {
    a.loaded = true;
    a.use_seq = ++use_seq_;
    a.last_used = wall_now();
    lru_.emplace(a.use_seq, &a);
    loaded_mb_ += a.size_mb;
  }

  // Most recently used now, loaded again if it had been evicted.
  void touch(Asset& a) {
    if (a.loaded) unload_bytes(a);
    load(a);
  }

  // Takes a loaded asset out of the LRU and the loaded total.
  void unload_bytes(Asset& a) {
    lru_.erase(a.use_seq);
    a.loaded = false;
    loaded_mb_ -= a.size_mb;
    // Rounding must not leave a phantom total once nothing is loaded.
    if (lru_.empty()) loaded_mb_ = 0;
  }

  void evict(Asset& a, EvictionCause cause, Effects& fx) {
    unload_bytes(a);
    ++a.evictions;
    ++evictions_;
    a.last_eviction = cause;
    fx.evictions.push_back(
        {a.id, a.size_mb, a.metadata, a.handler ? a.handler : default_handler_, cause});
    if (wants_events(fx)) {
      fx.events.emplace_back("asset.evicted", boost::json::object{{"asset_id", a.id},
                                                                  {"size_mb", a.size_mb},
                                                                  {"cause", to_string(cause)}});
    }
  }

  // Least recently used, loaded, unpinned, and not `keep`.
  Asset* eviction_candidate(const Asset* keep) const {
    for (const auto& kv : lru_) {
      Asset* a = kv.second;
      if (a != keep && a->pins == 0) return a;
    }
    return nullptr;
  }

  void trim_to(double target, const Asset* keep, EvictionCause cause, Effects& fx) {
    // A tolerance so sizes like 0.1 + 0.2 do not evict one asset too many.
    while (loaded_mb() > target + 1e-9) {
      Asset* a = eviction_candidate(keep);
      if (a == nullptr) break;
      evict(*a, cause, fx);
    }
  }

  void trim_to_target(const Asset* keep, Effects& fx) {
    if (limits_.lazy_asset_target_mb == 0) return;
    trim_to(static_cast<double>(limits_.lazy_asset_target_mb), keep, EvictionCause::target, fx);
  }

  // While the latest sample shows RAM or VRAM over its limit, evicts the
  // least recently used assets, assuming each frees its size until the next
  // sample says otherwise.
  void trim_for_pressure(Effects& fx) {
    double ram_over = limits_.max_mem_mb > 0
                          ? latest_.mem_used_mb - static_cast<double>(limits_.max_mem_mb)
                          : 0.0;
    double vram_over = limits_.max_vram_mb > 0 && !latest_.gpus.empty()
                           ? latest_.vram_used_mb() - static_cast<double>(limits_.max_vram_mb)
                           : 0.0;
    while (ram_over > 0 || vram_over > 0) {
      Asset* a = eviction_candidate(nullptr);
      if (a == nullptr) break;
      ram_over -= a->size_mb;
      vram_over -= a->size_mb;
      evict(*a, EvictionCause::pressure, fx);
    }
  }

  void unpin(const std::string& asset_id) noexcept {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = assets_.find(asset_id);
    if (it != assets_.end() && it->second.pins > 0) --it->second.pins;
  }

  // ---- after the lock ------------------------------------------------------------

  void run(Effects& fx) {
    for (auto& e : fx.evictions) {
      if (!e.handler) continue;
      try {
        e.handler(e.asset_id, e.metadata, e.cause);
      } catch (...) {
        handler_errors_.fetch_add(1);
      }
    }
    for (auto& [trigger, payload] : fx.events) {
      try {
        if (fx.sink) {
          fx.sink(trigger, std::move(payload));
        } else {
          hooks().emit(kBudgetEvent, trigger, std::move(payload));
        }
      } catch (...) {
        // An event that cannot be delivered must not undo the change.
      }
    }
  }

  // ---- sampling ----------------------------------------------------------------------

  // One sample and evaluation; the sampler thread's loop body.
  void tick() {
    Effects fx;
    {
      // Held until the sample is stored, so concurrent ticks publish their
      // samples in the order they were taken.
      std::lock_guard<std::mutex> sampling(sample_mu_);
      std::shared_ptr<MetricsProvider> provider;
      {
        std::lock_guard<std::mutex> lk(mu_);
        provider = provider_;
      }
      Metrics m;
      try {
        if (!provider) {
          // Built here rather than in the constructor: it reads /proc, and
          // its GPU part must start on the sampler thread.
          if (!system_provider_) system_provider_ = std::make_shared<SystemMetricsProvider>();
          provider = system_provider_;
        }
        m = provider->sample();
      } catch (...) {
        sampler_errors_.fetch_add(1);
        return;
      }
      std::lock_guard<std::mutex> lk(mu_);
      latest_ = std::move(m);
      finishes_at_sample_ = finishes_;
      evaluate("interval", false, fx);
      trim_for_pressure(fx);
      trim_to_target(nullptr, fx);
      last_evaluation_ = wall_now();
    }
    run(fx);
  }

  void sampler_loop() {
    sampler_id_.store(std::this_thread::get_id());
    using steady = std::chrono::steady_clock;
    auto interval = [this] {
      // Clamped so an absurd interval cannot overflow the deadline.
      const double s = std::min(std::max(interval_.load(), 0.1), 86400.0);
      return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
    };
    auto last = steady::now();
    std::unique_lock<std::mutex> lk(thread_mu_);
    bool first = true;
    while (!stop_) {
      if (first || steady::now() >= last + interval()) {
        first = false;
        lk.unlock();
        tick();
        last = steady::now();
        lk.lock();
        continue;
      }
      // Woken early by configure: the loop recomputes the deadline with the
      // new interval.
      thread_cv_.wait_until(lk, last + interval());
    }
    sampler_id_.store(std::thread::id());
  }

  // ---- state -----------------------------------------------------------------------------

  mutable std::mutex mu_;
  BudgetLimits limits_;
  BudgetPolicy policy_;
  Metrics latest_;
  double last_evaluation_ = 0;
  Clock clock_;
  EventSink sink_;
  std::shared_ptr<MetricsProvider> provider_;  // null: the system provider

  std::map<std::string, Job, std::less<>> jobs_;                // active and kept finished jobs
  std::map<std::uint64_t, Job*> queued_, delayed_, running_;    // by registration order
  std::set<std::pair<double, std::uint64_t>> waiting_;          // feasible delayed: (since, seq)
  std::deque<std::pair<std::string, std::uint64_t>> finished_;  // oldest first
  std::uint64_t job_seq_ = 0;
  std::uint64_t seen_jobs_ = 0;
  std::uint64_t finishes_ = 0;            // running jobs that finished, ever
  std::uint64_t finishes_at_sample_ = 0;  // ... as of the latest sample

  std::map<std::string, Asset, std::less<>> assets_;
  std::map<std::uint64_t, Asset*> lru_;  // loaded assets, least recently used first
  std::uint64_t use_seq_ = 0;
  double loaded_mb_ = 0;
  std::uint64_t evictions_ = 0;
  UnloadHandler default_handler_;
  std::atomic<std::uint64_t> handler_errors_{0};
  std::atomic<std::uint64_t> sampler_errors_{0};

  // Sampler thread. Lock order: lifecycle_mu_ -> thread_mu_, and
  // sample_mu_ -> mu_; mu_ is never held together with thread_mu_.
  std::mutex sample_mu_;  // one provider->sample() at a time; guards system_provider_
  std::shared_ptr<MetricsProvider> system_provider_;
  std::mutex lifecycle_mu_;
  std::mutex thread_mu_;
  std::condition_variable thread_cv_;
  std::thread thread_;
  bool stop_ = true;
  std::atomic<bool> enabled_{false};
  std::atomic<double> interval_{BudgetLimits{}.evaluation_interval};
  std::atomic<std::thread::id> sampler_id_{};
};

inline void AssetPin::release() noexcept {
  if (manager_ != nullptr) manager_->unpin(asset_id_);
  manager_ = nullptr;
}

// The one budget manager of the process (shared by every library that uses it).
COMFYVN_PERF_VISIBLE inline BudgetManager& budget_manager() {
  static BudgetManager* b = [] {
    auto* m = new BudgetManager();
    pthread_atfork([] { budget_manager().fork_prepare(); }, [] { budget_manager().fork_parent(); },
                   [] { budget_manager().fork_child(); });
    // COMFYVN_ENABLE_PERF=1 turns budgets on even in a process that never
    // reads a flag. Checked here, on first use, rather than at static
    // initialisation: enabling starts the sampler thread, and a thread
    // started before main() breaks programs that fork early.
    if (detail::env_flag_true(std::getenv("COMFYVN_ENABLE_PERF"))) m->set_enabled(true);
    return m;
  }();
  return *b;
}

}  // namespace comfyvn::perf
