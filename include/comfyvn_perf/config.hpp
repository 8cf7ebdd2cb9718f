// comfyvn_perf — compile-time configuration.
//
// Every knob has a documented default and can be overridden with -D on the
// command line or in a config header included before any comfyvn_perf header.
// docs/configuration.md lists them all.
#pragma once

// The SDK's version, kept equal to meson.build's project version (a test
// checks that they agree). comfyvn::perf::version() returns it at run time.
#define COMFYVN_PERF_VERSION "0.2.0"
#define COMFYVN_PERF_VERSION_MAJOR 0
#define COMFYVN_PERF_VERSION_MINOR 2
#define COMFYVN_PERF_VERSION_PATCH 0

// COMFYVN_PERF_IMPLEMENTATION: define it before the first comfyvn_perf include
// in exactly one file of a program (stb and doctest work the same way). That
// file compiles the SDK's definitions: the registry, the collector, the
// profiler, the budget manager, the flags, the hooks and, when it includes
// <comfyvn_perf/http.hpp>, the HTTP adapter. Every other file sees only
// declarations and compiles in a fraction of the time. A single-file program
// defines it in its one file. Still header-only: no library to build or link.
// Every file of a program must see the same values of the knobs below.

// 1 = instrumentation compiled in (default); 0 = every PERF_* macro is empty and
// does not evaluate its arguments.
#ifndef COMFYVN_PERF_ENABLED
#define COMFYVN_PERF_ENABLED 1
#endif

// Raw spans kept per thread for percentiles and span hooks (power of two).
// The ring overwrites its oldest entry and counts what it overwrote.
#ifndef COMFYVN_PERF_RING_CAPACITY
#define COMFYVN_PERF_RING_CAPACITY 4096
#endif

// Distinct instrumentation sites per process (static sites + interned names).
// Per-thread accumulators are reserved for this many sites; pages are only
// backed by memory when a thread touches them.
#ifndef COMFYVN_PERF_MAX_SITES
#define COMFYVN_PERF_MAX_SITES 16384
#endif

// Distinct runtime names PERF_SCOPE_DYN interns before folding into "(other)".
#ifndef COMFYVN_PERF_MAX_DYNAMIC_NAMES
#define COMFYVN_PERF_MAX_DYNAMIC_NAMES 4096
#endif

// Marks kept by the profiler (newest first out).
// Spans one trace capture keeps at most; more are counted as dropped.
#ifndef COMFYVN_PERF_TRACE_MAX_SPANS
#define COMFYVN_PERF_TRACE_MAX_SPANS 2000000
#endif

#ifndef COMFYVN_PERF_MAX_MARKS
#define COMFYVN_PERF_MAX_MARKS 256
#endif

// Bytes of text (name, category, serialised metadata) the kept marks may hold
// together; older marks go first. Bounds memory and the dashboard's size.
#ifndef COMFYVN_PERF_MAX_MARK_BYTES
#define COMFYVN_PERF_MAX_MARK_BYTES (1024 * 1024)
#endif

// Clock used by PERF_SCOPE: 0 = automatic (TSC on x86-64, CNTVCT on AArch64,
// steady_clock elsewhere), 1 = always std::chrono::steady_clock.
#ifndef COMFYVN_PERF_CLOCK_STEADY
#define COMFYVN_PERF_CLOCK_STEADY 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define COMFYVN_PERF_ALWAYS_INLINE inline __attribute__((always_inline))
#define COMFYVN_PERF_NOINLINE __attribute__((noinline))
#define COMFYVN_PERF_LIKELY(x) __builtin_expect(!!(x), 1)
#define COMFYVN_PERF_UNLIKELY(x) __builtin_expect(!!(x), 0)
// Singletons must resolve to one object per process even when a shared
// library is built with -fvisibility=hidden: keep their symbols exported.
#define COMFYVN_PERF_VISIBLE __attribute__((visibility("default")))
#else
#define COMFYVN_PERF_ALWAYS_INLINE inline
#define COMFYVN_PERF_NOINLINE
#define COMFYVN_PERF_LIKELY(x) (x)
#define COMFYVN_PERF_UNLIKELY(x) (x)
#define COMFYVN_PERF_VISIBLE
#endif

static_assert((COMFYVN_PERF_RING_CAPACITY & (COMFYVN_PERF_RING_CAPACITY - 1)) == 0,
              "COMFYVN_PERF_RING_CAPACITY must be a power of two");
static_assert(COMFYVN_PERF_MAX_DYNAMIC_NAMES < COMFYVN_PERF_MAX_SITES,
              "COMFYVN_PERF_MAX_DYNAMIC_NAMES must leave room for static sites");

#ifdef __cplusplus
namespace comfyvn::perf {
// The version this code was compiled against, e.g. "0.2.0".
constexpr const char* version() noexcept { return COMFYVN_PERF_VERSION; }
}  // namespace comfyvn::perf
#endif
