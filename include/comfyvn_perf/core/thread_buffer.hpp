// comfyvn_perf — what a recording thread writes, and the switch it reads.
//
// This is the hot half of the registry: the per-thread buffer, the global
// switches, and the few entry points into the cold half (thread registration,
// site interning, marks). The cold half (<comfyvn_perf/profiler/registry.hpp>)
// installs those entry points through one function table, from the program's
// implementation file (config.hpp, COMFYVN_PERF_IMPLEMENTATION), so a file
// that only records spans never compiles the collector, the interning tables
// or the calibration.
#pragma once

#include <cstdint>      // uint32_t, uint64_t
#include <string_view>  // dynamic names

#include "../config.hpp"
#include "atomic.hpp"
#include "ring.hpp"
#include "site.hpp"

namespace comfyvn::perf::detail {

// ---------------------------------------------------------------------------
// Switches read on the hot path. Inline variables with default visibility so
// that every shared library of the process resolves to the same objects.
// ---------------------------------------------------------------------------
COMFYVN_PERF_VISIBLE inline Atomic<bool> g_enabled{false};
// Bumped by reset(); a per-thread slot from an older generation counts as zero.
COMFYVN_PERF_VISIBLE inline Atomic<std::uint32_t> g_generation{1};
// Spans that found no buffer (a thread past its exit, or before the cold
// path exists); reported with the profiler's `dropped`.
COMFYVN_PERF_VISIBLE inline Atomic<std::uint64_t> g_late_dropped{0};

// Exact per-site totals for one thread. Written only by the owner thread
// (relaxed load + store, no read-modify-write), read by the collector.
struct alignas(64) SiteAccum {
  Atomic<std::uint32_t> gen;
  Atomic<std::uint64_t> count;
  Atomic<std::uint64_t> total;
  Atomic<std::uint64_t> min;
  Atomic<std::uint64_t> max;
  Atomic<std::uint64_t> mem_total;
  Atomic<std::uint64_t> mem_max;
  Atomic<std::uint64_t> last_end;
};

using Ring = SpanRing<COMFYVN_PERF_RING_CAPACITY>;

// The recording side of a thread's buffer. The registry allocates a larger
// object (profiler/registry.hpp: ThreadState) whose extra fields only the
// cold path touches.
struct ThreadBuffer {
  Ring ring;
  // COMFYVN_PERF_MAX_SITES slots from calloc: address space is reserved, the
  // kernel backs a page only when this thread first touches a site in it.
  SiteAccum* accum = nullptr;
  std::uint32_t thread_index = 0;
  std::uint64_t last_frame = 0;  // owner only

  COMFYVN_PERF_NOINLINE void reset_slot(SiteAccum& a, std::uint32_t g) noexcept {
    a.count.store(0, kRelaxed);
    a.total.store(0, kRelaxed);
    a.min.store(~std::uint64_t{0}, kRelaxed);
    a.max.store(0, kRelaxed);
    a.mem_total.store(0, kRelaxed);
    a.mem_max.store(0, kRelaxed);
    a.last_end.store(0, kRelaxed);
    a.gen.store(g, kRelease);
  }

  // The whole per-span cost after the clock reads: owner-only stores, no
  // locks, no allocation, no system call.
  COMFYVN_PERF_ALWAYS_INLINE void record(std::uint32_t id, std::uint64_t start, std::uint64_t end,
                                         std::uint64_t mem) noexcept {
    SiteAccum& a = accum[id];
    const std::uint32_t g = g_generation.load(kRelaxed);
    if (COMFYVN_PERF_UNLIKELY(a.gen.load(kRelaxed) != g)) reset_slot(a, g);
    const std::uint64_t d = end - start;
    a.total.store(a.total.load(kRelaxed) + d, kRelaxed);
    if (d < a.min.load(kRelaxed)) a.min.store(d, kRelaxed);
    if (d > a.max.load(kRelaxed)) a.max.store(d, kRelaxed);
    a.mem_total.store(a.mem_total.load(kRelaxed) + mem, kRelaxed);
    if (mem > a.mem_max.load(kRelaxed)) a.mem_max.store(mem, kRelaxed);
    a.last_end.store(end, kRelaxed);
    a.count.store(a.count.load(kRelaxed) + 1, kRelease);
    ring.push(id, start, d, mem);
  }
};

COMFYVN_PERF_VISIBLE inline thread_local ThreadBuffer* t_buffer = nullptr;
// Set once this thread's buffer was handed back; later spans are counted as
// dropped instead of registering a buffer that nobody would reclaim.
COMFYVN_PERF_VISIBLE inline thread_local bool t_retired = false;

// ---------------------------------------------------------------------------
// The cold path, behind one table of function pointers. Every entry is
// noexcept and never called per span once a thread and its sites are known.
// ---------------------------------------------------------------------------
struct ColdPath {
  // A buffer for the calling thread (registered for reclaim at thread exit),
  // or nullptr when none can be had.
  ThreadBuffer* (*register_thread)() noexcept;
  // Interns a static site and stores its id in `site.id`.
  std::uint32_t (*register_site)(const Site& site) noexcept;
  // Id of a runtime (name, category) on this thread.
  std::uint32_t (*dynamic_site)(ThreadBuffer* tb, std::string_view name,
                                std::string_view category) noexcept;
  // PERF_MARK without metadata, at `ticks`.
  void (*mark)(std::string_view name, std::string_view category, std::uint64_t ticks) noexcept;
};

// Installed once per process by the first module whose implementation file
// initialises; never replaced afterwards.
COMFYVN_PERF_VISIBLE inline Atomic<const ColdPath*> g_cold{nullptr};

COMFYVN_PERF_NOINLINE inline ThreadBuffer* register_this_thread() noexcept {
  if (t_retired) return nullptr;
  const ColdPath* cold = g_cold.load(kAcquire);
  return cold != nullptr ? cold->register_thread() : nullptr;
}

COMFYVN_PERF_ALWAYS_INLINE ThreadBuffer* this_thread_buffer() noexcept {
  ThreadBuffer* tb = t_buffer;
  if (COMFYVN_PERF_LIKELY(tb != nullptr)) return tb;
  return register_this_thread();
}

COMFYVN_PERF_NOINLINE inline std::uint32_t register_site(const Site& site) noexcept {
  const ColdPath* cold = g_cold.load(kAcquire);
  return cold != nullptr ? cold->register_site(site) : kOtherSiteId;
}

COMFYVN_PERF_ALWAYS_INLINE std::uint32_t site_id(const Site& site) noexcept {
  const std::uint32_t id = site.id.load(kAcquire);
  if (COMFYVN_PERF_LIKELY(id != 0)) return id;
  return register_site(site);
}

COMFYVN_PERF_NOINLINE inline std::uint32_t dynamic_site_id(ThreadBuffer* tb, std::string_view name,
                                                           std::string_view category) noexcept {
  const ColdPath* cold = g_cold.load(kAcquire);
  return cold != nullptr ? cold->dynamic_site(tb, name, category) : kOtherSiteId;
}

}  // namespace comfyvn::perf::detail
