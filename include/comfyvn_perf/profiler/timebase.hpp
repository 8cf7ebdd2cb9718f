// comfyvn_perf — the profiler's time base: where relative times count from,
// and the length of a tick.
//
// Spans carry raw ticks of the default clock (core/clock.hpp: the TSC where
// it is usable, else steady_clock nanoseconds). The length of a TSC tick is
// calibrated once against steady_clock, on the read side only.
#pragma once

#include <atomic>   // calibration result
#include <cstdint>  // uint64_t
#include <mutex>    // one calibration

namespace comfyvn::perf::detail {

class TimeBase {
 public:
  // Takes the anchors: now, on the tick, steady and system clocks.
  TimeBase();

  // Nanoseconds per tick. The first call on a TSC clock may wait until 20 ms
  // have passed since the anchors were taken.
  double ns_per_tick();

  double ticks_to_ms(double ticks) { return ticks * ns_per_tick() / 1e6; }

  // Nanoseconds per tick measured now, over everything since the anchors:
  // the longer the process has run, the closer (a microsecond of read
  // jitter over 10 s is 0.1 ppm), where ns_per_tick() is fixed after 20 ms.
  // For maps between clocks that must agree to microseconds (GPU
  // timestamps, gpu/track.hpp). Never waits.
  double ns_per_tick_now();

  // The tick value all relative times (trace timestamps) count from.
  std::uint64_t anchor_ticks() const { return anchor_ticks_; }

  // Epoch seconds of a tick value.
  double ticks_to_epoch(std::uint64_t ticks);

  void fork_prepare() { calib_mu_.lock(); }
  void fork_parent() { calib_mu_.unlock(); }
  void fork_child() { calib_mu_.unlock(); }

 private:
  // The tightest of three back-to-back (ticks, steady) pairs: a pair split
  // by a preemption would skew every rate measured from it.
  static void read_pair(std::uint64_t& ticks, std::uint64_t& steady_ns);

  std::mutex calib_mu_;
  std::uint64_t anchor_ticks_ = 0;
  std::uint64_t anchor_steady_ns_ = 0;
  std::uint64_t anchor_system_ns_ = 0;
  std::atomic<double> ns_per_tick_{0.0};
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <chrono>  // system_clock, the calibration wait
#include <thread>  // sleep_for

#include "../core/clock.hpp"  // DefaultClock, SteadyClock

namespace comfyvn::perf::detail {

void TimeBase::read_pair(std::uint64_t& ticks, std::uint64_t& steady_ns) {
  std::uint64_t best_window = ~std::uint64_t{0};
  for (int i = 0; i < 3; ++i) {
    const std::uint64_t t0 = DefaultClock::now();
    const std::uint64_t s = SteadyClock::now();
    const std::uint64_t t1 = DefaultClock::now();
    if (t1 - t0 < best_window) {
      best_window = t1 - t0;
      ticks = t0 + (t1 - t0) / 2;
      steady_ns = s;
    }
  }
}

TimeBase::TimeBase() {
  read_pair(anchor_ticks_, anchor_steady_ns_);
  anchor_system_ns_ =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

double TimeBase::ns_per_tick() {
  double v = ns_per_tick_.load(std::memory_order_acquire);
  if (v > 0) return v;
  if (!DefaultClock::is_tsc) {
    ns_per_tick_.store(1.0, std::memory_order_release);
    return 1.0;
  }
  std::lock_guard<std::mutex> lock(calib_mu_);
  v = ns_per_tick_.load(std::memory_order_acquire);
  if (v > 0) return v;
  // Two-point calibration against steady_clock over at least 20 ms, taken
  // from the anchors so that usually no waiting is needed.
  const std::uint64_t min_ns = 20'000'000;
  std::uint64_t now_ns = SteadyClock::now();
  if (now_ns - anchor_steady_ns_ < min_ns) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(min_ns - (now_ns - anchor_steady_ns_)));
  }
  const std::uint64_t t = DefaultClock::now();
  now_ns = SteadyClock::now();
  v = static_cast<double>(now_ns - anchor_steady_ns_) / static_cast<double>(t - anchor_ticks_);
  ns_per_tick_.store(v, std::memory_order_release);
  return v;
}

double TimeBase::ns_per_tick_now() {
  if (!DefaultClock::is_tsc) return 1.0;
  std::uint64_t ticks = 0, steady = 0;
  read_pair(ticks, steady);
  // Under 10 ms from the anchors the fixed estimate is as good.
  if (ticks <= anchor_ticks_ || steady < anchor_steady_ns_ + 10'000'000) return ns_per_tick();
  return static_cast<double>(steady - anchor_steady_ns_) /
         static_cast<double>(ticks - anchor_ticks_);
}

double TimeBase::ticks_to_epoch(std::uint64_t ticks) {
  const double delta_ns =
      (static_cast<double>(ticks) - static_cast<double>(anchor_ticks_)) * ns_per_tick();
  return (static_cast<double>(anchor_system_ns_) + delta_ns) / 1e9;
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
