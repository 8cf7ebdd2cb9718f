// The CPU-side cost of a GPU scope against PERF_SCOPE, measured in the same
// run, interleaved: each iteration times a batch of PERF_SCOPE and a batch of
// PERF_VK_SCOPE (into one command buffer) or PERF_GL_SCOPE, then submits,
// waits and collects outside the timed parts. Counters: ns per scope of
// each, and their ratio. On Mesa's software drivers (no GPU)
// vkCmdWriteTimestamp and glQueryCounter are lavapipe's and llvmpipe's; on a
// real driver they are that driver's.
//
//   ./dev bench   (or build/benchmarks/bench_gpu)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>

#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/gpu/opengl.hpp>
#include <comfyvn_perf/gpu/vulkan.hpp>
#include <comfyvn_perf/perf.hpp>

#include "../examples/gpu/egl_headless.hpp"
#include "../examples/gpu/vk_headless.hpp"

namespace perf = comfyvn::perf;

namespace {

constexpr int kBatch = 512;

double elapsed_ns(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
}

void BM_VkScopeAgainstScope(benchmark::State& state) {
  static vk_headless::Device dev;
  if (!dev.ok()) {
    state.SkipWithError(("no usable Vulkan device: " + dev.problem()).c_str());
    return;
  }
  perf::gpu::VulkanContextInfo info = dev.context_info("bench");
  info.max_scopes = 2 * kBatch;
  perf::gpu::VulkanContext ctx(info);
  if (!ctx.usable()) {
    state.SkipWithError(ctx.problem().c_str());
    return;
  }
  perf::perf_profiler().set_enabled(true);
  VkCommandBuffer cb = dev.make_command_buffer();
  VkFence fence = dev.make_fence(false);
  double cpu_ns = 0, vk_ns = 0;
  std::uint64_t batches = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) {
      PERF_SCOPE("bench cpu scope", "bench");
      benchmark::ClobberMemory();
    }
    cpu_ns += elapsed_ns(t0);
    dev.begin(cb);
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) {
      PERF_VK_SCOPE(ctx, cb, "bench gpu scope");
      benchmark::ClobberMemory();
    }
    vk_ns += elapsed_ns(t0);
    dev.submit(cb, fence);
    dev.wait(fence);
    ctx.collect();
    ++batches;
  }
  const double n = static_cast<double>(batches) * kBatch;
  state.counters["scope_ns"] = cpu_ns / n;
  state.counters["vk_scope_ns"] = vk_ns / n;
  state.counters["vk/scope"] = vk_ns / cpu_ns;
  state.counters["dropped"] = static_cast<double>(ctx.stats().dropped);
  dev.vkDestroyFence(dev.device, fence, nullptr);
}
BENCHMARK(BM_VkScopeAgainstScope)->Iterations(200)->Unit(benchmark::kMicrosecond);

void BM_GlScopeAgainstScope(benchmark::State& state) {
  static egl_headless::Context egl;
  static const std::string why = egl.open();
  if (!why.empty()) {
    state.SkipWithError(("no usable OpenGL context: " + why).c_str());
    return;
  }
  perf::gpu::GlContextInfo info;
  info.get_proc_address = egl_headless::proc;
  info.name = "bench";
  info.max_scopes = 2 * kBatch;
  perf::gpu::GlContext ctx(info);
  if (!ctx.usable()) {
    state.SkipWithError(ctx.problem().c_str());
    return;
  }
  void (*finish)() = nullptr;
  egl_headless::load("glFinish", finish);
  perf::perf_profiler().set_enabled(true);
  double cpu_ns = 0, gl_ns = 0;
  std::uint64_t batches = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) {
      PERF_SCOPE("bench cpu scope", "bench");
      benchmark::ClobberMemory();
    }
    cpu_ns += elapsed_ns(t0);
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) {
      PERF_GL_SCOPE(ctx, "bench gl scope");
      benchmark::ClobberMemory();
    }
    gl_ns += elapsed_ns(t0);
    if (finish != nullptr) finish();
    ctx.collect();
    ++batches;
  }
  const double n = static_cast<double>(batches) * kBatch;
  state.counters["scope_ns"] = cpu_ns / n;
  state.counters["gl_scope_ns"] = gl_ns / n;
  state.counters["gl/scope"] = gl_ns / cpu_ns;
  state.counters["dropped"] = static_cast<double>(ctx.stats().dropped);
}
// The first use of each query object costs microseconds in llvmpipe; the
// 200 batches reuse the same queries, so that cost is spread thin.
BENCHMARK(BM_GlScopeAgainstScope)->Iterations(200)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
