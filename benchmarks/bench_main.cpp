// Runs the benchmarks, then prints the targets as ratios measured in
// this same run (absolute nanoseconds differ from machine to machine).
// --check makes a missed target fail the process.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      const std::string name = r.benchmark_name();
      if (r.run_type == Run::RT_Aggregate) {
        if (r.aggregate_name == "median") {
          ns[name.substr(0, name.rfind('_'))] = r.GetAdjustedCPUTime();
          medians = true;
        }
      } else if (!medians || ns.count(name) == 0) {
        ns[name] = r.GetAdjustedCPUTime();
        for (const auto& c : r.counters) counters[name + ":" + c.first] = c.second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> ns;
  std::map<std::string, double> counters;
  bool medians = false;
};

double get(const std::map<std::string, double>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? -1.0 : it->second;
}

}  // namespace

int main(int argc, char** argv) {
  bool check = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check") == 0) {
      check = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  CollectingReporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);

  const auto& t = rep.ns;
  const double empty = get(t, "BM_EmptyLoop/threads:1");
  const double floor = get(t, "BM_TwoClockReads/threads:1");
  const double on = get(t, "BM_ScopeEnabled/threads:1");
  const double dyn = get(t, "BM_ScopeDynamicEnabled/threads:1");
  const double off = get(t, "BM_ScopeRuntimeDisabled/threads:1");
  const double out = get(t, "BM_ScopeCompiledOut/threads:1");
  const double mp = get(t, "BM_Microprofile/threads:1");
  const double on2 = get(t, "BM_ScopeEnabled/threads:2");
  const double rss = get(rep.counters, "BM_Rss10MScopes/iterations:1/threads:1:rss_growth_mib");

  struct Row {
    const char* what;
    double value;
    const char* target;
    bool pass;
  };
  std::vector<Row> rows;
  auto add = [&](const char* what, double a, double b, double value, const char* target,
                 bool pass) {
    if (a < 0 || b < 0) return;  // filtered out of this run
    rows.push_back({what, value, target, pass});
  };
  add("enabled / floor (two clock reads)", on, floor, on / floor, "<= 1.05", on / floor <= 1.05);
  add("dynamic name / floor", dyn, floor, dyn / floor, "(info)", true);
  add("enabled / microprofile", on, mp, on / mp, "<= 0.50", on / mp <= 0.50);
  add("runtime-disabled - empty loop (ns)", off, empty, off - empty, "<= 1.0", off - empty <= 1.0);
  add("compiled out / empty loop", out, empty, out / empty, "~ 1.00", out / empty <= 1.10);
  add("2 threads / 1 thread (enabled, per thread)", on2, on, on2 / on, "<= 1.15", on2 / on <= 1.15);
  if (rss >= 0) rows.push_back({"RSS growth over 10M scopes (MiB)", rss, "< 16", rss < 16.0});

  std::printf("\n%-46s %10s  %-8s %s\n", "target", "measured", "goal", "");
  bool all = true;
  for (const auto& r : rows) {
    std::printf("%-46s %10.3f  %-8s %s\n", r.what, r.value, r.target, r.pass ? "ok" : "MISSED");
    all = all && r.pass;
  }
  benchmark::Shutdown();
  return (check && !all) ? 1 : 0;
}
