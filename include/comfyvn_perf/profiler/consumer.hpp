// comfyvn_perf — the collection pipeline's contract: what the drain hands to
// each consumer of spans, and what a consumer must know how to do.
//
// The registry (profiler/registry.hpp) owns what is per thread and per site:
// thread buffers, site interning, the rings, the switch and the drain. Each
// drain hands one thread's spans, in the order they ended, to every consumer
// in the order they were added. A consumer owns its state and its lock, and
// knows how to reset, and how to hold and release its lock around fork().
// Adding one is a class deriving from SpanConsumer plus one
// Registry::add_consumer() call (docs/architecture.md, "The pipeline").
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <mutex>        // LockedConsumer
#include <string>       // site names
#include <string_view>  // kCounterCategory
#include <vector>       // spans, site table

#include "../core/ring.hpp"  // RawSpan
#include "types.hpp"             // kMaxNameBytes

namespace comfyvn::perf::detail {

struct SiteInfo {
  std::string name;
  std::string category;
  std::string file;
  std::string function;
  std::uint32_t line = 0;
  bool dynamic = false;
  bool counter = false;  // a PERF_COUNTER series, not a span site
  // An interval site: "(frame)" (PERF_FRAME), or "(gpu frame)" of category
  // "gpu" (PERF_GPU_FRAME). Traces give frames a track of their own, call
  // trees leave them out, and a budget on one cuts spikes.
  bool frame = false;
};

// The site a GPU context's frames are recorded as (gpu/track.hpp).
inline constexpr std::string_view kGpuFrameSiteName = "(gpu frame)";
inline constexpr std::string_view kGpuCategory = "gpu";

// The category that marks a counter series (PERF_COUNTER); reserved.
inline constexpr std::string_view kCounterCategory = "(counter)";

// One collection, as every consumer sees it.
struct Collection {
  std::uint64_t now_ticks = 0;
  // Calibrated when some consumer's wants_calibration() said so, else 1.
  double ns_per_tick = 1.0;
  // close_budget_window(): judge the span budgets now.
  bool close_window = false;
  // The site table by id, readable during begin(), consume() and end() only.
  const std::vector<SiteInfo>* sites = nullptr;
};

// One thread's spans from one drain, in the order they ended.
struct SpanBatch {
  std::uint32_t thread_index = 0;
  const std::vector<RawSpan>& spans;
  const Collection& collection;
};

// The calls of one collection, in order, all serialised with each other:
//   begin(), consume() for each thread with spans, end()   under the
//   registry's state lock (sites and threads cannot change meanwhile);
//   deliver()                                              after it is released.
// A consumer takes its own lock inside each call, so the lock order is
// registry state lock -> consumer lock; it never calls back into the
// registry while holding its lock. Listeners and callbacks run in deliver().
class SpanConsumer {
 public:
  SpanConsumer() = default;
  SpanConsumer(const SpanConsumer&) = delete;
  SpanConsumer& operator=(const SpanConsumer&) = delete;
  virtual ~SpanConsumer() = default;

  // Whether the next collection needs a calibrated Collection::ns_per_tick
  // (calibrating waits up to 20 ms once per process).
  virtual bool wants_calibration() const { return false; }
  virtual void begin(const Collection&) {}
  virtual void consume(const SpanBatch& batch) = 0;
  // A thread exited; its last batch has been consumed.
  virtual void thread_exited(std::uint32_t /*thread_index*/) {}
  virtual void end(const Collection&) {}
  virtual void deliver() {}

  // Forgets everything recorded (PerfProfiler::reset()); settings stay.
  virtual void reset() = 0;

  // fork(): the parent takes the lock before, releases it after; the child
  // releases it and forgets what belonged to the parent's other threads.
  virtual void fork_prepare() = 0;
  virtual void fork_parent() = 0;
  virtual void fork_child() = 0;
};

// A consumer guarded by one mutex of its own, held across fork().
class LockedConsumer : public SpanConsumer {
 public:
  void fork_prepare() override { mu_.lock(); }
  void fork_parent() override { mu_.unlock(); }
  void fork_child() override { mu_.unlock(); }

 protected:
  mutable std::mutex mu_;
};

}  // namespace comfyvn::perf::detail
