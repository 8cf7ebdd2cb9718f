// comfyvn_perf — RAII scopes and the PERF_* macros.
//
// This is the header behind PERF_SCOPE. It includes only the standard library
// (through detail/registry.hpp); Boost and fmt stay out of the hot path.
#pragma once

#include <cstdint>      // uint64_t
#include <string_view>  // dynamic names

#include "alloc.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "detail/registry.hpp"
#include "site.hpp"

namespace comfyvn::perf {

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
    if (!detail::g_enabled.load(std::memory_order_relaxed)) return;
    begin_static(site);
  }

  COMFYVN_PERF_ALWAYS_INLINE BasicScope(std::string_view name, std::string_view category) noexcept {
    if (!detail::g_enabled.load(std::memory_order_relaxed)) return;
    begin_dynamic(nullptr, name, category);
  }

  // PERF_SCOPE_DYN form: `cache` is a per-site, per-thread memo of the last
  // name seen there, so a site that keeps seeing the same name skips hashing.
  COMFYVN_PERF_ALWAYS_INLINE BasicScope(detail::DynSiteCache& cache, std::string_view name,
                                        std::string_view category) noexcept {
    if (!detail::g_enabled.load(std::memory_order_relaxed)) return;
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
      detail::registry().count_late_drop();
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
      detail::registry().count_late_drop();
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
  if (!g_enabled.load(std::memory_order_relaxed)) return;
  ThreadBuffer* tb = this_thread_buffer();
  if (tb == nullptr) return;
  const std::uint64_t now = DefaultClock::now();
  if (tb->last_frame != 0) tb->record(kFrameSiteId, tb->last_frame, now, 0);
  tb->last_frame = now;
}

// PERF_MARK without metadata. Marks are rare; they take the registry lock.
inline void quick_mark(std::string_view name, std::string_view category) noexcept {
  if (!g_enabled.load(std::memory_order_relaxed)) return;
  try {
    registry().add_mark(
        MarkRecord{std::string(name), std::string(category), "", DefaultClock::now()});
  } catch (...) {
  }
}

}  // namespace detail

}  // namespace comfyvn::perf

// ---------------------------------------------------------------------------
// Macros. With COMFYVN_PERF_ENABLED=0 the classes above stay available (the
// profiler API still works) but every macro is empty.
// ---------------------------------------------------------------------------
#if COMFYVN_PERF_ENABLED

#define COMFYVN_PERF_CAT2(a, b) a##b
#define COMFYVN_PERF_CAT(a, b) COMFYVN_PERF_CAT2(a, b)

#define COMFYVN_PERF_SCOPE_IMPL(name, category, n)                               \
  static ::comfyvn::perf::Site COMFYVN_PERF_CAT(comfyvn_perf_site_, n){          \
      name, category, __FILE__, __func__, static_cast<std::uint32_t>(__LINE__)}; \
  ::comfyvn::perf::Scope COMFYVN_PERF_CAT(comfyvn_perf_scope_, n) {              \
    COMFYVN_PERF_CAT(comfyvn_perf_site_, n)                                      \
  }

// A span for the enclosing block; name and category are string literals.
#define PERF_SCOPE(name, category) COMFYVN_PERF_SCOPE_IMPL(name, category, __COUNTER__)
// The same with runtime strings (std::string_view), interned once per thread.
#define COMFYVN_PERF_SCOPE_DYN_IMPL(name, category, n)                                          \
  static thread_local ::comfyvn::perf::detail::DynSiteCache COMFYVN_PERF_CAT(comfyvn_perf_dyn_, \
                                                                             n);                \
  ::comfyvn::perf::Scope COMFYVN_PERF_CAT(comfyvn_perf_scope_, n)(                              \
      COMFYVN_PERF_CAT(comfyvn_perf_dyn_, n), name, category)
#define PERF_SCOPE_DYN(name, category) COMFYVN_PERF_SCOPE_DYN_IMPL(name, category, __COUNTER__)
// An instant mark.
#define PERF_MARK(name, category) ::comfyvn::perf::detail::quick_mark(name, category)
// End of a frame; the dashboard gains frame-time stats.
#define PERF_FRAME() ::comfyvn::perf::detail::frame_boundary()
// True where instrumentation is compiled in.
#define PERF_IS_COMPILED_IN 1

#else  // COMFYVN_PERF_ENABLED == 0: every macro is empty and evaluates nothing.

#define PERF_SCOPE(name, category) static_cast<void>(0)
#define PERF_SCOPE_DYN(name, category) static_cast<void>(0)
#define PERF_MARK(name, category) static_cast<void>(0)
#define PERF_FRAME() static_cast<void>(0)
#define PERF_IS_COMPILED_IN 0

#endif
