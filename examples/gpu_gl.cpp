// gpu_gl: GPU scopes on a headless OpenGL context (EGL, no window): each
// frame clears a small (8 MiB) and a large (64 MiB) color target, timed on
// the CPU with PERF_SCOPE and on the GPU with PERF_GL_SCOPE, then prints
// both as one table with the context's own numbers.
//
//   build/examples/gpu_gl [--frames N] [--trace PATH] [--snapshot PATH]
//
// Exits 77 with "gpu_gl: no usable device: REASON" where no OpenGL 3.3
// context can be made (no libEGL, no display, no timer queries). On Mesa's
// llvmpipe it prints rows like
//   clear large   gpu     120   13.9   15.2   1668.0
//   clear small   gpu     120    1.9    2.3    228.0
#include <comfyvn_perf/gpu/opengl.hpp>
#include <comfyvn_perf/perf.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gpu/egl_headless.hpp"
#include "gpu/outputs.hpp"

namespace perf = comfyvn::perf;

namespace {

struct Args {
  int frames = 120;
  std::string trace;
  std::string snapshot;
};

bool parse(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--frames") == 0 && has_value) {
      char* end = nullptr;
      const long n = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || n < 1 || n > 1000000) {
        std::fprintf(stderr, "gpu_gl: --frames takes a number from 1 to 1000000\n");
        return false;
      }
      args.frames = static_cast<int>(n);
    } else if (std::strcmp(argv[i], "--trace") == 0 && has_value) {
      args.trace = argv[++i];
    } else if (std::strcmp(argv[i], "--snapshot") == 0 && has_value) {
      args.snapshot = argv[++i];
    } else {
      std::fprintf(stderr, "usage: gpu_gl [--frames N] [--trace PATH] [--snapshot PATH]\n");
      return false;
    }
  }
  return true;
}

int no_device(const std::string& why) {
  std::printf("gpu_gl: no usable device: %s\n", why.c_str());
  return 77;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) return 2;

  egl_headless::Context egl;
  if (const std::string why = egl.open(); !why.empty()) return no_device(why);
  egl_headless::ClearTargets targets;
  // 1448 x 1448 and 4096 x 4096 RGBA8: 8 and 64 MiB.
  if (const std::string why = targets.open({1448, 4096}); !why.empty()) return no_device(why);

  auto& prof = perf::perf_profiler();
  prof.set_enabled(true);
  perf::set_thread_name("render");
  perf::PerfProfiler::TraceRecorder recorder;
  if (!args.trace.empty()) recorder = prof.trace_recorder(std::chrono::seconds(10));

  perf::gpu::GlContextInfo info;
  info.get_proc_address = egl_headless::proc;
  info.name = "llvmpipe";
  perf::gpu::GlContext gpu(info);
  if (!gpu.usable()) return no_device(gpu.problem());

  for (int frame = 0; frame < args.frames; ++frame) {
    const float shade = static_cast<float>(frame % 16) / 16.0f;
    {
      PERF_SCOPE("frame", "render");
      PERF_GL_SCOPE(gpu, "frame (gpu)");
      {
        PERF_SCOPE("issue small", "render");
        PERF_GL_SCOPE(gpu, "clear small");
        targets.clear(0, shade);
      }
      {
        PERF_SCOPE("issue large", "render");
        PERF_GL_SCOPE(gpu, "clear large");
        targets.clear(1, shade);
      }
    }
    PERF_GPU_FRAME(gpu);
    PERF_FRAME();
    targets.flush();  // what a swap would do: the frame's commands start
    gpu.collect();    // the results of earlier frames; never waits
  }
  targets.finish();
  for (int i = 0; i < 100 && gpu.stats().in_flight > 0; ++i) gpu.collect();

  fmt::print("{:<14} {:<7} {:>6} {:>9} {:>9} {:>10}\n", "site", "category", "count", "avg ms",
             "p95 ms", "total ms");
  for (const auto& row : prof.aggregates()) {
    if (row.category != "render" && row.category != "gpu") continue;
    fmt::print("{:<14} {:<7} {:>6} {:>9.3f} {:>9.3f} {:>10.1f}\n", row.name, row.category,
               row.count, row.avg_ms, row.p95_ms, row.total_ms);
  }
  const perf::gpu::GpuStats s = gpu.stats();
  fmt::print(
      "gpu context '{}': scopes {} frames {} dropped {} lost {} in flight {} "
      "(time {}: {} calibrations, error {:.2f} us, drift {:.4f} ms/min)\n",
      gpu.name(), s.scopes, s.frames, s.dropped, s.lost, s.in_flight, s.time_source, s.calibrations,
      s.calibration_error_ms * 1e3, s.drift_ms_per_min);

  return gpu_example::write_outputs("gpu_gl", recorder, args.trace, args.snapshot);
}
