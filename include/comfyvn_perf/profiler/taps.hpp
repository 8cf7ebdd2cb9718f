// comfyvn_perf — the taps consumer: consumers that need every span for a
// while (trace captures, trace recorders), and the span listener that turns
// drained spans into span.recorded events.
#pragma once

#include <chrono>      // kTapInterval
#include <cstddef>     // size_t
#include <atomic>      // active
#include <cstdint>     // uint64_t
#include <functional>  // taps, listener
#include <memory>      // a tap outlives its removal while it runs
#include <utility>     // pair
#include <vector>      // spans

#include "consumer.hpp"  // LockedConsumer, SpanBatch

namespace comfyvn::perf::detail {

class TapConsumer final : public LockedConsumer {
 public:
  // A tap sees every span the collector drains, in drain order per thread,
  // on the thread that collects (never inside a scope). While one is
  // installed the collector drains at least every kTapInterval, so that
  // rings do not overwrite spans at the rates a render loop produces. A tap
  // must not call back into the registry's collection.
  using SpanTap = std::function<void(const std::vector<RawSpan>&)>;
  static constexpr std::chrono::milliseconds kTapInterval{5};
  // Spans one span.recorded batch carries at most.
  static constexpr std::size_t kMaxListenerBatch = 8192;

  void begin(const Collection&) override;
  void consume(const SpanBatch& batch) override;
  void deliver() override;
  void reset() override {}  // taps belong to their owners, not to the recorded data
  void fork_child() override;

  // Whether any tap is installed (the collector's interval).
  bool active() const { return active_.load(std::memory_order_relaxed) != 0; }

  std::uint64_t add(SpanTap tap);

  // The registry serialises this with collections: once it returns the tap
  // is not running and will not run again.
  void remove(std::uint64_t id);

  // The listener and whether it wants spans now; both run outside every lock
  // of the pipeline's, on the collecting thread.
  void set_listener(std::function<bool()> wanted,
                    std::function<void(const std::vector<RawSpan>&)> listener);

 private:
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const SpanTap>>> taps_;
  std::uint64_t seq_ = 0;
  std::atomic<std::size_t> active_{0};
  std::function<bool()> wanted_;
  std::function<void(const std::vector<RawSpan>&)> listener_;
  // One collection's spans, between begin() and deliver() (serialised).
  std::vector<RawSpan> batch_;
  std::size_t cap_ = 0;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min, remove_if
#include <cstdint>    // SIZE_MAX

namespace comfyvn::perf::detail {

void TapConsumer::begin(const Collection&) {
  std::function<bool()> wanted;
  bool listening = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!taps_.empty()) {
      cap_ = SIZE_MAX;
      return;
    }
    wanted = wanted_;
    listening = static_cast<bool>(listener_);
  }
  // Taps take every span; the listener's events stop at kMaxListenerBatch.
  cap_ = listening && wanted && wanted() ? kMaxListenerBatch : 0;
}

void TapConsumer::consume(const SpanBatch& batch) {
  if (batch_.size() >= cap_) return;
  const std::size_t n = std::min(batch.spans.size(), cap_ - batch_.size());
  batch_.insert(batch_.end(), batch.spans.begin(),
                batch.spans.begin() + static_cast<std::ptrdiff_t>(n));
}

void TapConsumer::deliver() {
  if (batch_.empty()) return;
  std::vector<RawSpan> batch;
  batch.swap(batch_);
  std::function<void(const std::vector<RawSpan>&)> listener;
  std::function<bool()> wanted;
  std::vector<std::shared_ptr<const SpanTap>> taps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listener = listener_;
    wanted = wanted_;
    taps.reserve(taps_.size());
    for (const auto& t : taps_) taps.push_back(t.second);
  }
  if (listener && wanted && wanted()) {
    if (batch.size() <= kMaxListenerBatch) {
      listener(batch);
    } else {
      listener(std::vector<RawSpan>(batch.begin(), batch.begin() + kMaxListenerBatch));
    }
  }
  for (const auto& tap : taps) (*tap)(batch);
}

void TapConsumer::fork_child() {
  // Captures belong to threads of the parent; none continues here.
  taps_.clear();
  active_.store(0, std::memory_order_relaxed);
  batch_.clear();
  mu_.unlock();
}

std::uint64_t TapConsumer::add(SpanTap tap) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint64_t id = ++seq_;
  taps_.emplace_back(id, std::make_shared<const SpanTap>(std::move(tap)));
  active_.store(taps_.size(), std::memory_order_relaxed);
  return id;
}

void TapConsumer::remove(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  taps_.erase(
      std::remove_if(taps_.begin(), taps_.end(), [id](const auto& t) { return t.first == id; }),
      taps_.end());
  active_.store(taps_.size(), std::memory_order_relaxed);
}

void TapConsumer::set_listener(std::function<bool()> wanted,
                               std::function<void(const std::vector<RawSpan>&)> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  wanted_ = std::move(wanted);
  listener_ = std::move(listener);
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
