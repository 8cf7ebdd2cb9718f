// comfyvn_perf — RAII scopes: the class layer under the PERF_* macros.
//
// Standard library only, and little of it: the macros in <comfyvn_perf/scope.hpp>
// expand to these classes in every instrumented file.
#pragma once

#include <cstdint>      // uint64_t
#include <string_view>  // dynamic names

#include "../config.hpp"
#include "alloc.hpp"
#include "clock.hpp"
#include "site.hpp"
#include "thread_buffer.hpp"

namespace comfyvn::perf {

namespace detail {

// One PERF_SCOPE_DYN site's memo of the last (name, category) it resolved on
// this thread. Trivially constructible so the thread_local needs no guard.
struct DynSiteCache {
  static constexpr std::size_t kCapacity = 62;
  std::uint32_t id = 0;
  std::uint8_t name_len = 0;
  std::uint8_t category_len = 0;
  char text[kCapacity];

  COMFYVN_PERF_ALWAYS_INLINE std::uint32_t find(std::string_view name,
                                                std::string_view category) const noexcept {
    if (id == 0 || name.size() != name_len || category.size() != category_len) return 0;
    if (__builtin_memcmp(text, name.data(), name_len) != 0) return 0;
    if (__builtin_memcmp(text + name_len, category.data(), category_len) != 0) return 0;
    return id;
  }

  void store(std::string_view name, std::string_view category, std::uint32_t new_id) noexcept {
    if (name.size() + category.size() > kCapacity) {
      id = 0;
      return;
    }
    __builtin_memcpy(text, name.data(), name.size());
    __builtin_memcpy(text + name.size(), category.data(), category.size());
    name_len = static_cast<std::uint8_t>(name.size());
    category_len = static_cast<std::uint8_t>(category.size());
    id = new_id;
  }
};

}  // namespace detail

// Recording policy: spans go to the calling thread's lock-free buffer.
struct ThreadSink {
  COMFYVN_PERF_ALWAYS_INLINE static detail::ThreadBuffer* acquire() noexcept {
    return detail::this_thread_buffer();
  }
  COMFYVN_PERF_ALWAYS_INLINE static void commit(detail::ThreadBuffer* tb, std::uint32_t id,
                                                std::uint64_t start, std::uint64_t end,
                                                std::uint64_t mem) noexcept {
    tb->record(id, start, end, mem);
  }
};

// An RAII span: a template over the clock and the recording policy so that
// benchmarks and special builds can swap either without a zoo of classes.
// While the profiler is off, construction is one relaxed load and a branch.
template <class Clock, class Sink>
class BasicScope {
 public:
  COMFYVN_PERF_ALWAYS_INLINE explicit BasicScope(const Site& site) noexcept {
    if (!detail::g_enabled.load(detail::kRelaxed)) return;
    begin_static(site);
  }

  COMFYVN_PERF_ALWAYS_INLINE BasicScope(std::string_view name, std::string_view category) noexcept {
    if (!detail::g_enabled.load(detail::kRelaxed)) return;
    begin_dynamic(nullptr, name, category);
  }

  // PERF_SCOPE_DYN form: `cache` is a per-site, per-thread memo of the last
  // name seen there, so a site that keeps seeing the same name skips hashing.
  COMFYVN_PERF_ALWAYS_INLINE BasicScope(detail::DynSiteCache& cache, std::string_view name,
                                        std::string_view category) noexcept {
    if (!detail::g_enabled.load(detail::kRelaxed)) return;
    begin_dynamic(&cache, name, category);
  }

  COMFYVN_PERF_ALWAYS_INLINE ~BasicScope() {
    if (tb_ == nullptr) return;
    const std::uint64_t end = Clock::now();
    Sink::commit(tb_, id_, start_, end, detail::t_alloc.allocated_bytes - alloc0_);
  }

  BasicScope(const BasicScope&) = delete;
  BasicScope& operator=(const BasicScope&) = delete;
  BasicScope(BasicScope&&) = delete;
  BasicScope& operator=(BasicScope&&) = delete;

  // True when this scope is recording.
  bool active() const noexcept { return tb_ != nullptr; }

 private:
  COMFYVN_PERF_ALWAYS_INLINE void begin_static(const Site& site) noexcept {
    detail::ThreadBuffer* tb = Sink::acquire();
    if (COMFYVN_PERF_UNLIKELY(tb == nullptr)) {
      detail::g_late_dropped.fetch_add(1, detail::kRelaxed);
      return;
    }
    id_ = detail::site_id(site);
    alloc0_ = detail::t_alloc.allocated_bytes;
    tb_ = tb;
    start_ = Clock::now();
  }

  void begin_dynamic(detail::DynSiteCache* cache, std::string_view name,
                     std::string_view category) noexcept {
    detail::ThreadBuffer* tb = Sink::acquire();
    if (COMFYVN_PERF_UNLIKELY(tb == nullptr)) {
      detail::g_late_dropped.fetch_add(1, detail::kRelaxed);
      return;
    }
    std::uint32_t id = cache ? cache->find(name, category) : 0;
    if (id == 0) {
      id = detail::dynamic_site_id(tb, name, category);
      if (cache) cache->store(name, category, id);
    }
    id_ = id;
    alloc0_ = detail::t_alloc.allocated_bytes;
    tb_ = tb;
    start_ = Clock::now();
  }

  detail::ThreadBuffer* tb_ = nullptr;
  std::uint32_t id_ = 0;
  std::uint64_t start_ = 0;
  std::uint64_t alloc0_ = 0;
};

using Scope = BasicScope<DefaultClock, ThreadSink>;

namespace detail {

// PERF_FRAME: the interval since this thread's previous frame boundary is
// recorded as a span of the built-in "(frame)" site.
COMFYVN_PERF_ALWAYS_INLINE void frame_boundary() noexcept {
  if (!g_enabled.load(kRelaxed)) return;
  ThreadBuffer* tb = this_thread_buffer();
  if (tb == nullptr) return;
  const std::uint64_t now = DefaultClock::now();
  if (tb->last_frame != 0) tb->record(kFrameSiteId, tb->last_frame, now, 0);
  tb->last_frame = now;
}

// PERF_COUNTER: one ring entry holding the site, the time and the value's
// bits (in the allocation field); no accumulators, so it costs less than a
// scope. The collector turns the samples into each series' statistics.
COMFYVN_PERF_ALWAYS_INLINE void counter_sample(ThreadBuffer* tb, std::uint32_t id,
                                               double value) noexcept {
  std::uint64_t bits;
  __builtin_memcpy(&bits, &value, sizeof bits);
  tb->ring.push(id, DefaultClock::now(), 0, bits);
}

COMFYVN_PERF_ALWAYS_INLINE void counter(const Site& site, double value) noexcept {
  if (!g_enabled.load(kRelaxed)) return;
  ThreadBuffer* tb = this_thread_buffer();
  if (COMFYVN_PERF_UNLIKELY(tb == nullptr)) return;
  counter_sample(tb, site_id(site), value);
}

// The runtime-name form (PERF_COUNTER_DYN), interned like PERF_SCOPE_DYN.
inline void counter_dynamic(DynSiteCache& cache, std::string_view name, double value) noexcept {
  if (!g_enabled.load(kRelaxed)) return;
  ThreadBuffer* tb = this_thread_buffer();
  if (COMFYVN_PERF_UNLIKELY(tb == nullptr)) return;
  constexpr std::string_view kCategory = "(counter)";
  std::uint32_t id = cache.find(name, kCategory);
  if (id == 0) {
    id = dynamic_site_id(tb, name, kCategory);
    cache.store(name, kCategory, id);
  }
  counter_sample(tb, id, value);
}

// PERF_MARK without metadata. Marks are rare; the cold path takes a lock.
inline void quick_mark(std::string_view name, std::string_view category) noexcept {
  if (!g_enabled.load(kRelaxed)) return;
  const ColdPath* cold = g_cold.load(kAcquire);
  if (cold != nullptr) cold->mark(name, category, DefaultClock::now());
}

}  // namespace detail

}  // namespace comfyvn::perf
