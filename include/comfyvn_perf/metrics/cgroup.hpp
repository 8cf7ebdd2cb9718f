// comfyvn_perf — the process's cgroup (v1 and v2): its memory and CPU limits
// and usage, so a container is measured against its own limits rather than
// the host's.
#pragma once

#include <cstdint>      // uint64_t
#include <optional>     // absent limits
#include <string>       // paths, versions
#include <string_view>  // parsing without copies
#include <utility>      // pair
#include <vector>       // v1 hierarchies

#include "procfs.hpp"  // HostPaths

namespace comfyvn::perf::procfs {

// /proc/self/cgroup: "0::/path" for the unified (v2) hierarchy,
// "N:ctrl1,ctrl2:/path" for each v1 hierarchy.
struct CgroupMembership {
  std::optional<std::string> unified;
  std::vector<std::pair<std::string, std::string>> v1;  // controllers field, path

  // The v1 line that carries `controller`, as {controllers field, path}.
  const std::pair<std::string, std::string>* v1_for(std::string_view controller) const;
};

CgroupMembership parse_proc_cgroup(std::string_view text);

// A byte limit: a number, or "max" (v2) for none.
std::optional<std::uint64_t> parse_limit(std::string_view text);

// cgroup v2 cpu.max: "QUOTA PERIOD" -> CPUs; "max PERIOD" -> none.
std::optional<double> parse_cpu_max(std::string_view text);

// cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us -> CPUs; a quota of -1 is none.
std::optional<double> parse_cfs_quota(std::string_view quota_text, std::string_view period_text);

// What the process's cgroup says, read from the files of one sample. Every
// field is optional: hosts without limits have none of them.
struct CgroupReading {
  std::string version;                           // "v2", "v1" or "" (none found)
  std::optional<std::uint64_t> mem_limit_bytes;  // absent: no limit
  std::optional<std::uint64_t> mem_usage_bytes;
  std::optional<std::uint64_t> inactive_file_bytes;
  std::optional<double> cpu_limit;            // CPUs; absent: no quota
  std::optional<std::uint64_t> cpu_usage_ns;  // cumulative
};

// The directories that hold this process's cgroup files. Resolved once: a
// process rarely changes cgroup, and resolving costs several reads.
struct CgroupDirs {
  std::string version;
  std::string memory;   // v2: the unified dir; v1: the memory controller's
  std::string cpu;      // v1: cpu.cfs_*
  std::string cpuacct;  // v1: cpuacct.usage
};

// Without a cgroup namespace the path in /proc/self/cgroup is the host's
// view, which does not exist under the container's mount; the mount root is
// then the process's own cgroup.
std::string pick_cgroup_dir(const std::string& mount, const std::string& path, const char* probe);

CgroupDirs resolve_cgroup_dirs(const HostPaths& paths);

CgroupReading read_cgroup(const CgroupDirs& d);

}  // namespace comfyvn::perf::procfs

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cstddef>  // size_t

#include "../os/file.hpp"  // file_exists
#include "../os/text.hpp"  // trim

namespace comfyvn::perf::procfs {

const std::pair<std::string, std::string>* CgroupMembership::v1_for(
    std::string_view controller) const {
  for (const auto& entry : v1) {
    std::string_view list = entry.first;
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      if (list.substr(0, comma) == controller) return &entry;
      list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
    }
  }
  return nullptr;
}

CgroupMembership parse_proc_cgroup(std::string_view text) {
  CgroupMembership m;
  while (!text.empty()) {
    const std::string_view line = os::trim(next_line(text));
    const std::size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    const std::size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, c1);
    const std::string_view ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view path = line.substr(c2 + 1);
    if (id == "0" && ctrls.empty()) {
      m.unified = std::string(path);
    } else if (!ctrls.empty()) {
      m.v1.emplace_back(std::string(ctrls), std::string(path));
    }
  }
  return m;
}

std::optional<std::uint64_t> parse_limit(std::string_view text) {
  text = os::trim(text);
  if (text == "max") return std::nullopt;
  return to_u64(text);
}

std::optional<double> parse_cpu_max(std::string_view text) {
  const auto quota = parse_limit(next_token(text));
  const auto period = to_u64(next_token(text));
  if (!quota || !period || *period == 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> parse_cfs_quota(std::string_view quota_text, std::string_view period_text) {
  const auto quota = to_i64(quota_text);
  const auto period = to_i64(period_text);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::string pick_cgroup_dir(const std::string& mount, const std::string& path, const char* probe) {
  const std::string full = path.empty() || path == "/" ? mount : mount + path;
  if (os::file_exists(full + "/" + probe)) return full;
  if (os::file_exists(mount + "/" + probe)) return mount;
  return std::string();
}

CgroupDirs resolve_cgroup_dirs(const HostPaths& paths) {
  CgroupDirs d;
  const auto text = read_file(paths.proc + "/self/cgroup");
  if (!text) return d;
  const CgroupMembership m = parse_proc_cgroup(*text);
  if (m.unified && os::file_exists(paths.cgroup + "/cgroup.controllers")) {
    d.version = "v2";
    d.memory = pick_cgroup_dir(paths.cgroup, *m.unified, "memory.current");
    d.cpu = pick_cgroup_dir(paths.cgroup, *m.unified, "cpu.stat");
    d.cpuacct = d.cpu;
    if (d.memory.empty() && d.cpu.empty()) d.version.clear();
    return d;
  }
  auto v1_dir = [&](std::string_view controller, const char* probe) {
    const auto* line = m.v1_for(controller);
    if (line == nullptr) return std::string();
    // The hierarchy is mounted under its controller list ("cpu,cpuacct"),
    // usually with a symlink per controller; try both.
    std::string dir = pick_cgroup_dir(paths.cgroup + "/" + line->first, line->second, probe);
    if (dir.empty()) {
      dir = pick_cgroup_dir(std::string(paths.cgroup).append("/").append(controller), line->second,
                            probe);
    }
    return dir;
  };
  d.memory = v1_dir("memory", "memory.usage_in_bytes");
  d.cpu = v1_dir("cpu", "cpu.cfs_quota_us");
  d.cpuacct = v1_dir("cpuacct", "cpuacct.usage");
  if (!d.memory.empty() || !d.cpu.empty() || !d.cpuacct.empty()) d.version = "v1";
  return d;
}

CgroupReading read_cgroup(const CgroupDirs& d) {
  CgroupReading r;
  r.version = d.version;
  auto text = [](const std::string& dir, const char* name) -> std::optional<std::string> {
    if (dir.empty()) return std::nullopt;
    return read_file(dir + "/" + name);
  };
  if (d.version == "v2") {
    if (auto t = text(d.memory, "memory.max")) r.mem_limit_bytes = parse_limit(*t);
    if (auto t = text(d.memory, "memory.current")) r.mem_usage_bytes = to_u64(*t);
    if (auto t = text(d.memory, "memory.stat"))
      r.inactive_file_bytes = keyed_value(*t, "inactive_file");
    if (auto t = text(d.cpu, "cpu.max")) r.cpu_limit = parse_cpu_max(*t);
    if (auto t = text(d.cpu, "cpu.stat")) {
      if (const auto us = keyed_value(*t, "usage_usec")) r.cpu_usage_ns = *us * 1000;
    }
  } else if (d.version == "v1") {
    if (auto t = text(d.memory, "memory.limit_in_bytes")) r.mem_limit_bytes = to_u64(*t);
    if (auto t = text(d.memory, "memory.usage_in_bytes")) r.mem_usage_bytes = to_u64(*t);
    if (auto t = text(d.memory, "memory.stat")) {
      r.inactive_file_bytes = keyed_value(*t, "total_inactive_file");
    }
    const auto quota = text(d.cpu, "cpu.cfs_quota_us");
    const auto period = text(d.cpu, "cpu.cfs_period_us");
    if (quota && period) r.cpu_limit = parse_cfs_quota(*quota, *period);
    if (auto t = text(d.cpuacct, "cpuacct.usage")) r.cpu_usage_ns = to_u64(*t);
  }
  return r;
}

}  // namespace comfyvn::perf::procfs
#endif
