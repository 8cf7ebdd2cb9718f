// comfyvn_perf — wall and monotonic time for reports (never on the hot path).
#pragma once

#include <chrono>   // system_clock, steady_clock
#include <cstdint>  // int64_t

namespace comfyvn::perf::os {

// Seconds since the Unix epoch, as reported in every JSON "timestamp".
inline double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Monotonic nanoseconds.
inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Monotonic seconds.
inline double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace comfyvn::perf::os
