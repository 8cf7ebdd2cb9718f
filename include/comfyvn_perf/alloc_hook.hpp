// comfyvn_perf — opt-in global operator new/delete counting.
//
// Include this header in EXACTLY ONE source file of the program. It replaces
// the global allocation functions with versions that forward to malloc/free
// and add the usable size of every block to the calling thread's counters,
// which is what a span's total_kb/max_kb/avg_kb measure.
#pragma once

#include <malloc.h>  // malloc_usable_size

#include <cstddef>  // size_t
#include <cstdlib>  // malloc, free, aligned_alloc
#include <new>      // bad_alloc, nothrow_t, align_val_t

#include "config.hpp"      // COMFYVN_PERF_NOINLINE
#include "core/alloc.hpp"  // note_alloc, note_free

namespace comfyvn::perf::detail {

// Not inlined, on purpose. g++ pairs each allocation call with its
// deallocation (-Wmismatched-new-delete): where it inlined one of the
// operators below and not the other, it saw free() release what a call to
// operator new returned, or operator delete release what malloc returned, and
// warned at -O3. Behind these calls an inlined operator shows neither malloc
// nor free. The operators themselves stay inlinable: out of line, a
// new-expression of this file could be elided with its delete (the standard
// allows it for calls to them) and its allocation would go uncounted.
COMFYVN_PERF_NOINLINE inline void* counted_alloc(std::size_t n) noexcept {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p) note_alloc(malloc_usable_size(p));
  return p;
}

COMFYVN_PERF_NOINLINE inline void* counted_aligned_alloc(std::size_t n,
                                                         std::size_t align) noexcept {
  if (align < sizeof(void*)) align = sizeof(void*);
  void* p = nullptr;
  if (posix_memalign(&p, align, n == 0 ? 1 : n) != 0) return nullptr;
  note_alloc(malloc_usable_size(p));
  return p;
}

COMFYVN_PERF_NOINLINE inline void counted_free(void* p) noexcept {
  if (!p) return;
  note_free(malloc_usable_size(p));
  std::free(p);
}

}  // namespace comfyvn::perf::detail

void* operator new(std::size_t n) {
  if (void* p = comfyvn::perf::detail::counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = comfyvn::perf::detail::counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return comfyvn::perf::detail::counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return comfyvn::perf::detail::counted_alloc(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = comfyvn::perf::detail::counted_aligned_alloc(n, static_cast<std::size_t>(a)))
    return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = comfyvn::perf::detail::counted_aligned_alloc(n, static_cast<std::size_t>(a)))
    return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return comfyvn::perf::detail::counted_aligned_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return comfyvn::perf::detail::counted_aligned_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete[](void* p) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  comfyvn::perf::detail::counted_free(p);
}
