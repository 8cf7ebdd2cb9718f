// comfyvn_perf — modder hooks: named events delivered on a dispatcher thread.
//
// PLACEHOLDER INTERFACE: the final implementation (bounded queue, dispatcher
// thread, anonymisation) replaces the bodies below; the API is fixed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "config.hpp"

namespace comfyvn::perf {

inline constexpr std::string_view kBudgetEvent = "on_perf_budget_state";
inline constexpr std::string_view kProfilerEvent = "on_perf_profiler_snapshot";

struct HooksStats {
  std::uint64_t emitted = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t subscriber_errors = 0;
};

class Hooks;

// Unsubscribes when destroyed. Move-only.
class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&& o) noexcept : id_(o.id_) { o.id_ = 0; }
  Subscription& operator=(Subscription&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = 0;
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { reset(); }
  void reset();
  explicit operator bool() const noexcept { return id_ != 0; }

 private:
  friend class Hooks;
  explicit Subscription(std::uint64_t id) : id_(id) {}
  std::uint64_t id_ = 0;
};

class Hooks {
 public:
  using Callback = std::function<void(const boost::json::object&)>;

  Subscription subscribe(std::string event, Callback cb) {
    (void)event;
    (void)cb;
    return Subscription(next_id_.fetch_add(1) + 1);
  }
  void unsubscribe(std::uint64_t id) { (void)id; }
  // Anonymises the payload and queues {trigger, payload, timestamp}; never
  // blocks and never runs a subscriber on the calling thread.
  void emit(std::string_view event, std::string_view trigger, boost::json::object payload) {
    (void)event;
    (void)trigger;
    (void)payload;
  }
  // Cheap check so emitters can skip building payloads nobody will see.
  bool has_subscribers(std::string_view event) const noexcept {
    (void)event;
    return false;
  }
  void flush() {}
  HooksStats stats() const { return {}; }

 private:
  std::atomic<std::uint64_t> next_id_{0};
};

COMFYVN_PERF_VISIBLE inline Hooks& hooks() {
  static Hooks* h = new Hooks();
  return *h;
}

inline void Subscription::reset() {
  if (id_ != 0) hooks().unsubscribe(id_);
  id_ = 0;
}

}  // namespace comfyvn::perf
