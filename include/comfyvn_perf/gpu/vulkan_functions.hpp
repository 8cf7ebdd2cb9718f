// comfyvn_perf — the Vulkan functions a VulkanContext calls, loaded through
// the application's vkGetInstanceProcAddr and vkGetDeviceProcAddr (the SDK
// never links the Vulkan loader), and the pools contexts left behind.
// Included by gpu/vulkan.hpp only.
#pragma once

#include <cstdint>  // uint64_t
#include <mutex>    // abandoned pools
#include <vector>   // abandoned pools

#include <vulkan/vulkan.h>

#include "../core/clock.hpp"  // SteadyClock

namespace comfyvn::perf::gpu::detail {

struct VulkanFunctions {
  PFN_vkGetPhysicalDeviceProperties get_physical_device_properties = nullptr;
  PFN_vkGetPhysicalDeviceQueueFamilyProperties get_queue_family_properties = nullptr;
  PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT get_time_domains = nullptr;
  PFN_vkGetCalibratedTimestampsEXT get_calibrated_timestamps = nullptr;
  PFN_vkCreateQueryPool create_query_pool = nullptr;
  PFN_vkDestroyQueryPool destroy_query_pool = nullptr;
  PFN_vkResetQueryPool reset_query_pool = nullptr;
  PFN_vkGetQueryPoolResults get_query_pool_results = nullptr;
  PFN_vkCmdWriteTimestamp cmd_write_timestamp = nullptr;
  PFN_vkCreateCommandPool create_command_pool = nullptr;
  PFN_vkDestroyCommandPool destroy_command_pool = nullptr;
  PFN_vkAllocateCommandBuffers allocate_command_buffers = nullptr;
  PFN_vkBeginCommandBuffer begin_command_buffer = nullptr;
  PFN_vkEndCommandBuffer end_command_buffer = nullptr;
  PFN_vkQueueSubmit queue_submit = nullptr;
  PFN_vkCreateFence create_fence = nullptr;
  PFN_vkDestroyFence destroy_fence = nullptr;
  PFN_vkWaitForFences wait_for_fences = nullptr;
  PFN_vkGetFenceStatus get_fence_status = nullptr;
  PFN_vkGetPhysicalDeviceProperties2 get_physical_device_properties2 = nullptr;

  // Loads every function; nullptr when the context can work, else why not.
  const char* load(PFN_vkGetInstanceProcAddr gipa, VkInstance instance,
                   PFN_vkGetDeviceProcAddr gdpa, VkDevice device) {
    const auto inst = [&](const char* n) { return gipa(instance, n); };
    if (gdpa == nullptr) gdpa = reinterpret_cast<PFN_vkGetDeviceProcAddr>(inst("vkGetDeviceProcAddr"));
    if (gdpa == nullptr) return "vkGetDeviceProcAddr not found";
    const auto dev = [&](const char* n) { return gdpa(device, n); };
    get_physical_device_properties =
        reinterpret_cast<PFN_vkGetPhysicalDeviceProperties>(inst("vkGetPhysicalDeviceProperties"));
    get_queue_family_properties = reinterpret_cast<PFN_vkGetPhysicalDeviceQueueFamilyProperties>(
        inst("vkGetPhysicalDeviceQueueFamilyProperties"));
    get_time_domains = reinterpret_cast<PFN_vkGetPhysicalDeviceCalibrateableTimeDomainsEXT>(
        inst("vkGetPhysicalDeviceCalibrateableTimeDomainsEXT"));
    get_calibrated_timestamps =
        reinterpret_cast<PFN_vkGetCalibratedTimestampsEXT>(dev("vkGetCalibratedTimestampsEXT"));
    create_query_pool = reinterpret_cast<PFN_vkCreateQueryPool>(dev("vkCreateQueryPool"));
    destroy_query_pool = reinterpret_cast<PFN_vkDestroyQueryPool>(dev("vkDestroyQueryPool"));
    reset_query_pool = reinterpret_cast<PFN_vkResetQueryPool>(dev("vkResetQueryPool"));
    if (reset_query_pool == nullptr)
      reset_query_pool = reinterpret_cast<PFN_vkResetQueryPool>(dev("vkResetQueryPoolEXT"));
    get_query_pool_results =
        reinterpret_cast<PFN_vkGetQueryPoolResults>(dev("vkGetQueryPoolResults"));
    cmd_write_timestamp = reinterpret_cast<PFN_vkCmdWriteTimestamp>(dev("vkCmdWriteTimestamp"));
    create_command_pool = reinterpret_cast<PFN_vkCreateCommandPool>(dev("vkCreateCommandPool"));
    destroy_command_pool =
        reinterpret_cast<PFN_vkDestroyCommandPool>(dev("vkDestroyCommandPool"));
    allocate_command_buffers =
        reinterpret_cast<PFN_vkAllocateCommandBuffers>(dev("vkAllocateCommandBuffers"));
    begin_command_buffer = reinterpret_cast<PFN_vkBeginCommandBuffer>(dev("vkBeginCommandBuffer"));
    end_command_buffer = reinterpret_cast<PFN_vkEndCommandBuffer>(dev("vkEndCommandBuffer"));
    queue_submit = reinterpret_cast<PFN_vkQueueSubmit>(dev("vkQueueSubmit"));
    create_fence = reinterpret_cast<PFN_vkCreateFence>(dev("vkCreateFence"));
    destroy_fence = reinterpret_cast<PFN_vkDestroyFence>(dev("vkDestroyFence"));
    wait_for_fences = reinterpret_cast<PFN_vkWaitForFences>(dev("vkWaitForFences"));
    get_fence_status = reinterpret_cast<PFN_vkGetFenceStatus>(dev("vkGetFenceStatus"));
    get_physical_device_properties2 = reinterpret_cast<PFN_vkGetPhysicalDeviceProperties2>(
        inst("vkGetPhysicalDeviceProperties2"));
    if (get_physical_device_properties == nullptr || get_queue_family_properties == nullptr ||
        create_query_pool == nullptr || destroy_query_pool == nullptr ||
        get_query_pool_results == nullptr || cmd_write_timestamp == nullptr) {
      return "a core Vulkan function was not found";
    }
    if (reset_query_pool == nullptr) {
      return "vkResetQueryPool not found: enable hostQueryReset (Vulkan 1.2 or VK_EXT_host_query_reset)";
    }
    return nullptr;
  }

  // Submits one timestamp write to `queue` and waits for it, five times;
  // keeps the try with the shortest CPU window around the submission: its
  // raw GPU value, the window's middle and length (steady ns).
  bool timestamp_round_trip(VkDevice d, VkQueue queue, std::uint32_t family,
                            std::uint64_t* raw_out, std::uint64_t* mid_steady,
                            std::uint64_t* window_ns) {
    VkQueryPoolCreateInfo qi{};
    qi.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = 1;
    VkQueryPool qp = VK_NULL_HANDLE;
    VkCommandPoolCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    ci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    ci.queueFamilyIndex = family;
    VkCommandPool cp = VK_NULL_HANDLE;
    VkFenceCreateInfo fi{};
    fi.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    bool ok = create_query_pool(d, &qi, nullptr, &qp) == VK_SUCCESS &&
              create_command_pool(d, &ci, nullptr, &cp) == VK_SUCCESS;
    std::uint64_t best_raw = 0, best_mid = 0, best_window = ~std::uint64_t{0};
    for (int attempt = 0; ok && attempt < 5; ++attempt) {
      // A command buffer per attempt (freed with the pool), and a fence.
      VkCommandBufferAllocateInfo ai{};
      ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
      ai.commandPool = cp;
      ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
      ai.commandBufferCount = 1;
      VkCommandBuffer cb = VK_NULL_HANDLE;
      VkCommandBufferBeginInfo bi{};
      bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
      bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
      ok = allocate_command_buffers(d, &ai, &cb) == VK_SUCCESS &&
           begin_command_buffer(cb, &bi) == VK_SUCCESS;
      if (!ok) break;
      reset_query_pool(d, qp, 0, 1);
      cmd_write_timestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, qp, 0);
      ok = end_command_buffer(cb) == VK_SUCCESS;
      if (!ok) break;
      VkFence f = VK_NULL_HANDLE;
      ok = create_fence(d, &fi, nullptr, &f) == VK_SUCCESS;
      if (!ok) break;
      VkSubmitInfo si{};
      si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
      si.commandBufferCount = 1;
      si.pCommandBuffers = &cb;
      const std::uint64_t before = SteadyClock::now();
      ok = queue_submit(queue, 1, &si, f) == VK_SUCCESS &&
           wait_for_fences(d, 1, &f, VK_TRUE, 1'000'000'000) == VK_SUCCESS;
      const std::uint64_t after = SteadyClock::now();
      destroy_fence(d, f, nullptr);
      std::uint64_t raw = 0;
      ok = ok && get_query_pool_results(d, qp, 0, 1, sizeof raw, &raw, sizeof raw,
                                        VK_QUERY_RESULT_64_BIT) == VK_SUCCESS;
      if (!ok) break;
      if (after - before < best_window) {
        best_window = after - before;
        best_mid = before + (after - before) / 2;
        best_raw = raw;
      }
    }
    if (cp != VK_NULL_HANDLE) destroy_command_pool(d, cp, nullptr);
    if (qp != VK_NULL_HANDLE) destroy_query_pool(d, qp, nullptr);
    if (!ok) return false;
    *raw_out = best_raw;
    *mid_steady = best_mid;
    *window_ns = best_window;
    return true;
  }
};

// Query pools whose context went away with timestamps still to come.
struct AbandonedPool {
  VkDevice device;
  VkQueryPool pool;
  PFN_vkDestroyQueryPool destroy;
};
inline std::mutex& abandoned_mutex() {
  static std::mutex mu;
  return mu;
}
inline std::vector<AbandonedPool>& abandoned_pools() {
  static std::vector<AbandonedPool> pools;
  return pools;
}

}  // namespace comfyvn::perf::gpu::detail
