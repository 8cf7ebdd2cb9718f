// comfyvn_perf — the budget manager's sampler: one metrics sample at a time,
// and the thread that takes one every evaluation_interval.
//
// The provider is the injected one or, by default, a SystemMetricsProvider
// built on first use: it reads /proc, and its GPU part must start on the
// thread that samples, never in a constructor that may run before main().
// What a sample leads to (re-evaluating jobs, trimming assets) is the
// manager's tick, which the thread runs.
#pragma once

#include <atomic>      // error counter, interval
#include <cstdint>     // uint64_t
#include <functional>  // the tick
#include <memory>      // shared_ptr<MetricsProvider>
#include <mutex>       // one sample at a time, start/stop against fork
#include <utility>     // move

#include "../metrics/sample.hpp"  // Metrics
#include "../os/worker.hpp"       // PeriodicWorker: the sampler thread
#include "types.hpp"              // BudgetLimits: the default interval

namespace comfyvn::perf {

class MetricsProvider;  // metrics/provider.hpp

class BudgetSampler {
 public:
  // Samples the provider `current()` returns (null: the system provider) and
  // hands the sample to `publish` while still holding the sampling lock, so
  // concurrent calls publish their samples in the order they were taken.
  // False when the provider threw; that is counted, never fatal.
  template <typename Current, typename Publish>
  bool sample(Current&& current, Publish&& publish) {
    std::lock_guard<std::mutex> lk(mu_);
    std::shared_ptr<MetricsProvider> provider = current();
    Metrics m;
    if (!take(std::move(provider), m)) return false;
    finite_or_zero(m);
    publish(std::move(m));
    return true;
  }

  std::uint64_t errors() const noexcept { return errors_.load(); }

  // A provider's NaN or infinity would reach every JSON body that carries the
  // metrics, and no JSON parser accepts those: such a figure reads as 0 (or
  // absent, for the optional ones).
  static void finite_or_zero(Metrics& m) noexcept;

  // ---- the sampler thread ----------------------------------------------------

  // On: starts the thread, which runs `tick` at once and then every
  // interval. Off: stops and joins it. From the sampler thread itself (a
  // handler called by the tick) joining would deadlock, so off only ends the
  // loop and on does nothing.
  void set_enabled(bool on, std::function<void()> tick);
  bool enabled() const noexcept { return worker_.running(); }

  // Seconds between ticks (evaluation_interval), clamped to 0.1..86400.
  // reschedule() makes a running thread use a new one now.
  void set_interval(double seconds) noexcept { interval_.store(seconds); }
  void reschedule() { worker_.reschedule(); }

  // For the manager's fork handler: every lock is taken across fork() in the
  // order the code nests them: the start/stop lock, the sampling lock, then
  // `inner` (the manager's own lock), then the thread's. The child starts
  // with the thread off.
  void fork_prepare(std::mutex& inner);
  void fork_parent(std::mutex& inner);
  void fork_child(std::mutex& inner);

 private:
  // Fills `m` from `provider` (null: the system provider, built on first
  // use); false, counted, when that threw. Called with mu_ held.
  bool take(std::shared_ptr<MetricsProvider> provider, Metrics& m);

  void fork_unlock(std::mutex& inner);

  // Lock order: lifecycle_mu_ -> the worker's own lock, and mu_ -> the
  // manager's lock (taken by `publish`). A tick runs while the worker's own
  // lock is released.
  std::mutex mu_;  // guards system_
  std::shared_ptr<MetricsProvider> system_;
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<double> interval_{BudgetLimits{}.evaluation_interval};
  std::mutex lifecycle_mu_;    // serialises set_enabled against fork
  os::PeriodicWorker worker_;  // the sampler thread
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>         // min, max: the interval's clamp
#include <chrono>            // the interval as a duration
#include <cmath>             // isfinite: sanitising samples
#include <initializer_list>  // field lists of finite_or_zero
#include <optional>          // the optional figures

#include "../metrics/provider.hpp"  // MetricsProvider, SystemMetricsProvider

namespace comfyvn::perf {

bool BudgetSampler::take(std::shared_ptr<MetricsProvider> provider, Metrics& m) {
  try {
    if (!provider) {
      if (!system_) system_ = std::make_shared<SystemMetricsProvider>();
      provider = system_;
    }
    m = provider->sample();
  } catch (...) {
    errors_.fetch_add(1);
    return false;
  }
  return true;
}

void BudgetSampler::finite_or_zero(Metrics& m) noexcept {
  for (double* d : {&m.timestamp, &m.cpu_percent, &m.cpu_count, &m.process_cpu_percent,
                    &m.mem_used_mb, &m.mem_total_mb, &m.process_rss_mb}) {
    if (!std::isfinite(*d)) *d = 0;
  }
  for (std::optional<double>* o : {&m.cpu_pressure, &m.memory_pressure}) {
    if (*o && !std::isfinite(**o)) o->reset();
  }
  for (GpuInfo& g : m.gpus) {
    for (double* d : {&g.util, &g.mem_used, &g.mem_total, &g.temp_c}) {
      if (!std::isfinite(*d)) *d = 0;
    }
  }
}

void BudgetSampler::set_enabled(bool on, std::function<void()> tick) {
  if (worker_.on_worker_thread()) {
    // Turning it on from there is a no-op (it is running) and must not
    // cancel a stop another thread is waiting for.
    if (!on) worker_.stop();
    return;
  }
  std::lock_guard<std::mutex> life(lifecycle_mu_);
  if (!on) return worker_.stop();
  worker_.start(
      std::move(tick),
      [this] {
        // Clamped so an absurd interval cannot overflow the conversion.
        const double s = std::min(std::max(interval_.load(), 0.1), 86400.0);
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::duration<double>(s));
      },
      true, "perf-budgets");
}

void BudgetSampler::fork_prepare(std::mutex& inner) {
  lifecycle_mu_.lock();
  mu_.lock();
  inner.lock();
  worker_.fork_prepare();
}

void BudgetSampler::fork_parent(std::mutex& inner) {
  worker_.fork_parent();
  fork_unlock(inner);
}

void BudgetSampler::fork_child(std::mutex& inner) {
  worker_.fork_child();
  fork_unlock(inner);
}

void BudgetSampler::fork_unlock(std::mutex& inner) {
  inner.unlock();
  mu_.unlock();
  lifecycle_mu_.unlock();
}

}  // namespace comfyvn::perf
#endif
