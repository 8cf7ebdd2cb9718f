// SystemMetricsProvider on fixture hosts (cgroup v1 and v2, "max" values,
// missing files) and on this machine; Metrics' JSON shape.
#include <comfyvn_perf/metrics/provider.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <comfyvn_perf/json/metrics.hpp>

using comfyvn::perf::Metrics;
using comfyvn::perf::SystemMetricsOptions;
using comfyvn::perf::SystemMetricsProvider;
namespace fs = std::filesystem;

namespace {

const double kPageMb = static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);

SystemMetricsOptions host(const std::string& root) {
  SystemMetricsOptions o;
  o.paths.proc = root + "/proc";
  o.paths.cgroup = root + "/sys/fs/cgroup";
  o.allowed_cpus = {0, 1, 2, 3};
  o.gpus = false;
  return o;
}

SystemMetricsOptions fixture_host(const std::string& name) {
  return host(std::string(COMFYVN_TEST_FIXTURES) + "/hosts/" + name);
}

// A writable copy of a fixture host, removed at the end of the test.
struct TempHost {
  fs::path root;
  explicit TempHost(const std::string& name) {
    static std::atomic<int> counter{0};
    root = fs::temp_directory_path() / std::string("comfyvn_perf_host_")
                                           .append(std::to_string(getpid()))
                                           .append("_")
                                           .append(std::to_string(counter++));
    fs::remove_all(root);
    fs::copy(fs::path(COMFYVN_TEST_FIXTURES) / "hosts" / name, root, fs::copy_options::recursive);
  }
  ~TempHost() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(root / rel, std::ios::trunc) << text;
  }
};

}  // namespace

TEST_CASE("cgroup v2 limits are the totals that count", "[metrics]") {
  SystemMetricsProvider p(fixture_host("cgroup_v2"));
  const Metrics m = p.sample();
  CHECK(m.cgroup == "v2");
  CHECK(m.mem_total_mb == Approx(2048));
  CHECK(m.mem_used_mb == Approx(1200 - 200));  // current - inactive_file
  CHECK(m.cpu_count == Approx(1.5));           // quota below the 4 allowed CPUs
  REQUIRE(m.cpu_pressure.has_value());
  CHECK(*m.cpu_pressure == Approx(12.5));
  REQUIRE(m.memory_pressure.has_value());
  CHECK(*m.memory_pressure == Approx(0.75));
  CHECK(m.process_rss_mb == Approx(2048 * kPageMb));
  CHECK(m.process_threads == 7);  // from a stat line whose name holds "(render)"
  CHECK(m.timestamp > 0);
}

TEST_CASE("cgroup v2 \"max\": the host's totals count", "[metrics]") {
  SystemMetricsProvider p(fixture_host("cgroup_v2_max"));
  const Metrics m = p.sample();
  CHECK(m.cgroup.empty());
  CHECK(m.mem_total_mb == Approx(16303428 / 1024.0));
  CHECK(m.mem_used_mb == Approx((16303428 - 9663428) / 1024.0));
  CHECK(m.cpu_count == 4);
  CHECK_FALSE(m.cpu_pressure.has_value());  // no /proc/pressure on this host
  CHECK(boost::json::value_from(m).as_object().at("pressure").is_null());
}

TEST_CASE("cgroup v1 limits, and v1's huge 'unlimited' value", "[metrics]") {
  SECTION("limited") {
    SystemMetricsProvider p(fixture_host("cgroup_v1"));
    const Metrics m = p.sample();
    CHECK(m.cgroup == "v1");
    CHECK(m.mem_total_mb == Approx(1024));
    CHECK(m.mem_used_mb == Approx(700 - 100));
    CHECK(m.cpu_count == Approx(0.5));
  }
  SECTION("unlimited") {
    SystemMetricsProvider p(fixture_host("cgroup_v1_unlimited"));
    const Metrics m = p.sample();
    CHECK(m.cgroup.empty());
    CHECK(m.mem_total_mb == Approx(16303428 / 1024.0));
    CHECK(m.cpu_count == 4);
  }
}

TEST_CASE("missing files give zeros, never an error", "[metrics]") {
  SECTION("only meminfo") {
    SystemMetricsProvider p(fixture_host("sparse"));
    Metrics m;
    REQUIRE_NOTHROW(m = p.sample());
    CHECK(m.mem_total_mb == Approx(16303428 / 1024.0));
    CHECK(m.cpu_percent == 0);
    CHECK(m.process_rss_mb == 0);
    CHECK(m.process_threads == 0);
    CHECK(m.cgroup.empty());
  }
  SECTION("nothing at all") {
    SystemMetricsProvider p(fixture_host("does_not_exist"));
    Metrics m;
    REQUIRE_NOTHROW(m = p.sample());
    CHECK(m.mem_total_mb == 0);
    CHECK(m.mem_used_mb == 0);
    CHECK(m.cpu_percent == 0);
  }
}

TEST_CASE("CPU percent from /proc/stat deltas over the allowed CPUs", "[metrics]") {
  TempHost t("cgroup_v2_max");
  auto opt = host(t.root.string());
  opt.allowed_cpus = {1, 3};
  std::uint64_t now_ns = 1'000'000'000;
  opt.monotonic_ns = [&now_ns] { return now_ns; };
  SystemMetricsProvider p(opt);
  // Between the baseline and the sample: cpu1 busy 50 of 100 jiffies, cpu3
  // busy 100 of 100, cpu0 and cpu2 (not ours) fully busy.
  std::string next = "cpu  0 0 0 0 0 0 0 0 0 0\n";
  const std::uint64_t add_busy[4] = {100, 50, 100, 100};
  const std::uint64_t add_idle[4] = {0, 50, 0, 0};
  std::ifstream in(t.root / "proc/stat");
  std::string line;
  int cpu = 0;
  std::getline(in, line);  // aggregate row, rewritten above
  while (std::getline(in, line) && cpu < 4) {
    std::istringstream ss(line);
    std::string name;
    std::uint64_t col[10];
    ss >> name;
    for (auto& c : col) ss >> c;
    col[0] += add_busy[cpu];
    col[3] += add_idle[cpu];
    next += name;
    for (auto c : col) next.append(" ").append(std::to_string(c));
    next += "\n";
    ++cpu;
  }
  t.write("proc/stat", next);
  now_ns += 1'000'000'000;
  const Metrics m = p.sample();
  CHECK(m.cpu_percent == Approx(75.0));
  CHECK(m.cpu_count == 2);
}

TEST_CASE("CPU percent under a cgroup quota uses the cgroup's usage", "[metrics]") {
  TempHost t("cgroup_v2");
  auto opt = host(t.root.string());
  std::uint64_t now_ns = 5'000'000'000;
  opt.monotonic_ns = [&now_ns] { return now_ns; };
  SystemMetricsProvider p(opt);
  // 0.75 CPU-seconds in 1 s against a 1.5 CPU quota: 50 %.
  t.write("sys/fs/cgroup/app/cpu.stat", "usage_usec 5750000\nuser_usec 1\nsystem_usec 1\n");
  now_ns += 1'000'000'000;
  CHECK(p.sample().cpu_percent == Approx(50.0));
  // Saturated: 2 CPU-seconds in 1 s is clamped to 100 %.
  t.write("sys/fs/cgroup/app/cpu.stat", "usage_usec 7750000\n");
  now_ns += 1'000'000'000;
  CHECK(p.sample().cpu_percent == Approx(100.0));
}

TEST_CASE("GPUs appear through the provider's NVML loader", "[metrics]") {
  auto opt = fixture_host("cgroup_v2");
  opt.gpus = true;
  int opens = 0;
  opt.nvml.open = [&opens](const char*) -> void* {
    ++opens;
    return nullptr;
  };
  std::vector<std::string> log;
  opt.log = [&log](std::string_view l) { log.emplace_back(l); };
  SystemMetricsProvider p(opt);
  CHECK(opens == 0);  // construction never touches NVML
  const Metrics m = p.sample();
  p.sample();
  CHECK(opens == 1);
  CHECK(m.gpus.empty());
  CHECK(log.size() == 1);
  const auto j = comfyvn::perf::metrics_json(m);
  CHECK(j.at("gpus").as_array().empty());
  CHECK(j.at("first_gpu").is_null());
  CHECK(j.at("vram_used_mb").to_number<double>() == 0);
}

TEST_CASE("Metrics JSON shape", "[metrics]") {
  Metrics m;
  m.cpu_percent = 40;
  m.mem_used_mb = 900;
  m.cgroup = "v2";
  m.cpu_pressure = 1.5;
  m.gpus.push_back({0, "A", 50, 1000, 8000, 60});
  m.gpus.push_back({1, "B", 0, 10, 4000, 30});
  const auto j = comfyvn::perf::metrics_json(m);
  CHECK(boost::json::value_from(m) == j);
  CHECK(boost::json::value_from(m.gpus.front()) == j.at("first_gpu"));
  for (const char* k : {"timestamp", "cpu_percent", "cpu_count", "process_cpu_percent",
                        "mem_used_mb", "mem_total_mb", "process_rss_mb", "process_threads",
                        "cgroup", "pressure", "vram_used_mb", "gpus", "first_gpu"}) {
    INFO(k);
    CHECK(j.contains(k));
  }
  const auto& first = j.at("first_gpu").as_object();
  for (const char* k : {"id", "name", "util", "mem_used", "mem_total", "temp_c"}) {
    INFO(k);
    CHECK(first.contains(k));
  }
  CHECK(first.at("name").as_string() == "A");
  CHECK(j.at("vram_used_mb").to_number<double>() == 1000);
  CHECK(j.at("pressure").at("cpu").to_number<double>() == 1.5);
  CHECK(j.at("pressure").at("memory").is_null());
  CHECK(j.at("gpus").as_array().size() == 2);
}

TEST_CASE("the real provider on this machine", "[metrics]") {
  SystemMetricsOptions opt;
  std::vector<std::string> log;
  opt.log = [&log](std::string_view l) { log.emplace_back(l); };
  SystemMetricsProvider p(opt);
  p.sample();
  volatile double sink = 0;
  for (int i = 0; i < 2000000; ++i) sink = sink + i * 0.5;  // some process CPU time
  const Metrics m = p.sample();
  CHECK(m.cpu_percent >= 0);
  CHECK(m.cpu_percent <= 100);
  CHECK(m.process_cpu_percent >= 0);
  CHECK(m.process_cpu_percent <= 100);
  CHECK(m.cpu_count > 0);
  CHECK(m.mem_total_mb > 0);
  CHECK(m.mem_used_mb > 0);
  CHECK(m.mem_used_mb <= m.mem_total_mb);
  CHECK(m.process_rss_mb > 0);
  CHECK(m.process_threads >= 1);
  CHECK(log.size() <= 1);
  const char* expect = std::getenv("COMFYVN_EXPECT_GPU");
  if (expect != nullptr && std::string(expect) == "1") {
    REQUIRE_FALSE(m.gpus.empty());
    WARN(boost::json::serialize(comfyvn::perf::metrics_json(m)));
  }
}
