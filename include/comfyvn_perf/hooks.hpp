// comfyvn_perf — modder hooks: named events delivered on a dispatcher thread.
//
// Emitters (the collector thread, API calls, application threads) only move
// the payload into a bounded queue; one dispatcher thread anonymises it and
// calls the subscribers. So a subscriber never runs on the thread that
// emitted or recorded a span, a slow subscriber costs emitters nothing but
// dropped events (counted), and events reach subscribers in emission order.
// docs/hooks.md describes events, envelope and guarantees.
#pragma once

#include <pthread.h>  // pthread_atfork: a forked child gets a fresh dispatcher

#include <algorithm>           // find_if
#include <atomic>              // has_subscribers without a lock
#include <condition_variable>  // dispatcher wake-up, flush
#include <cstddef>             // size_t
#include <cstdint>             // uint64_t
#include <deque>               // the queue
#include <functional>          // Callback
#include <memory>              // shared_ptr: a callback outlives its removal while it runs
#include <mutex>               // queue and subscriber lock
#include <string>              // event names
#include <string_view>         // API arguments
#include <thread>              // dispatcher
#include <utility>             // move
#include <vector>              // subscribers

#include <boost/json.hpp>

#include "anonymize.hpp"
#include "config.hpp"
#include "detail/thread_owner.hpp"
#include "detail/time.hpp"

namespace comfyvn::perf {

inline constexpr std::string_view kBudgetEvent = "on_perf_budget_state";
inline constexpr std::string_view kProfilerEvent = "on_perf_profiler_snapshot";

// emitted = delivered + dropped + (events queued or being delivered).
struct HooksStats {
  std::uint64_t emitted = 0;            // emit() calls that had a subscriber
  std::uint64_t delivered = 0;          // events handed to every subscriber
  std::uint64_t dropped = 0;            // refused because the queue was full
  std::uint64_t subscriber_errors = 0;  // callbacks that threw
};

class Hooks;

// Unsubscribes when destroyed. Move-only.
class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&& o) noexcept : owner_(o.owner_), id_(o.id_) {
    o.owner_ = nullptr;
    o.id_ = 0;
  }
  Subscription& operator=(Subscription&& o) noexcept {
    if (this != &o) {
      reset();
      owner_ = o.owner_;
      id_ = o.id_;
      o.owner_ = nullptr;
      o.id_ = 0;
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { reset(); }

  // Unsubscribes now. When it returns, the callback is not running (unless
  // called from inside that callback) and will not be called again.
  void reset();
  explicit operator bool() const noexcept { return id_ != 0; }
  std::uint64_t id() const noexcept { return id_; }

 private:
  friend class Hooks;
  Subscription(Hooks* owner, std::uint64_t id) : owner_(owner), id_(id) {}
  Hooks* owner_ = nullptr;
  std::uint64_t id_ = 0;
};

class Hooks {
 public:
  using Callback = std::function<void(const boost::json::object&)>;

  // Events waiting for the dispatcher; beyond this, emit() drops and counts.
  static constexpr std::size_t kDefaultQueueCapacity = 1024;

  Hooks() = default;
  Hooks(const Hooks&) = delete;
  Hooks& operator=(const Hooks&) = delete;
  // Stops the dispatcher; events still queued are dropped. Subscriptions must
  // not outlive the Hooks they came from (the process-wide hooks() lives on).
  ~Hooks() {
    std::thread* t = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      t = thread_;
      thread_ = nullptr;
    }
    work_cv_.notify_all();
    detail::join_and_delete(t);
  }

  // The callback receives {trigger, payload, timestamp} for every `event`
  // emitted after this call. An empty callback gives an empty handle.
  Subscription subscribe(std::string event, Callback cb) {
    if (!cb) return {};
    auto shared = std::make_shared<Callback>(std::move(cb));
    std::lock_guard<std::mutex> lock(mu_);
    const std::uint64_t id = ++next_id_;
    subs_.push_back(Subscriber{id, std::move(event), std::move(shared)});
    count_locked(subs_.back().event, +1);
    return Subscription(this, id);
  }

  // Waits for a running call of this subscriber to return, unless called
  // from the dispatcher thread (a callback may unsubscribe itself).
  void unsubscribe(std::uint64_t id) {
    std::shared_ptr<Callback> doomed;  // destroyed outside the lock
    std::unique_lock<std::mutex> lock(mu_);
    const auto it =
        std::find_if(subs_.begin(), subs_.end(), [id](const Subscriber& s) { return s.id == id; });
    if (it != subs_.end()) {
      count_locked(it->event, -1);
      doomed = std::move(it->callback);
      subs_.erase(it);
    }
    if (current_ == id && !on_dispatcher_thread()) {
      done_cv_.wait(lock, [&] { return current_ != id; });
    }
  }

  // Queues {trigger, payload, timestamp}; anonymisation and delivery happen
  // on the dispatcher thread. Never blocks on a subscriber and never runs one
  // on the calling thread; a full queue drops the event and counts it.
  void emit(std::string_view event, std::string_view trigger, boost::json::object payload) {
    if (!has_subscribers(event)) return;
    const double timestamp = detail::epoch_now();
    try {
      Pending p{std::string(event), std::string(trigger), std::move(payload), timestamp, 0, 0};
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++emitted_;
        if (queue_.size() >= capacity_ || stop_) {
          ++dropped_;
          return;
        }
        p.max_subscriber = next_id_;
        p.seq = ++enqueued_seq_;
        queue_.push_back(std::move(p));
        if (!ensure_thread_locked()) {
          queue_.pop_back();
          --enqueued_seq_;
          ++dropped_;
          return;
        }
      }
      work_cv_.notify_one();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      ++emitted_;
      ++dropped_;
    }
  }

  // Emitters call this before building a payload: without a subscriber an
  // event costs one relaxed load (two for the built-in events).
  bool has_subscribers(std::string_view event) const noexcept {
    if (total_subs_.load(std::memory_order_relaxed) == 0) return false;
    if (event == kProfilerEvent) return profiler_subs_.load(std::memory_order_relaxed) != 0;
    if (event == kBudgetEvent) return budget_subs_.load(std::memory_order_relaxed) != 0;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : subs_)
      if (s.event == event) return true;
    return false;
  }

  // Blocks until every event emitted before the call has been delivered (or
  // dropped). From inside a callback it returns at once: the dispatcher
  // cannot wait for itself.
  void flush() {
    if (on_dispatcher_thread()) return;
    std::unique_lock<std::mutex> lock(mu_);
    const std::uint64_t target = enqueued_seq_;
    if (done_seq_ >= target) return;
    if (!ensure_thread_locked()) return;
    work_cv_.notify_one();
    done_cv_.wait(lock, [&] { return done_seq_ >= target; });
  }

  HooksStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return HooksStats{emitted_, delivered_, dropped_, errors_};
  }

  // At least 1. Shrinking never discards queued events.
  void set_queue_capacity(std::size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    capacity_ = n == 0 ? 1 : n;
  }
  std::size_t queue_capacity() const {
    std::lock_guard<std::mutex> lock(mu_);
    return capacity_;
  }

  // Caps and salt used for payloads delivered from now on.
  void set_anonymize_options(const AnonymizeOptions& options) {
    std::lock_guard<std::mutex> lock(mu_);
    anonymize_ = options;
    salt_ = std::string(options.salt);
    anonymize_.salt = {};
  }

  bool on_dispatcher_thread() const noexcept {
    return dispatcher_id_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }

  // pthread_atfork handlers of the process-wide instance: the child has no
  // dispatcher thread, so it forgets it (a new one starts on demand) and
  // treats an event that was being delivered in the parent as done.
  void fork_prepare() { mu_.lock(); }
  void fork_parent() { mu_.unlock(); }
  void fork_child() {
    thread_ = nullptr;  // the object leaks: joining or destroying it is not possible here
    dispatcher_id_.store(std::thread::id(), std::memory_order_relaxed);
    current_ = 0;
    if (inflight_seq_ != 0) {
      done_seq_ = inflight_seq_;
      inflight_seq_ = 0;
    }
    mu_.unlock();
  }

 private:
  struct Subscriber {
    std::uint64_t id;
    std::string event;
    std::shared_ptr<Callback> callback;
  };
  struct Pending {
    std::string event;
    std::string trigger;
    boost::json::object payload;
    double timestamp;
    std::uint64_t max_subscriber;  // later subscribers do not see this event
    std::uint64_t seq;
  };

  void count_locked(std::string_view event, int delta) {
    const auto d = static_cast<std::uint32_t>(delta);
    total_subs_.fetch_add(d, std::memory_order_relaxed);
    if (event == kProfilerEvent) profiler_subs_.fetch_add(d, std::memory_order_relaxed);
    if (event == kBudgetEvent) budget_subs_.fetch_add(d, std::memory_order_relaxed);
  }

  bool ensure_thread_locked() {
    if (thread_ != nullptr) return true;
    if (stop_) return false;
    try {
      thread_ = new std::thread([this] { run(); });
      return true;
    } catch (...) {
      return false;
    }
  }

  void run() {
    dispatcher_id_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) {
        dropped_ += queue_.size();
        queue_.clear();
        done_seq_ = enqueued_seq_;
        done_cv_.notify_all();
        return;
      }
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      inflight_seq_ = p.seq;
      AnonymizeOptions options = anonymize_;
      const std::string salt = salt_;
      options.salt = salt;
      lock.unlock();
      const bool ok = deliver(p, options);
      lock.lock();
      if (ok) {
        ++delivered_;
      } else {
        ++dropped_;
      }
      inflight_seq_ = 0;
      done_seq_ = p.seq;
      done_cv_.notify_all();
    }
  }

  // Called without the lock; takes it only to pick each next subscriber, so
  // callbacks may emit, subscribe or unsubscribe.
  bool deliver(Pending& p, const AnonymizeOptions& options) {
    boost::json::object envelope;
    try {
      envelope.reserve(3);
      envelope.emplace("trigger", p.trigger);
      envelope.emplace("payload", anonymize(p.payload, options));
      envelope.emplace("timestamp", p.timestamp);
      p.payload = {};  // the raw payload is not kept a moment longer than needed
    } catch (...) {
      return false;
    }
    std::uint64_t last = 0;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      // Subscribers are kept in id order, so this finds the next one.
      const auto it = std::find_if(subs_.begin(), subs_.end(), [&](const Subscriber& s) {
        return s.id > last && s.id <= p.max_subscriber && s.event == p.event;
      });
      if (it == subs_.end()) break;
      last = it->id;
      current_ = last;
      std::shared_ptr<Callback> cb = it->callback;
      lock.unlock();
      bool failed = false;
      try {
        (*cb)(envelope);
      } catch (...) {
        failed = true;
      }
      cb.reset();
      lock.lock();
      if (failed) ++errors_;
      current_ = 0;
      done_cv_.notify_all();
    }
    return true;
  }

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::vector<Subscriber> subs_;
  std::deque<Pending> queue_;
  std::size_t capacity_ = kDefaultQueueCapacity;
  AnonymizeOptions anonymize_;
  std::string salt_;
  std::uint64_t next_id_ = 0;
  std::uint64_t enqueued_seq_ = 0;
  std::uint64_t done_seq_ = 0;
  std::uint64_t inflight_seq_ = 0;
  std::uint64_t current_ = 0;  // subscriber whose callback is running
  std::uint64_t emitted_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t errors_ = 0;
  std::thread* thread_ = nullptr;
  bool stop_ = false;
  std::atomic<std::thread::id> dispatcher_id_{};
  std::atomic<std::uint32_t> total_subs_{0};
  std::atomic<std::uint32_t> profiler_subs_{0};
  std::atomic<std::uint32_t> budget_subs_{0};
};

// The one Hooks of the process (shared by every library that uses it). Never
// destroyed, so emitting during static destruction stays safe; its
// dispatcher thread starts with the first event that has a subscriber.
COMFYVN_PERF_VISIBLE inline Hooks& hooks() {
  static Hooks* h = [] {
    auto* p = new Hooks();
    pthread_atfork([] { hooks().fork_prepare(); }, [] { hooks().fork_parent(); },
                   [] { hooks().fork_child(); });
    return p;
  }();
  return *h;
}

inline void Subscription::reset() {
  Hooks* owner = owner_;
  const std::uint64_t id = id_;
  owner_ = nullptr;
  id_ = 0;
  if (owner != nullptr && id != 0) owner->unsubscribe(id);
}

}  // namespace comfyvn::perf
