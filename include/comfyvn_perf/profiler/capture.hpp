// comfyvn_perf — trace captures: a fixed window (capture), a rolling window
// (TraceRecorder), and a spike's frame. Each installs a tap on the registry
// (TapConsumer) and writes Chrome Trace Event JSON (profiler/trace.hpp).
#pragma once

#include <atomic>    // one capture at a time, span cap
#include <chrono>    // windows
#include <cstddef>   // size_t
#include <cstdint>     // uint64_t
#include <functional>  // a capture's cancel check
#include <memory>      // the buffer a tap shares
#include <optional>  // spike traces
#include <string>    // trace text

#include "../config.hpp"      // COMFYVN_PERF_TRACE_MAX_SPANS
#include "event_channel.hpp"  // EventChannel: counter samples
#include "trace.hpp"          // TraceBuffer, TraceBusy

namespace comfyvn::perf {

namespace detail {
class TraceCapture;
}  // namespace detail

// The newest spans of a rolling window, kept until stop() or destruction:
// a trace of "the last seconds" that can be written at any moment (at exit,
// after a hitch). Move-only; an empty recorder records nothing. Made by
// PerfProfiler::trace_recorder() (also named PerfProfiler::TraceRecorder).
class TraceRecorder {
 public:
  TraceRecorder() = default;
  TraceRecorder(TraceRecorder&& o) noexcept;
  TraceRecorder& operator=(TraceRecorder&& o) noexcept;
  TraceRecorder(const TraceRecorder&) = delete;
  TraceRecorder& operator=(const TraceRecorder&) = delete;
  ~TraceRecorder();

  bool active() const noexcept { return tap_ != 0; }

  // Chrome Trace Event JSON of the newest window, up to now.
  std::string text();

  // Writes text() atomically; "" on success, else why nothing was written.
  std::string write(const std::string& path);

  // Stops recording; text() still returns what was kept.
  void stop();

 private:
  friend class detail::TraceCapture;
  std::shared_ptr<detail::TraceBuffer> buffer_;
  std::uint64_t tap_ = 0;
  std::uint64_t dropped_at_start_ = 0;
};

namespace detail {

// The trace text of what `buffer` kept up to `end`, with the marks, thread
// names and sites of now; `ring_lost`: spans the rings lost meanwhile.
std::string trace_of(const TraceBuffer& buffer, std::uint64_t end, std::uint64_t ring_lost);

class TraceCapture {
 public:
  explicit TraceCapture(const EventChannel& events) : events_(events) {}

  // Spans one capture keeps at most; spans past it count as dropped.
  void set_max_spans(std::size_t n) { max_spans_.store(n == 0 ? 1 : n); }
  std::size_t max_spans() const { return max_spans_.load(); }

  // The spans that end during the next `duration`, with the marks and
  // counter samples of that window. Blocks the calling thread for
  // `duration`. One at a time: a second throws TraceBusy. `max_spans` 0
  // means max_spans(). Ends early, throwing TraceCancelled and freeing what
  // it kept, within kCancelCheck of `cancelled()` turning true or of
  // cancel_all().
  using CancelCheck = std::function<bool()>;
  static constexpr std::chrono::milliseconds kCancelCheck{50};
  std::string capture(std::chrono::milliseconds duration, std::size_t max_spans,
                      const CancelCheck& cancelled = {});

  // Cancels every capture running now (process shutdown, stopping an
  // adapter); later captures are not affected.
  void cancel_all() { cancel_generation_.fetch_add(1); }

  TraceRecorder recorder(std::chrono::milliseconds window, std::size_t max_spans);

  // One spike's frame; nothing for an unknown id.
  std::optional<std::string> spike(std::uint64_t id);

 private:
  static constexpr std::chrono::milliseconds kCounterSampleInterval{100};

  const EventChannel& events_;
  std::atomic<bool> capturing_{false};
  std::atomic<std::uint64_t> cancel_generation_{0};
  std::atomic<std::size_t> max_spans_{COMFYVN_PERF_TRACE_MAX_SPANS};
};

}  // namespace detail
}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min, max
#include <thread>     // sleeping through a capture
#include <utility>    // move
#include <vector>     // spans

#include "../core/clock.hpp"  // DefaultClock
#include "../os/file.hpp"     // write_atomically
#include "registry.hpp"       // registry(): taps, marks, names, time base

namespace comfyvn::perf {

TraceRecorder::TraceRecorder(TraceRecorder&& o) noexcept {
  *this = std::move(o);
}

TraceRecorder& TraceRecorder::operator=(TraceRecorder&& o) noexcept {
  if (this != &o) {
    stop();
    buffer_ = std::move(o.buffer_);
    tap_ = o.tap_;
    dropped_at_start_ = o.dropped_at_start_;
    o.tap_ = 0;
  }
  return *this;
}

TraceRecorder::~TraceRecorder() {
  stop();
}

std::string TraceRecorder::text() {
  if (!buffer_) return {};
  auto& reg = detail::registry();
  if (tap_ != 0) reg.collect();
  const std::uint64_t lost = reg.dropped_total();
  return detail::trace_of(*buffer_, DefaultClock::now(),
                          lost > dropped_at_start_ ? lost - dropped_at_start_ : 0);
}

std::string TraceRecorder::write(const std::string& path) {
  return os::write_atomically(path, text());
}

void TraceRecorder::stop() {
  if (tap_ != 0) detail::registry().remove_tap(tap_);
  tap_ = 0;
}

namespace detail {

std::string trace_of(const TraceBuffer& buffer, std::uint64_t end, std::uint64_t ring_lost) {
  auto& reg = registry();
  TraceBuffer::Contents c = buffer.take(end);
  TraceData d;
  d.spans = std::move(c.spans);
  d.counters = std::move(c.counters);
  for (auto& m : reg.marks().list()) {
    if (m.ticks >= c.begin && m.ticks <= c.end) d.marks.push_back(std::move(m));
  }
  d.thread_names = reg.thread_names();
  d.sites = reg.sites();
  d.process_name = process_name();
  d.origin_ticks = reg.time().anchor_ticks();
  d.ns_per_tick = reg.time().ns_per_tick();
  d.dropped = ring_lost + c.overflow;
  d.seconds = static_cast<double>(c.end - c.begin) * d.ns_per_tick / 1e9;
  return trace_text(d);
}

std::string TraceCapture::capture(std::chrono::milliseconds duration, std::size_t max_spans,
                                  const CancelCheck& cancelled) {
  const std::uint64_t generation = cancel_generation_.load();
  bool idle = false;
  if (!capturing_.compare_exchange_strong(idle, true)) throw TraceBusy();
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag.store(false); }
  } done{capturing_};
  auto& reg = registry();
  const std::uint64_t lost_before = reg.dropped_total();
  const std::uint64_t begin = DefaultClock::now();
  auto buffer =
      std::make_shared<TraceBuffer>(begin, max_spans != 0 ? max_spans : max_spans_.load());
  const std::uint64_t tap =
      reg.add_tap([buffer](const std::vector<RawSpan>& b) { buffer->on_spans(b); });
  struct Untap {
    Registry& reg;
    std::uint64_t id;
    ~Untap() { reg.remove_tap(id); }
  } untap{reg, tap};
  const auto deadline = std::chrono::steady_clock::now() + duration;
  auto next_sample = std::chrono::steady_clock::now();
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_sample) {
      events_.sample_counters(*buffer);
      next_sample = now + kCounterSampleInterval;
    }
    if (now >= deadline) break;
    if (cancel_generation_.load() != generation || (cancelled && cancelled())) {
      throw TraceCancelled();  // the tap goes (Untap) and the buffer with it
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::min(deadline, next_sample) - now, kCancelCheck));
  }
  const std::uint64_t end = DefaultClock::now();
  buffer->close(end);
  reg.collect();  // everything that ended before `end`
  const std::uint64_t lost = reg.dropped_total();
  return trace_of(*buffer, end, lost > lost_before ? lost - lost_before : 0);
}

TraceRecorder TraceCapture::recorder(std::chrono::milliseconds window, std::size_t max_spans) {
  auto& reg = registry();
  const double npt = reg.time().ns_per_tick();
  const double ticks = static_cast<double>(std::chrono::nanoseconds(window).count()) / npt;
  TraceRecorder r;
  r.buffer_ = std::make_shared<TraceBuffer>(DefaultClock::now(),
                                            max_spans != 0 ? max_spans : max_spans_.load(),
                                            ticks < 1 ? 1 : static_cast<std::uint64_t>(ticks));
  r.dropped_at_start_ = reg.dropped_total();
  auto last_sample = std::make_shared<std::uint64_t>(0);
  const auto sample_ticks = static_cast<std::uint64_t>(
      static_cast<double>(std::chrono::nanoseconds(kCounterSampleInterval).count()) / npt);
  const EventChannel* events = &events_;
  r.tap_ = reg.add_tap(
      [events, buffer = r.buffer_, last_sample, sample_ticks](const std::vector<RawSpan>& b) {
        buffer->on_spans(b);
        const std::uint64_t now = DefaultClock::now();
        if (now - *last_sample >= sample_ticks) {  // only this tap touches it
          *last_sample = now;
          events->sample_counters(*buffer);
        }
      });
  return r;
}

std::optional<std::string> TraceCapture::spike(std::uint64_t id) {
  auto& reg = registry();
  std::optional<std::vector<RawSpan>> spans = reg.budgets().spike_spans(id);
  if (!spans) return std::nullopt;
  TraceData d;
  std::uint64_t begin = UINT64_MAX, end = 0;
  for (const RawSpan& s : *spans) {
    begin = std::min(begin, s.start_ticks);
    end = std::max(end, s.start_ticks + s.duration_ticks);
  }
  d.spans = std::move(*spans);
  d.thread_names = reg.thread_names();
  d.sites = reg.sites();
  d.process_name = process_name();
  d.origin_ticks = reg.time().anchor_ticks();
  d.ns_per_tick = reg.time().ns_per_tick();
  d.seconds = end > begin ? static_cast<double>(end - begin) * d.ns_per_tick / 1e9 : 0.0;
  return trace_text(d);
}

}  // namespace detail
}  // namespace comfyvn::perf
#endif  // COMFYVN_PERF_IMPLEMENTATION
