// comfyvn_perf — taking the budget manager's metrics samples one at a time.
//
// The provider is the injected one or, by default, a SystemMetricsProvider
// built on first use: it reads /proc, and its GPU part must start on the
// thread that samples, never in a constructor that may run before main().
#pragma once

#include <atomic>   // error counter
#include <cstdint>  // uint64_t
#include <memory>   // shared_ptr<MetricsProvider>
#include <mutex>    // one sample at a time
#include <utility>  // move

#include "../metrics/sample.hpp"  // Metrics

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
    publish(std::move(m));
    return true;
  }

  std::uint64_t errors() const noexcept { return errors_.load(); }

  // Held across fork() by the manager's fork handler (before its own lock).
  void lock() { mu_.lock(); }
  void unlock() { mu_.unlock(); }

 private:
  // Fills `m` from `provider` (null: the system provider, built on first
  // use); false, counted, when that threw. Called with mu_ held.
  bool take(std::shared_ptr<MetricsProvider> provider, Metrics& m);

  std::mutex mu_;  // guards system_
  std::shared_ptr<MetricsProvider> system_;
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
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

}  // namespace comfyvn::perf
#endif
