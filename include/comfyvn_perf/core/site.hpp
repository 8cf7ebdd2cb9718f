// comfyvn_perf — the static description of one instrumentation site.
#pragma once

#include <cstdint>  // uint32_t

#include "atomic.hpp"

namespace comfyvn::perf {

// One per PERF_SCOPE expansion, with static storage: the hot path never copies
// or hashes these strings, it only carries the id assigned on first use.
// A whole cache line of its own: every scope reads its site, and a hot global
// written by another thread in the same line would make each read a miss.
struct alignas(64) Site {
  const char* name;
  const char* category;
  const char* file;
  const char* function;
  std::uint32_t line;
  // 0 until the site is first executed, then its process-wide id.
  mutable detail::Atomic<std::uint32_t> id{0};
};

namespace detail {
// Reserved ids. Id 0 means "not yet registered".
inline constexpr std::uint32_t kOtherSiteId = 1;  // dynamic names past the cap
inline constexpr std::uint32_t kFrameSiteId = 2;  // PERF_FRAME intervals
inline constexpr std::uint32_t kFirstUserSiteId = 3;
}  // namespace detail

}  // namespace comfyvn::perf
