// What the GPU examples write at exit: --trace (the recorder's Chrome trace)
// and --snapshot (the dashboard JSON). Returns 0, or 1 when one could not be
// written (the reason goes to stderr).
#pragma once

#include <cstdio>
#include <string>

#include <fmt/core.h>

#include <comfyvn_perf/perf.hpp>

namespace gpu_example {

inline int write_outputs(const char* program, comfyvn::perf::PerfProfiler::TraceRecorder& recorder,
                         const std::string& trace, const std::string& snapshot) {
  int status = 0;
  if (!trace.empty()) {
    if (const std::string e = recorder.write(trace); !e.empty()) {
      std::fprintf(stderr, "%s: --trace: %s\n", program, e.c_str());
      status = 1;
    } else {
      fmt::print("trace written to {}\n", trace);
    }
  }
  if (!snapshot.empty()) {
    if (const std::string e = comfyvn::perf::perf_profiler().write_dashboard(snapshot); !e.empty()) {
      std::fprintf(stderr, "%s: --snapshot: %s\n", program, e.c_str());
      status = 1;
    } else {
      fmt::print("dashboard snapshot written to {}\n", snapshot);
    }
  }
  return status;
}

}  // namespace gpu_example
