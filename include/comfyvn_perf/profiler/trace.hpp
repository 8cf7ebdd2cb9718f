// comfyvn_perf — trace capture: the spans, marks and counter samples of a
// time window as Chrome Trace Event JSON (Perfetto UI, chrome://tracing,
// speedscope).
//
// A capture installs a tap on the registry's collector (profiler/registry.hpp)
// and keeps the spans that end inside its window; the hot path does not
// change. While a tap is installed the collector drains every few
// milliseconds, so rings do not overwrite spans at render-loop rates; what is
// lost anyway (ring overwrites during the window, spans past the buffer's
// bound) is counted in `otherData.dropped`.
//
// Timestamps are microseconds since the registry's anchor, written with
// nanosecond digits. On each thread the spans nest: scopes nest by
// construction, and where rounding to whole nanoseconds would make a child
// touch its parent's edges or two siblings touch, the inner or later span is
// moved by one nanosecond, so that every viewer builds the same stacks. A
// span that does not nest (record_span() with a measured duration that
// overlaps) goes to a second track of its thread, "<thread> (overlapping)";
// frame intervals (PERF_FRAME) go to a track of their own, "<thread> frames".
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <deque>        // rolling buffer
#include <map>          // thread names
#include <mutex>        // buffer lock
#include <stdexcept>    // runtime_error
#include <string>       // JSON text
#include <string_view>  // names
#include <vector>       // spans

#include "../core/ring.hpp"  // RawSpan

namespace comfyvn::perf {

// A second trace capture while one runs (the adapter answers 409).
class TraceBusy : public std::runtime_error {
 public:
  TraceBusy();
};

// A capture ended early: its caller's cancel check said so (the client left,
// the adapter stops), or PerfProfiler::cancel_captures() ran. Nothing is
// kept of it.
class TraceCancelled : public std::runtime_error {
 public:
  TraceCancelled();
};

// One sample of a named counter series ("ph":"C" events).
struct TraceCounterSample {
  std::string name;  // the counter track, e.g. "host_cpu_percent"
  double value = 0;
  std::uint64_t ticks = 0;
};

namespace detail {

struct MarkRecord;  // profiler/marks.hpp
struct SiteInfo;    // profiler/consumer.hpp

// The spans a capture keeps. Shared between the registry's tap (collector
// thread) and the owner, under its own lock.
class TraceBuffer {
 public:
  // `window_ticks` > 0: rolling, keeps the spans of the newest window.
  TraceBuffer(std::uint64_t begin_ticks, std::size_t max_spans, std::uint64_t window_ticks = 0);

  void on_spans(const std::vector<RawSpan>& batch);

  void add_counter(TraceCounterSample c);

  // Closes a fixed window: spans ending later are not kept.
  void close(std::uint64_t end_ticks);

  struct Contents {
    std::vector<RawSpan> spans;
    std::vector<TraceCounterSample> counters;
    std::uint64_t begin = 0, end = 0, overflow = 0;
  };
  // The spans that end within [begin, end]; for a rolling buffer the window
  // is the newest `window` before `end`.
  Contents take(std::uint64_t end_ticks) const;

 private:
  static constexpr std::size_t kMaxCounterSamples = 65536;
  mutable std::mutex mu_;
  std::uint64_t begin_;
  std::uint64_t end_ = UINT64_MAX;
  std::size_t max_spans_;
  std::uint64_t window_;
  std::uint64_t newest_end_ = 0;
  std::uint64_t overflow_ = 0;
  std::deque<RawSpan> spans_;
  std::deque<TraceCounterSample> counters_;
};

// Everything one trace file shows.
struct TraceData {
  std::vector<RawSpan> spans;
  std::vector<MarkRecord> marks;
  std::vector<TraceCounterSample> counters;
  std::map<std::uint32_t, std::string> thread_names;
  std::vector<SiteInfo> sites;  // by site id
  std::string process_name;
  std::uint64_t origin_ticks = 0;  // ts 0
  double ns_per_tick = 1.0;
  std::uint64_t dropped = 0;
  double seconds = 0;
};

// One complete event after the nesting pass, in whole nanoseconds.
struct TraceSlice {
  std::uint32_t site = 0;
  std::uint32_t tid = 0;
  std::int64_t start = 0, end = 0;
};

// Track ids: a thread's spans use its index; its overlapping spans and its
// frame intervals use these offsets.
inline constexpr std::uint32_t kOverlapTrack = 1u << 24;
inline constexpr std::uint32_t kFrameTrack = 2u << 24;

// Places the slices of one track so that they nest strictly (see the top of
// this file); slices that cannot nest are returned for the next track.
std::vector<TraceSlice> nest_track(std::vector<TraceSlice>& in, std::vector<TraceSlice>& out,
                                   bool force);

// Nanoseconds since the origin, for a tick value.
std::int64_t trace_ns(const TraceData& d, std::uint64_t ticks);

// The slices of every track, nested.
std::vector<TraceSlice> trace_slices(const TraceData& d);

// Microseconds with nanosecond digits: 1234567 ns -> "1234.567". No
// allocation: this runs twice per span.
void append_us(std::string& out, std::int64_t ns);

void append_json_string(std::string& out, std::string_view s);

void append_number(std::string& out, double v);

std::string track_name(const TraceData& d, std::uint32_t tid);

// Writes the trace as Chrome Trace Event JSON text.
std::string trace_text(const TraceData& d);

// The short name of this program, for the process_name event (not the main
// thread's name, which set_thread_name may have changed).
std::string process_name();

}  // namespace detail
}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <errno.h>   // program_invocation_short_name
#include <unistd.h>  // getpid

#include <algorithm>  // sort, min, max
#include <cmath>      // llround
#include <cstdio>     // snprintf
#include <cstring>    // memcpy
#include <utility>    // move, pair

#include "../config.hpp"     // COMFYVN_PERF_VERSION
#include "../core/site.hpp"  // kFrameSiteId
#include "../os/text.hpp"    // append_json_escaped
#include "consumer.hpp"      // SiteInfo
#include "marks.hpp"         // MarkRecord

namespace comfyvn::perf {

TraceBusy::TraceBusy() : std::runtime_error("a trace capture is already running") {}
TraceCancelled::TraceCancelled() : std::runtime_error("the trace capture was cancelled") {}

namespace detail {

TraceBuffer::TraceBuffer(std::uint64_t begin_ticks, std::size_t max_spans,
                         std::uint64_t window_ticks)
    : begin_(begin_ticks), max_spans_(max_spans == 0 ? 1 : max_spans), window_(window_ticks) {}

void TraceBuffer::on_spans(const std::vector<RawSpan>& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const RawSpan& s : batch) {
    const std::uint64_t end = s.start_ticks + s.duration_ticks;
    if (end < begin_ || end > end_) continue;
    if (spans_.size() >= max_spans_) {
      if (window_ == 0) {
        ++overflow_;
        continue;
      }
      spans_.pop_front();  // rolling: the oldest goes first
      ++overflow_;
    }
    spans_.push_back(s);
    newest_end_ = std::max(newest_end_, end);
  }
  if (window_ != 0 && newest_end_ > window_) {
    const std::uint64_t cutoff = newest_end_ - window_;
    while (!spans_.empty() && spans_.front().start_ticks + spans_.front().duration_ticks < cutoff)
      spans_.pop_front();
  }
}

void TraceBuffer::add_counter(TraceCounterSample c) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_.push_back(std::move(c));
  if (counters_.size() > kMaxCounterSamples) counters_.pop_front();
}

void TraceBuffer::close(std::uint64_t end_ticks) {
  std::lock_guard<std::mutex> lock(mu_);
  end_ = end_ticks;
}

TraceBuffer::Contents TraceBuffer::take(std::uint64_t end_ticks) const {
  std::lock_guard<std::mutex> lock(mu_);
  Contents c;
  c.end = std::min(end_, end_ticks);
  c.begin = begin_;
  if (window_ != 0 && c.end > window_) c.begin = std::max(begin_, c.end - window_);
  c.spans.reserve(spans_.size());
  for (const RawSpan& s : spans_) {
    const std::uint64_t e = s.start_ticks + s.duration_ticks;
    if (e >= c.begin && e <= c.end) c.spans.push_back(s);
  }
  for (const auto& k : counters_) {
    if (k.ticks >= c.begin && k.ticks <= c.end) c.counters.push_back(k);
  }
  c.overflow = overflow_;
  return c;
}

std::vector<TraceSlice> nest_track(std::vector<TraceSlice>& in, std::vector<TraceSlice>& out,
                                   bool force) {
  std::sort(in.begin(), in.end(), [](const TraceSlice& a, const TraceSlice& b) {
    return a.start != b.start ? a.start < b.start : a.end > b.end;
  });
  std::vector<TraceSlice> rejected;
  std::vector<TraceSlice> stack;
  std::int64_t floor = INT64_MIN;  // a new slice starts after this
  for (TraceSlice x : in) {
    while (!stack.empty() && stack.back().end <= x.start) {
      floor = stack.back().end;
      stack.pop_back();
    }
    if (!stack.empty()) {
      const TraceSlice& parent = stack.back();
      if (x.end > parent.end && !force) {
        rejected.push_back(x);
        continue;
      }
      floor = std::max(floor, parent.start);
      x.end = std::min(x.end, parent.end - 1);
    }
    if (x.start <= floor) x.start = floor + 1;
    if (x.end < x.start) x.end = x.start;
    if (!stack.empty() && x.end >= stack.back().end) continue;  // no room left: degenerate
    out.push_back(x);
    stack.push_back(x);
    floor = INT64_MIN;
  }
  return rejected;
}

std::int64_t trace_ns(const TraceData& d, std::uint64_t ticks) {
  const double rel = static_cast<double>(ticks) - static_cast<double>(d.origin_ticks);
  return static_cast<std::int64_t>(std::llround(rel * d.ns_per_tick));
}

std::vector<TraceSlice> trace_slices(const TraceData& d) {
  std::map<std::uint32_t, std::vector<TraceSlice>> tracks;
  for (const RawSpan& s : d.spans) {
    if (s.site_id < d.sites.size() && d.sites[s.site_id].counter) continue;  // "C" events
    TraceSlice x;
    x.site = s.site_id;
    x.start = trace_ns(d, s.start_ticks);
    x.end = trace_ns(d, s.start_ticks + s.duration_ticks);
    const bool frame = s.site_id < d.sites.size() && d.sites[s.site_id].frame;
    x.tid = frame ? kFrameTrack + s.thread_index : s.thread_index;
    tracks[x.tid].push_back(x);
  }
  std::vector<TraceSlice> out;
  out.reserve(d.spans.size());
  for (auto& [tid, slices] : tracks) {
    std::vector<TraceSlice> rest = nest_track(slices, out, tid >= kFrameTrack);
    if (rest.empty()) continue;
    for (auto& x : rest) x.tid = kOverlapTrack + tid;
    nest_track(rest, out, true);
  }
  return out;
}

void append_us(std::string& out, std::int64_t ns) {
  char buf[32];
  char* end = buf + sizeof buf;
  char* p = end;
  const bool negative = ns < 0;
  std::uint64_t v =
      negative ? static_cast<std::uint64_t>(-(ns + 1)) + 1 : static_cast<std::uint64_t>(ns);
  for (int i = 0; i < 3; ++i) {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  *--p = '.';
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (negative) *--p = '-';
  out.append(p, static_cast<std::size_t>(end - p));
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  os::append_json_escaped(out, s);
  out += '"';
}

void append_number(std::string& out, double v) {
  if (!(v == v) || v > 1e300 || v < -1e300) {
    out += '0';
    return;
  }
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::string track_name(const TraceData& d, std::uint32_t tid) {
  const std::uint32_t thread = tid % kOverlapTrack;
  auto it = d.thread_names.find(thread);
  std::string name = it != d.thread_names.end() && !it->second.empty()
                         ? it->second
                         : "thread " + std::to_string(thread);
  if (tid >= kFrameTrack) return name + " frames";
  if (tid >= kOverlapTrack) return name + " (overlapping)";
  return name;
}

std::string trace_text(const TraceData& d) {
  const std::vector<TraceSlice> slices = trace_slices(d);
  const std::string pid = std::to_string(::getpid());
  // Each site's `"name":...,"cat":...` once.
  std::vector<std::string> site_text(d.sites.size());
  auto site_fields = [&](std::uint32_t id) -> const std::string& {
    static const std::string unknown = "\"name\":\"(unknown)\",\"cat\":\"\"";
    if (id >= d.sites.size()) return unknown;
    std::string& t = site_text[id];
    if (t.empty()) {
      const SiteInfo& info = d.sites[id];
      t += "\"name\":";
      append_json_string(t, id == kFrameSiteId ? std::string_view("frame") : info.name);
      t += ",\"cat\":";
      append_json_string(t, info.category);
    }
    return t;
  };
  std::string out;
  out.reserve(256 + slices.size() * 96);
  out += "{\"traceEvents\":[\n";
  bool first = true;
  auto begin_event = [&] {
    if (!first) out += ",\n";
    first = false;
  };
  // Metadata: the process, then each track that has an event.
  begin_event();
  out +=
      "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" + pid + ",\"tid\":0,\"args\":{\"name\":";
  append_json_string(out, d.process_name);
  out += "}}";
  std::vector<std::uint32_t> tids;
  for (const TraceSlice& x : slices) {
    if (tids.empty() || tids.back() != x.tid) tids.push_back(x.tid);
  }
  std::sort(tids.begin(), tids.end());
  tids.erase(std::unique(tids.begin(), tids.end()), tids.end());
  for (std::uint32_t tid : tids) {
    begin_event();
    out += "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" + pid +
           ",\"tid\":" + std::to_string(tid) + ",\"args\":{\"name\":";
    append_json_string(out, track_name(d, tid));
    out += "}}";
  }
  // `,"pid":P,"tid":T}` once per track.
  std::string tail;
  std::uint32_t tail_tid = UINT32_MAX;
  for (const TraceSlice& x : slices) {
    begin_event();
    out += "{\"ph\":\"X\",";
    out += site_fields(x.site);
    out += ",\"ts\":";
    append_us(out, x.start);
    out += ",\"dur\":";
    append_us(out, x.end - x.start);
    if (x.tid != tail_tid) {
      tail_tid = x.tid;
      tail = ",\"pid\":" + pid + ",\"tid\":" + std::to_string(x.tid) + "}";
    }
    out += tail;
  }
  for (const MarkRecord& m : d.marks) {
    begin_event();
    out += "{\"ph\":\"i\",\"s\":\"p\",\"name\":";
    append_json_string(out, m.name);
    out += ",\"cat\":";
    append_json_string(out, m.category);
    out += ",\"ts\":";
    append_us(out, trace_ns(d, m.ticks));
    out += ",\"pid\":" + pid + ",\"tid\":0";
    if (!m.metadata_json.empty()) out += ",\"args\":" + m.metadata_json;
    out += '}';
  }
  // PERF_COUNTER samples, then the sampled host metrics.
  for (const RawSpan& s : d.spans) {
    if (s.site_id >= d.sites.size() || !d.sites[s.site_id].counter) continue;
    double v;
    std::memcpy(&v, &s.alloc_bytes, sizeof v);
    begin_event();
    out += "{\"ph\":\"C\",\"name\":";
    append_json_string(out, d.sites[s.site_id].name);
    out += ",\"ts\":";
    append_us(out, trace_ns(d, s.start_ticks));
    out += ",\"pid\":" + pid + ",\"tid\":0,\"args\":{\"value\":";
    append_number(out, v);
    out += "}}";
  }
  for (const TraceCounterSample& c : d.counters) {
    begin_event();
    out += "{\"ph\":\"C\",\"name\":";
    append_json_string(out, c.name);
    out += ",\"ts\":";
    append_us(out, trace_ns(d, c.ticks));
    out += ",\"pid\":" + pid + ",\"tid\":0,\"args\":{\"value\":";
    append_number(out, c.value);
    out += "}}";
  }
  out += "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"spans\":";
  out += std::to_string(slices.size());
  out += ",\"dropped\":";
  out += std::to_string(d.dropped);
  out += ",\"seconds\":";
  append_number(out, d.seconds);
  out += ",\"version\":\"" COMFYVN_PERF_VERSION "\"}}\n";
  return out;
}

std::string process_name() {
  const char* name = program_invocation_short_name;
  return name != nullptr && *name != '\0' ? std::string(name)
                                          : "process " + std::to_string(::getpid());
}

}  // namespace detail
}  // namespace comfyvn::perf
#endif
