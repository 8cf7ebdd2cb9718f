// comfyvn_perf — timestamp sources for the hot path.
//
// Recording stores raw ticks; conversion to nanoseconds happens when data is
// read (see detail/calibration.hpp), so a scope never pays for a division.
#pragma once

#include <chrono>   // steady_clock fallback
#include <cstdint>  // uint64_t

#include "config.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <x86intrin.h>  // __rdtsc
#endif

namespace comfyvn::perf {

// std::chrono::steady_clock in nanoseconds: portable, about 20 ns per read.
struct SteadyClock {
  static constexpr bool is_tsc = false;
  COMFYVN_PERF_ALWAYS_INLINE static std::uint64_t now() noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }
};

#if defined(__x86_64__) || defined(_M_X64)
// The invariant TSC: a plain rdtsc, not serialising. Scopes of a few dozen
// cycles are dominated by the read itself; fencing would double that.
struct TscClock {
  static constexpr bool is_tsc = true;
  COMFYVN_PERF_ALWAYS_INLINE static std::uint64_t now() noexcept { return __rdtsc(); }
};
#elif defined(__aarch64__)
// The generic timer's virtual count, readable from user space on Linux.
struct TscClock {
  static constexpr bool is_tsc = true;
  COMFYVN_PERF_ALWAYS_INLINE static std::uint64_t now() noexcept {
    std::uint64_t v;
    asm volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
  }
};
#else
using TscClock = SteadyClock;
#endif

#if COMFYVN_PERF_CLOCK_STEADY
using DefaultClock = SteadyClock;
#else
using DefaultClock = TscClock;
#endif

}  // namespace comfyvn::perf
