// comfyvn_perf — a plain-text report of a profiler snapshot.
//
// For programs that just want to print what they measured, without JSON (whose
// serialiser writes whole doubles as "6.4E1"). Rendered with snprintf: the SDK
// does not make its users link a formatting library.
#pragma once

#include <cstddef>  // size_t
#include <cstdio>   // snprintf (append_format)
#include <string>   // the report

#include "types.hpp"  // ProfilerSnapshot

namespace comfyvn::perf {

namespace detail {

template <class... Args>
void append_format(std::string& out, const char* format, Args... args) {
  char line[512];
  const int n = std::snprintf(line, sizeof line, format, args...);
  if (n <= 0) return;
  const auto written = static_cast<std::size_t>(n);
  out.append(line, written < sizeof line ? written : sizeof line - 1);
}

// Long names are cut so that the columns stay aligned.
std::string column(const std::string& s, std::size_t width);

}  // namespace detail

// The top `limit` sites by total time (rows are sorted that way), then the
// frame statistics when PERF_FRAME() was used, then the counters.
std::string report_text(const ProfilerSnapshot& s, std::size_t limit = 10);

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----

namespace comfyvn::perf {

namespace detail {

std::string column(const std::string& s, std::size_t width) {
  return s.size() <= width ? s : s.substr(0, width - 1) + "~";
}

}  // namespace detail

std::string report_text(const ProfilerSnapshot& s, std::size_t limit) {
  std::string out;
  detail::append_format(out, "%-24s %-12s %10s %11s %10s %10s %10s %10s %11s\n", "span", "category",
                        "count", "total ms", "avg ms", "min ms", "p95 ms", "max ms", "total KiB");
  for (std::size_t i = 0; i < s.rows.size() && i < limit; ++i) {
    const Aggregate& a = s.rows[i];
    detail::append_format(out, "%-24s %-12s %10llu %11.3f %10.4f %10.4f %10.4f %10.4f %11.1f\n",
                          detail::column(a.name, 24).c_str(),
                          detail::column(a.category, 12).c_str(),
                          static_cast<unsigned long long>(a.count), a.total_ms, a.avg_ms, a.min_ms,
                          a.p95_ms, a.max_ms, a.total_kb);
  }
  if (s.rows.empty()) out += "(no spans recorded)\n";
  if (s.frames.count > 0) {
    detail::append_format(out, "frames %llu  avg %.2f ms  p95 %.2f ms  max %.2f ms\n",
                          static_cast<unsigned long long>(s.frames.count), s.frames.avg_ms,
                          s.frames.p95_ms, s.frames.max_ms);
  }
  if (s.gpu_frames.count > 0) {
    detail::append_format(out, "gpu frames %llu  avg %.2f ms  p95 %.2f ms  max %.2f ms\n",
                          static_cast<unsigned long long>(s.gpu_frames.count), s.gpu_frames.avg_ms,
                          s.gpu_frames.p95_ms, s.gpu_frames.max_ms);
  }
  detail::append_format(out, "spans %llu  marks %llu  dropped %llu\n",
                        static_cast<unsigned long long>(s.counters.spans_recorded),
                        static_cast<unsigned long long>(s.counters.marks_recorded),
                        static_cast<unsigned long long>(s.counters.dropped));
  return out;
}

}  // namespace comfyvn::perf
#endif
