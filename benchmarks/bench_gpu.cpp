// The CPU-side cost of a GPU scope against PERF_SCOPE, measured in the same
// run, interleaved: each iteration times a batch of PERF_SCOPE and a batch of
// PERF_VK_SCOPE (into one command buffer), then submits, waits and collects
// outside the timed parts. Counters: ns per scope of each, and their ratio.
// On lavapipe (no GPU) vkCmdWriteTimestamp is lavapipe's command recording;
// on a real driver it is that driver's.
//
//   ./dev bench   (or build/benchmarks/bench_gpu)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>

#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/gpu/vulkan.hpp>
#include <comfyvn_perf/perf.hpp>

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
  perf::gpu::VulkanContextInfo info;
  info.instance = dev.instance;
  info.physical_device = dev.physical_device;
  info.device = dev.device;
  info.queue = dev.queue;
  info.queue_family = dev.queue_family;
  info.get_instance_proc_addr = dev.get_instance_proc_addr;
  info.get_device_proc_addr = dev.get_device_proc_addr;
  info.name = "bench";
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

}  // namespace

BENCHMARK_MAIN();
