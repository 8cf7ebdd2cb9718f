// Export costs, with the goals checked from figures measured in this run:
//   - one Prometheus scrape, prometheus_text(), over 1,000 sites each
//     recorded on 8 live threads (goal: under 10 ms of process CPU);
//   - the Chrome trace writer, detail::trace_text(), over a million spans on
//     8 threads (goal: under 1 s), and boost::json::parse of its text, which
//     is what capture_trace() adds to capture_trace_text();
//   - with prometheus-cpp (COMFYVN_BENCH_PROMETHEUS_CPP, Debian:
//     prometheus-cpp-dev): a Registry holding the same per-site families on
//     the same data, its Collect() and TextSerializer against our writer, and
//     the bridge of <comfyvn_perf/export/prometheus_cpp.hpp>.
// Every benchmark also reports the heap allocations it makes per iteration
// (this program replaces operator new to count them).
//
//   bench_export [--check] [--write-expositions=DIR] [benchmark flags]
// --check: a missed goal fails the process. --write-expositions: writes
// ours.prom (and prometheus-cpp.prom, bridge.prom) for `promtool check
// metrics`, then exits.
// This program's one file with the SDK's definitions (config.hpp).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/perf.hpp>

#include <benchmark/benchmark.h>
#include <time.h>  // clock_gettime

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <new>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#ifdef COMFYVN_BENCH_PROMETHEUS_CPP
#include <comfyvn_perf/export/prometheus_cpp.hpp>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#endif

namespace perf = comfyvn::perf;

// ---- allocation counting (this thread's calls to operator new) ----

namespace {
thread_local std::uint64_t t_allocs = 0;
thread_local std::uint64_t t_alloc_bytes = 0;

void* counted_new(std::size_t n) {
  ++t_allocs;
  t_alloc_bytes += n;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// Out of line: GCC would otherwise pair the inlined free() with `new`.
__attribute__((noinline)) void counted_delete(void* p) noexcept { std::free(p); }
}  // namespace

// The other forms (nothrow, aligned) keep the library's versions, which call
// these or pair with their own.
void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void operator delete(void* p) noexcept { counted_delete(p); }
void operator delete[](void* p) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_delete(p); }

namespace {

struct AllocCount {
  std::uint64_t allocs = t_allocs, bytes = t_alloc_bytes;
  // Per iteration, as counters.
  void report(benchmark::State& state) const {
    const double n = static_cast<double>(state.iterations());
    state.counters["allocs"] = static_cast<double>(t_allocs - allocs) / n;
    state.counters["alloc_MB"] = static_cast<double>(t_alloc_bytes - bytes) / n / 1e6;
  }
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// ---- 1,000 sites, each recorded on 8 threads that stay alive ----

constexpr int kSites = 1000;
constexpr int kThreads = 8;
constexpr int kSpansPerSitePerThread = 32;  // 256 spans per site in all

const char* const kCategories[] = {"render", "audio", "script", "io", "ai", "ui", "asset", "net"};

std::string site_name(int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s.stage_%02d/op_%04d", kCategories[i % 8], i % 37, i);
  return buf;
}

class RecordingThreads {
 public:
  RecordingThreads() {
    auto& p = perf::perf_profiler();
    p.set_enabled(true);
    p.reset();
    perf::budget_manager().sample_now();  // real host numbers in the budget families
    for (int t = 0; t < kThreads; ++t) threads_.emplace_back([this, t] { run(t); });
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_ == kThreads; });
    lock.unlock();
    perf::detail::registry().collect();
  }
  ~RecordingThreads() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& th : threads_) th.join();
  }

 private:
  void run(int t) {
    perf::set_thread_name("recorder " + std::to_string(t));
    auto& p = perf::perf_profiler();
    std::mt19937_64 rng(1234 + t);
    std::uniform_real_distribution<double> jitter(-0.7, 0.7);
    std::vector<std::string> names, cats;
    for (int i = 0; i < kSites; ++i) {
      names.push_back(site_name(i));
      cats.push_back(kCategories[i % 8]);
    }
    int recorded = 0;
    for (int r = 0; r < kSpansPerSitePerThread; ++r) {
      for (int i = 0; i < kSites; ++i) {
        // Site i around 2 us * 10^(5 i / 1000): 2 us to 200 ms, a few buckets each.
        const double ms = 2e-3 * std::pow(10.0, 5.0 * i / kSites) * std::exp(jitter(rng));
        p.record_span(names[i], cats[i], ms);
        // Collect before the ring (COMFYVN_PERF_RING_CAPACITY) can overwrite:
        // every span reaches the histograms.
        if (++recorded % 2048 == 0) perf::detail::registry().collect();
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    ++done_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return stop_; });
  }

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
  bool stop_ = false;
};

RecordingThreads* g_recording = nullptr;
void ensure_recorded() {
  if (g_recording == nullptr) g_recording = new RecordingThreads();
}

perf::PrometheusSources scrape_sources() {
  perf::PrometheusSources src;
  src.feature_flag = true;
  src.profiler = &perf::perf_profiler();
  src.budgets = &perf::budget_manager();
  return src;
}

// The whole scrape: profiler.histograms() (collect, merge 8 threads' totals
// per site, bucket counts) plus the text.
void BM_PrometheusScrape(benchmark::State& state) {
  ensure_recorded();
  const perf::PrometheusSources src = scrape_sources();
  std::size_t bytes = 0;
  const AllocCount alloc;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    std::string text = perf::prometheus_text(src);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  const double cpu = process_cpu_seconds() - cpu0;
  alloc.report(state);
  state.counters["cpu_ms"] = cpu * 1e3 / static_cast<double>(state.iterations());
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PrometheusScrape)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// The same text from the same public writers, into a string reserved at the
// previous scrape's size: one buffer instead of a doubling chain of them
// (which the allocator may hand back to the kernel and fault in again on
// every scrape).
void BM_PrometheusScrapeReserved(benchmark::State& state) {
  ensure_recorded();
  const perf::PrometheusSources src = scrape_sources();
  std::size_t bytes = perf::prometheus_text(src).size();
  const AllocCount alloc;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    std::string text;
    text.reserve(bytes + bytes / 8);
    perf::PrometheusWriter w(text);
    w.begin("comfyvn_perf_build_info", "gauge", "comfyvn_perf version; always 1.");
    w.sample("comfyvn_perf_build_info", {{"version", COMFYVN_PERF_VERSION}}, 1);
    w.begin("comfyvn_perf_feature_flag", "gauge", "The enable_perf feature flag (0 or 1).");
    w.sample("comfyvn_perf_feature_flag", 1);
    perf::write_prometheus_profiler(w, *src.profiler);
    perf::write_prometheus_budgets(w, *src.budgets);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  const double cpu = process_cpu_seconds() - cpu0;
  alloc.report(state);
  state.counters["cpu_ms"] = cpu * 1e3 / static_cast<double>(state.iterations());
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PrometheusScrapeReserved)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// Its first half: the snapshot alone.
void BM_PrometheusSnapshot(benchmark::State& state) {
  ensure_recorded();
  auto& p = perf::perf_profiler();
  const AllocCount alloc;
  for (auto _ : state) {
    perf::HistogramSnapshot snap = p.histograms(perf::prometheus_duration_bounds());
    benchmark::DoNotOptimize(snap.sites.data());
  }
  alloc.report(state);
}
BENCHMARK(BM_PrometheusSnapshot)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// The three per-site families of write_prometheus_profiler(), written with
// PrometheusWriter from a snapshot taken beforehand: the text alone, on
// exactly the data of the prometheus-cpp benchmarks below.
void write_site_families(perf::PrometheusWriter& w, const perf::HistogramSnapshot& snap) {
  const std::vector<double>& bounds = perf::prometheus_duration_bounds();
  w.begin("comfyvn_perf_span_calls_total", "counter", "Spans recorded per site (exact).");
  for (const auto& s : snap.sites) {
    w.sample("comfyvn_perf_span_calls_total", {{"name", s.name}, {"category", s.category}},
             static_cast<double>(s.count));
  }
  w.begin("comfyvn_perf_span_seconds_total", "counter", "Total time in spans per site (exact).");
  for (const auto& s : snap.sites) {
    w.sample("comfyvn_perf_span_seconds_total", {{"name", s.name}, {"category", s.category}},
             s.sum_seconds);
  }
  w.begin("comfyvn_perf_span_duration_seconds", "histogram",
          "Span durations per site; buckets from the percentile histograms.");
  for (const auto& s : snap.sites) {
    w.histogram("comfyvn_perf_span_duration_seconds", s.name, s.category, bounds, s.cumulative,
                s.count, s.sum_seconds);
  }
}

const perf::HistogramSnapshot& site_snapshot() {
  static const perf::HistogramSnapshot snap = [] {
    ensure_recorded();
    return perf::perf_profiler().histograms(perf::prometheus_duration_bounds());
  }();
  return snap;
}

std::string our_site_text() {
  std::string out;
  out.reserve(4096);
  perf::PrometheusWriter w(out);
  write_site_families(w, site_snapshot());
  return out;
}

void BM_PrometheusWriterSites(benchmark::State& state) {
  site_snapshot();
  std::size_t bytes = 0;
  const AllocCount alloc;
  for (auto _ : state) {
    std::string text = our_site_text();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  alloc.report(state);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PrometheusWriterSites)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

std::vector<std::string> g_notes;  // printed after the results

#ifdef COMFYVN_BENCH_PROMETHEUS_CPP

// ---- the exposition read back: series -> value, labels in name order ----

// "name{k="v",...}" with the labels sorted by key, escapes kept as written;
// with `numeric_le`, an `le` bound is rewritten from the number it spells
// (1e-04 and 0.0001 are the same bound, but not the same series).
std::string canonical_series(std::string_view s, bool numeric_le) {
  const std::size_t brace = s.find('{');
  if (brace == std::string_view::npos) return std::string(s);
  std::vector<std::string> labels;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = brace + 1; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted && c == '\\' && i + 1 < s.size()) {
      cur += c;
      cur += s[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == ',' || c == '}')) {
      if (numeric_le && cur.rfind("le=\"", 0) == 0 && cur != "le=\"+Inf\"") {
        char buf[64];
        std::snprintf(buf, sizeof buf, "le=\"%.17g\"", std::strtod(cur.c_str() + 4, nullptr));
        cur = buf;
      }
      if (!cur.empty()) labels.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  std::sort(labels.begin(), labels.end());
  std::string out(s.substr(0, brace));
  out += '{';
  for (std::size_t i = 0; i < labels.size(); ++i) out += (i ? "," : "") + labels[i];
  out += '}';
  return out;
}

struct Exposition {
  std::map<std::string, double> samples;  // canonical series -> value
  std::map<std::string, std::string> meta;  // "# HELP name" / "# TYPE name" -> rest
};

Exposition read_exposition(const std::string& text, bool numeric_le) {
  Exposition e;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    if (line[0] == '#') {
      const std::size_t sp = line.find(' ', line.find(' ', 2) + 1);
      e.meta[std::string(line.substr(0, sp))] = std::string(line.substr(sp + 1));
      continue;
    }
    const std::size_t sp = line.rfind(' ');
    e.samples[canonical_series(line.substr(0, sp), numeric_le)] =
        std::strtod(std::string(line.substr(sp + 1)).c_str(), nullptr);
  }
  return e;
}

// Same series and help/type lines; values equal to 1e-15 relative (prometheus-cpp
// writes 16 significant digits, we write the shortest exact form).
struct Comparison {
  std::size_t samples = 0, missing = 0, extra = 0, value_diffs = 0, meta_diffs = 0;
  double max_rel = 0;
  bool equal() const { return missing + extra + value_diffs + meta_diffs == 0 && samples > 0; }
};

Comparison compare(const Exposition& ours, const Exposition& theirs) {
  Comparison c;
  c.samples = ours.samples.size();
  for (const auto& [series, v] : ours.samples) {
    auto it = theirs.samples.find(series);
    if (it == theirs.samples.end()) {
      ++c.missing;
      continue;
    }
    const double rel = v == it->second ? 0 : std::fabs(v - it->second) / std::fabs(v);
    c.max_rel = std::max(c.max_rel, rel);
    if (rel > 1e-15) ++c.value_diffs;
  }
  for (const auto& kv : theirs.samples) c.extra += ours.samples.count(kv.first) == 0;
  for (const auto& kv : ours.meta) {
    auto it = theirs.meta.find(kv.first);
    c.meta_diffs += it == theirs.meta.end() || it->second != kv.second;
  }
  c.meta_diffs += theirs.meta.size() > ours.meta.size() ? theirs.meta.size() - ours.meta.size() : 0;
  return c;
}


// Compares twice: series as written, and with `le` read as a number.
void note(const std::string& what, const std::string& ours, const std::string& theirs) {
  const Comparison raw = compare(read_exposition(ours, false), read_exposition(theirs, false));
  const Comparison c = compare(read_exposition(ours, true), read_exposition(theirs, true));
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s: %zu samples; le read as numbers: %zu missing, %zu extra, %zu values differ "
                "(max rel %.2g), %zu help/type lines differ -> %s; as written: %zu series "
                "spelled differently",
                what.c_str(), c.samples, c.missing, c.extra, c.value_diffs, c.max_rel,
                c.meta_diffs, c.equal() ? "same data" : "DIFFERENT", raw.missing);
  g_notes.push_back(buf);
}


// ---- prometheus-cpp: a Registry with the same three per-site families ----

class PromCppRegistry {
 public:
  PromCppRegistry() {
    const perf::HistogramSnapshot& snap = site_snapshot();
    const auto& bounds = perf::prometheus_duration_bounds();
    auto& calls = prometheus::BuildCounter()
                      .Name("comfyvn_perf_span_calls_total")
                      .Help("Spans recorded per site (exact).")
                      .Register(registry);
    auto& secs = prometheus::BuildCounter()
                     .Name("comfyvn_perf_span_seconds_total")
                     .Help("Total time in spans per site (exact).")
                     .Register(registry);
    auto& hist = prometheus::BuildHistogram()
                     .Name("comfyvn_perf_span_duration_seconds")
                     .Help("Span durations per site; buckets from the percentile histograms.")
                     .Register(registry);
    for (const auto& s : snap.sites) {
      const prometheus::Labels labels{{"name", s.name}, {"category", s.category}};
      calls.Add(labels).Increment(static_cast<double>(s.count));
      secs.Add(labels).Increment(s.sum_seconds);
      // Per-bucket counts from the cumulative ones; the last is +Inf.
      std::vector<double> increments(bounds.size() + 1);
      std::uint64_t below = 0;
      for (std::size_t k = 0; k <= bounds.size(); ++k) {
        const std::uint64_t c = k < s.cumulative.size() ? s.cumulative[k] : s.count;
        increments[k] = static_cast<double>(c - below);
        below = c;
      }
      hist.Add(labels, bounds).ObserveMultiple(increments, s.sum_seconds);
    }
  }
  prometheus::Registry registry;
};

const PromCppRegistry& prom_cpp() {
  static const PromCppRegistry r;
  return r;
}

void BM_PromCppCollect(benchmark::State& state) {
  const auto& r = prom_cpp();
  const AllocCount alloc;
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families = r.registry.Collect();
    benchmark::DoNotOptimize(families.data());
  }
  alloc.report(state);
}
BENCHMARK(BM_PromCppCollect)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

void BM_PromCppSerialize(benchmark::State& state) {
  const std::vector<prometheus::MetricFamily> families = prom_cpp().registry.Collect();
  std::size_t bytes = 0;
  const AllocCount alloc;
  for (auto _ : state) {
    std::string text = prometheus::TextSerializer().Serialize(families);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  alloc.report(state);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PromCppSerialize)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// What an Exposer does per scrape (before compression): Collect + Serialize.
void BM_PromCppScrape(benchmark::State& state) {
  const auto& r = prom_cpp();
  std::size_t bytes = 0;
  const AllocCount alloc;
  for (auto _ : state) {
    std::string text = prometheus::TextSerializer().Serialize(r.registry.Collect());
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  alloc.report(state);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PromCppScrape)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// The bridge's Collect(): prometheus_text() read back into prometheus-cpp
// families.
void BM_BridgeCollect(benchmark::State& state) {
  ensure_recorded();
  const perf::PrometheusCollectable bridge(scrape_sources());
  const AllocCount alloc;
  for (auto _ : state) {
    std::vector<prometheus::MetricFamily> families = bridge.Collect();
    benchmark::DoNotOptimize(families.data());
  }
  alloc.report(state);
}
BENCHMARK(BM_BridgeCollect)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

// The bridge scrape as an Exposer runs it: Collect() + TextSerializer, the
// whole exposition (as BM_PrometheusScrape).
void BM_BridgeScrape(benchmark::State& state) {
  ensure_recorded();
  const perf::PrometheusCollectable bridge(scrape_sources());
  std::size_t bytes = 0;
  const AllocCount alloc;
  for (auto _ : state) {
    std::string text = prometheus::TextSerializer().Serialize(bridge.Collect());
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  alloc.report(state);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_BridgeScrape)->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);

std::string prom_cpp_text() { return prometheus::TextSerializer().Serialize(prom_cpp().registry.Collect()); }
std::string bridge_text() {
  return prometheus::TextSerializer().Serialize(
      perf::PrometheusCollectable(scrape_sources()).Collect());
}

#endif  // COMFYVN_BENCH_PROMETHEUS_CPP

// ---- a million spans on 8 threads, as a capture would hold them ----

constexpr std::size_t kTraceSpans = 1'000'000;

struct SiteSpec {
  const char* name;
  const char* category;
};
// Sites by nesting level (level 0: the frame's root scope).
const std::vector<std::vector<SiteSpec>> kTraceSites = {
    {{"main.frame", "frame"}},
    {{"update", "game"}, {"render", "render"}, {"audio.mix", "audio"}, {"script.tick", "script"}},
    {{"physics.step", "game"},  {"ai.think", "ai"},          {"anim.update", "game"},
     {"render.cull", "render"}, {"render.shadows", "render"}, {"render.opaque", "render"},
     {"render.ui", "ui"},       {"script.vm", "script"}},
    {{"physics.broadphase", "game"}, {"physics.solve", "game"},     {"ai.path", "ai"},
     {"anim.blend", "game"},         {"render.batch", "render"},    {"render.upload", "render"},
     {"ui.layout", "ui"},            {"script.call", "script"}},
    {{"physics.contacts", "game"}, {"ai.astar", "ai"},         {"render.draw", "render"},
     {"gpu.submit", "render"},     {"ui.text_shape", "ui"},    {"script.gc", "script"},
     {"asset.lookup", "asset"}},
    {{"render.bind", "render"}, {"ui.glyph", "ui"}, {"alloc.arena", "memory"},
     {"io.read", "io"},         {"hash.lookup", "core"}},
};
constexpr int kTraceLevels = 6;  // 0..5

class TraceGen {
 public:
  explicit TraceGen(std::uint32_t thread, std::vector<std::uint32_t> site_base)
      : thread_(thread), rng_(99 + thread), site_base_(std::move(site_base)) {}

  // One frame's spans in the order they end, from `start` for `len` ticks.
  void frame(std::uint64_t start, std::uint64_t len, std::vector<perf::RawSpan>& out) {
    node(0, start, len, out);
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng_);
  }

  void node(int level, std::uint64_t start, std::uint64_t len, std::vector<perf::RawSpan>& out) {
    const int max_children = level < 2 ? 5 : level < kTraceLevels - 1 ? 3 : 0;
    if (max_children > 0 && len > 64) {
      const int n = static_cast<int>(uniform(level < 2 ? 2 : 1, max_children));
      // Children share the parent's time; a scope often starts right at its
      // parent's start or ends at its end (the writer's nudging at work).
      std::uint64_t cursor = start + (uniform(0, 2) == 0 ? 0 : uniform(0, len / 20));
      const std::uint64_t end = start + len;
      for (int i = 0; i < n && cursor < end; ++i) {
        const std::uint64_t room = end - cursor;
        std::uint64_t child = room * uniform(30, 90) / 100 / static_cast<std::uint64_t>(n - i);
        if (i == n - 1 && uniform(0, 3) == 0) child = room;  // ends with the parent
        if (child == 0) break;
        node(level + 1, cursor, child, out);
        cursor += child + uniform(0, room / 50);
      }
    }
    const auto& sites = kTraceSites[static_cast<std::size_t>(level)];
    const std::uint32_t site = site_base_[static_cast<std::size_t>(level)] +
                               static_cast<std::uint32_t>(uniform(0, sites.size() - 1));
    out.push_back(perf::RawSpan{site, thread_, start, len, 0});
  }

  std::uint32_t thread_;
  std::mt19937_64 rng_;
  std::vector<std::uint32_t> site_base_;
};

perf::detail::TraceData make_trace() {
  perf::detail::TraceData d;
  d.ns_per_tick = 0.3;  // a 3.3 GHz tick counter
  d.process_name = "render_loop";
  d.sites.resize(perf::detail::kFirstUserSiteId);
  d.sites[perf::detail::kOtherSiteId] = {"(other)", "", "", "", 0, true};
  d.sites[perf::detail::kFrameSiteId] = {"frame", "frame", "", "", 0, false};
  std::vector<std::uint32_t> base;
  for (const auto& level : kTraceSites) {
    base.push_back(static_cast<std::uint32_t>(d.sites.size()));
    for (const SiteSpec& s : level) d.sites.push_back({s.name, s.category, "game.cpp", "f", 1, false});
  }
  const std::uint32_t async_site = static_cast<std::uint32_t>(d.sites.size());
  d.sites.push_back({"asset.async_load", "asset", "", "", 0, true});

  const std::uint64_t origin = 123'456'789'000'000ull;  // ticks since boot
  const std::uint64_t frame_ticks = static_cast<std::uint64_t>(16.6e6 / d.ns_per_tick);
  const std::size_t quota = kTraceSpans / kThreads;
  std::vector<std::vector<perf::RawSpan>> per_thread(kThreads);
  std::uint64_t last_end = origin;
  for (std::uint32_t t = 0; t < kThreads; ++t) {
    d.thread_names[t] = t == 0 ? "main" : t == 1 ? "render" : "worker " + std::to_string(t - 1);
    TraceGen gen(t, base);
    std::vector<perf::RawSpan>& out = per_thread[t];
    out.reserve(quota + 4096);
    std::uint64_t frame_start = origin + t * 977;
    while (out.size() < quota) {
      const std::uint64_t len = frame_ticks + gen.rng()() % (frame_ticks / 8);
      const std::uint64_t work = len * (60 + gen.rng()() % 35) / 100;
      gen.frame(frame_start, work, out);
      // A span measured elsewhere (record_span) that overlaps its siblings.
      if (gen.rng()() % 50 == 0) {
        out.push_back({async_site, t, frame_start + work / 3, len, 0});
      }
      if (t < 2) out.push_back({perf::detail::kFrameSiteId, t, frame_start, len, 0});  // PERF_FRAME
      frame_start += len;
    }
    out.resize(quota);  // spans end in order: a prefix is what a window would hold
    last_end = std::max(last_end, frame_start);
  }
  // The collector's batches: up to a ring's worth from each thread in turn.
  d.spans.reserve(kTraceSpans);
  std::vector<std::size_t> at(kThreads, 0);
  for (bool more = true; more;) {
    more = false;
    for (std::uint32_t t = 0; t < kThreads; ++t) {
      const std::size_t n = std::min<std::size_t>(COMFYVN_PERF_RING_CAPACITY, quota - at[t]);
      d.spans.insert(d.spans.end(), per_thread[t].begin() + at[t], per_thread[t].begin() + at[t] + n);
      at[t] += n;
      more = more || at[t] < quota;
    }
  }
  d.origin_ticks = origin;
  d.seconds = static_cast<double>(last_end - origin) * d.ns_per_tick * 1e-9;
  for (std::uint64_t tick = origin; tick < last_end; tick += frame_ticks * 15) {  // 4 a second
    d.counters.push_back({"host_cpu_percent", 42.5, tick});
    d.counters.push_back({"process_rss_mb", 812.25, tick});
  }
  for (int i = 0; i < 40; ++i) {
    d.marks.push_back({"scene.change", "game", i % 4 == 0 ? "{\"scene\":\"intro\"}" : "",
                       origin + static_cast<std::uint64_t>(i) * frame_ticks * 37});
  }
  return d;
}

const perf::detail::TraceData& trace_data() {
  static const perf::detail::TraceData d = make_trace();
  return d;
}

const std::string& trace_json() {
  static const std::string text = perf::detail::trace_text(trace_data());
  return text;
}

// The nesting pass alone (part of trace_text).
void BM_TraceSlices(benchmark::State& state) {
  const auto& d = trace_data();
  std::size_t slices = 0;
  const AllocCount alloc;
  for (auto _ : state) {
    auto s = perf::detail::trace_slices(d);
    slices = s.size();
    benchmark::DoNotOptimize(s.data());
  }
  alloc.report(state);
  state.counters["slices"] = static_cast<double>(slices);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * d.spans.size()));
}
BENCHMARK(BM_TraceSlices)->Unit(benchmark::kMillisecond);

void BM_TraceText(benchmark::State& state) {
  const auto& d = trace_data();
  std::size_t bytes = 0;
  const AllocCount alloc;
  for (auto _ : state) {
    std::string text = perf::detail::trace_text(d);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  alloc.report(state);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["spans"] = static_cast<double>(d.spans.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * d.spans.size()));
}
BENCHMARK(BM_TraceText)->Unit(benchmark::kMillisecond);

// What capture_trace() adds to capture_trace_text(): parsing the text into
// a boost::json value (freeing it is not timed). The first repetition in a
// process is the costly one: its ~400 MB of nodes come from fresh pages;
// later ones reuse what the allocator kept.
void BM_TraceParse(benchmark::State& state) {
  const std::string& text = trace_json();
  const std::size_t spans = trace_data().spans.size();
  const AllocCount alloc;
  for (auto _ : state) {
    boost::json::value v = boost::json::parse(text);
    benchmark::DoNotOptimize(&v);
    state.PauseTiming();
    v = nullptr;
    state.ResumeTiming();
  }
  alloc.report(state);  // includes what freeing it allocates: nothing
  state.counters["bytes"] = static_cast<double>(text.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * spans));
}
BENCHMARK(BM_TraceParse)->Unit(benchmark::kMillisecond);

// ---- results: medians when repeated ----

class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      std::string name = r.benchmark_name();
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (median) name = name.substr(0, name.rfind('_'));
      if (r.run_type == Run::RT_Aggregate && !median) continue;
      if (!median && medians_.count(name) != 0) continue;
      if (median) medians_.insert(name);
      // In ms: every benchmark here reports in milliseconds.
      ms[name] = r.GetAdjustedCPUTime();
      for (const auto& c : r.counters) counters[name + ":" + c.first] = c.second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> ms;
  std::map<std::string, double> counters;

 private:
  std::set<std::string> medians_;
};

double get(const std::map<std::string, double>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? -1.0 : it->second;
}

std::string bench_name(const char* base, bool process_cpu) {
  return std::string(base) + (process_cpu ? "/process_time" : "");
}

int write_expositions(const std::string& dir) {
  ensure_recorded();
  auto write = [&](const char* file, const std::string& text) {
    std::ofstream(dir + "/" + file, std::ios::binary) << text;
    std::printf("wrote %s/%s (%zu bytes)\n", dir.c_str(), file, text.size());
  };
  write("ours.prom", perf::prometheus_text(scrape_sources()));
  write("ours-sites.prom", our_site_text());
#ifdef COMFYVN_BENCH_PROMETHEUS_CPP
  write("prometheus-cpp.prom", prom_cpp_text());
  write("bridge.prom", bridge_text());
#endif
  delete g_recording;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool check = false;
  std::string expositions;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check") == 0) {
      check = true;
    } else if (std::strncmp(argv[i], "--write-expositions=", 20) == 0) {
      expositions = argv[i] + 20;
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (!expositions.empty()) return write_expositions(expositions);
  CollectingReporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);

  const auto& t = rep.ms;
  const auto& c = rep.counters;
  const std::string scrape = bench_name("BM_PrometheusScrape", true);
  const double scrape_ms = get(c, scrape + ":cpu_ms");
  const double scrape_bytes = get(c, scrape + ":bytes");
  const double writer = get(t, bench_name("BM_PrometheusWriterSites", true));
  const double snapshot = get(t, bench_name("BM_PrometheusSnapshot", true));
  const double trace = get(t, "BM_TraceText");
  const double parse = get(t, "BM_TraceParse");
  const double per_million = trace * 1e6 / static_cast<double>(kTraceSpans);

  struct Row {
    std::string what;
    double value;
    const char* goal;
    bool pass;
  };
  std::vector<Row> rows;
  if (scrape_ms >= 0) {
    rows.push_back({"scrape: process CPU per prometheus_text (ms)", scrape_ms, "< 10", scrape_ms < 10});
    rows.push_back({"scrape: exposition size (bytes)", scrape_bytes, "(info)", true});
  }
  const double reserved = get(c, bench_name("BM_PrometheusScrapeReserved", true) + ":cpu_ms");
  if (reserved >= 0) {
    rows.push_back({"scrape, same text into a reserved string (ms)", reserved, "(info)", true});
  }
  if (snapshot >= 0) rows.push_back({"scrape: histograms() snapshot alone (ms)", snapshot, "(info)", true});
  if (writer >= 0) rows.push_back({"scrape: text of the 3 site families (ms)", writer, "(info)", true});
  if (trace >= 0) {
    rows.push_back({"trace_text per million spans (ms)", per_million, "< 1000", per_million < 1000});
  }
  if (parse >= 0) {
    rows.push_back({"boost::json::parse per million spans (ms)",
                    parse * 1e6 / static_cast<double>(kTraceSpans), "(info)", true});
  }
#ifdef COMFYVN_BENCH_PROMETHEUS_CPP
  const double pc_collect = get(t, bench_name("BM_PromCppCollect", true));
  const double pc_serialize = get(t, bench_name("BM_PromCppSerialize", true));
  const double pc_scrape = get(t, bench_name("BM_PromCppScrape", true));
  const double bridge = get(t, bench_name("BM_BridgeScrape", true));
  if (pc_scrape >= 0 && writer >= 0) {
    rows.push_back({"prometheus-cpp Collect+Serialize / our writer", pc_scrape / writer, "(info)", true});
  }
  if (pc_serialize >= 0 && writer >= 0) {
    rows.push_back({"prometheus-cpp Serialize alone / our writer", pc_serialize / writer, "(info)", true});
  }
  if (pc_collect >= 0 && snapshot >= 0) {
    rows.push_back({"prometheus-cpp Collect / our snapshot", pc_collect / snapshot, "(info)", true});
  }
  if (bridge >= 0) {
    const double scrape_cpu = get(t, scrape);
    rows.push_back({"bridge scrape (ms)", bridge, "(info)", true});
    if (scrape_cpu >= 0) {
      rows.push_back({"bridge scrape / prometheus_text scrape", bridge / scrape_cpu, "(info)", true});
    }
    const double reserved_cpu = get(t, bench_name("BM_PrometheusScrapeReserved", true));
    if (reserved_cpu >= 0) {
      rows.push_back({"bridge scrape / reserved-string scrape", bridge / reserved_cpu, "(info)", true});
    }
  }
  if (pc_scrape >= 0) {
    const double reserved_cpu = get(t, bench_name("BM_PrometheusScrapeReserved", true));
    if (reserved_cpu >= 0) {
      rows.push_back({"prometheus-cpp Collect+Serialize / reserved-string scrape",
                      pc_scrape / reserved_cpu, "(info)", true});
    }
  }
  // Equal data: the same series and values in both expositions (when the
  // prometheus-cpp benchmarks ran).
  if (pc_scrape >= 0 || pc_collect >= 0 || pc_serialize >= 0 || bridge >= 0) {
    note("prometheus-cpp registry vs our writer (3 site families)", our_site_text(),
         prom_cpp_text());
    note("bridge vs prometheus_text (whole exposition)", perf::prometheus_text(scrape_sources()),
         bridge_text());
  }
#else
  g_notes.push_back("prometheus-cpp comparison not built (prometheus-cpp-core not found)");
#endif

  bool all = true;
  if (!rows.empty()) {  // nothing ran with --benchmark_list_tests
    std::printf("\n%-58s %12s  %-7s %s\n", "target", "measured", "goal", "");
    for (const auto& r : rows) {
      std::printf("%-58s %12.3f  %-7s %s\n", r.what.c_str(), r.value, r.goal,
                  r.pass ? "ok" : "MISSED");
      all = all && r.pass;
    }
    for (const auto& s : g_notes) std::printf("%s\n", s.c_str());
  }
  delete g_recording;  // joins the recording threads
  benchmark::Shutdown();
  return (check && !all) ? 1 : 0;
}
