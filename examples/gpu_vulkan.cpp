// gpu_vulkan: GPU time beside CPU time with Vulkan timer scopes.
//
//   gpu_vulkan [--frames N] [--trace PATH] [--snapshot PATH]
//
// Renders nothing on screen: each frame fills an 8 MiB and a 64 MiB buffer
// and copies the larger one, on the first Vulkan device with timestamps
// (lavapipe, Mesa's software driver, where there is no GPU). Two frames are
// in flight; PERF_VK_SCOPE times the transfers on the GPU, PERF_SCOPE the
// CPU side, and ctx.collect() reads finished timestamps once a frame without
// waiting. At exit it prints a CPU/GPU table; --trace writes a Chrome trace
// (the GPU work is the track "gpu: main"), --snapshot the dashboard JSON.
// Without a usable device it prints why and exits 77.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include <comfyvn_perf/gpu/vulkan.hpp>
#include <comfyvn_perf/perf.hpp>

#include "gpu/outputs.hpp"
#include "gpu/vk_headless.hpp"

namespace perf = comfyvn::perf;

namespace {

struct Args {
  int frames = 120;
  std::string trace;
  std::string snapshot;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "gpu_vulkan: %s\nusage: gpu_vulkan [--frames N] [--trace PATH] [--snapshot PATH]\n",
               why);
  std::exit(64);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* what) -> std::string {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') usage(what);
      return argv[++i];
    };
    if (arg == "--frames") {
      const std::string v = value("--frames needs a number");
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n < 1 || n > 1'000'000) usage("--frames: 1 to 1000000");
      a.frames = static_cast<int>(n);
    } else if (arg == "--trace") {
      a.trace = value("--trace needs a file path");
    } else if (arg == "--snapshot") {
      a.snapshot = value("--snapshot needs a file path");
    } else {
      usage(("unknown argument " + arg).c_str());
    }
  }
  return a;
}

// Transfer writes before the next transfer's reads and writes.
void transfer_barrier(vk_headless::Device& dev, VkCommandBuffer cb) {
  VkMemoryBarrier b{};
  b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  dev.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                           &b, 0, nullptr, 0, nullptr);
}

void print_table(const perf::gpu::GpuStats& st) {
  auto rows = perf::perf_profiler().aggregates();
  // CPU rows first, then the GPU's, each by total time.
  std::stable_sort(rows.begin(), rows.end(), [](const perf::Aggregate& a, const perf::Aggregate& b) {
    return (a.category == "gpu") < (b.category == "gpu");
  });
  fmt::print("\n{:<4} {:<22} {:>7} {:>10} {:>10} {:>11}\n", "", "site", "count", "avg ms", "p95 ms",
             "total ms");
  for (const auto& r : rows) {
    const bool gpu = r.category == "gpu";
    fmt::print("{:<4} {:<22} {:>7} {:>10.3f} {:>10.3f} {:>11.2f}\n", gpu ? "GPU" : "CPU",
               r.name.size() > 22 ? r.name.substr(0, 21) + "~" : r.name, r.count, r.avg_ms, r.p95_ms,
               r.total_ms);
  }
  fmt::print(
      "\nGPU track \"gpu: main\": {} scopes, {} frames, {} dropped, {} lost; clock {} "
      "(error {:.4f} ms, {} checks, drift {:.4f} ms/min)\n",
      st.scopes, st.frames, st.dropped, st.lost, st.time_source, st.calibration_error_ms,
      st.calibrations, st.drift_ms_per_min);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  perf::perf_profiler().set_enabled(true);
  perf::set_thread_name("main");

  vk_headless::Device dev;
  if (!dev.ok()) {
    std::printf("gpu_vulkan: no usable device: %s\n", dev.problem().c_str());
    return 77;
  }
  const perf::gpu::VulkanContextInfo info = dev.context_info("main");
  int status = 0;
  {
    perf::gpu::VulkanContext ctx(info);
    if (!ctx.usable()) {
      std::printf("gpu_vulkan: no usable device: %s\n", ctx.problem().c_str());
      return 77;
    }
    fmt::print("gpu_vulkan: {} ({}), {} frames\n", dev.device_name(),
               ctx.stats().time_source == "calibrated" ? "calibrated timestamps" : "measured offset",
               args.frames);
    perf::PerfProfiler::TraceRecorder recorder;
    if (!args.trace.empty()) recorder = perf::perf_profiler().trace_recorder(std::chrono::seconds(60));

    constexpr VkDeviceSize kSmall = 8u << 20, kLarge = 64u << 20;
    vk_headless::Buffer small = dev.make_buffer(kSmall), large = dev.make_buffer(kLarge),
                        copy = dev.make_buffer(kLarge);
    if (!small.buffer || !large.buffer || !copy.buffer) {
      std::printf("gpu_vulkan: no usable device: could not allocate 136 MiB of buffers\n");
      return 77;
    }
    constexpr int kInFlight = 2;
    VkCommandBuffer cbs[kInFlight];
    VkFence fences[kInFlight];
    for (int i = 0; i < kInFlight; ++i) {
      cbs[i] = dev.make_command_buffer();
      fences[i] = dev.make_fence(true);
    }

    for (int f = 0; f < args.frames; ++f) {
      PERF_SCOPE("frame", "render");
      const int k = f % kInFlight;
      VkCommandBuffer cb = cbs[k];
      {
        PERF_SCOPE("wait for a free frame", "render");
        dev.wait(fences[k]);
      }
      {
        PERF_SCOPE("record", "render");
        dev.begin(cb);
        PERF_VK_SCOPE(ctx, cb, "transfers");
        {
          PERF_VK_SCOPE(ctx, cb, "fill 8 MiB");
          dev.vkCmdFillBuffer(cb, small.buffer, 0, kSmall, 0x01010101u * static_cast<std::uint32_t>(f & 0xff));
        }
        {
          PERF_VK_SCOPE(ctx, cb, "fill 64 MiB");
          dev.vkCmdFillBuffer(cb, large.buffer, 0, kLarge, 0x02020202u);
        }
        transfer_barrier(dev, cb);
        {
          PERF_VK_SCOPE(ctx, cb, "copy 64 MiB");
          VkBufferCopy region{0, 0, kLarge};
          dev.vkCmdCopyBuffer(cb, large.buffer, copy.buffer, 1, &region);
        }
      }
      {
        PERF_SCOPE("submit", "render");
        if (!dev.submit(cb, fences[k])) {
          std::fprintf(stderr, "gpu_vulkan: vkQueueSubmit failed\n");
          status = 1;
          break;
        }
      }
      PERF_GPU_FRAME(ctx, fences[k]);  // its fence: collect() never waits
      {
        PERF_SCOPE("collect", "render");
        ctx.collect();  // never waits: results of earlier frames
      }
      PERF_FRAME();
    }

    // The last frames' results: wait for the device once, then read them.
    dev.vkDeviceWaitIdle(dev.device);
    for (int i = 0; i < 1000 && ctx.stats().in_flight > 0; ++i) {
      ctx.collect();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ctx.collect();
    print_table(ctx.stats());

    if (gpu_example::write_outputs("gpu_vulkan", recorder, args.trace, args.snapshot) != 0)
      status = 1;
    for (int i = 0; i < kInFlight; ++i) dev.vkDestroyFence(dev.device, fences[i], nullptr);
    dev.destroy(small);
    dev.destroy(large);
    dev.destroy(copy);
  }
  return status;
}
