// comfyvn_perf — timestamp sources for the hot path.
//
// Recording stores raw ticks; conversion to nanoseconds happens when data is
// read (Registry::ns_per_tick in <comfyvn_perf/profiler/registry.hpp>), so a
// scope never pays for a division.
#pragma once

#include <time.h>  // clock_gettime(CLOCK_MONOTONIC): the steady clock, without <chrono>

#include <cstdint>  // uint64_t

#include "../config.hpp"

namespace comfyvn::perf {

// The monotonic clock in nanoseconds (what std::chrono::steady_clock reads on
// Linux): portable, about 20 ns per read.
struct SteadyClock {
  static constexpr bool is_tsc = false;
  COMFYVN_PERF_ALWAYS_INLINE static std::uint64_t now() noexcept {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
  }
};

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// The invariant TSC: a plain rdtsc, not serialising. Scopes of a few dozen
// cycles are dominated by the read itself; fencing would double that. The
// builtin spares the hot header <x86intrin.h> (40,000 preprocessed lines).
struct TscClock {
  static constexpr bool is_tsc = true;
  COMFYVN_PERF_ALWAYS_INLINE static std::uint64_t now() noexcept { return __builtin_ia32_rdtsc(); }
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
