// 01-scope: instrument a function with PERF_SCOPE and print the dashboard.
// The SDK's definitions come from this program's implementation file,
// examples/perf_impl.cpp (COMFYVN_PERF_IMPLEMENTATION, docs/integration.md).
#include <comfyvn_perf/perf.hpp>

#include <fmt/core.h>

#include <cmath>

namespace perf = comfyvn::perf;

double simulate(int n) {
  PERF_SCOPE("simulate", "physics");
  double acc = 0;
  for (int i = 0; i < n; ++i) {
    PERF_SCOPE("integrate", "physics");
    acc += std::sqrt(static_cast<double>(i));
  }
  return acc;
}

int main() {
  perf::perf_profiler().set_enabled(true);  // or COMFYVN_ENABLE_PERF=1
  double total = 0;
  for (int frame = 0; frame < 100; ++frame) {
    total += simulate(1000);
    PERF_FRAME();
  }
  for (const auto& row : perf::perf_profiler().aggregates()) {
    fmt::print("{:<10} {:<8} count={:<7} total={:.3f} ms p95={:.4f} ms\n", row.name, row.category,
               row.count, row.total_ms, row.p95_ms);
  }
  fmt::print("checksum {:.1f}\n", total);
  return 0;
}

// Build and run:
//   ./dev demo            (or: meson setup build && meson compile -C build)
//   ./build/examples/01-scope
// Expected output (times vary):
//   integrate  physics  count=100000  total=2.310 ms p95=0.0000 ms
//   simulate   physics  count=100     total=3.012 ms p95=0.0318 ms
//   checksum 2107674.7
