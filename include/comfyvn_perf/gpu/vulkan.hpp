// comfyvn_perf — Vulkan timer scopes: GPU time beside CPU time, on one
// timeline (docs/gpu.md).
//
//   comfyvn::perf::gpu::VulkanContext ctx({instance, physical_device, device, queue,
//                                          queue_family, vkGetInstanceProcAddr,
//                                          vkGetDeviceProcAddr, "main"});
//   { PERF_VK_SCOPE(ctx, cmd, "shadow pass"); vkCmdDraw(cmd, ...); }
//   ... vkQueueSubmit(...);
//   PERF_GPU_FRAME(ctx);
//   ctx.collect();  // once a frame: reads what the GPU finished, never waits
//
// Every Vulkan function is loaded through the two proc-address functions the
// application hands over: the SDK never links the Vulkan loader, and no other
// header of the SDK includes Vulkan's. A scope writes a timestamp at its
// start (top of pipe) and one at its end (bottom of pipe) into the context's
// query pool; collect() reads the pairs the GPU has finished, maps them onto
// the profiler's clock and records them as spans of category "gpu" on the
// context's track, "gpu: NAME" (gpu/track.hpp). Slots are reused after
// collect() resets them from the host, so the device needs
// `hostQueryReset` (Vulkan 1.2 core, or VK_EXT_host_query_reset) enabled.
//
// The clock map: with VK_EXT_calibrated_timestamps enabled on the device
// (and the device and CLOCK_MONOTONIC time domains offered), the driver
// reads both clocks together, and collect() re-reads them every
// `recheck_interval` without waiting on anything. Without it, the context
// measures the offset once, at construction, by submitting one timestamp
// write to the queue and waiting for it; recalibrate() does the same later.
// Those two are the only calls that use the queue or wait: make them where
// no other thread submits to the queue.
#pragma once

#include <algorithm>  // max
#include <chrono>     // intervals
#include <cmath>      // abs
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <deque>      // frame fences
#include <mutex>      // frame fences
#include <utility>    // pair
#include <string>     // name, problem
#include <thread>     // the bounded wait at destruction
#include <vector>     // queue families, time domains

#include <vulkan/vulkan.h>

#include "../core/clock.hpp"  // DefaultClock, SteadyClock
#include "../core/scope.hpp"  // Site, site_id, g_enabled
#include "track.hpp"           // GpuTrack, GpuStats, ClockMap
#include "vulkan_functions.hpp"  // VulkanFunctions

namespace comfyvn::perf::gpu {

// What a VulkanContext is made from. The handles stay the application's.
struct VulkanContextInfo {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;  // the queue the scopes' command buffers go to
  std::uint32_t queue_family = 0;
  PFN_vkGetInstanceProcAddr get_instance_proc_addr = nullptr;
  PFN_vkGetDeviceProcAddr get_device_proc_addr = nullptr;  // null: loaded through the first
  std::string name = "vulkan";  // the track is "gpu: NAME"
  std::uint32_t max_scopes = 4096;  // timestamp pairs in flight (pool: twice as many queries)
  // Use VK_EXT_calibrated_timestamps where the device has it enabled.
  bool calibrated_timestamps = true;
  // How often collect() re-reads the calibrated clocks (a few microseconds
  // each time): spans are placed from the latest point, so the tick length's
  // error counts over at most this long.
  std::chrono::milliseconds recheck_interval{100};
  // A pair still unfinished this long after its scope ended is counted as
  // lost and skipped (its command buffer was never submitted).
  std::chrono::milliseconds stale_after{5000};
  // The destructor waits at most this long for submitted pairs to finish;
  // past it, the query pool is not destroyed (the GPU may still write to
  // it) but left to VulkanContext::destroy_abandoned_pools().
  std::chrono::milliseconds destroy_wait{1000};
};

class VulkanContext {
 public:
  explicit VulkanContext(const VulkanContextInfo& info);
  ~VulkanContext();
  VulkanContext(const VulkanContext&) = delete;
  VulkanContext& operator=(const VulkanContext&) = delete;

  // False when the device cannot time anything; scopes then record nothing.
  bool usable() const { return pool_ != VK_NULL_HANDLE && track_.recording(); }
  // Why not, in one line ("" when usable).
  const std::string& problem() const { return problem_; }

  // Reads the finished pairs into spans; once a frame. Never waits on the
  // GPU. Calls from several threads are serialised.
  void collect();

  // PERF_GPU_FRAME(ctx): closes the GPU frame.
  void frame_boundary() noexcept { track_.frame_boundary(); }
  // PERF_GPU_FRAME(ctx, fence): the same, with the fence of the frame's
  // last submission. Where the driver's result reads wait for the device
  // (GpuStats::reads_wait: lavapipe), collect() then reads only frames
  // whose fence (or a later frame's) it has seen signaled, so it never
  // waits. A fence reset before collect() saw it signaled holds its frame
  // back until a later frame's fence is seen. The fences must stay valid
  // until the context is destroyed.
  void frame_boundary(VkFence fence) noexcept;

  // Measures the clock map again. With calibrated timestamps this reads the
  // driver's clocks (never waits); without, it submits one timestamp write
  // to the queue and waits for it. Returns false when it could not.
  bool recalibrate();

  GpuStats stats() const;

  // After vkDeviceWaitIdle(device), before vkDestroyDevice(device): destroys
  // the query pools of contexts destroyed while timestamps were still to
  // come (past destroy_wait). Returns how many.
  static std::size_t destroy_abandoned_pools(VkDevice device);

  // The scope's side (PERF_VK_SCOPE); kNoSlot when not recording.
  std::uint32_t begin(VkCommandBuffer cmd, std::uint32_t site_id) noexcept {
    if (pool_ == VK_NULL_HANDLE) return detail::GpuTrack::kNoSlot;
    const std::uint32_t slot = track_.reserve(site_id);
    if (slot != detail::GpuTrack::kNoSlot)
      fn_.cmd_write_timestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool_, 2 * slot);
    return slot;
  }
  void end(VkCommandBuffer cmd, std::uint32_t slot) noexcept {
    fn_.cmd_write_timestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, 2 * slot + 1);
    track_.ended(slot);
  }

 private:

  bool load(const VulkanContextInfo& info);
  std::uint64_t frames_done();
  bool calibrate_driver();
  bool calibrate_by_submit();
  void set_map(std::uint64_t gpu_ns, std::uint64_t steady_ns, double error_ns);
  std::uint64_t to_ns(std::uint64_t raw) const {
    return static_cast<std::uint64_t>(static_cast<double>(raw & mask_) * period_ns_);
  }

  VulkanContextInfo info_;
  detail::VulkanFunctions fn_;
  detail::GpuTrack track_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  std::string problem_;
  double period_ns_ = 1.0;
  std::uint64_t mask_ = ~std::uint64_t{0};
  bool driver_clocks_ = false;  // calibrated timestamps in use
  bool reads_wait_ = false;     // vkGetQueryPoolResults waits for idle (lavapipe)
  // The fences of recent frames, oldest first, and how many frames are
  // known done (every frame before a signaled fence's).
  std::mutex fence_mu_;
  // Serialises collect(), recalibrate() and stats(): the clock map and the
  // calibration figures below.
  mutable std::mutex mu_;
  std::deque<std::pair<std::uint64_t, VkFence>> fences_;
  std::atomic<bool> have_fences_{false};
  std::uint64_t frames_done_ = 0;
  std::uint64_t stale_ticks_ = 0;
  std::uint64_t recheck_ticks_ = 0;
  std::uint64_t last_check_ticks_ = 0;
  detail::CalibrationLog calibration_;  // under mu_
};

// The RAII half of PERF_VK_SCOPE.
class VkScope {
 public:
  VkScope(VulkanContext& ctx, VkCommandBuffer cmd, const Site& site) noexcept {
    if (!perf::detail::g_enabled.load(perf::detail::kRelaxed)) return;
    const std::uint32_t slot = ctx.begin(cmd, perf::detail::site_id(site));
    if (slot == detail::GpuTrack::kNoSlot) return;
    ctx_ = &ctx;
    cmd_ = cmd;
    slot_ = slot;
  }
  ~VkScope() {
    if (ctx_ != nullptr) ctx_->end(cmd_, slot_);
  }
  VkScope(const VkScope&) = delete;
  VkScope& operator=(const VkScope&) = delete;

 private:
  VulkanContext* ctx_ = nullptr;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  std::uint32_t slot_ = 0;
};

// ---- inline definitions (this header is included only where Vulkan is) ----

inline VulkanContext::VulkanContext(const VulkanContextInfo& info)
    : info_(info), track_(info.name, info.max_scopes == 0 ? 1 : info.max_scopes) {
  const double ns_per_tick = track_.ns_per_tick();
  stale_ticks_ = static_cast<std::uint64_t>(
      static_cast<double>(std::chrono::nanoseconds(info.stale_after).count()) / ns_per_tick);
  recheck_ticks_ = static_cast<std::uint64_t>(
      static_cast<double>(std::chrono::nanoseconds(info.recheck_interval).count()) / ns_per_tick);
  if (!load(info)) return;
  VkQueryPoolCreateInfo qi{};
  qi.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
  qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
  qi.queryCount = 2 * track_.capacity();
  VkQueryPool pool = VK_NULL_HANDLE;
  if (fn_.create_query_pool(info.device, &qi, nullptr, &pool) != VK_SUCCESS) {
    problem_ = "vkCreateQueryPool failed";
    return;
  }
  fn_.reset_query_pool(info.device, pool, 0, qi.queryCount);
  pool_ = pool;
  const bool ok = driver_clocks_ ? calibrate_driver() : calibrate_by_submit();
  if (!ok) {
    fn_.destroy_query_pool(info.device, pool_, nullptr);
    pool_ = VK_NULL_HANDLE;
    if (problem_.empty()) problem_ = "could not calibrate the GPU clock";
  }
}

inline VulkanContext::~VulkanContext() {
  if (pool_ == VK_NULL_HANDLE) return;
  // Pairs already submitted finish within destroy_wait; their spans are
  // kept. Where reads wait (lavapipe) the frames' fences still decide what
  // is read: they must outlive the context.
  const auto deadline = std::chrono::steady_clock::now() + info_.destroy_wait;
  for (;;) {
    collect();
    if (!track_.in_flight()) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      // Timestamps still to come (a command buffer not yet finished, or
      // never submitted) would be written into a destroyed pool: the pool
      // waits for destroy_abandoned_pools() instead.
      std::lock_guard<std::mutex> lock(detail::abandoned_mutex());
      detail::abandoned_pools().push_back({info_.device, pool_, fn_.destroy_query_pool});
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  fn_.destroy_query_pool(info_.device, pool_, nullptr);
}

inline bool VulkanContext::load(const VulkanContextInfo& info) {
  if (info.get_instance_proc_addr == nullptr || info.instance == VK_NULL_HANDLE ||
      info.physical_device == VK_NULL_HANDLE || info.device == VK_NULL_HANDLE) {
    problem_ = "VulkanContextInfo needs instance, physical_device, device and get_instance_proc_addr";
    return false;
  }
  if (const char* why = fn_.load(info.get_instance_proc_addr, info.instance,
                                 info.get_device_proc_addr, info.device)) {
    problem_ = why;
    return false;
  }
  VkPhysicalDeviceProperties props{};
  fn_.get_physical_device_properties(info.physical_device, &props);
  std::uint32_t n = 0;
  fn_.get_queue_family_properties(info.physical_device, &n, nullptr);
  std::vector<VkQueueFamilyProperties> families(n);
  fn_.get_queue_family_properties(info.physical_device, &n, families.data());
  if (info.queue_family >= n) {
    problem_ = "queue_family is not a queue family of physical_device";
    return false;
  }
  const std::uint32_t bits = families[info.queue_family].timestampValidBits;
  if (bits == 0 || props.limits.timestampPeriod <= 0) {
    problem_ = "the queue family has no timestamps (timestampValidBits 0)";
    return false;
  }
  if (fn_.get_physical_device_properties2 != nullptr && props.apiVersion >= VK_API_VERSION_1_2) {
    // lavapipe's vkGetQueryPoolResults waits for the device to go idle,
    // even for results that are ready.
    VkPhysicalDeviceDriverProperties driver{};
    driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
    VkPhysicalDeviceProperties2 p2{};
    p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    p2.pNext = &driver;
    fn_.get_physical_device_properties2(info.physical_device, &p2);
    reads_wait_ = driver.driverID == VK_DRIVER_ID_MESA_LLVMPIPE;
  }
  mask_ = bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
  period_ns_ = static_cast<double>(props.limits.timestampPeriod);
  if (info.calibrated_timestamps && fn_.get_calibrated_timestamps != nullptr &&
      fn_.get_time_domains != nullptr) {
    std::uint32_t count = 0;
    fn_.get_time_domains(info.physical_device, &count, nullptr);
    std::vector<VkTimeDomainEXT> domains(count);
    fn_.get_time_domains(info.physical_device, &count, domains.data());
    bool device = false, monotonic = false;
    for (VkTimeDomainEXT d : domains) {
      device = device || d == VK_TIME_DOMAIN_DEVICE_EXT;
      monotonic = monotonic || d == VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT;
    }
    driver_clocks_ = device && monotonic;
  }
  if (!driver_clocks_ &&
      (info.queue == VK_NULL_HANDLE || fn_.create_command_pool == nullptr ||
       fn_.queue_submit == nullptr || fn_.create_fence == nullptr ||
       fn_.wait_for_fences == nullptr)) {
    problem_ = "no calibrated timestamps and no queue to measure the clock offset on";
    return false;
  }
  return true;
}

inline void VulkanContext::set_map(std::uint64_t gpu_ns, std::uint64_t steady_ns,
                                   double error_ns) {
  // A (ticks, steady) pair read back to back places steady_ns on the tick axis.
  const std::uint64_t t0 = DefaultClock::now();
  const std::uint64_t s = SteadyClock::now();
  const std::uint64_t t1 = DefaultClock::now();
  // The pair's own window adds to the uncertainty.
  error_ns += static_cast<double>(t1 - t0) * track_.ns_per_tick() / 2;
  const double correction_ns = track_.clock().set(gpu_ns, steady_ns, error_ns, t0 + (t1 - t0) / 2,
                                                  s, track_.current_ns_per_tick());
  calibration_.note(correction_ns, s, error_ns);
  last_check_ticks_ = t1;
}

inline bool VulkanContext::calibrate_driver() {
  VkCalibratedTimestampInfoEXT infos[2]{};
  infos[0].sType = VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT;
  infos[0].timeDomain = VK_TIME_DOMAIN_DEVICE_EXT;
  infos[1].sType = VK_STRUCTURE_TYPE_CALIBRATED_TIMESTAMP_INFO_EXT;
  infos[1].timeDomain = VK_TIME_DOMAIN_CLOCK_MONOTONIC_EXT;
  // The best of a few reads: the smallest deviation the driver reports.
  std::uint64_t best[2]{};
  std::uint64_t best_dev = ~std::uint64_t{0};
  for (int i = 0; i < 4; ++i) {
    std::uint64_t ts[2]{};
    std::uint64_t dev = 0;
    if (fn_.get_calibrated_timestamps(info_.device, 2, infos, ts, &dev) != VK_SUCCESS) {
      problem_ = "vkGetCalibratedTimestampsEXT failed";
      return false;
    }
    if (dev < best_dev) {
      best_dev = dev;
      best[0] = ts[0];
      best[1] = ts[1];
    }
  }
  set_map(to_ns(best[0]), best[1], static_cast<double>(best_dev));
  return true;
}

inline bool VulkanContext::calibrate_by_submit() {
  std::uint64_t raw = 0, mid = 0, window = 0;
  if (!fn_.timestamp_round_trip(info_.device, info_.queue, info_.queue_family, &raw, &mid,
                                &window)) {
    problem_ = "measuring the GPU clock offset failed (queue submission)";
    return false;
  }
  set_map(to_ns(raw), mid, static_cast<double>(window) / 2);
  return true;
}

inline bool VulkanContext::recalibrate() {
  if (pool_ == VK_NULL_HANDLE) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return driver_clocks_ ? calibrate_driver() : calibrate_by_submit();
}

inline void VulkanContext::collect() {
  if (pool_ == VK_NULL_HANDLE) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (driver_clocks_ && DefaultClock::now() - last_check_ticks_ >= recheck_ticks_) calibrate_driver();
  const VkDevice d = info_.device;
  // Where a read would wait for the device, only frames whose fence was
  // seen signaled are read; elsewhere reads never wait, and a pair is read
  // as soon as the GPU has written it.
  const std::uint64_t done = reads_wait_ && have_fences_.load(std::memory_order_acquire)
                                 ? frames_done()
                                 : ~std::uint64_t{0};
  track_.collect_slots(
      [&](std::uint32_t i, std::uint64_t* begin_ns, std::uint64_t* end_ns) {
        // Each query's value and availability, without waiting.
        std::uint64_t v[4]{};
        const VkResult r = fn_.get_query_pool_results(
            d, pool_, 2 * i, 2, sizeof v, v, 2 * sizeof(std::uint64_t),
            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WITH_AVAILABILITY_BIT);
        if ((r != VK_SUCCESS && r != VK_NOT_READY) || v[1] == 0 || v[3] == 0) return false;
        *begin_ns = to_ns(v[0]);
        *end_ns = to_ns(v[2]);
        return true;
      },
      [&](std::uint32_t first, std::uint32_t n) { fn_.reset_query_pool(d, pool_, 2 * first, 2 * n); },
      stale_ticks_, done);
}

inline void VulkanContext::frame_boundary(VkFence fence) noexcept {
  const std::uint64_t frame = track_.current_frame();
  track_.frame_boundary();
  if (fence == VK_NULL_HANDLE || fn_.get_fence_status == nullptr) return;
  std::lock_guard<std::mutex> lock(fence_mu_);
  fences_.emplace_back(frame, fence);
  if (fences_.size() > 64) fences_.pop_front();
  have_fences_.store(true, std::memory_order_release);
}

inline std::uint64_t VulkanContext::frames_done() {
  std::lock_guard<std::mutex> lock(fence_mu_);
  // The newest frame whose fence has signaled: it and every frame before it
  // are done (a fence signals after all earlier submissions to the queue).
  // A fence the application reset and reused belongs to a newer frame
  // further on in the list, checked first.
  for (auto it = fences_.rbegin(); it != fences_.rend(); ++it) {
    if (it->first < frames_done_) break;
    if (fn_.get_fence_status(info_.device, it->second) == VK_SUCCESS) {
      frames_done_ = it->first + 1;
      break;
    }
  }
  while (!fences_.empty() && fences_.front().first < frames_done_) fences_.pop_front();
  return frames_done_;
}

inline std::size_t VulkanContext::destroy_abandoned_pools(VkDevice device) {
  std::lock_guard<std::mutex> lock(detail::abandoned_mutex());
  auto& pools = detail::abandoned_pools();
  std::size_t n = 0;
  for (auto it = pools.begin(); it != pools.end();) {
    if (it->device != device) {
      ++it;
      continue;
    }
    it->destroy(device, it->pool, nullptr);
    it = pools.erase(it);
    ++n;
  }
  return n;
}

inline GpuStats VulkanContext::stats() const {
  GpuStats s;
  std::lock_guard<std::mutex> lock(mu_);
  track_.fill(s);
  s.reads_wait = reads_wait_;
  s.time_source = driver_clocks_ ? "calibrated" : "measured";
  calibration_.fill(s);
  return s;
}

}  // namespace comfyvn::perf::gpu

#ifndef COMFYVN_PERF_GPU_CAT
#define COMFYVN_PERF_GPU_CAT2(a, b) a##b
#define COMFYVN_PERF_GPU_CAT(a, b) COMFYVN_PERF_GPU_CAT2(a, b)
#endif

#if COMFYVN_PERF_ENABLED
// A GPU span for the enclosing block: a timestamp at its start and one at its
// end, written into `command_buffer`. `name` is a string literal.
#define COMFYVN_PERF_VK_SCOPE_IMPL(ctx, cmd, name, n)                                     \
  static ::comfyvn::perf::Site COMFYVN_PERF_GPU_CAT(comfyvn_perf_vk_site_, n){                \
      name, "gpu", __FILE__, __func__, static_cast<std::uint32_t>(__LINE__)};             \
  ::comfyvn::perf::gpu::VkScope COMFYVN_PERF_GPU_CAT(comfyvn_perf_vk_scope_, n) {             \
    ctx, cmd, COMFYVN_PERF_GPU_CAT(comfyvn_perf_vk_site_, n)                                  \
  }
#define PERF_VK_SCOPE(ctx, command_buffer, name) \
  COMFYVN_PERF_VK_SCOPE_IMPL(ctx, command_buffer, name, __COUNTER__)
#else
#define PERF_VK_SCOPE(ctx, command_buffer, name) \
  (static_cast<void>(sizeof(ctx)), static_cast<void>(sizeof(command_buffer)), \
   static_cast<void>(sizeof(name)))
#endif
