// comfyvn_perf — GPU metrics through NVML, loaded at run time.
//
// The SDK never links against the NVIDIA driver: libnvidia-ml.so.1 is opened
// with dlopen on first use (the sampler thread), so a program built here runs
// unchanged on hosts without a GPU. Only the few entry points below are used,
// with their ABI spelled out, so nvml.h is not needed to build.
#pragma once

#include <cstring>      // memcpy: object pointer -> function pointer (resolve)
#include <functional>   // injectable loader and log
#include <string>       // GPU names, messages
#include <string_view>  // log lines
#include <vector>       // the GPU list

#include "sample.hpp"  // GpuInfo

namespace comfyvn::perf {

namespace nvml {

using Return = int;  // nvmlReturn_t
struct DeviceTag;
using Device = DeviceTag*;  // nvmlDevice_t is an opaque pointer
struct Memory {             // nvmlMemory_t (bytes)
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct Utilization {  // nvmlUtilization_t (percent)
  unsigned int gpu;
  unsigned int memory;
};
inline constexpr Return kSuccess = 0;
inline constexpr int kTemperatureGpu = 0;        // NVML_TEMPERATURE_GPU
inline constexpr unsigned int kNameLength = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE

// The entry points used; the versioned names are the ones resolved.
struct Api {
  Return (*init)() = nullptr;                                   // nvmlInit_v2
  Return (*shutdown)() = nullptr;                               // nvmlShutdown
  Return (*device_count)(unsigned int*) = nullptr;              // nvmlDeviceGetCount_v2
  Return (*device_by_index)(unsigned int, Device*) = nullptr;   // nvmlDeviceGetHandleByIndex_v2
  Return (*memory_info)(Device, Memory*) = nullptr;             // nvmlDeviceGetMemoryInfo
  Return (*name)(Device, char*, unsigned int) = nullptr;        // nvmlDeviceGetName
  Return (*utilization)(Device, Utilization*) = nullptr;        // nvmlDeviceGetUtilizationRates
  Return (*temperature)(Device, int, unsigned int*) = nullptr;  // nvmlDeviceGetTemperature
  const char* (*error_string)(Return) = nullptr;                // nvmlErrorString
};

// How the library is found: dlopen/dlsym by default, a fake in tests.
struct Loader {
  std::function<void*(const char* file)> open;
  std::function<void*(void* handle, const char* symbol)> symbol;
  std::function<std::string()> last_error;

  static Loader system();
};

inline constexpr const char* kLibrary = "libnvidia-ml.so.1";

}  // namespace nvml

// Samples every GPU NVML sees. Not thread-safe: one sampler thread owns it.
//
// The first sample() loads and initialises NVML; if that fails (no library,
// no driver, no GPU) it logs one line, and every later sample() returns an
// empty list at once without trying again.
class GpuSampler {
 public:
  using Log = std::function<void(std::string_view)>;

  explicit GpuSampler(nvml::Loader loader = nvml::Loader::system(), Log log = {});
  GpuSampler(const GpuSampler&) = delete;
  GpuSampler& operator=(const GpuSampler&) = delete;

  // The library handle is deliberately never dlclose'd: driver libraries may
  // leave threads or atexit handlers behind that must outlive us.
  ~GpuSampler();

  std::vector<GpuInfo> sample();

  // True once NVML has been loaded and initialised.
  bool available() const noexcept { return state_ == State::ready; }

 private:
  enum class State { untried, ready, unavailable };

  template <typename Fn>
  bool resolve(void* handle, const char* name, Fn& out, bool required) {
    void* p = loader_.symbol ? loader_.symbol(handle, name) : nullptr;
    if (p == nullptr) {
      if (required) unavailable(std::string(nvml::kLibrary) + ": symbol " + name + " not found");
      return !required;
    }
    // A function pointer may not be cast from void* portably; POSIX
    // guarantees the representations match, so copy the bits.
    static_assert(sizeof(Fn) == sizeof(void*), "function and object pointers differ in size");
    std::memcpy(&out, &p, sizeof out);
    return true;
  }

  bool load();

  void unavailable(const std::string& why);

  nvml::Loader loader_;
  Log log_;
  nvml::Api api_;
  State state_ = State::untried;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <dlfcn.h>  // dlopen, dlsym, dlerror

#include <atomic>   // the default log speaks once per process
#include <utility>  // move

#include "../os/log.hpp"  // the default log's sink

namespace comfyvn::perf {

namespace nvml {

Loader Loader::system() {
  Loader l;
  l.open = [](const char* file) { return ::dlopen(file, RTLD_NOW | RTLD_LOCAL); };
  l.symbol = [](void* handle, const char* name) { return ::dlsym(handle, name); };
  l.last_error = [] {
    const char* e = ::dlerror();
    return std::string(e != nullptr ? e : "unknown error");
  };
  return l;
}

}  // namespace nvml

GpuSampler::GpuSampler(nvml::Loader loader, Log log)
    : loader_(std::move(loader)), log_(std::move(log)) {
  if (!log_) {
    // The default goes to the SDK's log (os/log.hpp) once per process,
    // however many samplers (one per system metrics provider) find NVML
    // missing. Info level: a machine without a GPU is normal, so the line
    // is quiet unless the log level asks for it.
    log_ = [](std::string_view line) {
      static std::atomic<bool> said{false};
      if (said.exchange(true)) return;
      constexpr std::string_view prefix = "comfyvn_perf: ";  // the sink adds its own
      if (line.substr(0, prefix.size()) == prefix) line.remove_prefix(prefix.size());
      os::log(os::LogLevel::info, line);
    };
  }
}

GpuSampler::~GpuSampler() {
  if (state_ == State::ready && api_.shutdown != nullptr) api_.shutdown();
}

std::vector<GpuInfo> GpuSampler::sample() {
  std::vector<GpuInfo> out;
  if (state_ == State::untried) state_ = load() ? State::ready : State::unavailable;
  if (state_ != State::ready) return out;
  unsigned int count = 0;
  if (api_.device_count(&count) != nvml::kSuccess) return out;
  for (unsigned int i = 0; i < count; ++i) {
    nvml::Device dev = nullptr;
    if (api_.device_by_index(i, &dev) != nvml::kSuccess) continue;
    GpuInfo g;
    g.id = i;
    nvml::Memory mem{};
    if (api_.memory_info(dev, &mem) == nvml::kSuccess) {
      g.mem_used = static_cast<double>(mem.used) / (1024.0 * 1024.0);
      g.mem_total = static_cast<double>(mem.total) / (1024.0 * 1024.0);
    }
    char name[nvml::kNameLength] = {};
    if (api_.name != nullptr && api_.name(dev, name, sizeof name) == nvml::kSuccess) {
      name[sizeof name - 1] = '\0';
      g.name = name;
    }
    nvml::Utilization util{};
    if (api_.utilization != nullptr && api_.utilization(dev, &util) == nvml::kSuccess) {
      g.util = util.gpu;
    }
    unsigned int temp = 0;
    if (api_.temperature != nullptr &&
        api_.temperature(dev, nvml::kTemperatureGpu, &temp) == nvml::kSuccess) {
      g.temp_c = temp;
    }
    out.push_back(std::move(g));
  }
  return out;
}

bool GpuSampler::load() {
  void* handle = loader_.open ? loader_.open(nvml::kLibrary) : nullptr;
  if (handle == nullptr) {
    // dlerror() already names the library.
    unavailable(loader_.last_error ? loader_.last_error()
                                   : std::string(nvml::kLibrary) + ": cannot open");
    return false;
  }
  if (!resolve(handle, "nvmlInit_v2", api_.init, true) ||
      !resolve(handle, "nvmlShutdown", api_.shutdown, true) ||
      !resolve(handle, "nvmlDeviceGetCount_v2", api_.device_count, true) ||
      !resolve(handle, "nvmlDeviceGetHandleByIndex_v2", api_.device_by_index, true) ||
      !resolve(handle, "nvmlDeviceGetMemoryInfo", api_.memory_info, true)) {
    return false;
  }
  resolve(handle, "nvmlDeviceGetName", api_.name, false);
  resolve(handle, "nvmlDeviceGetUtilizationRates", api_.utilization, false);
  resolve(handle, "nvmlDeviceGetTemperature", api_.temperature, false);
  resolve(handle, "nvmlErrorString", api_.error_string, false);
  const nvml::Return rc = api_.init();
  if (rc != nvml::kSuccess) {
    const char* why = api_.error_string != nullptr ? api_.error_string(rc) : nullptr;
    std::string msg = std::string(nvml::kLibrary) + ": nvmlInit_v2 failed: ";
    unavailable(why != nullptr ? msg.append(why) : msg.append("error ").append(std::to_string(rc)));
    return false;
  }
  return true;
}

void GpuSampler::unavailable(const std::string& why) {
  log_("comfyvn_perf: no GPU metrics (" + why + ")");
}

}  // namespace comfyvn::perf
#endif
