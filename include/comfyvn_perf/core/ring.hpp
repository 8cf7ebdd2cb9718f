// comfyvn_perf — the per-thread ring of recent raw spans.
//
// Single writer (the owning thread), single reader (the collector, under the
// registry lock). The writer never waits: when the reader falls behind, the
// oldest entries are overwritten and the reader counts how many it missed.
// All fields are atomics accessed relaxed so concurrent reads are well defined;
// the fences make a torn entry detectable (seqlock-style check on the head).
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t

#include "../config.hpp"
#include "atomic.hpp"

namespace comfyvn::perf {

struct RawSpan {
  std::uint32_t site_id;
  std::uint32_t thread_index;
  std::uint64_t start_ticks;
  std::uint64_t duration_ticks;
  std::uint64_t alloc_bytes;
};

template <std::size_t Capacity>
class SpanRing {
  static_assert((Capacity & (Capacity - 1)) == 0, "capacity must be a power of two");

 public:
  static constexpr std::size_t capacity = Capacity;

  // Owner thread only.
  COMFYVN_PERF_ALWAYS_INLINE void push(std::uint32_t site_id, std::uint64_t start,
                                       std::uint64_t duration, std::uint64_t alloc) noexcept {
    const std::uint64_t h = head_.load(detail::kRelaxed);
    Slot& s = slots_[h & (Capacity - 1)];
    // Orders the head value we published before against the slot overwrite a
    // reader might observe (pairs with the reader's acquire fence).
    detail::atomic_fence(detail::kRelease);
    s.site.store(site_id, detail::kRelaxed);
    s.start.store(start, detail::kRelaxed);
    s.duration.store(duration, detail::kRelaxed);
    s.alloc.store(alloc, detail::kRelaxed);
    head_.store(h + 1, detail::kRelease);
  }

  std::uint64_t head() const noexcept { return head_.load(detail::kAcquire); }

  // Reader: copies every entry in [from, head) that is still intact to `out`
  // (a callable taking RawSpan). Returns the new cursor; `missed` gains the
  // number of entries that were overwritten before they could be read.
  template <class Out>
  std::uint64_t drain(std::uint64_t from, std::uint32_t thread_index, std::uint64_t& missed,
                      Out&& out) const {
    const std::uint64_t h1 = head_.load(detail::kAcquire);
    std::uint64_t begin = from;
    if (h1 - begin > Capacity) begin = h1 - Capacity;
    // Copy first, validate after: the writer may lap us while we copy.
    RawSpan tmp[256];
    std::uint64_t emitted = 0;
    std::uint64_t i = begin;
    while (i < h1) {
      const std::uint64_t n = (h1 - i) < 256 ? (h1 - i) : 256;
      for (std::uint64_t k = 0; k < n; ++k) {
        const Slot& s = slots_[(i + k) & (Capacity - 1)];
        tmp[k] =
            RawSpan{s.site.load(detail::kRelaxed), thread_index, s.start.load(detail::kRelaxed),
                    s.duration.load(detail::kRelaxed), s.alloc.load(detail::kRelaxed)};
      }
      detail::atomic_fence(detail::kAcquire);
      const std::uint64_t h2 = head_.load(detail::kRelaxed);
      // Entry j is intact iff the writer has not started writing j + Capacity,
      // i.e. j > h2 - Capacity (the writer may be mid-way through index h2).
      const std::uint64_t first_valid = h2 >= Capacity ? h2 - Capacity + 1 : 0;
      for (std::uint64_t k = 0; k < n; ++k) {
        if (i + k >= first_valid) {
          out(tmp[k]);
          ++emitted;
        }
      }
      i += n;
    }
    missed += (h1 - from) - emitted;
    return h1;
  }

 private:
  struct Slot {
    detail::Atomic<std::uint32_t> site{0};
    detail::Atomic<std::uint64_t> start{0};
    detail::Atomic<std::uint64_t> duration{0};
    detail::Atomic<std::uint64_t> alloc{0};
  };
  alignas(64) detail::Atomic<std::uint64_t> head_{0};
  alignas(64) Slot slots_[Capacity];
};

}  // namespace comfyvn::perf
