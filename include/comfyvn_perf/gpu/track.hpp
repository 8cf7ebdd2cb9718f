// comfyvn_perf — what every GPU context shares, whatever its API: the slots
// of timestamp pairs in flight, the map from GPU time onto the profiler's
// clock, and the track that turns finished pairs into spans.
//
// A GPU context (gpu/vulkan.hpp, gpu/opengl.hpp) owns one GpuTrack. A scope
// reserves a slot (one begin and one end timestamp), writes the begin
// timestamp, and at its end the end timestamp. collect() reads finished
// slots in the order they were reserved, never waiting: the first slot whose
// results are not ready stops the reading until a later collect(). Each
// finished pair becomes a span of category "gpu" on the context's own track
// (a thread named "gpu: NAME" in traces and call trees), so the aggregates,
// /metrics, the call tree and the span budgets take it like any other span.
// PERF_GPU_FRAME() closes a GPU frame: once every slot of a frame is read,
// its extent (first begin to last end) becomes a span of the site
// "(gpu frame)", budgetable like "(frame)".
#pragma once

#include <algorithm>    // max, min, sort
#include <atomic>       // slot states, counters
#include <cmath>        // llround
#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <deque>        // open frames
#include <memory>       // slots
#include <mutex>        // collection
#include <string>       // names, calibration source
#include <string_view>  // names
#include <vector>       // spans of one collect

#include "../core/clock.hpp"          // DefaultClock, SteadyClock
#include "../core/scope.hpp"          // Site, site_id, g_enabled
#include "../profiler/registry.hpp"   // registry(), ThreadState

namespace comfyvn::perf::gpu {

inline constexpr std::string_view kGpuCategory = perf::detail::kGpuCategory;  // "gpu"
inline constexpr std::string_view kGpuFrameSiteName = perf::detail::kGpuFrameSiteName;

// How a context stands; GlContext::stats() and VulkanContext::stats().
struct GpuStats {
  std::uint64_t scopes = 0;    // spans recorded from finished timestamp pairs
  std::uint64_t frames = 0;    // "(gpu frame)" spans recorded
  std::uint64_t dropped = 0;   // scopes not recorded: every slot was in flight
  std::uint64_t lost = 0;      // pairs never finished within stale_after (never submitted)
  std::uint64_t in_flight = 0; // slots reserved and not yet read
  std::uint64_t capacity = 0;  // slots (timestamp pairs) in the pool
  // The clock map: "calibrated" (the driver reads both clocks together,
  // VK_EXT_calibrated_timestamps) or "measured" (a GPU time read between two
  // CPU clock reads).
  std::string time_source;
  std::uint64_t calibrations = 0;
  // True where the driver's result reads wait for the device to go idle
  // (lavapipe): collect() then reads only frames whose fence has signaled
  // (PERF_GPU_FRAME(ctx, fence)), or waits when no fence was given.
  bool reads_wait = false;
  // The uncertainty of the latest calibration, in milliseconds: the driver's
  // maxDeviation, or half the window between the CPU reads around the GPU's.
  double calibration_error_ms = 0;
  // How far a map never re-checked would have moved, in milliseconds per
  // minute: the re-checks' corrections summed over the time since the
  // first calibration (0 until 10 s have passed).
  double drift_ms_per_min = 0;
  // The largest correction any re-check applied, in milliseconds.
  double max_correction_ms = 0;
};

namespace detail {

using perf::RawSpan;

// Maps GPU nanoseconds onto the profiler's ticks: a point where both are
// known and the tick length. A re-check moves the point, so drift between
// the clocks never accumulates past one re-check interval.
class ClockMap {
 public:
  bool valid() const { return ns_per_tick_ > 0; }

  // The tick value at `cpu_steady_ns`, from a (ticks, steady) pair read
  // now (a short step back at the profiler's tick length).
  static double ticks_at(std::uint64_t cpu_steady_ns, std::uint64_t now_ticks,
                         std::uint64_t now_steady_ns, double ns_per_tick) {
    return static_cast<double>(now_ticks) -
           (static_cast<double>(now_steady_ns) - static_cast<double>(cpu_steady_ns)) / ns_per_tick;
  }

  // `gpu_ns` and `cpu_steady_ns` read at the same moment (within `error_ns`).
  // Returns the correction, in nanoseconds, the previous map needed there.
  // `ns_per_tick`: GpuTrack::current_ns_per_tick(), measured now.
  double set(std::uint64_t gpu_ns, std::uint64_t cpu_steady_ns, double error_ns,
             std::uint64_t now_ticks, std::uint64_t now_steady_ns, double ns_per_tick) {
    const double at = ticks_at(cpu_steady_ns, now_ticks, now_steady_ns, ns_per_tick);
    double correction = 0;
    if (valid()) correction = (at - to_ticks_exact(gpu_ns)) * ns_per_tick;
    gpu_anchor_ = gpu_ns;
    tick_anchor_ = at;
    ns_per_tick_ = ns_per_tick;
    error_ns_ = error_ns;
    return correction;
  }

  std::uint64_t to_ticks(std::uint64_t gpu_ns) const {
    const double t = to_ticks_exact(gpu_ns);
    return t <= 0 ? 0 : static_cast<std::uint64_t>(std::llround(t));
  }

  double error_ns() const { return error_ns_; }

 private:
  double to_ticks_exact(std::uint64_t gpu_ns) const {
    const double d = gpu_ns >= gpu_anchor_ ? static_cast<double>(gpu_ns - gpu_anchor_)
                                           : -static_cast<double>(gpu_anchor_ - gpu_ns);
    return tick_anchor_ + d / ns_per_tick_;
  }

  std::uint64_t gpu_anchor_ = 0;
  double tick_anchor_ = 0;
  double ns_per_tick_ = 0;
  double error_ns_ = 0;
};

// The calibration figures of GpuStats, kept the same way by every context.
class CalibrationLog {
 public:
  // One calibration at `steady_ns`, within `error_ns`, that moved the map
  // by `correction_ns` (0 for the first).
  void note(double correction_ns, std::uint64_t steady_ns, double error_ns) {
    ++calibrations_;
    error_ms_ = error_ns / 1e6;
    if (calibrations_ == 1) {
      first_steady_ = steady_ns;
      return;
    }
    max_correction_ms_ = std::max(max_correction_ms_, std::abs(correction_ns) / 1e6);
    // How far a map never re-checked would have moved, per minute; over
    // less than 10 s a microsecond of read jitter would read as drift.
    correction_sum_ns_ += correction_ns;
    const double minutes = static_cast<double>(steady_ns - first_steady_) / 60e9;
    if (minutes >= 10.0 / 60.0) drift_ms_per_min_ = correction_sum_ns_ / 1e6 / minutes;
  }

  void fill(GpuStats& out) const {
    out.calibrations = calibrations_;
    out.calibration_error_ms = error_ms_;
    out.drift_ms_per_min = drift_ms_per_min_;
    out.max_correction_ms = max_correction_ms_;
  }

 private:
  std::uint64_t calibrations_ = 0;
  std::uint64_t first_steady_ = 0;
  double error_ms_ = 0;
  double drift_ms_per_min_ = 0;
  double max_correction_ms_ = 0;
  double correction_sum_ns_ = 0;
};

// The API-neutral half of a context. Scopes reserve slots from any thread
// (lock-free); collect_slots() runs on one thread at a time.
class GpuTrack {
 public:
  static constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};

  GpuTrack(std::string_view name, std::uint32_t capacity)
      : capacity_(capacity == 0 ? 1 : capacity), slots_(new Slot[capacity_]) {
    perf::detail::Registry& r = perf::detail::registry();
    frame_site_ = r.intern(kGpuFrameSiteName, kGpuCategory, false);
    tb_ = r.register_thread();
    if (tb_ != nullptr) r.set_thread_name(tb_, "gpu: " + std::string(name));
    r.ensure_collector();
    ns_per_tick_ = r.time().ns_per_tick();
  }

  GpuTrack(const GpuTrack&) = delete;
  GpuTrack& operator=(const GpuTrack&) = delete;

  // Hands the track's last spans to the profiler and frees its buffer.
  ~GpuTrack() {
    if (tb_ != nullptr) perf::detail::registry().retire(tb_);
  }

  bool recording() const { return tb_ != nullptr; }
  std::uint32_t capacity() const { return capacity_; }
  double ns_per_tick() const { return ns_per_tick_; }
  // The tick length for a clock map, measured over the whole process so
  // far (TimeBase::ns_per_tick_now()). The profiler's fixed estimate,
  // taken over 20 ms, was off by 0.1-0.2% on a loaded 2-core machine: GPU
  // spans would slide a millisecond a second against CPU spans.
  double current_ns_per_tick() const { return perf::detail::registry().time().ns_per_tick_now(); }

  // A slot for a new scope, or kNoSlot (counted as dropped) when all are in
  // flight. Safe from any thread.
  std::uint32_t reserve(std::uint32_t site_id) noexcept {
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (h - tail_.load(std::memory_order_acquire) >= capacity_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return kNoSlot;
      }
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel,
                                      std::memory_order_relaxed))
        break;
    }
    const auto i = static_cast<std::uint32_t>(h % capacity_);
    Slot& s = slots_[i];
    s.site = site_id;
    s.frame = frame_.load(std::memory_order_relaxed);
    s.state.store(kBegun, std::memory_order_release);
    return i;
  }

  // The scope's end timestamp is written: the slot may be read.
  void ended(std::uint32_t i) noexcept {
    slots_[i].ended_ticks = DefaultClock::now();
    slots_[i].state.store(kEnded, std::memory_order_release);
  }

  // PERF_GPU_FRAME: scopes reserved from now on belong to the next frame.
  void frame_boundary() noexcept { frame_.fetch_add(1, std::memory_order_relaxed); }

  ClockMap& clock() { return clock_; }

  // The frame number scopes reserved now get (PERF_GPU_FRAME counts them).
  std::uint64_t current_frame() const { return frame_.load(std::memory_order_relaxed); }

  // Reads finished slots in reservation order. `read(i, &begin_ns, &end_ns)`
  // returns false when slot i's results are not ready (never waiting);
  // `release(first, count)` makes a run of read slots reusable (it may
  // reset their queries). Stops at the first slot not ready, unless it has
  // waited longer than `stale_ticks` since its scope ended: then it is
  // counted as lost and skipped. Slots of frame `frames_done` and later
  // are not read at all (the context knows their work may not be done).
  template <class Read, class Release>
  void collect_slots(Read&& read, Release&& release, std::uint64_t stale_ticks,
                     std::uint64_t frames_done = ~std::uint64_t{0}) {
    std::lock_guard<std::mutex> lock(collect_mu_);
    const std::uint64_t now = DefaultClock::now();
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    spans_.clear();
    std::uint64_t run_start = tail;
    auto flush_run = [&](std::uint64_t upto) {
      while (run_start < upto) {
        const auto first = static_cast<std::uint32_t>(run_start % capacity_);
        const auto n = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(upto - run_start, capacity_ - first));
        release(first, n);
        run_start += n;
      }
    };
    while (tail < head) {
      const auto i = static_cast<std::uint32_t>(tail % capacity_);
      Slot& s = slots_[i];
      if (s.state.load(std::memory_order_acquire) != kEnded) break;  // a scope still open
      if (s.frame >= frames_done) break;  // its frame's work may not be done
      std::uint64_t b = 0, e = 0;
      if (read(i, &b, &e)) {
        RawSpan r{};
        r.site_id = s.site;
        r.start_ticks = clock_.to_ticks(b);
        const std::uint64_t end = std::max(clock_.to_ticks(e), r.start_ticks);
        r.duration_ticks = end - r.start_ticks;
        spans_.push_back(r);
        note_frame(s.frame, r.start_ticks, end);
      } else if (now - s.ended_ticks > stale_ticks) {
        lost_.fetch_add(1, std::memory_order_relaxed);
      } else {
        break;
      }
      s.state.store(kFree, std::memory_order_relaxed);
      ++tail;
    }
    flush_run(tail);
    tail_.store(tail, std::memory_order_release);
    // Frames whose every slot is read: older than the oldest slot in flight
    // (or than the current frame when none is).
    std::uint64_t open = frame_.load(std::memory_order_relaxed);
    if (tail < head_.load(std::memory_order_acquire)) {
      const Slot& s = slots_[tail % capacity_];
      if (s.state.load(std::memory_order_acquire) != kFree) open = std::min(open, s.frame);
    }
    // Spans go to the profiler in the order they ended, as a thread's do.
    // On a tie the longer span (the parent) goes after.
    std::sort(spans_.begin(), spans_.end(), [](const RawSpan& a, const RawSpan& b) {
      const std::uint64_t ea = a.start_ticks + a.duration_ticks;
      const std::uint64_t eb = b.start_ticks + b.duration_ticks;
      return ea != eb ? ea < eb : a.duration_ticks < b.duration_ticks;
    });
    std::size_t closed = 0;
    while (closed < frames_.size() && frames_[closed].frame < open) ++closed;
    if (tb_ == nullptr || !perf::detail::g_enabled.load(perf::detail::kRelaxed)) {
      frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(closed));
      return;
    }
    // A frame span ends with its last scope, so it goes in after it.
    std::size_t f = 0;
    for (const RawSpan& r : spans_) {
      const std::uint64_t end = r.start_ticks + r.duration_ticks;
      while (f < closed && frames_[f].end < end) record_frame(frames_[f++]);
      tb_->record(r.site_id, r.start_ticks, end, 0);
      scopes_.fetch_add(1, std::memory_order_relaxed);
    }
    while (f < closed) record_frame(frames_[f++]);
    frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(closed));
  }

  // Fills the counters of `out`.
  void fill(GpuStats& out) const {
    out.scopes = scopes_.load(std::memory_order_relaxed);
    out.frames = frames_recorded_.load(std::memory_order_relaxed);
    out.dropped = dropped_.load(std::memory_order_relaxed);
    out.lost = lost_.load(std::memory_order_relaxed);
    out.in_flight = head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_relaxed);
    out.capacity = capacity_;
  }

  // Whether some slot is reserved and not yet read.
  bool in_flight() const {
    return head_.load(std::memory_order_acquire) != tail_.load(std::memory_order_acquire);
  }

 private:
  enum : std::uint8_t { kFree = 0, kBegun = 1, kEnded = 2 };
  struct Slot {
    std::atomic<std::uint8_t> state{kFree};
    std::uint32_t site = 0;
    std::uint64_t frame = 0;
    std::uint64_t ended_ticks = 0;
  };
  struct OpenFrame {
    std::uint64_t frame;
    std::uint64_t begin;
    std::uint64_t end;
  };

  void note_frame(std::uint64_t frame, std::uint64_t begin, std::uint64_t end) {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
      if (it->frame == frame) {
        it->begin = std::min(it->begin, begin);
        it->end = std::max(it->end, end);
        return;
      }
      if (it->frame < frame) break;
    }
    OpenFrame o{frame, begin, end};
    auto pos = std::find_if(frames_.begin(), frames_.end(),
                            [&](const OpenFrame& x) { return x.frame > frame; });
    frames_.insert(pos, o);
  }

  void record_frame(const OpenFrame& f) {
    tb_->record(frame_site_, f.begin, f.end, 0);
    frames_recorded_.fetch_add(1, std::memory_order_relaxed);
  }

  const std::uint32_t capacity_;
  std::unique_ptr<Slot[]> slots_;
  std::atomic<std::uint64_t> head_{0};  // next slot to reserve
  std::atomic<std::uint64_t> tail_{0};  // next slot to read
  std::atomic<std::uint64_t> frame_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> scopes_{0};
  std::atomic<std::uint64_t> frames_recorded_{0};
  std::mutex collect_mu_;
  // Under collect_mu_.
  ClockMap clock_;
  std::vector<RawSpan> spans_;
  std::deque<OpenFrame> frames_;
  perf::detail::ThreadState* tb_ = nullptr;
  std::uint32_t frame_site_ = 0;
  double ns_per_tick_ = 1.0;
};

}  // namespace detail

// PERF_GPU_FRAME(ctx) and PERF_GPU_FRAME(ctx, fence): the context's
// frame_boundary(), with whatever else it takes.
template <class Context, class... Extra>
inline void gpu_frame(Context& ctx, Extra... extra) noexcept {
  ctx.frame_boundary(extra...);
}

}  // namespace comfyvn::perf::gpu

#ifndef PERF_GPU_FRAME
#if COMFYVN_PERF_ENABLED
// Closes a GPU context's frame: once its scopes are read, the frame's
// extent becomes a span of the site "(gpu frame)". A Vulkan context also
// takes the fence of the frame's last submission (docs/gpu.md).
#define PERF_GPU_FRAME(...) ::comfyvn::perf::gpu::gpu_frame(__VA_ARGS__)
#else
#define PERF_GPU_FRAME(...) static_cast<void>(0)
#endif
#endif
