// comfyvn_perf — the hot path's atomics, on the compiler builtins.
//
// <atomic> costs a hot translation unit thousands of preprocessed lines (and
// tens of thousands in C++20); the hot path needs only relaxed/acquire/release
// loads and stores on plain integers. This wrapper offers that subset with the
// std::atomic spelling, so code on either side reads the same. It accepts
// std::memory_order arguments too: their values are the builtins' constants.
#pragma once

namespace comfyvn::perf::detail {

inline constexpr int kRelaxed = __ATOMIC_RELAXED;
inline constexpr int kAcquire = __ATOMIC_ACQUIRE;
inline constexpr int kRelease = __ATOMIC_RELEASE;
inline constexpr int kAcqRel = __ATOMIC_ACQ_REL;
inline constexpr int kSeqCst = __ATOMIC_SEQ_CST;

// A trivially destructible atomic integer (or bool) with standard layout:
// zero-filled memory from calloc is a valid value, and a constant-initialised
// static needs no guard.
template <class T>
class Atomic {
 public:
  constexpr Atomic() noexcept : v_() {}
  constexpr Atomic(T v) noexcept : v_(v) {}  // NOLINT: reads like std::atomic
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  template <class Order = int>
  T load(Order order = Order(kSeqCst)) const noexcept {
    return __atomic_load_n(&v_, static_cast<int>(order));
  }
  template <class Order = int>
  void store(T v, Order order = Order(kSeqCst)) noexcept {
    __atomic_store_n(&v_, v, static_cast<int>(order));
  }
  template <class Order = int>
  T fetch_add(T d, Order order = Order(kSeqCst)) noexcept {
    return __atomic_fetch_add(&v_, d, static_cast<int>(order));
  }
  template <class Order = int>
  T exchange(T v, Order order = Order(kSeqCst)) noexcept {
    return __atomic_exchange_n(&v_, v, static_cast<int>(order));
  }
  template <class Order = int>
  bool compare_exchange_strong(T& expected, T desired, Order order = Order(kSeqCst)) noexcept {
    const int o = static_cast<int>(order);
    // A failed exchange may not release: demote the failure order.
    const int fail = o == kAcqRel ? kAcquire : (o == kRelease ? kRelaxed : o);
    return __atomic_compare_exchange_n(&v_, &expected, desired, false, o, fail);
  }

 private:
  T v_;
};

template <class Order>
inline void atomic_fence(Order order) noexcept {
  __atomic_thread_fence(static_cast<int>(order));
}

}  // namespace comfyvn::perf::detail
