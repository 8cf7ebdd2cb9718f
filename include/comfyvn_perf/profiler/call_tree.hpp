// comfyvn_perf — the call tree and self time, rebuilt off the hot path from
// the raw spans the collector drains.
//
// A thread's spans reach the collector in the order they ended, so a span
// arrives after all of its children. Each thread keeps the subtrees that have
// no parent yet ("pending"); when a span arrives, the pending subtrees that
// started at or after it and ended before it are its children. Its self time
// is its duration minus theirs. The newest kMaxPending subtrees of a thread
// wait for a parent, across collections, so spans that live across a drain
// boundary or are still open are attributed once they end; older ones, and
// everything a thread leaves when it exits, become roots of the tree.
//
// Recursion nests (f > f > f) and the same site under different parents is a
// different node, as in other profilers' call trees. Nodes are aggregated by
// path; the tree has at most a configurable number of nodes, and a path past
// the cap folds into an "(other)" child of its parent (counted in `folded`).
// Spans that rings overwrote before collection never reach the tree: their
// parents' self time then includes them, and `coverage` says how much of what
// was recorded the tree saw.
#pragma once

#include <cstddef>        // size_t
#include <cstdint>        // uint64_t
#include <deque>          // pending subtrees, oldest first
#include <unordered_map>  // per thread
#include <vector>         // children

#include "consumer.hpp"  // LockedConsumer, SpanBatch, SiteInfo

namespace comfyvn::perf::detail {

// Aggregated by path: every instance of `site` under the same parent path.
struct TreeNode {
  std::uint32_t site = 0;
  std::uint64_t count = 0;
  std::uint64_t total = 0;  // ticks
  std::uint64_t self = 0;   // ticks
  std::vector<TreeNode> children;
};

// How many more nodes a merge may create, and what it had to fold.
struct TreeBudget {
  std::size_t nodes_left = static_cast<std::size_t>(-1);
  std::uint64_t folded = 0;  // span instances folded into "(other)"
  std::size_t created = 0;
};

inline constexpr std::size_t kMaxTreeChildren = 256;  // distinct children of one node

// A thread's spans arrive in the order they ended. `pending` holds those
// without a parent yet (each with `start` and `end`), oldest first. Takes
// the entries a span from `start` to `end` encloses, newest first: its
// direct children. Calls fn(entry&) on each before dropping it; returns
// their summed duration.
template <class Pending, class Fn>
std::uint64_t take_children(Pending& pending, std::uint64_t start, std::uint64_t end, Fn&& fn) {
  std::uint64_t children = 0;
  while (!pending.empty() && pending.back().start >= start && pending.back().end <= end) {
    children += pending.back().end - pending.back().start;
    fn(pending.back());
    pending.pop_back();
  }
  return children;
}

void subtree_sums(const TreeNode& n, std::uint64_t& count, std::uint64_t& self);

// Adds `from` as a child of `parent`, merging with the child of the same site.
void merge_child(TreeNode& parent, TreeNode&& from, TreeBudget& budget);

// The process's tree: roots are the children of `root`.
class CallTreeStore {
 public:
  void add_root(TreeNode&& n);
  void set_max_nodes(std::size_t n) { max_nodes_ = n == 0 ? 1 : n; }
  std::size_t max_nodes() const { return max_nodes_; }
  void clear();
  const TreeNode& root() const { return root_; }
  std::size_t nodes() const { return nodes_; }
  std::uint64_t folded() const { return folded_; }
  std::uint64_t spans() const { return spans_; }
  void count_span() { ++spans_; }
  void add_folded(std::uint64_t n) { folded_ += n; }

 private:
  TreeNode root_;
  std::size_t nodes_ = 0;
  std::size_t max_nodes_ = 4096;
  std::uint64_t folded_ = 0;
  std::uint64_t spans_ = 0;  // spans the tree saw
};

// One thread's reconstruction state (collector side, under CallTreeConsumer's lock).
class ThreadTree {
 public:
  static constexpr std::size_t kMaxPending = 256;
  // Nodes one pending subtree may hold (the rest fold into "(other)").
  static constexpr std::size_t kMaxPendingNodes = 1024;

  // Adds a span of this thread (in end order); returns its self time.
  std::uint64_t add(std::uint32_t site, std::uint64_t start, std::uint64_t end,
                    CallTreeStore& store);

  // Every pending subtree becomes a root (the thread exits, or a reset).
  void flush(CallTreeStore& store);
  void clear();

  // Calls fn(const TreeNode&) for each pending subtree, oldest first.
  template <class Fn>
  void for_each_pending(Fn&& fn) const {
    for (const Pending& p : pending_) fn(p.node);
  }

 private:
  struct Pending {
    std::uint64_t start, end;
    TreeNode node;
    std::size_t nodes;
  };
  std::deque<Pending> pending_;
};

// A copy of the call tree with what it needs to be read.
struct TreeSnapshot {
  TreeNode root;  // roots are its children
  std::vector<SiteInfo> sites;
  double coverage = 1.0;
  std::size_t nodes = 0;
  std::uint64_t folded = 0;
};

// The call tree as a consumer of the drain: one ThreadTree per thread, one
// store for the process.
class CallTreeConsumer final : public LockedConsumer {
 public:
  void consume(const SpanBatch& batch) override;
  // What the thread leaves pending becomes roots.
  void thread_exited(std::uint32_t thread_index) override;
  void reset() override;

  // Nodes the tree keeps at most (default 4096); paths past it fold into
  // "(other)".
  void set_max_nodes(std::size_t n);

  // The tree as of the last collection, every thread's pending subtrees as
  // roots. `dropped`: spans the rings lost, for `coverage`. `sites` is left
  // for the caller to fill.
  TreeSnapshot snapshot(std::uint64_t dropped) const;

 private:
  CallTreeStore store_;
  std::unordered_map<std::uint32_t, ThreadTree> threads_;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // find_if, min
#include <utility>    // move

#include "../core/site.hpp"

namespace comfyvn::perf::detail {

void subtree_sums(const TreeNode& n, std::uint64_t& count, std::uint64_t& self) {
  count += n.count;
  self += n.self;
  for (const TreeNode& c : n.children) subtree_sums(c, count, self);
}

void merge_child(TreeNode& parent, TreeNode&& from, TreeBudget& budget) {
  auto it = std::find_if(parent.children.begin(), parent.children.end(),
                         [&](const TreeNode& c) { return c.site == from.site; });
  if (it == parent.children.end()) {
    if (budget.nodes_left == 0 || parent.children.size() >= kMaxTreeChildren) {
      // Past a cap: the whole subtree counts in its parent's "(other)".
      std::uint64_t count = 0, self = 0;
      subtree_sums(from, count, self);
      auto other = std::find_if(parent.children.begin(), parent.children.end(),
                                [](const TreeNode& c) { return c.site == kOtherSiteId; });
      if (other == parent.children.end()) {
        parent.children.push_back(TreeNode{kOtherSiteId, 0, 0, 0, {}});
        other = parent.children.end() - 1;
        ++budget.created;
      }
      other->count += from.count;
      other->total += from.total;
      other->self += self;
      budget.folded += count;
      return;
    }
    parent.children.push_back(TreeNode{from.site, 0, 0, 0, {}});
    it = parent.children.end() - 1;
    --budget.nodes_left;
    ++budget.created;
  }
  it->count += from.count;
  it->total += from.total;
  it->self += from.self;
  for (TreeNode& g : from.children) merge_child(*it, std::move(g), budget);
}

void CallTreeStore::add_root(TreeNode&& n) {
  TreeBudget b;
  b.nodes_left = nodes_ < max_nodes_ ? max_nodes_ - nodes_ : 0;
  merge_child(root_, std::move(n), b);
  nodes_ += b.created;
  folded_ += b.folded;
}

void CallTreeStore::clear() {
  root_ = TreeNode{};
  nodes_ = 0;
  folded_ = 0;
  spans_ = 0;
}

std::uint64_t ThreadTree::add(std::uint32_t site, std::uint64_t start, std::uint64_t end,
                              CallTreeStore& store) {
  const std::uint64_t dur = end - start;
  Pending p{start, end, TreeNode{site, 1, dur, 0, {}}, 1};
  TreeBudget b;
  const std::uint64_t children = take_children(pending_, start, end, [&](Pending& c) {
    b.nodes_left = p.nodes < kMaxPendingNodes ? kMaxPendingNodes - p.nodes : 0;
    b.created = 0;
    merge_child(p.node, std::move(c.node), b);
    p.nodes += b.created;
  });
  // Children of one thread do not overlap, so they fit in their parent;
  // clamp anyway for spans recorded with a measured duration.
  const std::uint64_t self = dur - std::min(dur, children);
  p.node.self = self;
  store.add_folded(b.folded);
  pending_.push_back(std::move(p));
  store.count_span();
  if (pending_.size() > kMaxPending) {
    store.add_root(std::move(pending_.front().node));
    pending_.pop_front();
  }
  return self;
}

void ThreadTree::flush(CallTreeStore& store) {
  for (Pending& p : pending_) store.add_root(std::move(p.node));
  pending_.clear();
}

void ThreadTree::clear() {
  pending_.clear();
}

// ---- CallTreeConsumer ----

void CallTreeConsumer::consume(const SpanBatch& batch) {
  const std::vector<SiteInfo>& sites = *batch.collection.sites;
  std::lock_guard<std::mutex> lock(mu_);
  ThreadTree& tree = threads_[batch.thread_index];
  for (const RawSpan& s : batch.spans) {
    if (s.site_id >= sites.size() || sites[s.site_id].counter || sites[s.site_id].frame) continue;
    tree.add(s.site_id, s.start_ticks, s.start_ticks + s.duration_ticks, store_);
  }
}

void CallTreeConsumer::thread_exited(std::uint32_t thread_index) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = threads_.find(thread_index);
  if (it == threads_.end()) return;
  it->second.flush(store_);
  threads_.erase(it);
}

void CallTreeConsumer::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& t : threads_) t.second.clear();
  store_.clear();
}

void CallTreeConsumer::set_max_nodes(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  store_.set_max_nodes(n);
}

TreeSnapshot CallTreeConsumer::snapshot(std::uint64_t dropped) const {
  std::lock_guard<std::mutex> lock(mu_);
  TreeSnapshot out;
  out.root = store_.root();
  TreeBudget unlimited;
  for (const auto& t : threads_) {
    t.second.for_each_pending([&](const TreeNode& n) {
      TreeNode copy = n;
      merge_child(out.root, std::move(copy), unlimited);
    });
  }
  out.nodes = store_.nodes() + unlimited.created;
  out.folded = store_.folded();
  const double seen = static_cast<double>(store_.spans());
  out.coverage = seen + static_cast<double>(dropped) > 0
                     ? seen / (seen + static_cast<double>(dropped))
                     : 1.0;
  return out;
}

}  // namespace comfyvn::perf::detail
#endif
