// The /proc, cgroup and PSI parsers, on fixture files.
#include <comfyvn_perf/metrics/procfs.hpp>

#include <catch2/catch.hpp>

#include <string>

#include <comfyvn_perf/metrics/cgroup.hpp>
#include <comfyvn_perf/metrics/psi.hpp>

namespace procfs = comfyvn::perf::procfs;

namespace {
std::string fixture(const std::string& name) {
  const auto text = procfs::read_file(std::string(COMFYVN_TEST_FIXTURES) + "/" + name);
  REQUIRE(text.has_value());
  return *text;
}
}  // namespace

TEST_CASE("read_file: missing files are nullopt, /proc files read to the end", "[procfs]") {
  CHECK_FALSE(procfs::read_file(std::string(COMFYVN_TEST_FIXTURES) + "/no/such/file"));
  // /proc files report size 0; the reader must not trust it.
  const auto self = procfs::read_file("/proc/self/stat");
  REQUIRE(self.has_value());
  CHECK(self->size() > 20);
}

TEST_CASE("/proc/stat: totals exclude guest time, busy excludes idle and iowait", "[procfs]") {
  const auto st = procfs::parse_proc_stat(fixture("proc_stat.txt"));
  REQUIRE(st.has_value());
  REQUIRE(st->per_cpu.size() == 4);
  CHECK(st->per_cpu[2].first == 2);
  // cpu0: user nice system idle iowait irq softirq steal (guest 23933 excluded)
  const std::uint64_t total0 = 1393280 + 32966 + 572056 + 13343292 + 6130 + 0 + 17875 + 0;
  CHECK(st->per_cpu[0].second.total == total0);
  CHECK(st->per_cpu[0].second.busy == total0 - 13343292 - 6130);
  // cpu2 has steal time, which counts as busy.
  const std::uint64_t total2 = 3678012 + 112538 + 1012305 + 10001145 + 3303 + 0 + 2468 + 1200;
  CHECK(st->per_cpu[2].second.total == total2);
  CHECK(st->per_cpu[2].second.busy == total2 - 10001145 - 3303);
  std::uint64_t sum = 0;
  for (const auto& row : st->per_cpu) sum += row.second.total;
  CHECK(st->all.total == sum);
}

TEST_CASE("/proc/stat: the four-column format and garbage", "[procfs]") {
  const auto old = procfs::parse_proc_stat(fixture("proc_stat_old.txt"));
  REQUIRE(old.has_value());
  CHECK(old->all.total == 1000);
  CHECK(old->all.busy == 150);
  CHECK(old->per_cpu.empty());
  CHECK_FALSE(procfs::parse_proc_stat(""));
  CHECK_FALSE(procfs::parse_proc_stat("intr 1 2 3\nctxt 5\n"));
  CHECK_FALSE(procfs::parse_proc_stat("cpu  1 2 x 4\n"));
}

TEST_CASE("cpu_percent_between: deltas over the allowed CPUs only", "[procfs]") {
  procfs::ProcStat a, b;
  a.per_cpu = {{0, {100, 1000}}, {1, {500, 1000}}, {2, {0, 1000}}};
  b.per_cpu = {{0, {150, 1100}}, {1, {600, 1100}}, {2, {100, 1100}}};
  a.all = {600, 3000};
  b.all = {850, 3300};
  // All CPUs: (250 busy) / (300 total).
  CHECK(procfs::cpu_percent_between(a, b, {}) == Approx(100.0 * 250 / 300));
  // Only CPU 0 and 2 may be used: (50 + 100) / 200.
  CHECK(procfs::cpu_percent_between(a, b, {2, 0}) == Approx(75.0));
  CHECK(procfs::cpu_percent_between(a, b, {1}) == Approx(100.0));
  // An affinity naming CPUs the file does not list falls back to the total.
  CHECK(procfs::cpu_percent_between(a, b, {7}) == Approx(100.0 * 250 / 300));
  // No time passed, or counters went backwards (CPU hot-unplug): 0.
  CHECK(procfs::cpu_percent_between(a, a, {}) == 0.0);
  CHECK(procfs::cpu_percent_between(b, a, {}) == 0.0);
}

TEST_CASE("meminfo: MemAvailable, and the estimate on old kernels", "[procfs]") {
  const auto m = procfs::parse_meminfo(fixture("meminfo.txt"));
  REQUIRE(m.has_value());
  CHECK(m->total_kb == 16303428);
  CHECK(m->available_kb == 9663428);
  const auto old = procfs::parse_meminfo(fixture("meminfo_no_available.txt"));
  REQUIRE(old.has_value());
  CHECK(old->available_kb == 512000 + 102400 + 204800);
  CHECK_FALSE(procfs::parse_meminfo("MemFree: 12 kB\n"));
}

TEST_CASE("/proc/self/stat: odd process names", "[procfs]") {
  const auto plain = procfs::parse_self_stat(fixture("self_stat_plain.txt"));
  REQUIRE(plain.has_value());
  CHECK(plain->comm == "render");
  CHECK(plain->state == 'S');
  CHECK(plain->utime_ticks == 120);
  CHECK(plain->stime_ticks == 35);
  CHECK(plain->num_threads == 7);
  CHECK(plain->rss_pages == 2048);

  // Spaces and parentheses inside the name must not shift the fields.
  const auto odd = procfs::parse_self_stat(fixture("self_stat_odd_name.txt"));
  REQUIRE(odd.has_value());
  CHECK(odd->comm == "my (odd) ) name");
  CHECK(odd->num_threads == 7);
  CHECK(odd->rss_pages == 2048);

  // A name that itself looks like the start of the fields.
  const auto tricky = procfs::parse_self_stat(fixture("self_stat_paren_end.txt"));
  REQUIRE(tricky.has_value());
  CHECK(tricky->comm == "worker) S 1 2 3 (");
  CHECK(tricky->utime_ticks == 120);
  CHECK(tricky->num_threads == 7);

  CHECK_FALSE(procfs::parse_self_stat(fixture("self_stat_truncated.txt")));
  CHECK_FALSE(procfs::parse_self_stat("no parentheses here"));
}

TEST_CASE("statm: the resident field", "[procfs]") {
  CHECK(procfs::parse_statm_resident(fixture("statm.txt")) == std::uint64_t{2048});
  CHECK_FALSE(procfs::parse_statm_resident("30524\n"));
  CHECK_FALSE(procfs::parse_statm_resident(""));
}

TEST_CASE("PSI: some avg10", "[procfs]") {
  CHECK(procfs::parse_psi_some_avg10(fixture("psi_cpu.txt")) == Approx(12.5));
  // The "full" line must not be picked.
  CHECK(procfs::parse_psi_some_avg10(fixture("psi_memory.txt")) == Approx(0.75));
  CHECK_FALSE(procfs::parse_psi_some_avg10("full avg10=3.00 avg60=0 avg300=0 total=1\n"));
  CHECK_FALSE(procfs::parse_psi_some_avg10(""));
}

TEST_CASE("/proc/self/cgroup: v2 and v1 membership", "[procfs]") {
  const auto v2 = procfs::parse_proc_cgroup(fixture("proc_cgroup_v2.txt"));
  REQUIRE(v2.unified.has_value());
  CHECK(*v2.unified == "/app.slice/render.service");
  CHECK(v2.v1.empty());

  const auto v1 = procfs::parse_proc_cgroup(fixture("proc_cgroup_v1.txt"));
  CHECK(v1.v1.size() == 4);
  const auto* mem = v1.v1_for("memory");
  REQUIRE(mem != nullptr);
  CHECK(mem->second == "/docker/abc");
  const auto* cpuacct = v1.v1_for("cpuacct");
  REQUIRE(cpuacct != nullptr);
  CHECK(cpuacct->first == "cpu,cpuacct");
  CHECK(v1.v1_for("cpuset") == nullptr);
  CHECK(v1.v1_for("cpu,") == nullptr);
  // The hybrid layout also has an empty unified line.
  REQUIRE(v1.unified.has_value());
  CHECK(*v1.unified == "/");
}

TEST_CASE("cgroup values: numbers, \"max\", quotas", "[procfs]") {
  CHECK(procfs::parse_limit("2147483648\n") == std::uint64_t{2147483648u});
  CHECK_FALSE(procfs::parse_limit("max\n"));
  CHECK_FALSE(procfs::parse_limit("lots"));
  CHECK(procfs::parse_cpu_max("150000 100000\n") == Approx(1.5));
  CHECK_FALSE(procfs::parse_cpu_max("max 100000\n"));
  CHECK_FALSE(procfs::parse_cpu_max("50000 0\n"));
  CHECK(procfs::parse_cfs_quota("50000\n", "100000\n") == Approx(0.5));
  CHECK_FALSE(procfs::parse_cfs_quota("-1\n", "100000\n"));
  CHECK(procfs::keyed_value("usage_usec 42\nuser_usec 40\n", "user_usec") == std::uint64_t{40});
  CHECK_FALSE(procfs::keyed_value("usage_usec 42\n", "usage"));
}

TEST_CASE("cgroup directories and readings on fixture trees", "[procfs]") {
  auto paths = [](const std::string& host) {
    procfs::HostPaths p;
    p.proc = std::string(COMFYVN_TEST_FIXTURES) + "/hosts/" + host + "/proc";
    p.cgroup = std::string(COMFYVN_TEST_FIXTURES) + "/hosts/" + host + "/sys/fs/cgroup";
    return p;
  };

  SECTION("v2 with limits") {
    const auto d = procfs::resolve_cgroup_dirs(paths("cgroup_v2"));
    CHECK(d.version == "v2");
    const auto r = procfs::read_cgroup(d);
    CHECK(r.mem_limit_bytes == std::uint64_t{2147483648u});
    CHECK(r.mem_usage_bytes == std::uint64_t{1258291200u});
    CHECK(r.inactive_file_bytes == std::uint64_t{209715200u});
    REQUIRE(r.cpu_limit.has_value());
    CHECK(*r.cpu_limit == Approx(1.5));
    CHECK(r.cpu_usage_ns == std::uint64_t{5000000000u});
  }
  SECTION("v2 with max values") {
    const auto r = procfs::read_cgroup(procfs::resolve_cgroup_dirs(paths("cgroup_v2_max")));
    CHECK(r.version == "v2");
    CHECK_FALSE(r.mem_limit_bytes);
    CHECK_FALSE(r.cpu_limit);
  }
  SECTION("v2 without a cgroup namespace falls back to the mount root") {
    const auto p = paths("cgroup_v2_no_namespace");
    const auto d = procfs::resolve_cgroup_dirs(p);
    CHECK(d.memory == p.cgroup);
    CHECK(procfs::read_cgroup(d).mem_limit_bytes == std::uint64_t{1073741824u});
  }
  SECTION("v1 with co-mounted cpu,cpuacct") {
    const auto d = procfs::resolve_cgroup_dirs(paths("cgroup_v1"));
    CHECK(d.version == "v1");
    const auto r = procfs::read_cgroup(d);
    CHECK(r.mem_limit_bytes == std::uint64_t{1073741824u});
    CHECK(r.mem_usage_bytes == std::uint64_t{734003200u});
    CHECK(r.inactive_file_bytes == std::uint64_t{104857600u});
    REQUIRE(r.cpu_limit.has_value());
    CHECK(*r.cpu_limit == Approx(0.5));
    CHECK(r.cpu_usage_ns == std::uint64_t{7000000000u});
  }
  SECTION("v1 unlimited") {
    const auto r = procfs::read_cgroup(procfs::resolve_cgroup_dirs(paths("cgroup_v1_unlimited")));
    CHECK(r.version == "v1");
    CHECK(r.mem_limit_bytes == std::uint64_t{9223372036854771712u});
    CHECK_FALSE(r.cpu_limit);
  }
  SECTION("missing files") {
    const auto d = procfs::resolve_cgroup_dirs(paths("sparse"));
    CHECK(d.version.empty());
    const auto r = procfs::read_cgroup(d);
    CHECK_FALSE(r.mem_limit_bytes);
    CHECK_FALSE(r.cpu_usage_ns);
    CHECK(procfs::resolve_cgroup_dirs(paths("does_not_exist")).version.empty());
  }
}
