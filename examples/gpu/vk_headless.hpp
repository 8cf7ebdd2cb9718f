// A headless Vulkan device for the gpu_vulkan example and the Vulkan tests:
// the loader opened with dlopen (nothing links it), one instance, the first
// physical device whose queue family has timestamps, one queue, buffers to
// fill and copy. Not part of the SDK: the SDK takes the application's
// handles (<comfyvn_perf/gpu/vulkan.hpp>).
#pragma once

#include <dlfcn.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include <comfyvn_perf/gpu/vulkan.hpp>  // VulkanContextInfo

namespace vk_headless {

struct Buffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
};

class Device {
 public:
  // Opens everything; `problem()` says why not when `ok()` is false.
  explicit Device(bool calibrated_timestamps = true) { open(calibrated_timestamps); }
  ~Device() { close(); }
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  bool ok() const { return device != VK_NULL_HANDLE; }
  const std::string& problem() const { return problem_; }
  const std::string& device_name() const { return name_; }
  bool has_calibrated_timestamps() const { return calibrated_; }

  Buffer make_buffer(VkDeviceSize size) {
    Buffer b;
    b.size = size;
    VkBufferCreateInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bi.size = size;
    bi.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    if (vkCreateBuffer(device, &bi, nullptr, &b.buffer) != VK_SUCCESS) return Buffer{};
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(device, b.buffer, &req);
    VkPhysicalDeviceMemoryProperties mp{};
    vkGetPhysicalDeviceMemoryProperties(physical_device, &mp);
    std::uint32_t type = 0;
    for (; type < mp.memoryTypeCount; ++type)
      if (req.memoryTypeBits & (1u << type)) break;
    VkMemoryAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = type;
    if (type == mp.memoryTypeCount || vkAllocateMemory(device, &ai, nullptr, &b.memory) != VK_SUCCESS ||
        vkBindBufferMemory(device, b.buffer, b.memory, 0) != VK_SUCCESS) {
      destroy(b);
      return Buffer{};
    }
    return b;
  }

  void destroy(Buffer& b) {
    if (b.buffer) vkDestroyBuffer(device, b.buffer, nullptr);
    if (b.memory) vkFreeMemory(device, b.memory, nullptr);
    b = Buffer{};
  }

  VkCommandBuffer make_command_buffer() {
    VkCommandBufferAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    ai.commandPool = command_pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    vkAllocateCommandBuffers(device, &ai, &cb);
    return cb;
  }

  VkFence make_fence(bool signaled) {
    VkFenceCreateInfo fi{};
    fi.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    fi.flags = signaled ? VK_FENCE_CREATE_SIGNALED_BIT : 0;
    VkFence f = VK_NULL_HANDLE;
    vkCreateFence(device, &fi, nullptr, &f);
    return f;
  }

  void begin(VkCommandBuffer cb) {
    vkResetCommandBuffer(cb, 0);
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    vkBeginCommandBuffer(cb, &bi);
  }

  bool submit(VkCommandBuffer cb, VkFence fence) {
    vkEndCommandBuffer(cb);
    VkSubmitInfo si{};
    si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    return vkQueueSubmit(queue, 1, &si, fence) == VK_SUCCESS;
  }

  // Waits for `fence` (up to 10 s) and resets it.
  bool wait(VkFence fence) {
    const bool ok = vkWaitForFences(device, 1, &fence, VK_TRUE, 10'000'000'000ull) == VK_SUCCESS;
    vkResetFences(device, 1, &fence);
    return ok;
  }

  // Waits for `fence` (up to 10 s), leaving it signaled.
  bool wait_only(VkFence fence) {
    return vkWaitForFences(device, 1, &fence, VK_TRUE, 10'000'000'000ull) == VK_SUCCESS;
  }

  bool fence_done(VkFence fence) { return vkGetFenceStatus(device, fence) == VK_SUCCESS; }

  // What the SDK's VulkanContext takes, for a context named `name`.
  comfyvn::perf::gpu::VulkanContextInfo context_info(const char* name) const {
    comfyvn::perf::gpu::VulkanContextInfo i;
    i.instance = instance;
    i.physical_device = physical_device;
    i.device = device;
    i.queue = queue;
    i.queue_family = queue_family;
    i.get_instance_proc_addr = get_instance_proc_addr;
    i.get_device_proc_addr = get_device_proc_addr;
    i.name = name;
    return i;
  }

  // The handles and entry points the SDK's VulkanContext takes.
  void* loader = nullptr;
  PFN_vkGetInstanceProcAddr get_instance_proc_addr = nullptr;
  PFN_vkGetDeviceProcAddr get_device_proc_addr = nullptr;
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  std::uint32_t queue_family = 0;
  VkCommandPool command_pool = VK_NULL_HANDLE;

  // What the example and tests call.
  PFN_vkCmdFillBuffer vkCmdFillBuffer = nullptr;
  PFN_vkCmdCopyBuffer vkCmdCopyBuffer = nullptr;
  PFN_vkCmdPipelineBarrier vkCmdPipelineBarrier = nullptr;
  PFN_vkDeviceWaitIdle vkDeviceWaitIdle = nullptr;
  PFN_vkDestroyFence vkDestroyFence = nullptr;

 private:
  template <class F>
  F inst(const char* n) {
    return reinterpret_cast<F>(get_instance_proc_addr(instance, n));
  }
  template <class F>
  F dev(const char* n) {
    return reinterpret_cast<F>(get_device_proc_addr(device, n));
  }

  void open(bool want_calibrated) {
    loader = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (loader == nullptr) {
      problem_ = "libvulkan.so.1 not found";
      return;
    }
    get_instance_proc_addr =
        reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(loader, "vkGetInstanceProcAddr"));
    if (get_instance_proc_addr == nullptr) {
      problem_ = "vkGetInstanceProcAddr not found";
      return;
    }
    auto create_instance = inst<PFN_vkCreateInstance>("vkCreateInstance");
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "comfyvn_perf gpu";
    app.apiVersion = VK_API_VERSION_1_2;
    VkInstanceCreateInfo ici{};
    ici.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    ici.pApplicationInfo = &app;
    if (create_instance == nullptr || create_instance(&ici, nullptr, &instance) != VK_SUCCESS) {
      instance = VK_NULL_HANDLE;
      problem_ = "vkCreateInstance failed (no Vulkan driver)";
      return;
    }
    vkDestroyInstance = inst<PFN_vkDestroyInstance>("vkDestroyInstance");
    auto enumerate = inst<PFN_vkEnumeratePhysicalDevices>("vkEnumeratePhysicalDevices");
    auto props = inst<PFN_vkGetPhysicalDeviceProperties>("vkGetPhysicalDeviceProperties");
    auto families = inst<PFN_vkGetPhysicalDeviceQueueFamilyProperties>(
        "vkGetPhysicalDeviceQueueFamilyProperties");
    auto extensions =
        inst<PFN_vkEnumerateDeviceExtensionProperties>("vkEnumerateDeviceExtensionProperties");
    auto create_device = inst<PFN_vkCreateDevice>("vkCreateDevice");
    vkGetPhysicalDeviceMemoryProperties =
        inst<PFN_vkGetPhysicalDeviceMemoryProperties>("vkGetPhysicalDeviceMemoryProperties");
    get_device_proc_addr = inst<PFN_vkGetDeviceProcAddr>("vkGetDeviceProcAddr");
    std::uint32_t n = 0;
    enumerate(instance, &n, nullptr);
    std::vector<VkPhysicalDevice> devices(n);
    enumerate(instance, &n, devices.data());
    for (VkPhysicalDevice pd : devices) {
      VkPhysicalDeviceProperties p{};
      props(pd, &p);
      if (p.apiVersion < VK_API_VERSION_1_2) continue;  // hostQueryReset is core from 1.2
      std::uint32_t fc = 0;
      families(pd, &fc, nullptr);
      std::vector<VkQueueFamilyProperties> fs(fc);
      families(pd, &fc, fs.data());
      for (std::uint32_t i = 0; i < fc; ++i) {
        const VkQueueFlags want = VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT;
        if ((fs[i].queueFlags & want) != 0 && fs[i].timestampValidBits > 0) {
          physical_device = pd;
          queue_family = i;
          name_ = p.deviceName;
          break;
        }
      }
      if (physical_device) break;
    }
    if (physical_device == VK_NULL_HANDLE) {
      problem_ = n == 0 ? "no Vulkan device" : "no Vulkan 1.2 device with timestamps";
      return;
    }
    std::uint32_t ec = 0;
    extensions(physical_device, nullptr, &ec, nullptr);
    std::vector<VkExtensionProperties> exts(ec);
    extensions(physical_device, nullptr, &ec, exts.data());
    std::vector<const char*> enable;
    for (const auto& e : exts) {
      if (want_calibrated && std::strcmp(e.extensionName, VK_EXT_CALIBRATED_TIMESTAMPS_EXTENSION_NAME) == 0) {
        enable.push_back(VK_EXT_CALIBRATED_TIMESTAMPS_EXTENSION_NAME);
        calibrated_ = true;
      }
    }
    VkPhysicalDeviceHostQueryResetFeatures reset{};
    reset.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_HOST_QUERY_RESET_FEATURES;
    reset.hostQueryReset = VK_TRUE;
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qi{};
    qi.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    qi.queueFamilyIndex = queue_family;
    qi.queueCount = 1;
    qi.pQueuePriorities = &priority;
    VkDeviceCreateInfo di{};
    di.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    di.pNext = &reset;
    di.queueCreateInfoCount = 1;
    di.pQueueCreateInfos = &qi;
    di.enabledExtensionCount = static_cast<std::uint32_t>(enable.size());
    di.ppEnabledExtensionNames = enable.data();
    if (create_device(physical_device, &di, nullptr, &device) != VK_SUCCESS) {
      device = VK_NULL_HANDLE;
      problem_ = "vkCreateDevice failed";
      return;
    }
    vkDestroyDevice = dev<PFN_vkDestroyDevice>("vkDestroyDevice");
    dev<PFN_vkGetDeviceQueue>("vkGetDeviceQueue")(device, queue_family, 0, &queue);
    vkCreateBuffer = dev<PFN_vkCreateBuffer>("vkCreateBuffer");
    vkDestroyBuffer = dev<PFN_vkDestroyBuffer>("vkDestroyBuffer");
    vkGetBufferMemoryRequirements =
        dev<PFN_vkGetBufferMemoryRequirements>("vkGetBufferMemoryRequirements");
    vkAllocateMemory = dev<PFN_vkAllocateMemory>("vkAllocateMemory");
    vkFreeMemory = dev<PFN_vkFreeMemory>("vkFreeMemory");
    vkBindBufferMemory = dev<PFN_vkBindBufferMemory>("vkBindBufferMemory");
    vkCreateCommandPool = dev<PFN_vkCreateCommandPool>("vkCreateCommandPool");
    vkDestroyCommandPool = dev<PFN_vkDestroyCommandPool>("vkDestroyCommandPool");
    vkAllocateCommandBuffers = dev<PFN_vkAllocateCommandBuffers>("vkAllocateCommandBuffers");
    vkResetCommandBuffer = dev<PFN_vkResetCommandBuffer>("vkResetCommandBuffer");
    vkBeginCommandBuffer = dev<PFN_vkBeginCommandBuffer>("vkBeginCommandBuffer");
    vkEndCommandBuffer = dev<PFN_vkEndCommandBuffer>("vkEndCommandBuffer");
    vkQueueSubmit = dev<PFN_vkQueueSubmit>("vkQueueSubmit");
    vkCreateFence = dev<PFN_vkCreateFence>("vkCreateFence");
    vkDestroyFence = dev<PFN_vkDestroyFence>("vkDestroyFence");
    vkWaitForFences = dev<PFN_vkWaitForFences>("vkWaitForFences");
    vkResetFences = dev<PFN_vkResetFences>("vkResetFences");
    vkGetFenceStatus = dev<PFN_vkGetFenceStatus>("vkGetFenceStatus");
    vkCmdFillBuffer = dev<PFN_vkCmdFillBuffer>("vkCmdFillBuffer");
    vkCmdCopyBuffer = dev<PFN_vkCmdCopyBuffer>("vkCmdCopyBuffer");
    vkCmdPipelineBarrier = dev<PFN_vkCmdPipelineBarrier>("vkCmdPipelineBarrier");
    vkDeviceWaitIdle = dev<PFN_vkDeviceWaitIdle>("vkDeviceWaitIdle");
    VkCommandPoolCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    ci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    ci.queueFamilyIndex = queue_family;
    if (vkCreateCommandPool(device, &ci, nullptr, &command_pool) != VK_SUCCESS) {
      problem_ = "vkCreateCommandPool failed";
      close();
    }
  }

  void close() {
    if (device != VK_NULL_HANDLE) {
      vkDeviceWaitIdle(device);
      if (command_pool) vkDestroyCommandPool(device, command_pool, nullptr);
      vkDestroyDevice(device, nullptr);
      device = VK_NULL_HANDLE;
    }
    if (instance != VK_NULL_HANDLE) vkDestroyInstance(instance, nullptr);
    instance = VK_NULL_HANDLE;
    // The loader stays loaded: drivers register exit handlers.
  }

  std::string problem_;
  std::string name_;
  bool calibrated_ = false;
  PFN_vkDestroyInstance vkDestroyInstance = nullptr;
  PFN_vkDestroyDevice vkDestroyDevice = nullptr;
  PFN_vkGetPhysicalDeviceMemoryProperties vkGetPhysicalDeviceMemoryProperties = nullptr;
  PFN_vkCreateBuffer vkCreateBuffer = nullptr;
  PFN_vkDestroyBuffer vkDestroyBuffer = nullptr;
  PFN_vkGetBufferMemoryRequirements vkGetBufferMemoryRequirements = nullptr;
  PFN_vkAllocateMemory vkAllocateMemory = nullptr;
  PFN_vkFreeMemory vkFreeMemory = nullptr;
  PFN_vkBindBufferMemory vkBindBufferMemory = nullptr;
  PFN_vkCreateCommandPool vkCreateCommandPool = nullptr;
  PFN_vkDestroyCommandPool vkDestroyCommandPool = nullptr;
  PFN_vkAllocateCommandBuffers vkAllocateCommandBuffers = nullptr;
  PFN_vkResetCommandBuffer vkResetCommandBuffer = nullptr;
  PFN_vkBeginCommandBuffer vkBeginCommandBuffer = nullptr;
  PFN_vkEndCommandBuffer vkEndCommandBuffer = nullptr;
  PFN_vkQueueSubmit vkQueueSubmit = nullptr;
  PFN_vkCreateFence vkCreateFence = nullptr;
  PFN_vkWaitForFences vkWaitForFences = nullptr;
  PFN_vkResetFences vkResetFences = nullptr;
  PFN_vkGetFenceStatus vkGetFenceStatus = nullptr;
};

}  // namespace vk_headless
