// comfyvn_perf — the one background-thread helper: a periodic worker.
//
// The profiler's collector, the budget sampler and the hook dispatcher are all
// "run this function every so often, or now when woken, until stopped". This
// class owns that thread and its stop/wake/fork rules, so each part only says
// what one tick does.
#pragma once

#include <atomic>              // running flag, worker thread id
#include <chrono>              // intervals
#include <condition_variable>  // wake-ups
#include <functional>          // the tick
#include <mutex>               // thread state
#include <thread>              // the worker: std::thread::id, this_thread

namespace comfyvn::perf::os {

class PeriodicWorker {
 public:
  using Tick = std::function<void()>;
  using Interval = std::function<std::chrono::nanoseconds()>;

  PeriodicWorker() = default;
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;
  ~PeriodicWorker();

  // Starts the thread unless it runs already; `tick` runs at once, then every
  // `interval()` (read again after each tick and on wake(), so it may change)
  // and whenever wake() is called. Returns false when it was already running
  // or the thread could not be created. `name` (at most 15 bytes) names the
  // thread for top, debuggers and traces.
  bool start(Tick tick, Interval interval, bool tick_at_start = true, const char* name = nullptr);

  // Ends the thread and waits for it, unless called from the worker itself:
  // then the loop ends after the current tick and a later start() or stop()
  // reaps the thread.
  void stop();

  // Runs a tick as soon as the current one (if any) returns.
  void wake();

  // Re-reads the interval now (after a configuration change).
  void reschedule();

  bool running() const noexcept { return running_.load(std::memory_order_acquire); }

  bool on_worker_thread() const noexcept {
    return worker_id_.load(std::memory_order_acquire) == std::this_thread::get_id();
  }

  // pthread_atfork: hold the state lock across fork() so the child never
  // inherits it held.
  void fork_prepare();
  void fork_parent();
  // In the child the thread does not exist: forget it (the object leaks, it
  // can be neither joined nor destroyed) and start stopped.
  void fork_child();

 private:
  static void reap(std::thread* t);

  void loop();

  // An absurd interval must not overflow the deadline arithmetic.
  static std::chrono::nanoseconds clamp(std::chrono::nanoseconds d);

  std::mutex life_mu_;  // serialises start/stop from several threads
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread* thread_ = nullptr;
  bool stop_ = true;
  bool woken_ = false;
  Tick tick_;
  Interval interval_;
  std::atomic<bool> running_{false};
  std::atomic<std::thread::id> worker_id_{};
};

}  // namespace comfyvn::perf::os

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <pthread.h>  // pthread_setname_np

#include <new>      // placement new: a fresh condition variable after fork
#include <utility>  // move

namespace comfyvn::perf::os {

PeriodicWorker::~PeriodicWorker() {
  stop();
}

bool PeriodicWorker::start(Tick tick, Interval interval, bool tick_at_start, const char* name) {
  std::lock_guard<std::mutex> life(life_mu_);
  std::thread* finished = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (thread_ != nullptr && !stop_) return false;
    finished = thread_;  // stopped from its own thread earlier: reap it now
    thread_ = nullptr;
  }
  reap(finished);
  std::lock_guard<std::mutex> lk(mu_);
  stop_ = false;
  woken_ = tick_at_start;
  tick_ = std::move(tick);
  interval_ = std::move(interval);
  try {
    thread_ = new std::thread([this, name] {
      if (name != nullptr) pthread_setname_np(pthread_self(), name);
      loop();
    });
  } catch (...) {
    thread_ = nullptr;
    return false;
  }
  running_.store(true, std::memory_order_release);
  return true;
}

void PeriodicWorker::stop() {
  if (on_worker_thread()) {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    running_.store(false, std::memory_order_release);
    cv_.notify_all();
    return;
  }
  std::lock_guard<std::mutex> life(life_mu_);
  std::thread* t = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
    running_.store(false, std::memory_order_release);
    t = thread_;
    thread_ = nullptr;
  }
  cv_.notify_all();
  reap(t);
}

void PeriodicWorker::wake() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void PeriodicWorker::reschedule() {
  cv_.notify_all();
}

void PeriodicWorker::fork_prepare() {
  mu_.lock();
}

void PeriodicWorker::fork_parent() {
  mu_.unlock();
}

void PeriodicWorker::fork_child() {
  // The parent's worker may have been waiting on the condition variable;
  // in the child that waiter does not exist, and a copied condition
  // variable still counting it would make the next notify wait forever.
  // A fresh one replaces it (not destroyed: destroying waits for waiters).
  new (&cv_) std::condition_variable();
  // The start/stop lock is not taken around fork (stop() holds it while it
  // joins). A thread of the parent inside start() or stop() at the fork
  // leaves it locked in the child, where that thread does not exist and the
  // next start() would wait forever; the forking thread itself is never in
  // either. A fresh one replaces it.
  new (&life_mu_) std::mutex();
  thread_ = nullptr;
  stop_ = true;
  woken_ = false;
  running_.store(false, std::memory_order_relaxed);
  worker_id_.store(std::thread::id(), std::memory_order_relaxed);
  mu_.unlock();
}

void PeriodicWorker::reap(std::thread* t) {
  if (t == nullptr) return;
  if (t->get_id() == std::this_thread::get_id()) {
    t->detach();
  } else if (t->joinable()) {
    t->join();
  }
  delete t;
}

void PeriodicWorker::loop() {
  worker_id_.store(std::this_thread::get_id(), std::memory_order_release);
  std::unique_lock<std::mutex> lk(mu_);
  auto last = std::chrono::steady_clock::now();
  while (!stop_) {
    const auto deadline = last + clamp(interval_ ? interval_() : std::chrono::seconds(1));
    if (woken_ || std::chrono::steady_clock::now() >= deadline) {
      woken_ = false;
      Tick tick = tick_;
      lk.unlock();
      try {
        if (tick) tick();
      } catch (...) {
      }
      last = std::chrono::steady_clock::now();
      lk.lock();
      continue;
    }
    cv_.wait_until(lk, deadline);
  }
  worker_id_.store(std::thread::id(), std::memory_order_release);
}

std::chrono::nanoseconds PeriodicWorker::clamp(std::chrono::nanoseconds d) {
  constexpr std::chrono::nanoseconds lo = std::chrono::microseconds(100);
  constexpr std::chrono::nanoseconds hi = std::chrono::hours(24);
  return d < lo ? lo : (d > hi ? hi : d);
}

}  // namespace comfyvn::perf::os
#endif
