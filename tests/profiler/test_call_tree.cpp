// Self time and the call tree, rebuilt from raw spans off the hot path, and
// PERF_COUNTER series: hand-built span sequences (siblings, deep nesting,
// recursion, drain boundaries, overlapping threads, a thread that exits),
// self time summing to the root's total, coverage under ring overwrites, the
// node cap, and 8 threads recording while others read.
#include <comfyvn_perf/perf.hpp>
#include <comfyvn_perf/profiler/registry.hpp>  // detail::registry()

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace perf = comfyvn::perf;
using perf::detail::CallTreeStore;
using perf::detail::ThreadTree;
using perf::detail::TreeNode;

namespace {

// A span of a hand-built sequence: site, start, end (ticks).
struct S {
  std::uint32_t site;
  std::uint64_t start, end;
};

// Feeds spans in end order, as a ring delivers them, then flushes.
CallTreeStore build(const std::vector<S>& spans) {
  CallTreeStore store;
  ThreadTree t;
  for (const S& s : spans) t.add(s.site, s.start, s.end, store);
  t.flush(store);
  return store;
}

const TreeNode* child(const TreeNode& n, std::uint32_t site) {
  for (const auto& c : n.children) {
    if (c.site == site) return &c;
  }
  return nullptr;
}

// Every node: total = self + the children's totals (one thread, no loss).
void check_self_sums(const TreeNode& n) {
  std::uint64_t children = 0;
  for (const auto& c : n.children) {
    children += c.total;
    check_self_sums(c);
  }
  CHECK(n.total == n.self + children);
}

void enable_fresh() {
  perf::perf_profiler().set_enabled(true);
  perf::perf_profiler().reset();
}

const perf::CallTreeNode* find(const std::vector<perf::CallTreeNode>& nodes,
                               const std::string& name) {
  for (const auto& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("siblings and deep nesting: children found, self = total - children",
          "[tree]") {
  // P[0,30] { A[0,10] { D[2,4] { E[2,3] } } B[10,20] }, then a second root Q.
  const CallTreeStore store = build({{14, 2, 3},
                                     {13, 2, 4},
                                     {10, 0, 10},
                                     {11, 10, 20},
                                     {9, 0, 30},
                                     {12, 31, 40}});
  const TreeNode& root = store.root();
  REQUIRE(root.children.size() == 2);
  const TreeNode* p = child(root, 9);
  REQUIRE(p != nullptr);
  CHECK(p->count == 1);
  CHECK(p->total == 30);
  CHECK(p->self == 10);  // 30 - A(10) - B(10)
  const TreeNode* a = child(*p, 10);
  REQUIRE(a != nullptr);
  CHECK(a->self == 8);
  const TreeNode* d = child(*a, 13);
  REQUIRE(d != nullptr);
  CHECK(d->self == 1);
  REQUIRE(child(*d, 14) != nullptr);
  CHECK(child(*d, 14)->self == 1);
  CHECK(child(*p, 11)->self == 10);
  CHECK(child(root, 12)->total == 9);
  for (const auto& r : root.children) check_self_sums(r);
  CHECK(store.spans() == 6);
  CHECK(store.folded() == 0);
}

TEST_CASE("recursion nests; the same site under two parents is two nodes", "[tree]") {
  // f[0,100] > f[10,90] > f[20,80]; g[100,120] > h[105,110]; g2[120,140] > h[125,130]
  const CallTreeStore store = build({{5, 20, 80},
                                     {5, 10, 90},
                                     {5, 0, 100},
                                     {8, 105, 110},
                                     {6, 100, 120},
                                     {8, 125, 130},
                                     {7, 120, 140}});
  const TreeNode* f1 = child(store.root(), 5);
  REQUIRE(f1 != nullptr);
  const TreeNode* f2 = child(*f1, 5);
  REQUIRE(f2 != nullptr);
  const TreeNode* f3 = child(*f2, 5);
  REQUIRE(f3 != nullptr);
  CHECK(f1->self + f2->self + f3->self == 100);  // recursion counts no time twice
  CHECK(f3->self == 60);
  REQUIRE(child(*child(store.root(), 6), 8) != nullptr);
  REQUIRE(child(*child(store.root(), 7), 8) != nullptr);
  CHECK(child(store.root(), 8) == nullptr);
}

TEST_CASE("repeated frames aggregate by path; a self sum equals the root total",
          "[tree]") {
  std::vector<S> spans;
  std::uint64_t t = 0, root_total = 0;
  for (int frame = 0; frame < 50; ++frame) {
    const std::uint64_t f0 = t;
    for (int b = 0; b < 3 + frame % 4; ++b) {
      const std::uint64_t b0 = t + 1;
      spans.push_back({21, b0 + 2, b0 + 5 + b});  // upload
      spans.push_back({20, b0, b0 + 7 + b});      // draw_batch
      t = b0 + 8 + b;
    }
    spans.push_back({19, f0, t + 3});  // frame
    root_total += t + 3 - f0;
    t += 10;
  }
  const CallTreeStore store = build(spans);
  const TreeNode* frame = child(store.root(), 19);
  REQUIRE(frame != nullptr);
  CHECK(frame->count == 50);
  CHECK(frame->total == root_total);
  std::uint64_t count = 0, self = 0;
  perf::detail::subtree_sums(*frame, count, self);
  CHECK(self == root_total);
  check_self_sums(*frame);
}

TEST_CASE("two threads interleaved: each thread's nesting is its own", "[tree]") {
  CallTreeStore store;
  ThreadTree t1, t2;
  // Overlapping in time on two threads: neither adopts the other's spans.
  t1.add(31, 5, 10, store);
  t2.add(41, 6, 9, store);
  t2.add(40, 4, 12, store);
  t1.add(30, 0, 20, store);
  t1.flush(store);
  t2.flush(store);
  REQUIRE(child(store.root(), 30) != nullptr);
  REQUIRE(child(store.root(), 40) != nullptr);
  CHECK(child(*child(store.root(), 30), 31) != nullptr);
  CHECK(child(*child(store.root(), 30), 41) == nullptr);
  CHECK(child(*child(store.root(), 40), 41) != nullptr);
}

TEST_CASE("spans across a drain boundary and still-open parents are attributed once they end",
          "[tree]") {
  enable_fresh();
  auto& p = perf::perf_profiler();
  {
    PERF_SCOPE("open_parent", "tree_test");
    { PERF_SCOPE("early_child", "tree_test"); }
    // The child was drained; its parent is still open: the child shows as a
    // root for now.
    perf::CallTree t = p.call_tree(100);
    CHECK(find(t.roots, "early_child") != nullptr);
    CHECK(find(t.roots, "open_parent") == nullptr);
    { PERF_SCOPE("late_child", "tree_test"); }
  }
  perf::CallTree t = p.call_tree(100);
  const perf::CallTreeNode* parent = find(t.roots, "open_parent");
  REQUIRE(parent != nullptr);
  CHECK(find(t.roots, "early_child") == nullptr);
  CHECK(find(parent->children, "early_child") != nullptr);
  CHECK(find(parent->children, "late_child") != nullptr);
  CHECK(t.coverage == 1.0);
  // The aggregates' self time is the tree's.
  for (const auto& a : p.aggregates()) {
    if (a.name == "open_parent") CHECK(a.self_ms == Approx(parent->self_ms));
  }
}

TEST_CASE("a thread that exits mid-frame leaves its spans in the tree", "[tree]") {
  enable_fresh();
  std::thread([] {
    perf::set_thread_name("short lived");
    PERF_SCOPE("exiting_frame", "tree_test");
    { PERF_SCOPE("exiting_child", "tree_test"); }
    PERF_COUNTER("exit_counter", 7);
  }).join();
  const perf::CallTree t = perf::perf_profiler().call_tree(100);
  const perf::CallTreeNode* f = find(t.roots, "exiting_frame");
  REQUIRE(f != nullptr);
  CHECK(find(f->children, "exiting_child") != nullptr);
  bool seen = false;
  for (const auto& c : perf::perf_profiler().counters()) seen |= c.name == "exit_counter";
  CHECK(seen);
}

TEST_CASE("coverage drops below 1 when a ring overwrites spans before collection", "[tree]") {
  enable_fresh();
  auto& p = perf::perf_profiler();
  perf::detail::registry().set_collect_interval(std::chrono::hours(1));
  std::thread([] {
    for (int i = 0; i < 3 * COMFYVN_PERF_RING_CAPACITY; ++i) {
      PERF_SCOPE("flood", "tree_test");
    }
  }).join();  // the thread's exit drains what is left: the newest ring's worth
  const perf::CallTree t = p.call_tree(10);
  perf::detail::registry().set_collect_interval(std::chrono::milliseconds(20));
  CHECK(t.coverage < 0.5);
  CHECK(t.coverage > 0.2);
  const perf::CallTreeNode* flood = find(t.roots, "flood");
  REQUIRE(flood != nullptr);
  CHECK(flood->count < 3u * COMFYVN_PERF_RING_CAPACITY);
  for (const auto& a : p.aggregates()) {
    if (a.name == "flood") CHECK(a.count == 3u * COMFYVN_PERF_RING_CAPACITY);  // exact
  }
}

TEST_CASE("the node cap folds new paths into (other); limit folds children per answer",
          "[tree]") {
  enable_fresh();
  auto& p = perf::perf_profiler();
  p.set_max_tree_nodes(4);
  std::thread([] {
    for (int i = 0; i < 10; ++i) {
      PERF_SCOPE("cap_root", "tree_test");
      const std::string name = "cap_child_" + std::to_string(i);
      PERF_SCOPE_DYN(std::string_view(name), "tree_test");
    }
  }).join();
  perf::CallTree t = p.call_tree(100);
  p.set_max_tree_nodes(4096);
  CHECK(t.folded > 0);
  const perf::CallTreeNode* root = find(t.roots, "cap_root");
  REQUIRE(root != nullptr);
  CHECK(root->count == 10);
  const perf::CallTreeNode* other = find(root->children, "(other)");
  REQUIRE(other != nullptr);
  std::uint64_t children = 0;
  for (const auto& c : root->children) children += c.count;
  CHECK(children == 10);  // nothing lost: folded, not dropped

  enable_fresh();
  std::thread([] {
    PERF_SCOPE("wide", "tree_test");
    for (int i = 0; i < 6; ++i) {
      const std::string name = "wide_child_" + std::to_string(i);
      PERF_SCOPE_DYN(std::string_view(name), "tree_test");
    }
  }).join();
  t = p.call_tree(2);
  const perf::CallTreeNode* wide = find(t.roots, "wide");
  REQUIRE(wide != nullptr);
  REQUIRE(wide->children.size() == 3);  // two kept, then "(other)"
  CHECK(wide->children.back().name == "(other)");
  CHECK(wide->children.back().count == 4);
}

TEST_CASE("counters: last, min, max, avg, count; top_offenders by self", "[tree][counters]") {
  enable_fresh();
  auto& p = perf::perf_profiler();
  for (double v : {3.0, -1.0, 10.0, 4.0}) PERF_COUNTER("series_a", v);
  const std::string dyn = "series_dyn";
  for (int i = 1; i <= 4; ++i) PERF_COUNTER_DYN(dyn, i * 2);
  const auto series = p.counters();
  REQUIRE(series.size() == 2);
  CHECK(series[0].name == "series_a");
  CHECK(series[0].last == 4.0);
  CHECK(series[0].min == -1.0);
  CHECK(series[0].max == 10.0);
  CHECK(series[0].avg == 4.0);
  CHECK(series[0].count == 4);
  CHECK(series[1].name == "series_dyn");
  CHECK(series[1].avg == 5.0);
  const auto dash = p.dashboard();
  CHECK(dash.at("counters").as_array().size() == 2);
  // Counter series are not spans.
  for (const auto& a : p.aggregates()) CHECK(a.category != "(counter)");

  {
    PERF_SCOPE("outer_self", "tree_test");
    {
      PERF_SCOPE("inner_self", "tree_test");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const auto top = p.top_offenders(1, "self");
  REQUIRE(top.size() == 1);
  CHECK(top[0].at("name").as_string() == "inner_self");
  const auto by_time = p.top_offenders(1, "time");
  CHECK(by_time[0].at("name").as_string() == "outer_self");
}

TEST_CASE("8 threads record nested scopes and counters while others read", "[tree][concurrency]") {
  enable_fresh();
  auto& p = perf::perf_profiler();
  constexpr int kThreads = 8, kFrames = 300;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      (void)p.call_tree(5);
      (void)p.counters();
      (void)p.dashboard(5);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      perf::register_this_thread();
      perf::set_thread_name("tree worker " + std::to_string(t));
      for (int f = 0; f < kFrames; ++f) {
        PERF_SCOPE("mt_frame", "tree_test");
        for (int b = 0; b < 3; ++b) {
          PERF_SCOPE("mt_batch", "tree_test");
          { PERF_SCOPE("mt_upload", "tree_test"); }
        }
        PERF_COUNTER("mt_counter", f);
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  reader.join();
  const perf::CallTree t = p.call_tree(10);
  const perf::CallTreeNode* frame = find(t.roots, "mt_frame");
  REQUIRE(frame != nullptr);
  CHECK(frame->count == kThreads * kFrames);
  const perf::CallTreeNode* batch = find(frame->children, "mt_batch");
  REQUIRE(batch != nullptr);
  CHECK(batch->count == 3 * kThreads * kFrames);
  REQUIRE(find(batch->children, "mt_upload") != nullptr);
  CHECK(t.coverage == 1.0);
  const auto series = p.counters();
  REQUIRE(series.size() == 1);
  CHECK(series[0].count == kThreads * kFrames);
  CHECK(series[0].max == kFrames - 1);
}
