// comfyvn_perf — telling others that the feature flags' switches changed:
// the subsystem driver the runtime installs (runtime/wiring.hpp) and the
// listeners of FeatureFlags::on_change.
//
// Rounds of notification are serialised, so the latest values win even when
// two threads change the flags at once. A listener that changes the flags (or
// reads one and so notices a file edit) does not re-enter: its change is
// delivered by another round of the same loop.
#pragma once

#include <atomic>              // the notifying thread, the driving switch
#include <condition_variable>  // remove() waits for a running listener
#include <cstdint>             // uint64_t: listener ids
#include <functional>          // listeners, the log, the current values
#include <memory>              // shared_ptr: a listener outlives its removal while it runs
#include <mutex>               // rounds, the listener list
#include <string>              // log messages
#include <thread>              // thread::id of the notifying thread
#include <utility>             // move
#include <vector>              // listeners

#include "../config.hpp"  // COMFYVN_PERF_VISIBLE
#include "values.hpp"     // FlagChange

namespace comfyvn::perf {

// Called with the flags' state whenever a derived switch (budgets_enabled,
// profiler_enabled) differs from what this listener last received.
using FlagListener = std::function<void(const FlagChange&)>;

namespace detail::flags {

// Switches the subsystems for a FeatureFlags that drives them; called once
// per switch that changed, profiler first. Installed by the runtime layer;
// one per process, so a FeatureFlags in any library finds it.
using SubsystemDriver = void (*)(const FlagChange&);

COMFYVN_PERF_VISIBLE std::atomic<SubsystemDriver>& subsystem_driver() noexcept;

class FlagNotifier {
 public:
  // Where failures go (a driver or a listener that threw).
  using Log = std::function<void(const std::string&)>;
  // The values and switches to deliver, read when a round starts.
  using Current = std::function<FlagChange()>;

  explicit FlagNotifier(Log log) : log_(std::move(log)) {}
  FlagNotifier(const FlagNotifier&) = delete;
  FlagNotifier& operator=(const FlagNotifier&) = delete;

  // A listener that has received nothing yet (both switches count as off).
  // Returns its id (never 0).
  std::uint64_t add(FlagListener listener);

  // Waits for a running call of this listener to return, unless called from
  // inside a listener.
  void remove(std::uint64_t id);

  // While on, every round first calls the subsystem driver for each switch
  // that differs from what the driver last set.
  void set_driving(bool on) noexcept { drive_.store(on, std::memory_order_release); }
  bool driving() const noexcept { return drive_.load(std::memory_order_acquire); }

  // Delivers `current()` to the driver, then to every listener whose switches
  // differ from what it last received, one at a time in subscription order,
  // and repeats while a change arrived meanwhile. From the thread delivering
  // a round (a listener calling back in) it only asks for one more round.
  void deliver(const Current& current);

 private:
  struct Listener {
    std::uint64_t id;
    std::shared_ptr<FlagListener> fn;
    bool budgets;  // what it last received
    bool profiler;
  };

  bool on_notifying_thread() const noexcept;

  // One driver call per switch that changed, profiler first; a switch that
  // fails is not retried until its flag changes again, and one that fails
  // leaves the next switch for the next round.
  void drive(const FlagChange& now);

  // Called with round_mu_ held; takes mu_ only to pick each next listener,
  // so listeners may subscribe, unsubscribe and read the flags.
  void notify_listeners(const FlagChange& now);

  Log log_;
  std::mutex round_mu_;  // one round at a time; taken before the flags' lock
  std::atomic<std::thread::id> notifying_{};
  bool again_ = false;  // a change arrived during a round (notifying thread only)
  std::atomic<bool> drive_{false};
  bool applied_profiler_ = false;  // what the driver last switched (under round_mu_)
  bool applied_budgets_ = false;

  std::mutex mu_;  // the listeners
  std::condition_variable listener_cv_;
  std::vector<Listener> listeners_;  // in id order
  std::uint64_t next_id_ = 0;
  std::uint64_t running_ = 0;  // the listener being called, 0 for none
};

}  // namespace detail::flags

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // find_if
#include <exception>  // driver and listener failures

namespace comfyvn::perf::detail::flags {

std::atomic<SubsystemDriver>& subsystem_driver() noexcept {
  static std::atomic<SubsystemDriver> driver{nullptr};
  return driver;
}

std::uint64_t FlagNotifier::add(FlagListener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t id = ++next_id_;
  listeners_.push_back(
      Listener{id, std::make_shared<FlagListener>(std::move(listener)), false, false});
  return id;
}

void FlagNotifier::remove(std::uint64_t id) {
  std::shared_ptr<FlagListener> doomed;  // destroyed outside the lock
  std::unique_lock<std::mutex> lock(mu_);
  const auto it = std::find_if(listeners_.begin(), listeners_.end(),
                               [id](const Listener& l) { return l.id == id; });
  if (it != listeners_.end()) {
    doomed = std::move(it->fn);
    listeners_.erase(it);
  }
  if (running_ == id && !on_notifying_thread()) {
    listener_cv_.wait(lock, [&] { return running_ != id; });
  }
}

void FlagNotifier::deliver(const Current& current) {
  if (on_notifying_thread()) {
    again_ = true;
    return;
  }
  std::lock_guard<std::mutex> lock(round_mu_);
  notifying_.store(std::this_thread::get_id(), std::memory_order_release);
  // Clears the notifying thread however the round ends.
  struct Clear {
    std::atomic<std::thread::id>& id;
    ~Clear() { id.store(std::thread::id(), std::memory_order_release); }
  } clear{notifying_};
  do {
    again_ = false;
    const FlagChange now = current();
    drive(now);
    notify_listeners(now);
  } while (again_);
}

bool FlagNotifier::on_notifying_thread() const noexcept {
  return notifying_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void FlagNotifier::drive(const FlagChange& now) {
  if (!driving()) return;
  const SubsystemDriver driver = subsystem_driver().load(std::memory_order_acquire);
  if (driver == nullptr) return;
  try {
    if (now.profiler_enabled != applied_profiler_) {
      applied_profiler_ = now.profiler_enabled;
      FlagChange c = now;
      c.profiler_changed = true;
      driver(c);
    }
    if (now.budgets_enabled != applied_budgets_) {
      applied_budgets_ = now.budgets_enabled;
      FlagChange c = now;
      c.budgets_changed = true;
      driver(c);
    }
  } catch (const std::exception& e) {
    log_(std::string("cannot switch a subsystem: ") + e.what());
  }
}

void FlagNotifier::notify_listeners(const FlagChange& now) {
  std::uint64_t last = 0;
  while (true) {
    FlagChange c = now;
    std::shared_ptr<FlagListener> fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Listeners are kept in id order, so this finds the next one.
      const auto it = std::find_if(listeners_.begin(), listeners_.end(),
                                   [&](const Listener& l) { return l.id > last; });
      if (it == listeners_.end()) return;
      last = it->id;
      c.budgets_changed = it->budgets != now.budgets_enabled;
      c.profiler_changed = it->profiler != now.profiler_enabled;
      if (!c.budgets_changed && !c.profiler_changed) continue;
      it->budgets = now.budgets_enabled;
      it->profiler = now.profiler_enabled;
      fn = it->fn;
      running_ = last;
    }
    std::string failure;
    try {
      (*fn)(c);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    fn.reset();
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = 0;
    }
    if (!failure.empty()) log_("a flag change listener failed: " + failure);
    listener_cv_.notify_all();
  }
}

}  // namespace comfyvn::perf::detail::flags
#endif
