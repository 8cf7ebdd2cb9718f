// comfyvn_perf — where host metrics samples come from.
//
// A MetricsProvider produces one sample; the BudgetManager calls it on its
// sampler thread and API calls only ever read the latest sample. The system
// provider reads /proc, the process's cgroup, PSI and NVML; tests inject
// their own.
#pragma once

#include <cstdint>     // uint64_t
#include <functional>  // injectable clock
#include <memory>      // unique_ptr<GpuSampler>
#include <mutex>       // providers may be sampled from several threads
#include <optional>    // the /proc/stat reading
#include <vector>      // allowed CPUs

#include "cgroup.hpp"  // CgroupDirs, CgroupReading
#include "nvml.hpp"    // GpuSampler, nvml::Loader
#include "procfs.hpp"  // HostPaths, ProcStat
#include "sample.hpp"  // Metrics

namespace comfyvn::perf {

class MetricsProvider {
 public:
  virtual ~MetricsProvider() = default;
  // Takes one sample. The manager serialises its calls, but other code may
  // call a provider it shares from any thread.
  virtual Metrics sample() = 0;
};

// Returns whatever was set last, for tests and tools that drive admission
// with chosen numbers.
class ManualMetricsProvider final : public MetricsProvider {
 public:
  explicit ManualMetricsProvider(Metrics m = {});
  void set(Metrics m);
  Metrics sample() override;

 private:
  std::mutex mu_;
  Metrics metrics_;
};

struct SystemMetricsOptions {
  procfs::HostPaths paths;
  // CPUs the process may use; empty = ask sched_getaffinity.
  std::vector<int> allowed_cpus;
  bool gpus = true;
  nvml::Loader nvml = nvml::Loader::system();
  GpuSampler::Log log;  // default: one line on stderr
  // Monotonic nanoseconds; tests replace it to get exact cgroup CPU rates.
  std::function<std::uint64_t()> monotonic_ns;
};

// The real provider. CPU figures are deltas between consecutive samples (the
// first sample measures from construction); memory and PSI are read as is.
class SystemMetricsProvider final : public MetricsProvider {
 public:
  explicit SystemMetricsProvider(SystemMetricsOptions options = {});

  Metrics sample() override;

  const procfs::CgroupDirs& cgroup_dirs() const noexcept { return dirs_; }

 private:
  struct CpuReading {
    std::uint64_t mono_ns = 0;
    std::uint64_t process_ns = 0;
    std::optional<procfs::ProcStat> stat;
    procfs::CgroupReading cgroup;
  };

  CpuReading read_cpu() const;

  static std::vector<int> affinity_cpus();

  static double page_size();

  std::mutex mu_;
  SystemMetricsOptions opt_;
  procfs::CgroupDirs dirs_;
  CpuReading prev_;
  std::unique_ptr<GpuSampler> gpu_;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <sched.h>   // sched_getaffinity: the CPUs this process may use
#include <time.h>    // clock_gettime(CLOCK_PROCESS_CPUTIME_ID)
#include <unistd.h>  // sysconf(_SC_PAGESIZE)

#include <algorithm>  // min, clamp
#include <string>     // file paths
#include <utility>    // move

#include "../os/time.hpp"  // epoch_now, steady_ns
#include "psi.hpp"         // parse_psi_some_avg10

namespace comfyvn::perf {

ManualMetricsProvider::ManualMetricsProvider(Metrics m) : metrics_(std::move(m)) {}

void ManualMetricsProvider::set(Metrics m) {
  std::lock_guard<std::mutex> lk(mu_);
  metrics_ = std::move(m);
}

Metrics ManualMetricsProvider::sample() {
  std::lock_guard<std::mutex> lk(mu_);
  Metrics m = metrics_;
  if (m.timestamp == 0) m.timestamp = os::epoch_now();
  return m;
}

SystemMetricsProvider::SystemMetricsProvider(SystemMetricsOptions options)
    : opt_(std::move(options)) {
  if (!opt_.monotonic_ns) {
    opt_.monotonic_ns = [] { return static_cast<std::uint64_t>(os::steady_ns()); };
  }
  if (opt_.allowed_cpus.empty()) opt_.allowed_cpus = affinity_cpus();
  dirs_ = procfs::resolve_cgroup_dirs(opt_.paths);
  // A baseline so the first sample reports a real delta instead of the
  // average since boot. No NVML here: that waits for the sampler thread.
  prev_ = read_cpu();
}

Metrics SystemMetricsProvider::sample() {
  std::lock_guard<std::mutex> lk(mu_);
  Metrics m;
  const CpuReading now = read_cpu();
  const procfs::CgroupReading& cg = now.cgroup;

  double capacity = static_cast<double>(opt_.allowed_cpus.size());
  if (cg.cpu_limit) capacity = std::min(capacity > 0 ? capacity : *cg.cpu_limit, *cg.cpu_limit);
  m.cpu_count = capacity;

  const double wall_ns = static_cast<double>(now.mono_ns - prev_.mono_ns);
  if (cg.cpu_limit && cg.cpu_usage_ns && prev_.cgroup.cpu_usage_ns && wall_ns > 0 &&
      *cg.cpu_usage_ns >= *prev_.cgroup.cpu_usage_ns) {
    // Under a quota the container's own usage against the quota is what
    // counts; the host's /proc/stat would show other tenants' work.
    const double used = static_cast<double>(*cg.cpu_usage_ns - *prev_.cgroup.cpu_usage_ns);
    m.cpu_percent = std::clamp(100.0 * used / (wall_ns * capacity), 0.0, 100.0);
  } else if (now.stat && prev_.stat) {
    m.cpu_percent = procfs::cpu_percent_between(*prev_.stat, *now.stat, opt_.allowed_cpus);
  }
  if (wall_ns > 0 && capacity > 0 && now.process_ns >= prev_.process_ns) {
    const double used = static_cast<double>(now.process_ns - prev_.process_ns);
    m.process_cpu_percent = std::clamp(100.0 * used / (wall_ns * capacity), 0.0, 100.0);
  }

  const auto& root = opt_.paths.proc;
  if (const auto text = procfs::read_file(root + "/meminfo")) {
    if (const auto mi = procfs::parse_meminfo(*text)) {
      m.mem_total_mb = static_cast<double>(mi->total_kb) / 1024.0;
      m.mem_used_mb = static_cast<double>(mi->total_kb - mi->available_kb) / 1024.0;
    }
  }
  // A cgroup limit at or above the host's memory (v1 reports "unlimited"
  // as a huge number) does not bound anything.
  const double host_total_bytes = m.mem_total_mb * 1024.0 * 1024.0;
  if (cg.mem_limit_bytes && cg.mem_usage_bytes &&
      (host_total_bytes <= 0 || static_cast<double>(*cg.mem_limit_bytes) < host_total_bytes)) {
    std::uint64_t used = *cg.mem_usage_bytes;
    // Clean page cache is reclaimed before the limit bites, as docker
    // stats and the kubelet also assume.
    const std::uint64_t inactive = cg.inactive_file_bytes.value_or(0);
    used = used > inactive ? used - inactive : 0;
    m.mem_total_mb = static_cast<double>(*cg.mem_limit_bytes) / (1024.0 * 1024.0);
    m.mem_used_mb = static_cast<double>(used) / (1024.0 * 1024.0);
    m.cgroup = cg.version;
  } else if (cg.cpu_limit) {
    m.cgroup = cg.version;
  }

  const double page = page_size();
  if (const auto text = procfs::read_file(root + "/self/statm")) {
    if (const auto pages = procfs::parse_statm_resident(*text)) {
      m.process_rss_mb = static_cast<double>(*pages) * page / (1024.0 * 1024.0);
    }
  }
  if (const auto text = procfs::read_file(root + "/self/stat")) {
    if (const auto st = procfs::parse_self_stat(*text)) m.process_threads = st->num_threads;
  }
  if (const auto text = procfs::read_file(root + "/pressure/cpu")) {
    m.cpu_pressure = procfs::parse_psi_some_avg10(*text);
  }
  if (const auto text = procfs::read_file(root + "/pressure/memory")) {
    m.memory_pressure = procfs::parse_psi_some_avg10(*text);
  }
  if (opt_.gpus) {
    // Created here, on the sampling thread, never at static-init time.
    if (!gpu_) gpu_ = std::make_unique<GpuSampler>(opt_.nvml, opt_.log);
    m.gpus = gpu_->sample();
  }
  m.timestamp = os::epoch_now();
  prev_ = now;
  return m;
}

SystemMetricsProvider::CpuReading SystemMetricsProvider::read_cpu() const {
  CpuReading r;
  r.mono_ns = opt_.monotonic_ns();
  timespec ts{};
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0) {
    r.process_ns = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
                   static_cast<std::uint64_t>(ts.tv_nsec);
  }
  if (const auto text = procfs::read_file(opt_.paths.proc + "/stat")) {
    r.stat = procfs::parse_proc_stat(*text);
  }
  r.cgroup = procfs::read_cgroup(dirs_);
  return r;
}

std::vector<int> SystemMetricsProvider::affinity_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(static_cast<std::size_t>(i), &set)) cpus.push_back(i);
    }
  }
  if (cpus.empty()) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < n; ++i) cpus.push_back(static_cast<int>(i));
  }
  return cpus;
}

double SystemMetricsProvider::page_size() {
  const long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? static_cast<double>(p) : 4096.0;
}

}  // namespace comfyvn::perf
#endif
