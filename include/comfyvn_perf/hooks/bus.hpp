// comfyvn_perf — modder hooks: named events delivered on a dispatcher thread.
//
// Emitters (the collector thread, API calls, application threads) only move
// the payload into a bounded queue; one dispatcher thread anonymises it and
// calls the subscribers. So a subscriber never runs on the thread that
// emitted or recorded a span, a slow subscriber costs emitters nothing but
// dropped events (counted), and events reach subscribers in emission order.
// The bus knows no event name: each emitter owns its own (kProfilerEvent in
// profiler/events.hpp, kBudgetEvent with the budgets). docs/hooks.md
// describes events, envelope and guarantees.
#pragma once

#include <atomic>              // has_subscribers without a lock
#include <condition_variable>  // flush and unsubscribe waits
#include <cstddef>             // size_t
#include <cstdint>             // uint64_t
#include <deque>               // the queue
#include <functional>          // Callback
#include <memory>              // shared_ptr: a callback outlives its removal while it runs
#include <mutex>               // queue and subscriber lock
#include <string>              // event names
#include <string_view>         // API arguments
#include <vector>              // subscribers

#include <boost/json.hpp>  // payloads and envelopes

#include "../config.hpp"           // COMFYVN_PERF_IMPLEMENTATION and the knobs
#include "../os/subscription.hpp"  // BasicSubscription: Subscription
#include "../os/worker.hpp"        // PeriodicWorker: the dispatcher thread
#include "anonymize.hpp"           // AnonymizeOptions
#include "subscriber_table.hpp"    // SubscriberTable: per-name counts

namespace comfyvn::perf {

// emitted = delivered + dropped + (events queued or being delivered).
struct HooksStats {
  std::uint64_t emitted = 0;            // emit() calls that had a subscriber
  std::uint64_t delivered = 0;          // events handed to every subscriber
  std::uint64_t dropped = 0;            // refused because the queue was full
  std::uint64_t subscriber_errors = 0;  // callbacks that threw
};

class Hooks;

// Unsubscribes when destroyed. Move-only.
using Subscription = os::BasicSubscription<Hooks>;

class Hooks {
 public:
  using Callback = std::function<void(const boost::json::object&)>;

  // Events waiting for the dispatcher; beyond this, emit() drops and counts.
  static constexpr std::size_t kDefaultQueueCapacity = 1024;

  // One event name's "is anyone listening?", kept by an emitter that checks
  // often: one relaxed load, whatever the name. Copyable; must not outlive
  // the Hooks it came from.
  class Topic {
   public:
    Topic() = default;
    bool has_subscribers() const noexcept {
      if (count_ != nullptr) return count_->load(std::memory_order_relaxed) != 0;
      return bus_ != nullptr && bus_->has_subscribers(name_);
    }

   private:
    friend class Hooks;
    const detail::SubscriberTable::Count* count_ = nullptr;
    // Only for a name that found no room in the table: the bus checks it.
    const Hooks* bus_ = nullptr;
    std::string name_;
  };

  Hooks() = default;
  Hooks(const Hooks&) = delete;
  Hooks& operator=(const Hooks&) = delete;
  // Stops the dispatcher; events still queued are dropped. Subscriptions must
  // not outlive the Hooks they came from (the process-wide hooks() lives on).
  ~Hooks();

  // The callback receives {trigger, payload, timestamp} for every `event`
  // emitted after this call. An empty callback gives an empty handle.
  Subscription subscribe(std::string event, Callback cb);

  // Waits for a running call of this subscriber to return, unless called
  // from the dispatcher thread (a callback may unsubscribe itself).
  void unsubscribe(std::uint64_t id);

  // Queues {trigger, payload, timestamp}; anonymisation and delivery happen
  // on the dispatcher thread. Never blocks on a subscriber and never runs one
  // on the calling thread; a full queue drops the event and counts it.
  void emit(std::string_view event, std::string_view trigger, boost::json::object payload);

  // Emitters call this before building a payload. Without any subscriber it
  // costs one relaxed load; otherwise a lock-free lookup of the name. An
  // emitter that checks often keeps a topic() instead.
  bool has_subscribers(std::string_view event) const noexcept;

  // The counter of `event`, claimed now if no subscriber named it yet, for
  // emitters that check on every call.
  Topic topic(std::string_view event);

  // Blocks until every event emitted before the call has been delivered (or
  // dropped). From inside a callback it returns at once: the dispatcher
  // cannot wait for itself.
  void flush();

  HooksStats stats() const;

  // At least 1. Shrinking never discards queued events.
  void set_queue_capacity(std::size_t n);
  std::size_t queue_capacity() const;

  // Caps and salt used for payloads delivered from now on.
  void set_anonymize_options(const AnonymizeOptions& options);

  bool on_dispatcher_thread() const noexcept { return worker_.on_worker_thread(); }

  // Fork handlers, called by the runtime's one pthread_atfork handler
  // (runtime/fork.hpp). The child has no dispatcher thread: it forgets it (a
  // new one starts on demand) and treats an event that was being delivered
  // in the parent as done.
  void fork_prepare();
  void fork_parent();
  void fork_child();

 private:
  using Count = detail::SubscriberTable::Count;

  struct Subscriber {
    std::uint64_t id;
    std::string event;
    std::shared_ptr<Callback> callback;
    Count* count;  // the table's counter of `event`, or overflow_subs_
  };
  struct Pending {
    std::string event;
    std::string trigger;
    boost::json::object payload;
    double timestamp;
    std::uint64_t max_subscriber;  // later subscribers do not see this event
    std::uint64_t seq;
  };

  Count* count_of_locked(std::string_view event);

  // The dispatcher does nothing on its own: emit() and flush() wake it, so
  // its interval only matters as a bound on an idle wait.
  bool ensure_dispatcher_locked();

  // One tick: every queued event, in order, unless the bus is being
  // destroyed (the destructor drops the rest).
  void drain();

  // Called without the lock; takes it only to pick each next subscriber, so
  // callbacks may emit, subscribe or unsubscribe.
  bool deliver(Pending& p, const AnonymizeOptions& options);

  // Lock order: mu_, then the worker's own lock (start, wake, fork).
  mutable std::mutex mu_;
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
  bool stop_ = false;
  detail::SubscriberTable table_;
  std::atomic<std::uint32_t> total_subs_{0};
  Count overflow_subs_{0};     // subscribers of names the table had no room for
  os::PeriodicWorker worker_;  // the dispatcher thread
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // find_if
#include <chrono>     // the dispatcher's (idle) interval
#include <new>        // placement new: a fresh condition variable after fork
#include <utility>    // move

#include "../os/time.hpp"  // epoch_now: the envelope's timestamp

namespace comfyvn::perf {

Hooks::~Hooks() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  worker_.stop();  // an event being delivered finishes first
  std::lock_guard<std::mutex> lock(mu_);
  dropped_ += queue_.size();
  queue_.clear();
  done_seq_ = enqueued_seq_;
  done_cv_.notify_all();
}

Subscription Hooks::subscribe(std::string event, Callback cb) {
  if (!cb) return {};
  auto shared = std::make_shared<Callback>(std::move(cb));
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t id = ++next_id_;
  Count* count = count_of_locked(event);
  subs_.push_back(Subscriber{id, std::move(event), std::move(shared), count});
  count->fetch_add(1, std::memory_order_relaxed);
  total_subs_.fetch_add(1, std::memory_order_relaxed);
  return Subscription(this, id);
}

void Hooks::unsubscribe(std::uint64_t id) {
  std::shared_ptr<Callback> doomed;  // destroyed outside the lock
  std::unique_lock<std::mutex> lock(mu_);
  const auto it =
      std::find_if(subs_.begin(), subs_.end(), [id](const Subscriber& s) { return s.id == id; });
  if (it != subs_.end()) {
    it->count->fetch_sub(1, std::memory_order_relaxed);
    total_subs_.fetch_sub(1, std::memory_order_relaxed);
    doomed = std::move(it->callback);
    subs_.erase(it);
  }
  if (current_ == id && !on_dispatcher_thread()) {
    done_cv_.wait(lock, [&] { return current_ != id; });
  }
}

void Hooks::emit(std::string_view event, std::string_view trigger, boost::json::object payload) {
  if (!has_subscribers(event)) return;
  const double timestamp = os::epoch_now();
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
      if (!ensure_dispatcher_locked()) {
        queue_.pop_back();
        --enqueued_seq_;
        ++dropped_;
        return;
      }
    }
    worker_.wake();
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    ++emitted_;
    ++dropped_;
  }
}

bool Hooks::has_subscribers(std::string_view event) const noexcept {
  if (total_subs_.load(std::memory_order_relaxed) == 0) return false;
  if (const Count* c = table_.find(event)) return c->load(std::memory_order_relaxed) != 0;
  // A name with no slot has subscribers only if the table ran out of room.
  if (overflow_subs_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& s : subs_)
    if (s.event == event) return true;
  return false;
}

Hooks::Topic Hooks::topic(std::string_view event) {
  Topic t;
  std::lock_guard<std::mutex> lock(mu_);
  if (const Count* c = table_.claim(event)) {
    t.count_ = c;
  } else {
    t.bus_ = this;
    t.name_ = std::string(event);
  }
  return t;
}

void Hooks::flush() {
  if (on_dispatcher_thread()) return;
  std::unique_lock<std::mutex> lock(mu_);
  const std::uint64_t target = enqueued_seq_;
  if (done_seq_ >= target) return;
  if (!ensure_dispatcher_locked()) return;
  worker_.wake();
  done_cv_.wait(lock, [&] { return done_seq_ >= target; });
}

HooksStats Hooks::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return HooksStats{emitted_, delivered_, dropped_, errors_};
}

void Hooks::set_queue_capacity(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  capacity_ = n == 0 ? 1 : n;
}

std::size_t Hooks::queue_capacity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return capacity_;
}

void Hooks::set_anonymize_options(const AnonymizeOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  anonymize_ = options;
  salt_ = std::string(options.salt);
  anonymize_.salt = {};
}

void Hooks::fork_prepare() {
  mu_.lock();
  worker_.fork_prepare();
}

void Hooks::fork_parent() {
  worker_.fork_parent();
  mu_.unlock();
}

void Hooks::fork_child() {
  worker_.fork_child();
  // A flush() waiting in the parent does not exist in the child (see
  // PeriodicWorker::fork_child).
  new (&done_cv_) std::condition_variable();
  current_ = 0;
  if (inflight_seq_ != 0) {
    done_seq_ = inflight_seq_;
    inflight_seq_ = 0;
  }
  mu_.unlock();
}

auto Hooks::count_of_locked(std::string_view event) -> Count* {
  Count* c = table_.claim(event);
  return c != nullptr ? c : &overflow_subs_;
}

bool Hooks::ensure_dispatcher_locked() {
  if (worker_.running()) return true;
  if (stop_) return false;
  worker_.start([this] { drain(); }, [] { return std::chrono::hours(24); }, true, "perf-hooks");
  return worker_.running();
}

void Hooks::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_ && !queue_.empty()) {
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

bool Hooks::deliver(Pending& p, const AnonymizeOptions& options) {
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

}  // namespace comfyvn::perf
#endif
