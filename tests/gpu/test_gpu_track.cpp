// The API-neutral half of GPU scopes without a device: slots read in order
// and never waited for, late results, frames closed once all their slots
// are read, overflow counted as dropped, stale slots as lost, the fence
// watermark, the clock map, and "(gpu frame)" spans in the aggregates, the
// call tree, span budgets and spikes. The timestamps are made up: `read`
// returns what the test decides.
#include <comfyvn_perf/gpu/track.hpp>
#include <comfyvn_perf/export/prometheus.hpp>
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace perf = comfyvn::perf;
using perf::gpu::detail::GpuTrack;

namespace {

void enable_fresh() {
  perf::perf_profiler().set_enabled(true);
  perf::perf_profiler().reset();
}

std::uint32_t gpu_site(const char* name) {
  return perf::detail::registry().intern(name, "gpu", false);
}

// Made-up GPU results: slot -> (begin, end) in GPU nanoseconds, present
// once "finished".
struct FakeGpu {
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> done;
  std::vector<std::uint32_t> released;
  std::uint64_t frames_done = ~std::uint64_t{0};

  void collect(GpuTrack& t, std::uint64_t stale_ticks = ~std::uint64_t{0} / 2) {
    t.collect_slots(
        [&](std::uint32_t i, std::uint64_t* b, std::uint64_t* e) {
          auto it = done.find(i);
          if (it == done.end()) return false;
          *b = it->second.first;
          *e = it->second.second;
          done.erase(it);
          return true;
        },
        [&](std::uint32_t first, std::uint32_t n) {
          for (std::uint32_t k = 0; k < n; ++k) released.push_back(first + k);
        },
        stale_ticks, frames_done);
  }
};

// GPU time 0 is the CPU's now: spans land in the present.
void anchor_now(GpuTrack& t) {
  const std::uint64_t ticks = perf::DefaultClock::now();
  const std::uint64_t steady = perf::SteadyClock::now();
  t.clock().set(0, steady, 0, ticks, steady, t.ns_per_tick());
}

std::optional<perf::Aggregate> row(const std::string& name) {
  for (const auto& a : perf::perf_profiler().aggregates())
    if (a.name == name && a.category == "gpu") return a;
  return std::nullopt;
}

const perf::CallTreeNode* find_node(const std::vector<perf::CallTreeNode>& nodes,
                                    const std::string& name) {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

}  // namespace

TEST_CASE("finished pairs become gpu spans, nested, with a frame that encloses them") {
  enable_fresh();
  GpuTrack t("track test", 16);
  REQUIRE(t.recording());
  anchor_now(t);
  const std::uint32_t outer = gpu_site("outer pass"), inner = gpu_site("inner pass");
  const std::uint32_t a = t.reserve(outer);
  const std::uint32_t b = t.reserve(inner);
  t.ended(b);
  t.ended(a);
  t.frame_boundary();
  FakeGpu gpu;
  gpu.done[a] = {1'000'000, 9'000'000};  // 8 ms
  gpu.done[b] = {2'000'000, 5'000'000};  // 3 ms, inside
  gpu.collect(t);
  CHECK(gpu.released == std::vector<std::uint32_t>{a, b});
  perf::gpu::GpuStats st;
  t.fill(st);
  CHECK(st.scopes == 2);
  CHECK(st.frames == 1);
  CHECK(st.in_flight == 0);

  auto o = row("outer pass");
  auto i = row("inner pass");
  auto f = row("(gpu frame)");
  REQUIRE(o);
  REQUIRE(i);
  REQUIRE(f);
  CHECK(o->count == 1);
  CHECK(o->total_ms == Approx(8.0).margin(0.01));
  CHECK(i->total_ms == Approx(3.0).margin(0.01));
  CHECK(o->self_ms == Approx(5.0).margin(0.01));  // the child's time is not the parent's own
  CHECK(f->total_ms == Approx(8.0).margin(0.01));  // first begin to last end

  const perf::CallTree tree = perf::perf_profiler().call_tree(50);
  const perf::CallTreeNode* root = find_node(tree.roots, "outer pass");
  REQUIRE(root != nullptr);
  CHECK(find_node(root->children, "inner pass") != nullptr);
  CHECK(find_node(tree.roots, "(gpu frame)") == nullptr);  // frames stay out of call trees

  // In /metrics like any site.
  perf::PrometheusSources src;
  src.feature_flag = true;
  src.profiler = &perf::perf_profiler();
  src.budgets = &perf::budget_manager();
  const std::string text = perf::prometheus_text(src);
  CHECK(text.find("comfyvn_perf_span_calls_total{name=\"outer pass\",category=\"gpu\"} 1") !=
        std::string::npos);
  CHECK(text.find("name=\"(gpu frame)\",category=\"gpu\"") != std::string::npos);
}

TEST_CASE("collect never waits: unfinished slots are read by a later collect, in order") {
  enable_fresh();
  GpuTrack t("late", 16);
  anchor_now(t);
  const std::uint32_t site = gpu_site("late pass");
  FakeGpu gpu;
  std::vector<std::uint32_t> slots;
  for (int frame = 0; frame < 3; ++frame) {
    const std::uint32_t s = t.reserve(site);
    t.ended(s);
    t.frame_boundary();
    slots.push_back(s);
    gpu.collect(t);  // nothing finished yet
  }
  perf::gpu::GpuStats st;
  t.fill(st);
  CHECK(st.scopes == 0);
  CHECK(st.frames == 0);
  CHECK(st.in_flight == 3);
  // The second finishes first: nothing is read past the first, still out.
  gpu.done[slots[1]] = {3'000'000, 4'000'000};
  gpu.collect(t);
  t.fill(st);
  CHECK(st.scopes == 0);
  gpu.done[slots[0]] = {1'000'000, 2'000'000};
  gpu.done[slots[2]] = {5'000'000, 6'000'000};
  gpu.collect(t);
  t.fill(st);
  CHECK(st.scopes == 3);
  CHECK(st.frames == 3);  // every frame, none lost on the way
  CHECK(st.lost == 0);
  auto f = row("(gpu frame)");
  REQUIRE(f);
  CHECK(f->count == 3);
}

TEST_CASE("a frame closes only once every slot of it is read") {
  enable_fresh();
  GpuTrack t("frames", 16);
  anchor_now(t);
  const std::uint32_t site = gpu_site("frame part");
  const std::uint32_t a = t.reserve(site);
  t.ended(a);
  const std::uint32_t b = t.reserve(site);
  t.ended(b);
  t.frame_boundary();
  FakeGpu gpu;
  gpu.done[a] = {1'000'000, 2'000'000};
  gpu.collect(t);
  perf::gpu::GpuStats st;
  t.fill(st);
  CHECK(st.scopes == 1);
  CHECK(st.frames == 0);
  gpu.done[b] = {2'000'000, 7'000'000};
  gpu.collect(t);
  t.fill(st);
  CHECK(st.frames == 1);
  auto f = row("(gpu frame)");
  REQUIRE(f);
  CHECK(f->total_ms == Approx(6.0).margin(0.01));
  // The open frame (no PERF_GPU_FRAME yet) is not closed early.
  const std::uint32_t c = t.reserve(site);
  t.ended(c);
  gpu.done[c] = {8'000'000, 9'000'000};
  gpu.collect(t);
  t.fill(st);
  CHECK(st.scopes == 3);
  CHECK(st.frames == 1);
}

TEST_CASE("a full pool counts new scopes as dropped, exactly") {
  enable_fresh();
  GpuTrack t("overflow", 4);
  anchor_now(t);
  const std::uint32_t site = gpu_site("overflow pass");
  std::vector<std::uint32_t> got;
  for (int k = 0; k < 10; ++k) {
    const std::uint32_t s = t.reserve(site);
    if (s != GpuTrack::kNoSlot) {
      t.ended(s);
      got.push_back(s);
    }
  }
  CHECK(got.size() == 4);
  perf::gpu::GpuStats st;
  t.fill(st);
  CHECK(st.dropped == 6);
  CHECK(st.capacity == 4);
  FakeGpu gpu;
  for (std::uint32_t s : got) gpu.done[s] = {1'000'000, 2'000'000};
  gpu.collect(t);
  // Read slots are free again.
  const std::uint32_t again = t.reserve(site);
  CHECK(again != GpuTrack::kNoSlot);
  t.ended(again);
  t.fill(st);
  CHECK(st.scopes == 4);
  CHECK(st.dropped == 6);
}

TEST_CASE("a slot that never finishes is lost after stale_after, and the rest flows") {
  enable_fresh();
  GpuTrack t("stale", 8);
  anchor_now(t);
  const std::uint32_t site = gpu_site("stale pass");
  const std::uint32_t never = t.reserve(site);  // its command buffer is never submitted
  t.ended(never);
  const std::uint32_t fine = t.reserve(site);
  t.ended(fine);
  FakeGpu gpu;
  gpu.done[fine] = {1'000'000, 2'000'000};
  gpu.collect(t);  // not stale yet: waits behind the first
  perf::gpu::GpuStats st;
  t.fill(st);
  CHECK(st.scopes == 0);
  CHECK(st.lost == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  gpu.collect(t, 1);  // stale after one tick
  t.fill(st);
  CHECK(st.lost == 1);
  CHECK(st.scopes == 1);
  CHECK(st.in_flight == 0);
}

TEST_CASE("slots of frames not known done are not read at all") {
  enable_fresh();
  GpuTrack t("watermark", 8);
  anchor_now(t);
  const std::uint32_t site = gpu_site("watermark pass");
  FakeGpu gpu;
  std::vector<std::uint32_t> s;
  for (int f = 0; f < 3; ++f) {
    s.push_back(t.reserve(site));
    t.ended(s.back());
    t.frame_boundary();
    gpu.done[s.back()] = {1'000'000u * (f + 1), 1'000'000u * (f + 1) + 500'000};
  }
  int reads = 0;
  auto collect = [&](std::uint64_t frames_done) {
    t.collect_slots(
        [&](std::uint32_t i, std::uint64_t* b, std::uint64_t* e) {
          ++reads;
          *b = gpu.done[i].first;
          *e = gpu.done[i].second;
          return true;
        },
        [](std::uint32_t, std::uint32_t) {}, ~std::uint64_t{0} / 2, frames_done);
  };
  collect(0);
  CHECK(reads == 0);
  collect(2);
  CHECK(reads == 2);
  collect(3);
  CHECK(reads == 3);
}

TEST_CASE("the clock map places GPU time on the profiler's ticks and reports corrections") {
  perf::gpu::detail::ClockMap m;
  CHECK_FALSE(m.valid());
  // 2 ns per tick; steady 1'000'000 is tick 500'000.
  double c = m.set(10'000, 1'000'000, 50, 500'000, 1'000'000, 2.0);
  CHECK(c == 0.0);
  CHECK(m.valid());
  CHECK(m.to_ticks(10'000) == 500'000);
  CHECK(m.to_ticks(10'000 + 2'000) == 501'000);
  CHECK(m.to_ticks(9'000) == 499'500);  // before the anchor
  CHECK(m.error_ns() == 50);
  // A re-check that finds the GPU 1 µs ahead: a correction of -1000 ns.
  c = m.set(20'000 + 1'000, 1'010'000, 50, 505'000, 1'010'000, 2.0);
  CHECK(c == Approx(-1000.0));
  CHECK(m.to_ticks(21'000) == 505'000);
}

TEST_CASE("a (gpu frame) budget judges GPU frames and cuts GPU spikes") {
  enable_fresh();
  auto& p = perf::perf_profiler();
  perf::SpanBudgetSpec spec;
  spec.name = "(gpu frame)";
  spec.max_ms = 5.0;
  REQUIRE(p.set_span_budget(spec).error.empty());
  GpuTrack t("spiky", 16);
  anchor_now(t);
  const std::uint32_t site = gpu_site("spiky pass");
  FakeGpu gpu;
  // Two frames: 2 ms, then 9 ms (over the 5 ms budget).
  for (int f = 0; f < 2; ++f) {
    const std::uint32_t s = t.reserve(site);
    t.ended(s);
    t.frame_boundary();
    const std::uint64_t b = 1'000'000u + 20'000'000u * static_cast<std::uint64_t>(f);
    gpu.done[s] = {b, b + (f == 0 ? 2'000'000u : 9'000'000u)};
  }
  gpu.collect(t);
  p.close_span_budget_window();
  bool over = false;
  for (const auto& b : p.span_budgets())
    if (b.name == "(gpu frame)") over = b.state == "over" && b.over_count == 1;
  CHECK(over);
  p.close_span_budget_window();  // a spike is cut one collection later
  const auto spikes = p.spikes();
  REQUIRE(spikes.size() == 1);
  CHECK(spikes[0].site == "(gpu frame)");
  CHECK(spikes[0].frame_ms == Approx(9.0).margin(0.01));
  CHECK(spikes[0].spans >= 2);  // the frame and its pass
  p.remove_span_budget("(gpu frame)");
}

TEST_CASE("a track that goes away hands its last spans over") {
  enable_fresh();
  const std::uint32_t site = gpu_site("last words");
  {
    GpuTrack t("short-lived", 4);
    anchor_now(t);
    const std::uint32_t s = t.reserve(site);
    t.ended(s);
    FakeGpu gpu;
    gpu.done[s] = {1'000'000, 3'000'000};
    gpu.collect(t);
  }
  auto r = row("last words");
  REQUIRE(r);
  CHECK(r->count == 1);
  bool named = false;
  for (const auto& [index, name] : perf::detail::registry().thread_names())
    named = named || name == "gpu: short-lived";
  CHECK(named);
}

TEST_CASE("scopes reserve slots from many threads while one collects", "[concurrency]") {
  enable_fresh();
  GpuTrack t("threads", 64);
  anchor_now(t);
  const std::uint32_t site = gpu_site("threaded pass");
  constexpr int kThreads = 4, kPerThread = 5000;
  std::atomic<int> running{kThreads};
  std::atomic<std::uint64_t> reserved{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < kThreads; ++k) {
    threads.emplace_back([&, k] {
      for (int n = 0; n < kPerThread; ++n) {
        const std::uint32_t s = t.reserve(site);
        if (s == GpuTrack::kNoSlot) continue;
        reserved.fetch_add(1, std::memory_order_relaxed);
        if ((n + k) % 64 == 0) t.frame_boundary();
        t.ended(s);
      }
      running.fetch_sub(1);
    });
  }
  // The GPU finishes every slot at once: a read always succeeds.
  auto collect = [&] {
    t.collect_slots(
        [](std::uint32_t i, std::uint64_t* b, std::uint64_t* e) {
          *b = 1'000'000u + i;
          *e = *b + 1000;
          return true;
        },
        [](std::uint32_t, std::uint32_t) {}, ~std::uint64_t{0} / 2);
  };
  while (running.load() > 0) collect();
  for (auto& th : threads) th.join();
  t.frame_boundary();
  collect();
  perf::gpu::GpuStats st;
  t.fill(st);
  CHECK(st.in_flight == 0);
  CHECK(st.scopes == reserved.load());
  CHECK(st.scopes + st.dropped == std::uint64_t{kThreads} * kPerThread);
  CHECK(st.lost == 0);
}
