// The NVML loader: a fake driver library through the injectable loader, and
// the real dlopen path, which on a host without a GPU must stay quiet.
#include <comfyvn_perf/metrics/nvml.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using comfyvn::perf::GpuInfo;
using comfyvn::perf::GpuSampler;
namespace nvml = comfyvn::perf::nvml;

namespace {

// A pretend libnvidia-ml: two devices, the second of which fails its
// memory query when `broken_device` is set.
struct FakeDriver {
  int init_calls = 0;
  int shutdown_calls = 0;
  nvml::Return init_result = nvml::kSuccess;
  unsigned int devices = 2;
  bool broken_device = false;
  std::vector<std::string> resolved;
};
FakeDriver g_driver;
nvml::DeviceTag* const kDev0 = reinterpret_cast<nvml::DeviceTag*>(0x1000);
nvml::DeviceTag* const kDev1 = reinterpret_cast<nvml::DeviceTag*>(0x2000);

nvml::Return fake_init() {
  ++g_driver.init_calls;
  return g_driver.init_result;
}
nvml::Return fake_shutdown() {
  ++g_driver.shutdown_calls;
  return nvml::kSuccess;
}
nvml::Return fake_count(unsigned int* n) {
  *n = g_driver.devices;
  return nvml::kSuccess;
}
nvml::Return fake_by_index(unsigned int i, nvml::Device* d) {
  if (i > 1) return 2;  // NVML_ERROR_INVALID_ARGUMENT
  *d = i == 0 ? kDev0 : kDev1;
  return nvml::kSuccess;
}
nvml::Return fake_memory(nvml::Device d, nvml::Memory* m) {
  if (d == kDev1 && g_driver.broken_device) return 15;  // NVML_ERROR_GPU_IS_LOST
  const unsigned long long mib = 1024ull * 1024ull;
  m->total = (d == kDev0 ? 24576 : 8192) * mib;
  m->used = (d == kDev0 ? 6144 : 1024) * mib;
  m->free = m->total - m->used;
  return nvml::kSuccess;
}
nvml::Return fake_name(nvml::Device d, char* buf, unsigned int len) {
  const char* n = d == kDev0 ? "Fake RTX 4090" : "Fake T4";
  std::strncpy(buf, n, len);
  return nvml::kSuccess;
}
nvml::Return fake_util(nvml::Device d, nvml::Utilization* u) {
  u->gpu = d == kDev0 ? 87 : 3;
  u->memory = 10;
  return nvml::kSuccess;
}
nvml::Return fake_temp(nvml::Device d, int sensor, unsigned int* t) {
  if (sensor != nvml::kTemperatureGpu) return 2;
  *t = d == kDev0 ? 71 : 40;
  return nvml::kSuccess;
}
const char* fake_error(nvml::Return) {
  return "Driver Not Loaded";
}

template <typename Fn>
void* as_symbol(Fn* fn) {
  void* p = nullptr;
  std::memcpy(&p, &fn, sizeof p);
  return p;
}

// A loader whose library offers the symbols in `table`.
nvml::Loader fake_loader(std::map<std::string, void*> table, int* opens = nullptr) {
  nvml::Loader l;
  l.open = [opens](const char* file) -> void* {
    if (opens != nullptr) ++*opens;
    return std::string(file) == "libnvidia-ml.so.1" ? &g_driver : nullptr;
  };
  l.symbol = [table](void* handle, const char* name) -> void* {
    REQUIRE(handle == &g_driver);
    g_driver.resolved.emplace_back(name);
    const auto it = table.find(name);
    return it == table.end() ? nullptr : it->second;
  };
  l.last_error = [] { return std::string("libnvidia-ml.so.1: fake error"); };  // as dlerror()
  return l;
}

std::map<std::string, void*> full_table() {
  return {{"nvmlInit_v2", as_symbol(&fake_init)},
          {"nvmlShutdown", as_symbol(&fake_shutdown)},
          {"nvmlDeviceGetCount_v2", as_symbol(&fake_count)},
          {"nvmlDeviceGetHandleByIndex_v2", as_symbol(&fake_by_index)},
          {"nvmlDeviceGetMemoryInfo", as_symbol(&fake_memory)},
          {"nvmlDeviceGetName", as_symbol(&fake_name)},
          {"nvmlDeviceGetUtilizationRates", as_symbol(&fake_util)},
          {"nvmlDeviceGetTemperature", as_symbol(&fake_temp)},
          {"nvmlErrorString", as_symbol(&fake_error)}};
}

struct LogCapture {
  std::vector<std::string> lines;
  GpuSampler::Log sink() {
    return [this](std::string_view l) { lines.emplace_back(l); };
  }
};

}  // namespace

TEST_CASE("NVML: devices through the versioned entry points", "[nvml]") {
  g_driver = FakeDriver{};
  LogCapture log;
  {
    GpuSampler s(fake_loader(full_table()), log.sink());
    CHECK_FALSE(s.available());
    CHECK(g_driver.init_calls == 0);  // nothing happens before the first sample
    const std::vector<GpuInfo> gpus = s.sample();
    CHECK(s.available());
    REQUIRE(gpus.size() == 2);
    CHECK(gpus[0].id == 0);
    CHECK(gpus[0].name == "Fake RTX 4090");
    CHECK(gpus[0].util == 87);
    CHECK(gpus[0].mem_used == Approx(6144));
    CHECK(gpus[0].mem_total == Approx(24576));
    CHECK(gpus[0].temp_c == 71);
    CHECK(gpus[1].name == "Fake T4");
    CHECK(gpus[1].mem_total == Approx(8192));
    s.sample();
    CHECK(g_driver.init_calls == 1);
    // The _v2 names are the ones looked up.
    const auto& r = g_driver.resolved;
    CHECK(std::find(r.begin(), r.end(), "nvmlInit_v2") != r.end());
    CHECK(std::find(r.begin(), r.end(), "nvmlDeviceGetCount_v2") != r.end());
    CHECK(std::find(r.begin(), r.end(), "nvmlDeviceGetHandleByIndex_v2") != r.end());
    CHECK(std::find(r.begin(), r.end(), "nvmlInit") == r.end());
  }
  CHECK(g_driver.shutdown_calls == 1);
  CHECK(log.lines.empty());
}

TEST_CASE("NVML: a device that fails its query keeps the others", "[nvml]") {
  g_driver = FakeDriver{};
  g_driver.broken_device = true;
  g_driver.devices = 3;  // index 2 has no handle
  LogCapture log;
  GpuSampler s(fake_loader(full_table()), log.sink());
  const auto gpus = s.sample();
  REQUIRE(gpus.size() == 2);
  CHECK(gpus[0].mem_total == Approx(24576));
  CHECK(gpus[1].mem_total == 0);  // reported, without memory figures
  CHECK(gpus[1].name == "Fake T4");
}

TEST_CASE("NVML: optional entry points may be missing", "[nvml]") {
  g_driver = FakeDriver{};
  auto table = full_table();
  table.erase("nvmlDeviceGetName");
  table.erase("nvmlDeviceGetUtilizationRates");
  table.erase("nvmlDeviceGetTemperature");
  table.erase("nvmlErrorString");
  LogCapture log;
  GpuSampler s(fake_loader(table), log.sink());
  const auto gpus = s.sample();
  REQUIRE(gpus.size() == 2);
  CHECK(gpus[0].name.empty());
  CHECK(gpus[0].mem_used == Approx(6144));
  CHECK(log.lines.empty());
}

TEST_CASE("NVML: no library gives an empty list and one log line", "[nvml]") {
  g_driver = FakeDriver{};
  int opens = 0;
  auto loader = fake_loader(full_table(), &opens);
  loader.open = [&opens](const char*) -> void* {
    ++opens;
    return nullptr;
  };
  LogCapture log;
  GpuSampler s(loader, log.sink());
  for (int i = 0; i < 5; ++i) CHECK(s.sample().empty());
  CHECK_FALSE(s.available());
  CHECK(opens == 1);  // never retried
  REQUIRE(log.lines.size() == 1);
  CHECK(log.lines[0].find("libnvidia-ml.so.1") != std::string::npos);
  CHECK(log.lines[0].find("fake error") != std::string::npos);
}

TEST_CASE("NVML: a missing required symbol or a failed init disables GPUs quietly", "[nvml]") {
  SECTION("missing nvmlDeviceGetCount_v2") {
    g_driver = FakeDriver{};
    auto table = full_table();
    table.erase("nvmlDeviceGetCount_v2");
    LogCapture log;
    GpuSampler s(fake_loader(table), log.sink());
    CHECK(s.sample().empty());
    CHECK(s.sample().empty());
    CHECK(g_driver.init_calls == 0);
    REQUIRE(log.lines.size() == 1);
    CHECK(log.lines[0].find("nvmlDeviceGetCount_v2") != std::string::npos);
  }
  SECTION("nvmlInit_v2 fails (driver not loaded)") {
    g_driver = FakeDriver{};
    g_driver.init_result = 9;  // NVML_ERROR_DRIVER_NOT_LOADED
    LogCapture log;
    {
      GpuSampler s(fake_loader(full_table()), log.sink());
      CHECK(s.sample().empty());
      CHECK(s.sample().empty());
      CHECK(g_driver.init_calls == 1);
    }
    CHECK(g_driver.shutdown_calls == 0);  // never initialised, never shut down
    REQUIRE(log.lines.size() == 1);
    CHECK(log.lines[0].find("Driver Not Loaded") != std::string::npos);
  }
  SECTION("no GPU: the library loads but counts none") {
    g_driver = FakeDriver{};
    g_driver.devices = 0;
    LogCapture log;
    GpuSampler s(fake_loader(full_table()), log.sink());
    CHECK(s.sample().empty());
    CHECK(s.available());
    CHECK(log.lines.empty());
  }
}

TEST_CASE("NVML: the real loader on this host", "[nvml]") {
  LogCapture log;
  GpuSampler s(nvml::Loader::system(), log.sink());
  std::vector<GpuInfo> gpus;
  REQUIRE_NOTHROW(gpus = s.sample());
  REQUIRE_NOTHROW(s.sample());
  CHECK(log.lines.size() <= 1);
  const char* expect = std::getenv("COMFYVN_EXPECT_GPU");
  if (expect != nullptr && std::string(expect) == "1") {
    // Set only where a GPU is known to be present.
    REQUIRE(s.available());
    REQUIRE_FALSE(gpus.empty());
    for (const auto& g : gpus) {
      CHECK(g.mem_total > 0);
      CHECK(g.mem_used <= g.mem_total);
      CHECK_FALSE(g.name.empty());
      WARN("gpu " << g.id << " " << g.name << " util " << g.util << "% mem " << g.mem_used << "/"
                  << g.mem_total << " MiB temp " << g.temp_c << " C");
    }
  } else if (!s.available()) {
    CHECK(gpus.empty());
    CHECK(log.lines.size() == 1);
  }
}
