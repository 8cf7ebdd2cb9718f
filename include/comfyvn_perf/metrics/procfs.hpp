// comfyvn_perf — parsers for the Linux /proc files behind the host metrics
// (cgroup.hpp and psi.hpp hold the cgroup and pressure files).
//
// Every parser takes the file's text and returns std::nullopt (or an empty
// result) on anything it does not understand: a metric that cannot be read is
// reported as missing, never as an error. The readers take their roots from
// HostPaths so tests can point them at fixture trees.
#pragma once

#include <charconv>     // from_chars in to_number: no locale, no exceptions
#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <optional>     // missing values
#include <string>       // file contents, paths
#include <string_view>  // parsing without copies
#include <utility>      // pair
#include <vector>       // per-CPU rows

#include "../os/file.hpp"  // kDefaultMaxFileBytes, read_file's default
#include "../os/text.hpp"  // trim in to_number

namespace comfyvn::perf::procfs {

// Where the readers look. /proc/self/... is `proc + "/self/..."`.
struct HostPaths {
  std::string proc = "/proc";
  std::string cgroup = "/sys/fs/cgroup";
};

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

// Whole file (at most `max_bytes` of it), or nullopt when it cannot be
// read. A file that is there but unreadable counts as missing too: the
// metric it feeds is then simply not reported. /proc files report size 0,
// which os::read_file never trusts.
std::optional<std::string> read_file(const std::string& path,
                                     std::size_t max_bytes = os::kDefaultMaxFileBytes);

// Splits off the next whitespace-separated token; empty at the end.
std::string_view next_token(std::string_view& s);

// Splits off the next line (without its '\n').
std::string_view next_line(std::string_view& s);

// The whole of `s` (blanks around it aside) as a T, or nullopt.
template <typename T>
std::optional<T> to_number(std::string_view s) {
  s = os::trim(s);
  T v{};
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> to_u64(std::string_view s);
std::optional<std::int64_t> to_i64(std::string_view s);
std::optional<double> to_double(std::string_view s);

// "key value" lines (meminfo without the colon, memory.stat, cpu.stat).
// Meminfo keys end with ':'; pass the key with it.
std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key);

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

std::optional<ProcStat> parse_proc_stat(std::string_view text);

// Busy percent between two readings, over the CPUs in `allowed` (all of
// them when `allowed` is empty or names no CPU present in the file).
double cpu_percent_between(const ProcStat& before, const ProcStat& after,
                           const std::vector<int>& allowed);

// ---------------------------------------------------------------------------
// Memory and the process
// ---------------------------------------------------------------------------

struct MemInfo {
  std::uint64_t total_kb = 0;
  std::uint64_t available_kb = 0;
};

std::optional<MemInfo> parse_meminfo(std::string_view text);

// Resident pages: the second field of /proc/self/statm.
std::optional<std::uint64_t> parse_statm_resident(std::string_view text);

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
std::optional<SelfStat> parse_self_stat(std::string_view text);

}  // namespace comfyvn::perf::procfs

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----

namespace comfyvn::perf::procfs {

std::optional<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  os::FileRead r = os::read_file(path, max_bytes, /*truncate=*/true);
  if (r.status != os::FileRead::ok) return std::nullopt;
  return std::move(r.text);
}

std::string_view next_token(std::string_view& s) {
  while (!s.empty() && os::is_space(s.front())) s.remove_prefix(1);
  std::size_t i = 0;
  while (i < s.size() && !os::is_space(s[i])) ++i;
  const std::string_view tok = s.substr(0, i);
  s.remove_prefix(i);
  return tok;
}

std::string_view next_line(std::string_view& s) {
  const std::size_t nl = s.find('\n');
  const std::string_view line = s.substr(0, nl);
  s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
  return line;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  return to_number<std::uint64_t>(s);
}
std::optional<std::int64_t> to_i64(std::string_view s) {
  return to_number<std::int64_t>(s);
}
std::optional<double> to_double(std::string_view s) {
  return to_number<double>(s);
}

std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (next_token(line) == key) return to_u64(next_token(line));
  }
  return std::nullopt;
}

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
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

double cpu_percent_between(const ProcStat& before, const ProcStat& after,
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

std::optional<MemInfo> parse_meminfo(std::string_view text) {
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

std::optional<std::uint64_t> parse_statm_resident(std::string_view text) {
  if (next_token(text).empty()) return std::nullopt;
  return to_u64(next_token(text));
}

std::optional<SelfStat> parse_self_stat(std::string_view text) {
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

}  // namespace comfyvn::perf::procfs
#endif
