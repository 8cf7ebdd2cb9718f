// comfyvn_perf — the static description of one instrumentation site.
#pragma once

#include <atomic>   // lazily assigned site id
#include <cstdint>  // uint32_t

namespace comfyvn::perf {

// One per PERF_SCOPE expansion, with static storage: the hot path never copies
// or hashes these strings, it only carries the id assigned on first use.
struct Site {
  const char* name;
  const char* category;
  const char* file;
  const char* function;
  std::uint32_t line;
  // 0 until the site is first executed, then its process-wide id.
  mutable std::atomic<std::uint32_t> id{0};
};

namespace detail {
// Reserved ids. Id 0 means "not yet registered".
inline constexpr std::uint32_t kOtherSiteId = 1;  // dynamic names past the cap
inline constexpr std::uint32_t kFrameSiteId = 2;  // PERF_FRAME intervals
inline constexpr std::uint32_t kFirstUserSiteId = 3;
}  // namespace detail

}  // namespace comfyvn::perf
