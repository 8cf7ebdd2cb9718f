// comfyvn_perf — parsers for the Linux files behind the host metrics.
//
// Every parser takes the file's text and returns std::nullopt (or an empty
// result) on anything it does not understand: a metric that cannot be read is
// reported as missing, never as an error. The readers take their roots from
// HostPaths so tests can point them at fixture trees.
#pragma once

#include <charconv>     // from_chars: no locale, no exceptions
#include <cstdint>      // uint64_t
#include <cstdio>       // fopen, fread
#include <optional>     // missing values
#include <string>       // file contents, paths
#include <string_view>  // parsing without copies
#include <utility>      // pair
#include <vector>       // per-CPU rows, cgroup lines

namespace comfyvn::perf::procfs {

// Where the readers look. /proc/self/... is `proc + "/self/..."`.
struct HostPaths {
  std::string proc = "/proc";
  std::string cgroup = "/sys/fs/cgroup";
};

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

// Whole file, or nullopt when it cannot be opened. /proc files report size 0,
// so this reads until EOF instead of trusting stat().
inline std::optional<std::string> read_file(const std::string& path,
                                            std::size_t max_bytes = 1u << 20) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
    if (out.size() >= max_bytes) break;
  }
  std::fclose(f);
  return out;
}

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the next whitespace-separated token; empty at the end.
inline std::string_view next_token(std::string_view& s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  std::size_t i = 0;
  while (i < s.size() && !is_space(s[i])) ++i;
  const std::string_view tok = s.substr(0, i);
  s.remove_prefix(i);
  return tok;
}

// Splits off the next line (without its '\n').
inline std::string_view next_line(std::string_view& s) {
  const std::size_t nl = s.find('\n');
  const std::string_view line = s.substr(0, nl);
  s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
  return line;
}

// The whole of `s` (blanks around it aside) as a T, or nullopt.
template <typename T>
std::optional<T> to_number(std::string_view s) {
  s = trim(s);
  T v{};
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

inline std::optional<std::uint64_t> to_u64(std::string_view s) {
  return to_number<std::uint64_t>(s);
}
inline std::optional<std::int64_t> to_i64(std::string_view s) {
  return to_number<std::int64_t>(s);
}
inline std::optional<double> to_double(std::string_view s) {
  return to_number<double>(s);
}

// "key value" lines (meminfo without the colon, memory.stat, cpu.stat).
// Meminfo keys end with ':'; pass the key with it.
inline std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (next_token(line) == key) return to_u64(next_token(line));
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// /proc/stat
// ---------------------------------------------------------------------------

// Jiffies of one "cpu" row. Guest time is already inside user/nice, so only
// the first eight columns (user..steal) make up the total.
struct CpuTimes {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};

struct ProcStat {
  CpuTimes all;                                   // the "cpu" row
  std::vector<std::pair<int, CpuTimes>> per_cpu;  // "cpuN" rows, in file order
};

inline std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  ProcStat out;
  bool have_all = false;
  while (!text.empty()) {
    std::string_view line = next_line(text);
    const std::string_view name = next_token(line);
    if (name.size() < 3 || name.substr(0, 3) != "cpu") continue;
    std::uint64_t col[8] = {};
    int n = 0;
    for (; n < 8; ++n) {
      const std::string_view tok = next_token(line);
      if (tok.empty()) break;
      const auto v = to_u64(tok);
      if (!v) break;
      col[n] = *v;
    }
    if (n < 4) continue;  // user nice system idle is the oldest format
    CpuTimes t;
    for (int i = 0; i < n; ++i) t.total += col[i];
    const std::uint64_t idle = col[3] + col[4];  // idle + iowait
    t.busy = t.total >= idle ? t.total - idle : 0;
    if (name.size() == 3) {
      out.all = t;
      have_all = true;
    } else if (const auto id = to_u64(name.substr(3))) {
      out.per_cpu.emplace_back(static_cast<int>(*id), t);
    }
  }
  if (!have_all && out.per_cpu.empty()) return std::nullopt;
  return out;
}

// Busy percent between two readings, over the CPUs in `allowed` (all of
// them when `allowed` is empty or names no CPU present in the file).
inline double cpu_percent_between(const ProcStat& before, const ProcStat& after,
                                  const std::vector<int>& allowed) {
  std::vector<bool> mask;
  for (int id : allowed) {
    if (id < 0) continue;
    if (static_cast<std::size_t>(id) >= mask.size()) mask.resize(static_cast<std::size_t>(id) + 1);
    mask[static_cast<std::size_t>(id)] = true;
  }
  auto sum = [&](const ProcStat& s) {
    CpuTimes t;
    bool any = false;
    for (const auto& [id, row] : s.per_cpu) {
      const auto i = static_cast<std::size_t>(id);
      if (id < 0 || i >= mask.size() || !mask[i]) continue;
      t.busy += row.busy;
      t.total += row.total;
      any = true;
    }
    return any ? t : s.all;
  };
  const CpuTimes a = mask.empty() ? before.all : sum(before);
  const CpuTimes b = mask.empty() ? after.all : sum(after);
  if (b.total <= a.total || b.busy < a.busy) return 0.0;
  const double pct =
      100.0 * static_cast<double>(b.busy - a.busy) / static_cast<double>(b.total - a.total);
  return pct > 100.0 ? 100.0 : pct;
}

// ---------------------------------------------------------------------------
// Memory and the process
// ---------------------------------------------------------------------------

struct MemInfo {
  std::uint64_t total_kb = 0;
  std::uint64_t available_kb = 0;
};

inline std::optional<MemInfo> parse_meminfo(std::string_view text) {
  const auto total = keyed_value(text, "MemTotal:");
  if (!total) return std::nullopt;
  MemInfo m;
  m.total_kb = *total;
  if (const auto avail = keyed_value(text, "MemAvailable:")) {
    m.available_kb = *avail;
  } else {
    // Kernels before 3.14 lack MemAvailable; free + reclaimable cache is
    // the usual estimate.
    m.available_kb = keyed_value(text, "MemFree:").value_or(0) +
                     keyed_value(text, "Buffers:").value_or(0) +
                     keyed_value(text, "Cached:").value_or(0);
  }
  if (m.available_kb > m.total_kb) m.available_kb = m.total_kb;
  return m;
}

// Resident pages: the second field of /proc/self/statm.
inline std::optional<std::uint64_t> parse_statm_resident(std::string_view text) {
  if (next_token(text).empty()) return std::nullopt;
  return to_u64(next_token(text));
}

struct SelfStat {
  std::string comm;
  char state = '?';
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t num_threads = 0;
  std::uint64_t rss_pages = 0;
};

// /proc/self/stat. The command name may hold spaces and parentheses, so the
// fixed fields are counted from the last ')', never from the start.
inline std::optional<SelfStat> parse_self_stat(std::string_view text) {
  const std::size_t open = text.find('(');
  const std::size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  SelfStat s;
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  std::string_view rest = text.substr(close + 1);
  // rest[0] is field 3 (state); field k is rest[k - 3].
  std::string_view fields[22];
  for (auto& f : fields) {
    f = next_token(rest);
    if (f.empty()) return std::nullopt;
  }
  if (fields[0].size() != 1) return std::nullopt;
  s.state = fields[0][0];
  const auto utime = to_u64(fields[14 - 3]);
  const auto stime = to_u64(fields[15 - 3]);
  const auto threads = to_u64(fields[20 - 3]);
  const auto rss = to_i64(fields[24 - 3]);
  if (!utime || !stime || !threads || !rss) return std::nullopt;
  s.utime_ticks = *utime;
  s.stime_ticks = *stime;
  s.num_threads = *threads;
  s.rss_pages = *rss > 0 ? static_cast<std::uint64_t>(*rss) : 0;
  return s;
}

// Pressure Stall Information: the avg10 of the "some" line.
inline std::optional<double> parse_psi_some_avg10(std::string_view text) {
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (next_token(line) != "some") continue;
    for (std::string_view tok = next_token(line); !tok.empty(); tok = next_token(line)) {
      if (tok.substr(0, 6) == "avg10=") return to_double(tok.substr(6));
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// cgroups
// ---------------------------------------------------------------------------

// /proc/self/cgroup: "0::/path" for the unified (v2) hierarchy,
// "N:ctrl1,ctrl2:/path" for each v1 hierarchy.
struct CgroupMembership {
  std::optional<std::string> unified;
  std::vector<std::pair<std::string, std::string>> v1;  // controllers field, path

  // The v1 line that carries `controller`, as {controllers field, path}.
  const std::pair<std::string, std::string>* v1_for(std::string_view controller) const {
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
};

inline CgroupMembership parse_proc_cgroup(std::string_view text) {
  CgroupMembership m;
  while (!text.empty()) {
    const std::string_view line = trim(next_line(text));
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

// A byte limit: a number, or "max" (v2) for none.
inline std::optional<std::uint64_t> parse_limit(std::string_view text) {
  text = trim(text);
  if (text == "max") return std::nullopt;
  return to_u64(text);
}

// cgroup v2 cpu.max: "QUOTA PERIOD" -> CPUs; "max PERIOD" -> none.
inline std::optional<double> parse_cpu_max(std::string_view text) {
  const auto quota = parse_limit(next_token(text));
  const auto period = to_u64(next_token(text));
  if (!quota || !period || *period == 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

// cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us -> CPUs; a quota of -1 is none.
inline std::optional<double> parse_cfs_quota(std::string_view quota_text,
                                             std::string_view period_text) {
  const auto quota = to_i64(quota_text);
  const auto period = to_i64(period_text);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

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

inline bool file_exists(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return false;
  std::fclose(f);
  return true;
}

// Without a cgroup namespace the path in /proc/self/cgroup is the host's
// view, which does not exist under the container's mount; the mount root is
// then the process's own cgroup.
inline std::string pick_cgroup_dir(const std::string& mount, const std::string& path,
                                   const char* probe) {
  const std::string full = path.empty() || path == "/" ? mount : mount + path;
  if (file_exists(full + "/" + probe)) return full;
  if (file_exists(mount + "/" + probe)) return mount;
  return std::string();
}

inline CgroupDirs resolve_cgroup_dirs(const HostPaths& paths) {
  CgroupDirs d;
  const auto text = read_file(paths.proc + "/self/cgroup");
  if (!text) return d;
  const CgroupMembership m = parse_proc_cgroup(*text);
  if (m.unified && file_exists(paths.cgroup + "/cgroup.controllers")) {
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

inline CgroupReading read_cgroup(const CgroupDirs& d) {
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
