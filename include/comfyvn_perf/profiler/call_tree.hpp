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

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <deque>    // pending subtrees, oldest first
#include <vector>   // children

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

// One thread's reconstruction state (collector side, under the registry lock).
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
  std::uint64_t children = 0;
  TreeBudget b;
  while (!pending_.empty() && pending_.back().start >= start && pending_.back().end <= end) {
    Pending& c = pending_.back();
    children += c.end - c.start;
    b.nodes_left = p.nodes < kMaxPendingNodes ? kMaxPendingNodes - p.nodes : 0;
    b.created = 0;
    merge_child(p.node, std::move(c.node), b);
    p.nodes += b.created;
    pending_.pop_back();
  }
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

}  // namespace comfyvn::perf::detail
#endif
