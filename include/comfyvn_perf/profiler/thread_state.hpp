// comfyvn_perf — a thread's buffer as the registry keeps it, the exact
// totals read from its accumulators, and its cache of runtime names.
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <deque>        // names of exited threads
#include <map>          // names by index
#include <string>       // names
#include <string_view>  // dynamic names
#include <utility>      // pair
#include <vector>       // cache table

#include "../core/thread_buffer.hpp"  // ThreadBuffer, SiteAccum

namespace comfyvn::perf::detail {

// Plain totals on the collector side (exited threads, snapshots).
struct Totals {
  std::uint64_t count = 0;
  std::uint64_t total = 0;
  std::uint64_t min = UINT64_MAX;
  std::uint64_t max = 0;
  std::uint64_t mem_total = 0;
  std::uint64_t mem_max = 0;
  std::uint64_t last_end = 0;

  void add(const Totals& o);
};

// Reads one slot if it belongs to generation `g`.
bool load_accum(const SiteAccum& a, std::uint32_t g, Totals& out);

// Per-thread cache of interned runtime names: after the first lookup of a
// name on a thread, PERF_SCOPE_DYN costs one hash and one compare, no lock and
// no allocation.
class DynNameCache {
 public:
  // Word-at-a-time mixing: this runs on every PERF_SCOPE_DYN, so it must be
  // cheap for typical 8-32 byte names; quality only needs to spread a few
  // thousand names over a power-of-two table.
  static std::uint64_t hash(std::string_view name, std::string_view category);

  // Returns 0 when absent.
  std::uint32_t find(std::uint64_t h, std::string_view name, std::string_view category) const;

  std::size_t size() const { return used_; }

  void insert(std::uint64_t h, std::string_view name, std::string_view category, std::uint32_t id);

 private:
  static void mix(std::uint64_t& h, std::string_view s);

  struct Entry {
    std::uint64_t hash = 0;
    std::uint32_t id = 0;
    std::string name;
    std::string category;
  };
  void grow();
  std::vector<Entry> entries_;
  std::size_t used_ = 0;
};

// A thread's buffer as the registry allocates it: the recording part the hot
// path sees, plus what only the cold path touches.
struct ThreadState : ThreadBuffer {
  DynNameCache dyn;  // owner only
  std::string name;  // under the registry lock
  // Collector side, under the registry lock.
  std::uint64_t ring_cursor = 0;
  ThreadState* next = nullptr;
  ThreadState* prev = nullptr;
};

// Every live thread's buffer, newest first, and the names of the most
// recently exited threads (bounded), so a trace of a thread that just ended
// still names it. Not thread-safe: the registry's state lock guards it.
class ThreadList {
 public:
  ThreadState* head() const { return head_; }
  bool empty() const { return head_ == nullptr; }

  // Links a new buffer and gives it the next index (and, when it has no
  // name, "thread N").
  void link(ThreadState* tb);

  // Unlinks an exiting thread's buffer, keeping its name.
  void unlink(ThreadState* tb);

  // Index -> name of every live thread and of the recently exited ones.
  std::map<std::uint32_t, std::string> names() const;

  std::uint64_t live() const { return live_; }
  std::uint64_t retired() const { return retired_; }

  // In a forked child: the buffers of the parent's other threads stay
  // listed (their data is the child's too), counted again.
  void recount();

 private:
  static constexpr std::size_t kMaxExitedNames = 1024;
  ThreadState* head_ = nullptr;
  std::uint32_t next_index_ = 1;
  std::uint64_t live_ = 0;
  std::uint64_t retired_ = 0;
  std::deque<std::pair<std::uint32_t, std::string>> exited_names_;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // max, min
#include <cstring>    // memcpy
#include <utility>    // move

namespace comfyvn::perf::detail {

void Totals::add(const Totals& o) {
  if (o.count == 0) return;
  count += o.count;
  total += o.total;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  mem_total += o.mem_total;
  mem_max = std::max(mem_max, o.mem_max);
  last_end = std::max(last_end, o.last_end);
}

bool load_accum(const SiteAccum& a, std::uint32_t g, Totals& out) {
  if (a.gen.load(kAcquire) != g) return false;
  out.count = a.count.load(kAcquire);
  if (out.count == 0) return false;
  out.total = a.total.load(kRelaxed);
  out.min = a.min.load(kRelaxed);
  out.max = a.max.load(kRelaxed);
  out.mem_total = a.mem_total.load(kRelaxed);
  out.mem_max = a.mem_max.load(kRelaxed);
  out.last_end = a.last_end.load(kRelaxed);
  return true;
}

// ---- DynNameCache ----

std::uint64_t DynNameCache::hash(std::string_view name, std::string_view category) {
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (name.size() << 32) ^ category.size();
  mix(h, name);
  mix(h, category);
  return h ^ (h >> 32);
}

std::uint32_t DynNameCache::find(std::uint64_t h, std::string_view name,
                                 std::string_view category) const {
  if (entries_.empty()) return 0;
  const std::size_t mask = entries_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const Entry& e = entries_[i];
    if (e.id == 0) return 0;
    if (e.hash == h && e.name == name && e.category == category) return e.id;
  }
}

void DynNameCache::insert(std::uint64_t h, std::string_view name, std::string_view category,
                          std::uint32_t id) {
  if ((used_ + 1) * 2 > entries_.size()) grow();
  const std::size_t mask = entries_.size() - 1;
  std::size_t i = h & mask;
  while (entries_[i].id != 0) i = (i + 1) & mask;
  entries_[i] = Entry{h, id, std::string(name), std::string(category)};
  ++used_;
}

void DynNameCache::mix(std::uint64_t& h, std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  std::uint64_t tail = 0;
  for (std::size_t i = 0; i < n; ++i)
    tail |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
  h = (h ^ tail) * 0x94d049bb133111ebull;
  h ^= h >> 29;
}

void DynNameCache::grow() {
  std::vector<Entry> old;
  old.swap(entries_);
  entries_.resize(old.empty() ? 16 : old.size() * 2);
  used_ = 0;
  for (auto& e : old) {
    if (e.id == 0) continue;
    const std::size_t mask = entries_.size() - 1;
    std::size_t i = e.hash & mask;
    while (entries_[i].id != 0) i = (i + 1) & mask;
    entries_[i] = std::move(e);
    ++used_;
  }
}

// ---- ThreadList ----

void ThreadList::link(ThreadState* tb) {
  tb->thread_index = next_index_++;
  if (tb->name.empty()) tb->name = "thread " + std::to_string(tb->thread_index);
  tb->next = head_;
  tb->prev = nullptr;
  if (head_) head_->prev = tb;
  head_ = tb;
  ++live_;
}

void ThreadList::unlink(ThreadState* tb) {
  exited_names_.emplace_back(tb->thread_index, std::move(tb->name));
  if (exited_names_.size() > kMaxExitedNames) exited_names_.pop_front();
  if (tb->prev) tb->prev->next = tb->next;
  if (tb->next) tb->next->prev = tb->prev;
  if (head_ == tb) head_ = tb->next;
  --live_;
  ++retired_;
}

std::map<std::uint32_t, std::string> ThreadList::names() const {
  std::map<std::uint32_t, std::string> out(exited_names_.begin(), exited_names_.end());
  for (ThreadState* tb = head_; tb; tb = tb->next) out[tb->thread_index] = tb->name;
  return out;
}

void ThreadList::recount() {
  live_ = 0;
  for (ThreadState* tb = head_; tb; tb = tb->next) ++live_;
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
