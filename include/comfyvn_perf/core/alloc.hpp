// comfyvn_perf — per-thread allocation counters for memory attribution.
//
// A span's memory is the number of bytes allocated on its thread while it was
// open. The counters are fed by the opt-in operator new hook
// (<comfyvn_perf/alloc_hook.hpp>, included in exactly one source file) and by
// note_alloc()/note_free() for memory the SDK cannot see, such as GPU uploads.
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t

#include "../config.hpp"

namespace comfyvn::perf {
namespace detail {

// Trivially constructible on purpose: no TLS guard, safe from any allocation,
// even before main and during thread teardown.
struct AllocCounters {
  std::uint64_t allocated_bytes;
  std::uint64_t freed_bytes;
  std::uint64_t allocations;
  std::uint64_t frees;
};

COMFYVN_PERF_VISIBLE inline thread_local AllocCounters t_alloc{};

}  // namespace detail

// Attributes `bytes` to the spans open on this thread.
inline void note_alloc(std::size_t bytes) noexcept {
  detail::t_alloc.allocated_bytes += bytes;
  ++detail::t_alloc.allocations;
}

// Records that `bytes` noted earlier were released.
inline void note_free(std::size_t bytes) noexcept {
  detail::t_alloc.freed_bytes += bytes;
  ++detail::t_alloc.frees;
}

// This thread's running totals (bytes), for tests and tools.
inline std::uint64_t thread_allocated_bytes() noexcept {
  return detail::t_alloc.allocated_bytes;
}
inline std::uint64_t thread_freed_bytes() noexcept {
  return detail::t_alloc.freed_bytes;
}

}  // namespace comfyvn::perf
