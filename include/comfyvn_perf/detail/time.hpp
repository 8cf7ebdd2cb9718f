// comfyvn_perf — wall-clock helpers for reports (never used on the hot path).
#pragma once

#include <chrono>  // system_clock

namespace comfyvn::perf::detail {

// Seconds since the Unix epoch, as reported in every JSON "timestamp".
inline double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace comfyvn::perf::detail
