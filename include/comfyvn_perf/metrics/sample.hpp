// comfyvn_perf — one host metrics sample, as plain data.
//
// Admission compares these figures with the budget limits; json/metrics.hpp
// turns them into the "metrics" object of the HTTP routes and events.
#pragma once

#include <cstdint>   // uint32_t, uint64_t
#include <optional>  // pressure figures a host may lack
#include <string>    // cgroup version, GPU names
#include <vector>    // GPUs

namespace comfyvn::perf {

// One GPU as reported in metrics.gpus (memory in MiB, util in percent).
struct GpuInfo {
  std::uint32_t id = 0;
  std::string name;
  double util = 0;
  double mem_used = 0;
  double mem_total = 0;
  double temp_c = 0;
};

// One sample. Memory in MiB, CPU in percent of what this process may use.
struct Metrics {
  double timestamp = 0;            // epoch seconds; 0 = never sampled
  double cpu_percent = 0;          // what admission compares with max_cpu_percent
  double cpu_count = 0;            // CPUs available: affinity, capped by a cgroup quota
  double process_cpu_percent = 0;  // this process, same scale as cpu_percent
  double mem_used_mb = 0;          // what admission compares with max_mem_mb
  double mem_total_mb = 0;
  double process_rss_mb = 0;
  std::uint64_t process_threads = 0;
  std::string cgroup;                  // "v2" / "v1" when a cgroup limit sets the totals, else ""
  std::optional<double> cpu_pressure;  // PSI "some avg10", percent
  std::optional<double> memory_pressure;  // PSI "some avg10", percent
  std::vector<GpuInfo> gpus;

  // VRAM admission looks at the first GPU, the device work lands on unless a
  // job chooses otherwise.
  double vram_used_mb() const { return gpus.empty() ? 0.0 : gpus.front().mem_used; }
};

}  // namespace comfyvn::perf
