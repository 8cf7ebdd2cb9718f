// comfyvn_perf — BudgetManager: soft CPU/RAM/VRAM limits, job admission that
// explains itself, and an LRU of lazily loaded assets.
//
// A facade over the parts: the limits (limits.hpp), the admission queue
// (admission.hpp) and the asset cache (assets.hpp), which are not
// thread-safe, plus the sampler (sampler.hpp), which takes the metrics
// samples and runs the background thread. Pins are asset_pin.hpp.
// The manager holds one lock around every call into the parts, so every
// public method is safe from any thread. What calls out (unload handlers,
// events: effects.hpp; metric sampling) runs without that lock held, so
// handlers and sinks may call back in. Events leave through the sink the
// runtime installs (events.hpp). docs/budgets.md describes the policies.
#pragma once

#include <atomic>       // counters, interval
#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <functional>   // clock, event sink
#include <memory>       // shared_ptr<MetricsProvider>
#include <mutex>        // the state lock
#include <optional>     // optional arguments
#include <string>       // ids, reasons
#include <string_view>  // API arguments
#include <type_traits>  // invoke_result_t
#include <utility>      // move

#include <boost/json.hpp>  // payloads, snapshots, health

#include "../json/budget.hpp"       // limits_json, limits_update_json (apply_limits)
#include "../metrics/provider.hpp"  // the providers set_metrics_provider takes
#include "admission.hpp"            // AdmissionQueue
#include "asset_pin.hpp"            // AssetPin
#include "assets.hpp"               // AssetCache
#include "effects.hpp"              // BudgetEffects
#include "events.hpp"               // BudgetEventSink, BudgetEventInterest, triggers
#include "limits.hpp"               // the checks configure and set_policy run
#include "sampler.hpp"              // BudgetSampler: samples and the sampler thread
#include "types.hpp"                // limits, policy, results, health

namespace comfyvn::perf {

class BudgetManager {
 public:
  // Seconds. Replaces both the wall clock of timestamps and the monotonic
  // clock of waiting times, so tests can move time by hand.
  using Clock = std::function<double()>;
  using EventSink = BudgetEventSink;

  BudgetManager() = default;
  BudgetManager(const BudgetManager&) = delete;
  BudgetManager& operator=(const BudgetManager&) = delete;
  ~BudgetManager();

  // ---- limits and policy ------------------------------------------------------

  // Applies the keys present in `patch`; every key is checked before any is
  // applied. Body: {"limits": {all seven}}.
  BudgetResult configure(const boost::json::object& patch);
  BudgetResult configure(const BudgetLimits& l);
  BudgetLimits limits() const;
  BudgetPolicy policy() const;
  BudgetResult set_policy(const BudgetPolicy& p);

  // ---- jobs (admission.hpp) ---------------------------------------------------

  BudgetResult register_job(std::string job_id, std::string job_type = "generic",
                            boost::json::object payload = {});
  BudgetResult start_job(std::string_view job_id);
  BudgetResult finish_job(std::string_view job_id, std::string status = "complete",
                          std::optional<std::string> reason = std::nullopt);
  // Re-evaluates every delayed job now: [{job, queue_state, reason}] per job.
  boost::json::array refresh_queue();

  // ---- lazy assets (assets.hpp) -----------------------------------------------

  // Past BudgetPolicy::max_assets or max_asset_metadata_bytes: queue_full,
  // nothing stored. `load_handler` runs when touch or pin reloads the asset
  // after an eviction.
  BudgetResult register_asset(std::string asset_id, double size_mb,
                              boost::json::object metadata = {}, UnloadHandler handler = {},
                              LoadHandler load_handler = {});
  // Body {asset, reloaded}; `reloaded` is true when the asset had been
  // evicted (its load handler has then run by the time this returns).
  BudgetResult touch_asset(std::string_view asset_id);
  // Forgets an asset and frees what it holds, unloading it first if loaded
  // (handler cause "unregister"). Body {removed}: false for an unknown id.
  // A pinned asset is a conflict.
  BudgetResult unregister_asset(std::string_view asset_id);
  // Trims to target_mb (default lazy_asset_target_mb), or evicts one asset.
  BudgetResult evict_lazy_assets(std::optional<double> target_mb = std::nullopt,
                                 std::optional<std::string> asset_id = std::nullopt);
  // Touches the asset and keeps it from eviction until the pin is released.
  // An unknown asset gives an empty pin.
  AssetPin pin_asset(std::string_view asset_id);
  void set_default_unload_handler(UnloadHandler handler);
  // For reloaded assets registered without a load handler of their own.
  void set_default_load_handler(LoadHandler handler);

  // ---- reading (json/budget.hpp) ----------------------------------------------

  // The first kSnapshotDefaultLimit (256) jobs and assets.
  boost::json::object snapshot() const;
  // {limits, metrics, jobs, queued_ids, delayed_ids, running_ids, assets,
  // jobs_total, assets_total, metadata_omitted}: `jobs` and `assets` hold
  // entries [offset, offset + limit) (limit clamped to kSnapshotMaxLimit);
  // the id lists are complete. Asset metadata is included while its running
  // total stays within `max_metadata_bytes`, then `metadata: null`.
  boost::json::object snapshot(std::size_t limit, std::size_t offset,
                               std::size_t max_metadata_bytes = kSnapshotMetadataBytes) const;
  boost::json::object health() const;
  // The same numbers as a plain struct (exporters read these).
  BudgetHealth health_data() const;
  // The latest sample (all zeros before the first one).
  Metrics metrics() const;

  // ---- metrics and the sampler thread -----------------------------------------

  // nullptr restores the system provider.
  void set_metrics_provider(std::shared_ptr<MetricsProvider> provider);
  // One sample and the evaluation the sampler thread runs each interval, on
  // the calling thread (tests and tools). Returns the sample as JSON.
  boost::json::object sample_now();
  // On: starts the sampler thread (sample + evaluation every
  // evaluation_interval). Off: stops and joins it. Default off.
  void set_enabled(bool on);
  bool enabled() const noexcept { return sampler_.enabled(); }

  // For the process's one pthread_atfork handler: every lock is taken across
  // fork() in the order the code nests them, so the child inherits none held
  // by a thread that no longer exists. The child starts with the sampler off.
  void fork_prepare();
  void fork_parent();
  void fork_child();

  // ---- wiring and tests -------------------------------------------------------

  // nullptr restores the real clocks.
  void set_clock(Clock clock);
  // Every event goes to `sink` (nullptr: no events). `wanted`, when set, is
  // asked once per call whether anyone listens, so no payload is built for
  // nobody (the runtime passes hooks().has_subscribers(kBudgetEvent)).
  void set_event_sink(EventSink sink, BudgetEventInterest wanted = {});
  // Stops the sampler and unloads every loaded asset, pinned or not, with
  // cause "shutdown". Jobs are left as they are.
  void shutdown();

 private:
  // Runs `fn` under the lock, then its effects after releasing it.
  template <typename Fn>
  std::invoke_result_t<Fn&, BudgetEffects&> locked(Fn&& fn) {
    BudgetEffects fx;
    auto out = [&] {
      std::lock_guard<std::mutex> lk(mu_);
      fx.events = BudgetEvents(&sink_, &wanted_);
      return fn(fx);
    }();
    deliver(fx);
    return out;
  }
  template <typename Fn>
  std::invoke_result_t<Fn&> read(Fn&& fn) const {
    std::lock_guard<std::mutex> lk(mu_);
    return fn();
  }

  void deliver(BudgetEffects& fx) noexcept;

  static BudgetResult invalid(std::string d);
  double wall_now() const;
  double mono_now() const;
  AdmissionContext context() const;

  // `edit` patches a copy of the current limits under the lock, so two
  // concurrent patches of different keys both take effect.
  template <typename Edit>
  BudgetResult apply_limits(Edit&& edit) {
    BudgetResult result = locked([&](BudgetEffects& fx) {
      BudgetLimits next = limits_;
      if (auto err = edit(next)) return invalid(std::move(*err));
      const BudgetLimits prev = limits_;
      limits_ = next;
      sampler_.set_interval(next.evaluation_interval);
      if (fx.events.wanted()) fx.events.add(kBudgetLimitsUpdated, limits_update_json(prev, next));
      BudgetResult out;
      out.body = {{"limits", limits_json(limits_)}};
      queue_.evaluate(context(), "limits", false, fx.events);
      assets_.trim_to_target(limits_.lazy_asset_target_mb, nullptr, fx);
      return out;
    });
    if (result.ok()) sampler_.reschedule();  // the sampler picks up a new interval
    return result;
  }

  // One sample and evaluation; the sampler thread's tick.
  void tick();

  // What releasing an AssetPin calls.
  void unpin(const std::string& asset_id) noexcept;

  // Lock order: the sampler's locks -> mu_ (sampler.hpp).
  mutable std::mutex mu_;  // everything below up to the counters
  BudgetLimits limits_;
  BudgetPolicy policy_;
  Metrics latest_;
  Clock clock_;
  EventSink sink_;
  BudgetEventInterest wanted_;
  std::shared_ptr<MetricsProvider> provider_;  // null: the system provider
  AdmissionQueue queue_;
  AssetCache assets_;
  std::atomic<std::uint64_t> handler_errors_{0};

  BudgetSampler sampler_;  // samples, and the sampler thread
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min

#include "../json/fields.hpp"   // serialized_size
#include "../json/metrics.hpp"  // metrics_json
#include "../os/time.hpp"       // epoch_now, steady_seconds

namespace comfyvn::perf {

BudgetManager::~BudgetManager() {
  set_enabled(false);
}

BudgetResult BudgetManager::configure(const boost::json::object& patch) {
  return apply_limits([&patch](BudgetLimits& next) { return apply_limits_patch(next, patch); });
}

BudgetResult BudgetManager::configure(const BudgetLimits& l) {
  return apply_limits([&l](BudgetLimits& next) { return assign_limits(next, l); });
}

BudgetLimits BudgetManager::limits() const {
  return read([this] { return limits_; });
}

BudgetPolicy BudgetManager::policy() const {
  return read([this] { return policy_; });
}

BudgetResult BudgetManager::set_policy(const BudgetPolicy& p) {
  if (auto err = check_policy(p)) return invalid(std::move(*err));
  std::lock_guard<std::mutex> lk(mu_);
  policy_ = p;
  queue_.trim_history(policy_.finished_jobs_kept);
  assets_.set_caps(policy_.max_assets, policy_.max_asset_metadata_bytes);
  return {};
}

BudgetResult BudgetManager::register_job(std::string job_id, std::string job_type,
                                         boost::json::object payload) {
  JobRequirements req;
  if (auto err = check_job_fields(job_id, job_type)) return invalid(std::move(*err));
  if (auto err = parse_job_hints(payload, req)) return invalid(std::move(*err));
  return locked([&](BudgetEffects& fx) {
    return queue_.register_job(context(), std::move(job_id), std::move(job_type), req, fx.events);
  });
}

BudgetResult BudgetManager::start_job(std::string_view job_id) {
  return locked([&](BudgetEffects& fx) { return queue_.start_job(context(), job_id, fx.events); });
}

BudgetResult BudgetManager::finish_job(std::string_view job_id, std::string status,
                                       std::optional<std::string> reason) {
  const std::optional<JobStatus> final_status = parse_final_status(status);
  if (!final_status) return invalid("status must be one of complete, canceled, error");
  return locked([&](BudgetEffects& fx) {
    return queue_.finish_job(context(), job_id, *final_status, std::move(reason), fx.events);
  });
}

boost::json::array BudgetManager::refresh_queue() {
  return locked(
      [&](BudgetEffects& fx) { return queue_.evaluate(context(), "manual", true, fx.events); });
}

BudgetResult BudgetManager::register_asset(std::string asset_id, double size_mb,
                                           boost::json::object metadata, UnloadHandler handler,
                                           LoadHandler load_handler) {
  if (auto err = check_asset_fields(asset_id, size_mb)) return invalid(std::move(*err));
  // Measured before locking: a large metadata object must not hold up
  // every other caller.
  const std::size_t bytes = detail::serialized_size(metadata);
  return locked([&](BudgetEffects& fx) {
    return assets_.register_asset(std::move(asset_id), size_mb, std::move(metadata),
                                  std::move(handler), wall_now(), limits_.lazy_asset_target_mb, fx,
                                  std::move(load_handler), bytes);
  });
}

BudgetResult BudgetManager::touch_asset(std::string_view asset_id) {
  return locked([&](BudgetEffects& fx) {
    return assets_.touch_asset(asset_id, wall_now(), limits_.lazy_asset_target_mb, fx);
  });
}

BudgetResult BudgetManager::unregister_asset(std::string_view asset_id) {
  if (auto err = check_asset_id(asset_id)) return invalid(std::move(*err));
  return locked([&](BudgetEffects& fx) { return assets_.unregister(asset_id, fx); });
}

BudgetResult BudgetManager::evict_lazy_assets(std::optional<double> target_mb,
                                              std::optional<std::string> asset_id) {
  if (auto err = check_evict_args(target_mb, asset_id)) return invalid(std::move(*err));
  return locked([&](BudgetEffects& fx) {
    if (asset_id) return assets_.evict_asset(*asset_id, fx);
    const double target = target_mb.value_or(static_cast<double>(limits_.lazy_asset_target_mb));
    return assets_.evict_to(target, fx);
  });
}

AssetPin BudgetManager::pin_asset(std::string_view asset_id) {
  return locked([&](BudgetEffects& fx) {
    const BudgetAsset* a = assets_.pin(asset_id, wall_now(), limits_.lazy_asset_target_mb, fx);
    const AssetPin::Unpin release = [](BudgetManager& m, const std::string& id) noexcept {
      m.unpin(id);
    };
    return a != nullptr ? AssetPin(this, release, a->id) : AssetPin();
  });
}

void BudgetManager::set_default_unload_handler(UnloadHandler handler) {
  std::lock_guard<std::mutex> lk(mu_);
  assets_.set_default_handler(std::move(handler));
}

void BudgetManager::set_default_load_handler(LoadHandler handler) {
  std::lock_guard<std::mutex> lk(mu_);
  assets_.set_default_load_handler(std::move(handler));
}

boost::json::object BudgetManager::snapshot() const {
  return snapshot(kSnapshotDefaultLimit, 0);
}

boost::json::object BudgetManager::snapshot(std::size_t limit, std::size_t offset,
                                            std::size_t max_metadata_bytes) const {
  std::lock_guard<std::mutex> lk(mu_);
  BudgetSnapshotView v{&limits_, &latest_, queue_.jobs_in_order(), assets_.in_order()};
  v.limit = std::min(limit, kSnapshotMaxLimit);
  v.offset = offset;
  v.max_metadata_bytes = max_metadata_bytes;
  return snapshot_json(v);
}

boost::json::object BudgetManager::health() const {
  return health_json(health_data());
}

BudgetHealth BudgetManager::health_data() const {
  BudgetHealth h;
  {
    std::lock_guard<std::mutex> lk(mu_);
    h.limits = limits_;
    h.metrics = latest_;
    queue_.fill(h);
    assets_.fill(h);
  }
  h.handler_errors = handler_errors_.load();
  h.enabled = enabled();
  h.sampler_errors = sampler_.errors();
  return h;
}

Metrics BudgetManager::metrics() const {
  return read([this] { return latest_; });
}

void BudgetManager::set_metrics_provider(std::shared_ptr<MetricsProvider> provider) {
  std::lock_guard<std::mutex> lk(mu_);
  provider_ = std::move(provider);
}

boost::json::object BudgetManager::sample_now() {
  tick();
  return metrics_json(metrics());
}

void BudgetManager::set_enabled(bool on) {
  sampler_.set_enabled(on, [this] { tick(); });
}

void BudgetManager::fork_prepare() {
  sampler_.fork_prepare(mu_);
}

void BudgetManager::fork_parent() {
  sampler_.fork_parent(mu_);
}

void BudgetManager::fork_child() {
  sampler_.fork_child(mu_);
}

void BudgetManager::set_clock(Clock clock) {
  std::lock_guard<std::mutex> lk(mu_);
  clock_ = std::move(clock);
}

void BudgetManager::set_event_sink(EventSink sink, BudgetEventInterest wanted) {
  std::lock_guard<std::mutex> lk(mu_);
  sink_ = std::move(sink);
  wanted_ = std::move(wanted);
}

void BudgetManager::shutdown() {
  set_enabled(false);
  locked([this](BudgetEffects& fx) {
    assets_.unload_all(EvictionCause::shutdown, fx);
    return true;
  });
}

void BudgetManager::deliver(BudgetEffects& fx) noexcept {
  handler_errors_.fetch_add(fx.deliver());
}

BudgetResult BudgetManager::invalid(std::string d) {
  return BudgetResult::failure(BudgetError::invalid, std::move(d));
}

double BudgetManager::wall_now() const {
  return clock_ ? clock_() : os::epoch_now();
}

double BudgetManager::mono_now() const {
  return clock_ ? clock_() : os::steady_seconds();
}

AdmissionContext BudgetManager::context() const {
  return {limits_, policy_, latest_, wall_now(), mono_now()};
}

void BudgetManager::tick() {
  BudgetEffects fx;
  const auto current = [this] { return read([this] { return provider_; }); };
  const bool sampled = sampler_.sample(current, [&](Metrics m) {
    std::lock_guard<std::mutex> lk(mu_);
    fx.events = BudgetEvents(&sink_, &wanted_);
    latest_ = std::move(m);
    queue_.note_sample();
    queue_.evaluate(context(), "interval", false, fx.events);
    assets_.trim_for_pressure(limits_, latest_, fx);
    assets_.trim_to_target(limits_.lazy_asset_target_mb, nullptr, fx);
    queue_.set_last_evaluation(wall_now());
  });
  if (sampled) deliver(fx);
}

void BudgetManager::unpin(const std::string& asset_id) noexcept {
  std::lock_guard<std::mutex> lk(mu_);
  assets_.unpin(asset_id);
}

}  // namespace comfyvn::perf
#endif
