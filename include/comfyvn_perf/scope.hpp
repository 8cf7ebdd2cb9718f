// comfyvn_perf — the PERF_* macros: the one header an instrumented file needs.
//
// Kept light on purpose (about as heavy as <string_view>; see
// docs/architecture.md): the classes behind the macros live in core/, the
// registry, collector and everything that reads the data live in the full
// headers (<comfyvn_perf/perf.hpp>), which install the cold path. With
// COMFYVN_PERF_ENABLED=0 this header defines empty macros and includes
// nothing from the standard library.
#pragma once

#include "config.hpp"

#if COMFYVN_PERF_ENABLED

#include "core/scope.hpp"

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
// A sample of a numeric series: a string literal and a number.
#define COMFYVN_PERF_COUNTER_IMPL(name, value, n)                                            \
  do {                                                                                       \
    static ::comfyvn::perf::Site COMFYVN_PERF_CAT(comfyvn_perf_counter_, n){                 \
        name, "(counter)", __FILE__, __func__, static_cast<std::uint32_t>(__LINE__)};        \
    ::comfyvn::perf::detail::counter(COMFYVN_PERF_CAT(comfyvn_perf_counter_, n),             \
                                     static_cast<double>(value));                            \
  } while (0)
#define PERF_COUNTER(name, value) COMFYVN_PERF_COUNTER_IMPL(name, value, __COUNTER__)
// The same with a runtime name (std::string_view), interned once per thread.
#define COMFYVN_PERF_COUNTER_DYN_IMPL(name, value, n)                                        \
  do {                                                                                       \
    static thread_local ::comfyvn::perf::detail::DynSiteCache COMFYVN_PERF_CAT(              \
        comfyvn_perf_dyn_counter_, n);                                                       \
    ::comfyvn::perf::detail::counter_dynamic(COMFYVN_PERF_CAT(comfyvn_perf_dyn_counter_, n), \
                                             name, static_cast<double>(value));              \
  } while (0)
#define PERF_COUNTER_DYN(name, value) COMFYVN_PERF_COUNTER_DYN_IMPL(name, value, __COUNTER__)
// An instant mark.
#define PERF_MARK(name, category) ::comfyvn::perf::detail::quick_mark(name, category)
// End of a frame; the dashboard gains frame-time stats.
#define PERF_FRAME() ::comfyvn::perf::detail::frame_boundary()
// True where instrumentation is compiled in.
#define PERF_IS_COMPILED_IN 1

#else  // COMFYVN_PERF_ENABLED == 0: every macro is empty and evaluates nothing.

// The arguments are still named, inside sizeof (an unevaluated operand), so
// that a variable used only in these macros is not "unused" under -Werror.
#define COMFYVN_PERF_UNUSED2(a, b) (static_cast<void>(sizeof(a)), static_cast<void>(sizeof(b)))
#define PERF_SCOPE(name, category) COMFYVN_PERF_UNUSED2(name, category)
#define PERF_SCOPE_DYN(name, category) COMFYVN_PERF_UNUSED2(name, category)
#define PERF_MARK(name, category) COMFYVN_PERF_UNUSED2(name, category)
#define PERF_COUNTER(name, value) COMFYVN_PERF_UNUSED2(name, value)
#define PERF_COUNTER_DYN(name, value) COMFYVN_PERF_UNUSED2(name, value)
#define PERF_FRAME() static_cast<void>(0)
#define PERF_IS_COMPILED_IN 0

#endif
