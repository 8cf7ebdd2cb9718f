// comfyvn_perf — a move-only handle that ends a subscription when destroyed.
//
// The hook bus and the feature flags both hand out listeners by id; this is
// the one handle type behind Subscription and FlagSubscription.
#pragma once

#include <cstdint>  // uint64_t

namespace comfyvn::perf::os {

// `Owner` provides `void unsubscribe(std::uint64_t id)`, which must not return
// while the listener runs on another thread.
template <class Owner>
class BasicSubscription {
 public:
  BasicSubscription() = default;
  BasicSubscription(BasicSubscription&& o) noexcept : owner_(o.owner_), id_(o.id_) {
    o.owner_ = nullptr;
    o.id_ = 0;
  }
  BasicSubscription& operator=(BasicSubscription&& o) noexcept {
    if (this != &o) {
      reset();
      owner_ = o.owner_;
      id_ = o.id_;
      o.owner_ = nullptr;
      o.id_ = 0;
    }
    return *this;
  }
  BasicSubscription(const BasicSubscription&) = delete;
  BasicSubscription& operator=(const BasicSubscription&) = delete;
  ~BasicSubscription() { reset(); }

  // Ends the subscription now. When it returns, the listener is not running
  // (unless called from inside that listener) and will not be called again.
  void reset() {
    Owner* owner = owner_;
    const std::uint64_t id = id_;
    owner_ = nullptr;
    id_ = 0;
    if (owner != nullptr && id != 0) owner->unsubscribe(id);
  }
  explicit operator bool() const noexcept { return id_ != 0; }
  std::uint64_t id() const noexcept { return id_; }

 private:
  friend Owner;
  BasicSubscription(Owner* owner, std::uint64_t id) : owner_(owner), id_(id) {}
  Owner* owner_ = nullptr;
  std::uint64_t id_ = 0;
};

}  // namespace comfyvn::perf::os
