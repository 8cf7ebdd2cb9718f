// comfyvn_perf — the process-wide registry: the cold half of the hot path.
//
// Owns the site table, every thread's buffer, the data of exited threads and
// the percentile histograms, and the collector that drains the rings.
// Recording threads touch only their own buffer; everything here that takes
// the lock runs at registration, collection, reset or thread exit — never per
// span. The program's implementation file (config.hpp,
// COMFYVN_PERF_IMPLEMENTATION) installs the cold path that
// <comfyvn_perf/scope.hpp> calls through (core/thread_buffer.hpp: ColdPath)
// before any ordinary static initialiser runs.
#pragma once

#include <atomic>         // calibration result, collect interval
#include <chrono>         // collect interval, budget window
#include <cstddef>        // size_t
#include <cstdint>        // uint64_t
#include <deque>          // marks, oldest dropped first
#include <functional>     // span listener, span taps
#include <map>            // thread names by index
#include <memory>         // shared taps
#include <mutex>          // registration and collection lock
#include <optional>       // one span budget's state
#include <string>         // owned site names
#include <string_view>    // dynamic names
#include <unordered_map>  // interned names
#include <utility>        // pair
#include <vector>         // site table

#include "../config.hpp"
#include "../core/histogram.hpp"
#include "../core/ring.hpp"
#include "../core/site.hpp"
#include "../core/thread_buffer.hpp"
#include "../os/worker.hpp"
#include "call_tree.hpp"
#include "span_budgets.hpp"

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
  ThreadTree tree;   // collector side, under the registry lock
  // Collector side, under the registry lock.
  std::uint64_t ring_cursor = 0;
  ThreadState* next = nullptr;
  ThreadState* prev = nullptr;
};

// ---------------------------------------------------------------------------
// The registry.
// ---------------------------------------------------------------------------

struct SiteInfo {
  std::string name;
  std::string category;
  std::string file;
  std::string function;
  std::uint32_t line = 0;
  bool dynamic = false;
  bool counter = false;  // a PERF_COUNTER series, not a span site
};

// The category that marks a counter series (PERF_COUNTER); reserved.
inline constexpr std::string_view kCounterCategory = "(counter)";

// One counter series, from the samples the collector saw.
struct CounterAccum {
  std::uint64_t count = 0;
  double sum = 0, min = 0, max = 0, last = 0;
  std::uint64_t last_ticks = 0;

  void add(double v, std::uint64_t ticks);
};

// A copy of the call tree with what it needs to be read.
struct TreeSnapshot {
  TreeNode root;  // roots are its children
  std::vector<SiteInfo> sites;
  double coverage = 1.0;
  std::size_t nodes = 0;
  std::uint64_t folded = 0;
};

struct MarkRecord {
  std::string name;
  std::string category;
  std::string metadata_json;  // serialised object, "" when none
  std::uint64_t ticks = 0;
};

struct SiteSnapshot {
  std::uint32_t id = 0;
  Totals totals;
  double p50 = 0, p95 = 0, p99 = 0;      // ticks
  std::uint64_t self = 0;                // ticks, from the call tree
  std::vector<std::uint64_t> le_counts;  // when asked: cumulative counts at the bounds
};

struct Health {
  std::uint64_t spans_recorded = 0;
  std::uint64_t marks_recorded = 0;
  std::uint64_t dropped = 0;
  std::uint64_t threads_live = 0;
  std::uint64_t threads_retired = 0;
  std::uint64_t sites = 0;
  std::uint64_t dynamic_names = 0;
  std::uint64_t dynamic_folded = 0;
};

class Registry {
 public:
  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // ---- registration (slow paths) ----

  std::uint32_t intern(std::string_view name, std::string_view category, bool dynamic,
                       const char* file = "", const char* function = "", std::uint32_t line = 0);

  ThreadState* register_thread();

  // Thread exit: fold the thread's exact totals and pending raw spans into the
  // collector's store, then free the buffer.
  void retire(ThreadState* tb);

  // ---- collection ----

  // Drains every live ring into the histograms (and the span listener and
  // taps). Collections are serialised, so consumers see each thread's spans
  // in the order they were recorded.
  void collect();

  // Closes the span budgets' window now (tests, tools): collects, then
  // judges every budget on what the window saw.
  void close_budget_window();

  // Exact totals per site plus percentiles. Collects first, so every span that
  // ended before the call is included.
  // With `le_ticks` (ascending), each snapshot also carries the cumulative
  // histogram counts at those bounds (LogHistogram::cumulative).
  std::vector<SiteSnapshot> snapshot_sites(std::vector<SiteInfo>* infos = nullptr,
                                           Health* health = nullptr,
                                           const std::vector<std::uint64_t>* le_ticks = nullptr);

  // Clears everything recorded so far. Safe while other threads record: their
  // slots from the old generation are ignored and lazily zeroed by the owner.
  void reset();

  // ---- span budgets and spikes ----

  // Adds or replaces a budget; "" when set, else why not (the cap).
  std::string set_span_budget(const SpanBudgetSpec& spec, bool from_config = false);

  bool remove_span_budget(std::string_view name, std::string_view category);

  // Replaces the budgets that came from the config file with `specs`;
  // budgets set from code or over HTTP stay. Returns the problems.
  std::vector<std::string> replace_config_span_budgets(const std::vector<SpanBudgetSpec>& specs);

  std::vector<SpanBudgetState> span_budgets();

  std::optional<SpanBudgetState> span_budget(std::string_view name, std::string_view category);

  // How long one evaluation window lasts (default 1 s).
  void set_budget_window(std::chrono::nanoseconds window) {
    budget_window_ns_.store(window.count() <= 0 ? 1 : window.count(), std::memory_order_relaxed);
  }

  void set_max_spikes(std::size_t n);

  std::vector<SpikeSummary> spikes();

  // A spike's spans, or nothing for an unknown id.
  std::optional<std::vector<RawSpan>> spike_spans(std::uint64_t id);

  // Receives the budgets' state changes and the new spikes, after each
  // collection that has some, outside the state lock.
  using BudgetListener =
      std::function<void(const std::vector<BudgetTransition>&, const std::vector<SpikeSummary>&)>;
  void set_budget_listener(BudgetListener listener);

  // Called about once a second from the collection, outside the state lock
  // (the runtime re-reads the config file's span budgets from here).
  void set_second_tick(std::function<void()> tick);

  // ---- call tree and counters ----

  // The tree as of now: collects first, then copies the tree and every
  // thread's pending subtrees (as roots).
  TreeSnapshot call_tree();

  // Nodes the call tree keeps at most (default 4096); paths past it fold
  // into "(other)".
  void set_max_tree_nodes(std::size_t n);

  // Every counter series with at least one sample: (site id, stats).
  std::vector<std::pair<SiteInfo, CounterAccum>> counters();

  // ---- marks ----

  // Keeps the newest marks within both bounds: a count and the bytes of
  // their text (metadata included), so large metadata cannot grow memory or
  // the dashboard without limit. A mark larger than the byte bound on its
  // own keeps its name but loses its metadata.
  void add_mark(MarkRecord m);

  // The newest `limit` marks, oldest first.
  std::vector<MarkRecord> marks(std::size_t limit = static_cast<std::size_t>(-1));

  void set_max_marks(std::size_t n);

  // Bytes of name, category and metadata text kept over all marks.
  void set_max_mark_bytes(std::size_t n);

  void set_max_dynamic_names(std::size_t n);

  // ---- switch and collector ----

  void set_enabled(bool on);

  bool collector_running() const;

  void set_collect_interval(std::chrono::milliseconds ms);

  // Starts the collector when the profiler is on and some thread records.
  // Never called with the registry lock held: starting may reap a collector
  // that stopped itself, and that one may still be waiting for the lock.
  void ensure_collector();

  // The JSON layer installs these; they run outside the lock, on the collector
  // thread or the thread that asked for a snapshot — never inside a scope.
  void set_span_listener(std::function<bool()> wanted,
                         std::function<void(const std::vector<RawSpan>&)> listener);

  // ---- span taps ----

  // A tap sees every span the collector drains, in drain order per thread,
  // on the thread that collects (never inside a scope). Taps are for
  // consumers that need all spans for a while (trace captures): while one
  // is installed the collector drains at least every kTapInterval, so that
  // rings do not overwrite spans at the rates a render loop produces. A tap
  // must not call back into the registry's collection.
  using SpanTap = std::function<void(const std::vector<RawSpan>&)>;
  static constexpr std::chrono::milliseconds kTapInterval{5};

  std::uint64_t add_tap(SpanTap tap);

  // After this returns the tap is not running and will not run again.
  void remove_tap(std::uint64_t id);

  // Spans lost so far: overwritten in a ring before collection, or recorded
  // without a buffer.
  std::uint64_t dropped_total();

  // ---- thread names ----

  // Names the calling thread's buffer (registered on demand by the caller).
  void set_thread_name(ThreadState* tb, std::string_view name);

  // Index -> name of every live thread, and of the most recently exited
  // ones (bounded), so a trace of a thread that just ended still names it.
  std::map<std::uint32_t, std::string> thread_names();

  // ---- time conversion (read side only) ----

  double ns_per_tick();

  double ticks_to_ms(double ticks);

  // The tick value all relative times (trace timestamps) count from.
  std::uint64_t anchor_ticks() const { return anchor_ticks_; }

  // Epoch seconds of a tick value.
  double ticks_to_epoch(std::uint64_t ticks);

  std::vector<SiteInfo> sites();

  const SiteInfo site_info(std::uint32_t id);

  // The runtime's fork handler calls these (docs/architecture.md gives the
  // lock order across parts).
  // Every lock, in the order the code nests them: the collection lock
  // (outermost: consumers run under it and may convert times), calibration,
  // then the state lock, then the listener lock (taken under the state lock
  // while draining), then the collector's own.
  void fork_prepare();
  void fork_parent();
  void fork_child();

 private:
  static constexpr const char* kMetadataDropped = "{\"metadata_dropped\":true}";
  static constexpr std::size_t kMinMarkBytes = 4096;

  static std::size_t mark_bytes(const MarkRecord& m);

  void trim_marks_locked();

  std::uint32_t intern_locked(std::string_view name, std::string_view category, bool dynamic,
                              const char* file, const char* function, std::uint32_t line);

  // What a drain feeds besides the histograms, decided once per collection.
  struct DrainContext {
    bool judging = false;         // some span budget exists
    std::uint64_t frame_max = 0;  // the frame budget's max_ms in ticks; 0: no spikes
    double frame_max_ms = 0;
    double ns_per_tick = 1.0;
  };

  DrainContext drain_context_locked(double npt);

  static double epoch_seconds();

  void collect_and_judge(bool close_window);

  void drain_locked(ThreadState* tb, std::vector<RawSpan>& batch, const DrainContext& ctx);

  bool batch_wanted();

  // Runs under collect_mu_.
  void deliver(const std::vector<RawSpan>& batch);

  static constexpr std::size_t kMaxBatch = 8192;
  static constexpr std::size_t kMaxThreadNameBytes = 128;
  static constexpr std::size_t kMaxExitedNames = 1024;

  std::mutex collect_mu_;  // serialises drain + delivery
  std::mutex mu_;
  std::mutex listener_mu_;
  std::mutex calib_mu_;
  ThreadState* threads_ = nullptr;
  std::uint32_t next_thread_index_ = 1;
  std::uint64_t threads_live_ = 0;
  std::uint64_t threads_retired_ = 0;
  std::vector<SiteInfo> sites_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<Totals> retired_;
  std::vector<LogHistogram> hist_;
  std::vector<std::uint64_t> self_;          // self ticks per site
  std::vector<CounterAccum> counter_stats_;  // per counter site
  CallTreeStore tree_;
  SpanBudgetTable budgets_;
  SpikeRecorder spikes_;
  std::atomic<bool> judging_{false};
  std::atomic<std::int64_t> budget_window_ns_{1'000'000'000};
  std::uint64_t last_eval_ = 0;         // under mu_
  std::uint64_t last_second_tick_ = 0;  // steady ns, under listener_mu_
  BudgetListener budget_listener_;
  std::function<void()> second_tick_;
  std::size_t max_dynamic_ = COMFYVN_PERF_MAX_DYNAMIC_NAMES;
  std::uint64_t dynamic_names_ = 0;
  std::uint64_t dynamic_folded_ = 0;
  std::uint64_t dropped_ = 0;
  std::deque<MarkRecord> marks_;
  std::size_t max_marks_ = COMFYVN_PERF_MAX_MARKS;
  std::size_t max_mark_bytes_ = COMFYVN_PERF_MAX_MARK_BYTES;
  std::size_t mark_bytes_total_ = 0;
  std::uint64_t marks_recorded_ = 0;
  os::PeriodicWorker collector_;
  std::atomic<std::int64_t> collect_interval_ns_{20'000'000};
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const SpanTap>>> taps_;
  std::uint64_t tap_seq_ = 0;
  std::atomic<std::size_t> taps_active_{0};
  std::deque<std::pair<std::uint32_t, std::string>> exited_names_;
  std::function<bool()> spans_wanted_;
  std::function<void(const std::vector<RawSpan>&)> span_listener_;
  std::uint64_t anchor_ticks_ = 0;
  std::uint64_t anchor_steady_ns_ = 0;
  std::uint64_t anchor_system_ns_ = 0;
  std::atomic<double> ns_per_tick_{0.0};
};

// Set once the registry exists, so that the runtime's fork handler can lock
// it without ever creating it.
COMFYVN_PERF_VISIBLE extern std::atomic<Registry*> g_registry;

// The one registry of the process. Never destroyed, so spans recorded during
// static destruction or by threads outliving main() stay safe.
COMFYVN_PERF_VISIBLE Registry& registry();

// Hands the thread's buffer back when the thread exits.
struct ThreadReaper {
  ThreadState* tb = nullptr;
  ~ThreadReaper();
};
COMFYVN_PERF_VISIBLE extern thread_local ThreadReaper t_reaper;

// ---------------------------------------------------------------------------
// The cold path behind the hot header's function table (core/thread_buffer.hpp).
// ---------------------------------------------------------------------------
namespace cold {

ThreadBuffer* register_thread() noexcept;

std::uint32_t register_site(const Site& site) noexcept;

std::uint32_t dynamic_site(ThreadBuffer* buffer, std::string_view name,
                           std::string_view category) noexcept;

void mark(std::string_view name, std::string_view category, std::uint64_t ticks) noexcept;

inline constexpr ColdPath kTable{&register_thread, &register_site, &dynamic_site, &mark};

// Installs the table unless a module loaded earlier did, and applies
// COMFYVN_ENABLE_PERF=1 from the first scope on. Reads the environment and
// stores two pointers; starts no thread.
bool install() noexcept;

}  // namespace cold

COMFYVN_PERF_VISIBLE extern const bool g_cold_installed;

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // max, min
#include <cstdlib>    // calloc, free, getenv
#include <cstring>    // memcpy
#include <thread>     // calibration wait

#include <pthread.h>  // the OS name of a thread, as its default name

#include "../core/alloc.hpp"
#include "../core/clock.hpp"
#include "../os/env.hpp"

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

void CounterAccum::add(double v, std::uint64_t ticks) {
  if (count == 0 || v < min) min = v;
  if (count == 0 || v > max) max = v;
  ++count;
  sum += v;
  if (ticks >= last_ticks) {
    last = v;
    last_ticks = ticks;
  }
}

// ---- Registry ----

Registry::Registry() {
  anchor_ticks_ = DefaultClock::now();
  anchor_steady_ns_ = SteadyClock::now();
  anchor_system_ns_ =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  sites_.reserve(1024);
  sites_.push_back(SiteInfo{"(invalid)", "", "", "", 0, false});
  sites_.push_back(SiteInfo{"(other)", "dynamic", "", "", 0, true});
  sites_.push_back(SiteInfo{"(frame)", "frame", "", "", 0, false});
  retired_.resize(sites_.size());
  hist_.resize(sites_.size());
  self_.resize(sites_.size());
  counter_stats_.resize(sites_.size());
}

std::uint32_t Registry::intern(std::string_view name, std::string_view category, bool dynamic,
                               const char* file, const char* function, std::uint32_t line) {
  std::lock_guard<std::mutex> lock(mu_);
  return intern_locked(name, category, dynamic, file, function, line);
}

ThreadState* Registry::register_thread() {
  auto* tb = new ThreadState();
  char os_name[32] = {0};
  if (pthread_getname_np(pthread_self(), os_name, sizeof os_name) == 0) tb->name = os_name;
  tb->accum = static_cast<SiteAccum*>(std::calloc(COMFYVN_PERF_MAX_SITES, sizeof(SiteAccum)));
  if (tb->accum == nullptr) {
    delete tb;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  tb->thread_index = next_thread_index_++;
  if (tb->name.empty()) tb->name = "thread " + std::to_string(tb->thread_index);
  tb->next = threads_;
  if (threads_) threads_->prev = tb;
  threads_ = tb;
  ++threads_live_;
  return tb;
}

void Registry::retire(ThreadState* tb) {
  std::lock_guard<std::mutex> serial(collect_mu_);
  const double npt = judging_.load(std::memory_order_relaxed) ? ns_per_tick() : 1.0;
  std::vector<RawSpan> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const DrainContext ctx = drain_context_locked(npt);
    drain_locked(tb, batch, ctx);
    tb->tree.flush(tree_);
    exited_names_.emplace_back(tb->thread_index, std::move(tb->name));
    if (exited_names_.size() > kMaxExitedNames) exited_names_.pop_front();
    const std::uint32_t g = g_generation.load(kRelaxed);
    for (std::size_t id = 0; id < sites_.size(); ++id) {
      Totals t;
      if (load_accum(tb->accum[id], g, t)) retired_[id].add(t);
    }
    if (tb->prev) tb->prev->next = tb->next;
    if (tb->next) tb->next->prev = tb->prev;
    if (threads_ == tb) threads_ = tb->next;
    --threads_live_;
    ++threads_retired_;
  }
  std::free(tb->accum);
  delete tb;
  deliver(batch);
}

void Registry::collect() {
  collect_and_judge(false);
}

void Registry::close_budget_window() {
  collect_and_judge(true);
}

std::vector<SiteSnapshot> Registry::snapshot_sites(std::vector<SiteInfo>* infos, Health* health,
                                                   const std::vector<std::uint64_t>* le_ticks) {
  collect();
  std::vector<SiteSnapshot> out;
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint32_t g = g_generation.load(kRelaxed);
  std::vector<Totals> sum(retired_);
  for (ThreadState* tb = threads_; tb; tb = tb->next) {
    for (std::size_t id = 0; id < sites_.size(); ++id) {
      Totals t;
      if (load_accum(tb->accum[id], g, t)) sum[id].add(t);
    }
  }
  std::uint64_t spans = 0;
  for (std::size_t id = 1; id < sites_.size(); ++id) {
    if (sum[id].count == 0) continue;
    SiteSnapshot s;
    s.id = static_cast<std::uint32_t>(id);
    s.totals = sum[id];
    const LogHistogram& h = hist_[id];
    if (le_ticks != nullptr) s.le_counts = h.cumulative(*le_ticks);
    s.self = self_[id];
    if (h.count() > 0) {
      static constexpr double kQs[3] = {0.50, 0.95, 0.99};
      double q[3];
      h.quantiles(kQs, q);
      s.p50 = q[0];
      s.p95 = q[1];
      s.p99 = q[2];
    } else {  // every raw span was overwritten before collection: use the mean
      s.p50 = s.p95 = s.p99 = static_cast<double>(s.totals.total) / s.totals.count;
    }
    if (id != kFrameSiteId) spans += s.totals.count;
    out.push_back(s);
  }
  if (infos) *infos = sites_;
  if (health) {
    health->spans_recorded = spans;
    health->marks_recorded = marks_recorded_;
    health->dropped = dropped_ + g_late_dropped.load(kRelaxed);
    health->threads_live = threads_live_;
    health->threads_retired = threads_retired_;
    health->sites = sites_.size() - kFirstUserSiteId;
    health->dynamic_names = dynamic_names_;
    health->dynamic_folded = dynamic_folded_;
  }
  return out;
}

void Registry::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  g_generation.fetch_add(1, kAcqRel);
  for (ThreadState* tb = threads_; tb; tb = tb->next) {
    tb->ring_cursor = tb->ring.head();
    tb->tree.clear();
  }
  for (auto& t : retired_) t = Totals{};
  for (auto& h : hist_) h.clear();
  for (auto& v : self_) v = 0;
  for (auto& c : counter_stats_) c = CounterAccum{};
  tree_.clear();
  budgets_.clear_windows();
  spikes_.clear();
  dropped_ = 0;
  g_late_dropped.store(0, kRelaxed);
  marks_.clear();
  mark_bytes_total_ = 0;
  marks_recorded_ = 0;
}

std::string Registry::set_span_budget(const SpanBudgetSpec& spec, bool from_config) {
  const double npt = ns_per_tick();
  std::lock_guard<std::mutex> lock(mu_);
  std::string e = budgets_.set(spec, npt, epoch_seconds(), from_config);
  judging_.store(!budgets_.empty(), std::memory_order_relaxed);
  return e;
}

bool Registry::remove_span_budget(std::string_view name, std::string_view category) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool removed = budgets_.remove(name, category);
  judging_.store(!budgets_.empty(), std::memory_order_relaxed);
  if (budgets_.frame_max_ticks() == 0) spikes_.clear_recent();
  return removed;
}

std::vector<std::string> Registry::replace_config_span_budgets(
    const std::vector<SpanBudgetSpec>& specs) {
  const double npt = ns_per_tick();
  std::lock_guard<std::mutex> lock(mu_);
  budgets_.remove_config_except([&](const std::string& name, const std::string& category) {
    for (const auto& s : specs)
      if (s.name == name && s.category == category) return true;
    return false;
  });
  std::vector<std::string> problems;
  for (const auto& spec : specs) {
    std::string e = budgets_.set(spec, npt, epoch_seconds(), true);
    if (!e.empty()) problems.push_back(spec.name + ": " + e);
  }
  judging_.store(!budgets_.empty(), std::memory_order_relaxed);
  return problems;
}

std::vector<SpanBudgetState> Registry::span_budgets() {
  std::lock_guard<std::mutex> lock(mu_);
  return budgets_.states();
}

std::optional<SpanBudgetState> Registry::span_budget(std::string_view name,
                                                     std::string_view category) {
  std::lock_guard<std::mutex> lock(mu_);
  return budgets_.state_of(name, category);
}

void Registry::set_max_spikes(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  spikes_.set_max_spikes(n);
}

std::vector<SpikeSummary> Registry::spikes() {
  std::lock_guard<std::mutex> lock(mu_);
  return spikes_.list();
}

std::optional<std::vector<RawSpan>> Registry::spike_spans(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  const SpikeRecord* r = spikes_.find(id);
  if (r == nullptr) return std::nullopt;
  return r->spans;
}

void Registry::set_budget_listener(BudgetListener listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  budget_listener_ = std::move(listener);
}

void Registry::set_second_tick(std::function<void()> tick) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  second_tick_ = std::move(tick);
}

TreeSnapshot Registry::call_tree() {
  collect();
  std::lock_guard<std::mutex> lock(mu_);
  TreeSnapshot out;
  out.root = tree_.root();
  TreeBudget unlimited;
  for (ThreadState* tb = threads_; tb; tb = tb->next) {
    tb->tree.for_each_pending([&](const TreeNode& n) {
      TreeNode copy = n;
      merge_child(out.root, std::move(copy), unlimited);
    });
  }
  out.sites = sites_;
  out.nodes = tree_.nodes() + unlimited.created;
  out.folded = tree_.folded();
  const double seen = static_cast<double>(tree_.spans());
  out.coverage = seen + static_cast<double>(dropped_) > 0
                     ? seen / (seen + static_cast<double>(dropped_))
                     : 1.0;
  return out;
}

void Registry::set_max_tree_nodes(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  tree_.set_max_nodes(n);
}

std::vector<std::pair<SiteInfo, CounterAccum>> Registry::counters() {
  collect();
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<SiteInfo, CounterAccum>> out;
  for (std::size_t id = 0; id < sites_.size(); ++id) {
    if (sites_[id].counter && counter_stats_[id].count > 0)
      out.emplace_back(sites_[id], counter_stats_[id]);
  }
  return out;
}

void Registry::add_mark(MarkRecord m) {
  if (mark_bytes(m) > max_mark_bytes_) m.metadata_json = kMetadataDropped;
  std::lock_guard<std::mutex> lock(mu_);
  ++marks_recorded_;
  mark_bytes_total_ += mark_bytes(m);
  marks_.push_back(std::move(m));
  trim_marks_locked();
}

std::vector<MarkRecord> Registry::marks(std::size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t n = std::min(limit, marks_.size());
  return std::vector<MarkRecord>(marks_.end() - static_cast<std::ptrdiff_t>(n), marks_.end());
}

void Registry::set_max_marks(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  max_marks_ = n == 0 ? 1 : n;
  trim_marks_locked();
}

void Registry::set_max_mark_bytes(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  max_mark_bytes_ = n < kMinMarkBytes ? kMinMarkBytes : n;
  trim_marks_locked();
}

void Registry::set_max_dynamic_names(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  max_dynamic_ = std::min<std::size_t>(n, COMFYVN_PERF_MAX_SITES - 64);
}

void Registry::set_enabled(bool on) {
  if (on) {
    g_enabled.store(true, kRelaxed);
    ensure_collector();
  } else {
    g_enabled.store(false, kRelaxed);
    collector_.stop();
    collect();
  }
}

bool Registry::collector_running() const {
  return collector_.running();
}

void Registry::set_collect_interval(std::chrono::milliseconds ms) {
  collect_interval_ns_.store(std::chrono::nanoseconds(ms).count(), std::memory_order_relaxed);
  collector_.reschedule();
}

void Registry::ensure_collector() {
  if (!g_enabled.load(kRelaxed) || collector_.running()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (threads_ == nullptr) return;
  }
  collector_.start(
      [this] { collect(); },
      [this] {
        std::chrono::nanoseconds interval(collect_interval_ns_.load(std::memory_order_relaxed));
        if (taps_active_.load(std::memory_order_relaxed) != 0) {
          interval = std::min<std::chrono::nanoseconds>(interval, kTapInterval);
        }
        return interval;
      },
      /*tick_at_start=*/false, "perf-collector");
}

void Registry::set_span_listener(std::function<bool()> wanted,
                                 std::function<void(const std::vector<RawSpan>&)> listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  spans_wanted_ = std::move(wanted);
  span_listener_ = std::move(listener);
}

std::uint64_t Registry::add_tap(SpanTap tap) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(listener_mu_);
    id = ++tap_seq_;
    taps_.emplace_back(id, std::make_shared<const SpanTap>(std::move(tap)));
    taps_active_.store(taps_.size(), std::memory_order_relaxed);
  }
  collector_.reschedule();
  return id;
}

void Registry::remove_tap(std::uint64_t id) {
  std::lock_guard<std::mutex> serial(collect_mu_);
  std::lock_guard<std::mutex> lock(listener_mu_);
  taps_.erase(
      std::remove_if(taps_.begin(), taps_.end(), [id](const auto& t) { return t.first == id; }),
      taps_.end());
  taps_active_.store(taps_.size(), std::memory_order_relaxed);
}

std::uint64_t Registry::dropped_total() {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_ + g_late_dropped.load(kRelaxed);
}

void Registry::set_thread_name(ThreadState* tb, std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  tb->name.assign(name.substr(0, kMaxThreadNameBytes));
}

std::map<std::uint32_t, std::string> Registry::thread_names() {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::uint32_t, std::string> out(exited_names_.begin(), exited_names_.end());
  for (ThreadState* tb = threads_; tb; tb = tb->next) out[tb->thread_index] = tb->name;
  return out;
}

double Registry::ns_per_tick() {
  double v = ns_per_tick_.load(std::memory_order_acquire);
  if (v > 0) return v;
  if (!DefaultClock::is_tsc) {
    ns_per_tick_.store(1.0, std::memory_order_release);
    return 1.0;
  }
  std::lock_guard<std::mutex> lock(calib_mu_);
  v = ns_per_tick_.load(std::memory_order_acquire);
  if (v > 0) return v;
  // Two-point calibration against steady_clock over at least 20 ms, taken
  // from the registry's creation so that usually no waiting is needed.
  const std::uint64_t min_ns = 20'000'000;
  std::uint64_t now_ns = SteadyClock::now();
  if (now_ns - anchor_steady_ns_ < min_ns) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(min_ns - (now_ns - anchor_steady_ns_)));
  }
  const std::uint64_t t = DefaultClock::now();
  now_ns = SteadyClock::now();
  v = static_cast<double>(now_ns - anchor_steady_ns_) / static_cast<double>(t - anchor_ticks_);
  ns_per_tick_.store(v, std::memory_order_release);
  return v;
}

double Registry::ticks_to_ms(double ticks) {
  return ticks * ns_per_tick() / 1e6;
}

double Registry::ticks_to_epoch(std::uint64_t ticks) {
  const double delta_ns =
      (static_cast<double>(ticks) - static_cast<double>(anchor_ticks_)) * ns_per_tick();
  return (static_cast<double>(anchor_system_ns_) + delta_ns) / 1e9;
}

std::vector<SiteInfo> Registry::sites() {
  std::lock_guard<std::mutex> lock(mu_);
  return sites_;
}

const SiteInfo Registry::site_info(std::uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return id < sites_.size() ? sites_[id] : SiteInfo{};
}

void Registry::fork_prepare() {
  collect_mu_.lock();
  calib_mu_.lock();
  mu_.lock();
  listener_mu_.lock();
  collector_.fork_prepare();
}

void Registry::fork_parent() {
  collector_.fork_parent();
  listener_mu_.unlock();
  mu_.unlock();
  calib_mu_.unlock();
  collect_mu_.unlock();
}

void Registry::fork_child() {
  // Threads do not survive fork: the collector is forgotten, not joined.
  collector_.fork_child();
  threads_live_ = 0;
  for (ThreadState* tb = threads_; tb; tb = tb->next) ++threads_live_;
  // Captures belong to threads of the parent; none continues here.
  taps_.clear();
  taps_active_.store(0, std::memory_order_relaxed);
  listener_mu_.unlock();
  mu_.unlock();
  calib_mu_.unlock();
  collect_mu_.unlock();
}

std::size_t Registry::mark_bytes(const MarkRecord& m) {
  return m.name.size() + m.category.size() + m.metadata_json.size();
}

void Registry::trim_marks_locked() {
  while (!marks_.empty() && (marks_.size() > max_marks_ || mark_bytes_total_ > max_mark_bytes_)) {
    mark_bytes_total_ -= mark_bytes(marks_.front());
    marks_.pop_front();
  }
}

std::uint32_t Registry::intern_locked(std::string_view name, std::string_view category,
                                      bool dynamic, const char* file, const char* function,
                                      std::uint32_t line) {
  std::string key;
  key.reserve(name.size() + category.size() + 1);
  key.append(name).push_back('\x1f');
  key.append(category);
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  if (sites_.size() >= COMFYVN_PERF_MAX_SITES) {
    ++dynamic_folded_;
    return kOtherSiteId;
  }
  if (dynamic) {
    if (dynamic_names_ >= max_dynamic_) {
      ++dynamic_folded_;
      return kOtherSiteId;
    }
    ++dynamic_names_;
  }
  const auto id = static_cast<std::uint32_t>(sites_.size());
  sites_.push_back(SiteInfo{std::string(name), std::string(category), file ? file : "",
                            function ? function : "", line, dynamic, category == kCounterCategory});
  retired_.emplace_back();
  hist_.emplace_back();
  self_.emplace_back();
  counter_stats_.emplace_back();
  ids_.emplace(std::move(key), id);
  return id;
}

Registry::DrainContext Registry::drain_context_locked(double npt) {
  DrainContext ctx;
  ctx.judging = !budgets_.empty();
  if (ctx.judging) {
    budgets_.map_sites(sites_);
    ctx.frame_max = budgets_.frame_max_ticks(&ctx.frame_max_ms);
  }
  ctx.ns_per_tick = npt;
  return ctx;
}

double Registry::epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void Registry::collect_and_judge(bool close_window) {
  std::lock_guard<std::mutex> serial(collect_mu_);
  const double npt = judging_.load(std::memory_order_relaxed) ? ns_per_tick() : 1.0;
  std::vector<RawSpan> batch;
  std::vector<BudgetTransition> transitions;
  std::vector<SpikeSummary> new_spikes;
  const std::uint64_t now = DefaultClock::now();
  const std::uint64_t now_ns = SteadyClock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    const DrainContext ctx = drain_context_locked(npt);
    for (ThreadState* tb = threads_; tb; tb = tb->next) drain_locked(tb, batch, ctx);
    if (ctx.judging) {
      const double window_ticks =
          static_cast<double>(budget_window_ns_.load(std::memory_order_relaxed)) / npt;
      if (last_eval_ == 0) last_eval_ = now;
      if (close_window || static_cast<double>(now - last_eval_) >= window_ticks) {
        transitions = budgets_.evaluate(npt, epoch_seconds());
        last_eval_ = now;
      }
      // Spans stay long enough for a spike of up to 10 s to be cut.
      new_spikes =
          spikes_.finish(static_cast<std::uint64_t>((ctx.frame_max_ms + 1000.0) * 1e6 / npt));
    } else {
      last_eval_ = 0;
    }
  }
  deliver(batch);
  std::function<void()> tick;
  BudgetListener budget_listener;
  {
    std::lock_guard<std::mutex> lock(listener_mu_);
    budget_listener = budget_listener_;
    if (last_second_tick_ == 0 || now_ns - last_second_tick_ >= 1'000'000'000) {
      last_second_tick_ = now_ns;
      tick = second_tick_;
    }
  }
  if (budget_listener && (!transitions.empty() || !new_spikes.empty()))
    budget_listener(transitions, new_spikes);
  if (tick) tick();
}

void Registry::drain_locked(ThreadState* tb, std::vector<RawSpan>& batch, const DrainContext& ctx) {
  // Taps take every span; the listener's events stop at kMaxBatch.
  const std::size_t cap = taps_active_.load(std::memory_order_relaxed) != 0 ? SIZE_MAX
                          : batch_wanted()                                  ? kMaxBatch
                                                                            : 0;
  tb->ring_cursor =
      tb->ring.drain(tb->ring_cursor, tb->thread_index, dropped_, [&](const RawSpan& s) {
        if (s.site_id < sites_.size()) {
          if (sites_[s.site_id].counter) {
            double v;
            std::memcpy(&v, &s.alloc_bytes, sizeof v);
            counter_stats_[s.site_id].add(v, s.start_ticks);
          } else {
            hist_[s.site_id].add(s.duration_ticks);
            if (ctx.judging) {
              budgets_.on_span(s.site_id, s.duration_ticks);
              if (ctx.frame_max != 0) {
                spikes_.keep_recent(s);
                if (s.site_id == kFrameSiteId && s.duration_ticks > ctx.frame_max) {
                  spikes_.frame_over(s,
                                     static_cast<double>(s.duration_ticks) * ctx.ns_per_tick / 1e6,
                                     ctx.frame_max_ms, epoch_seconds());
                }
              }
            }
            if (s.site_id != kFrameSiteId) {
              self_[s.site_id] +=
                  tb->tree.add(s.site_id, s.start_ticks, s.start_ticks + s.duration_ticks, tree_);
            }
          }
        }
        if (batch.size() < cap) batch.push_back(s);
      });
}

bool Registry::batch_wanted() {
  std::lock_guard<std::mutex> lock(listener_mu_);
  return spans_wanted_ && span_listener_ && spans_wanted_();
}

void Registry::deliver(const std::vector<RawSpan>& batch) {
  if (batch.empty()) return;
  std::function<void(const std::vector<RawSpan>&)> listener;
  bool wanted = false;
  std::vector<std::shared_ptr<const SpanTap>> taps;
  {
    std::lock_guard<std::mutex> lock(listener_mu_);
    listener = span_listener_;
    wanted = spans_wanted_ && spans_wanted_();
    taps.reserve(taps_.size());
    for (const auto& t : taps_) taps.push_back(t.second);
  }
  if (listener && wanted) {
    if (batch.size() <= kMaxBatch) {
      listener(batch);
    } else {
      listener(std::vector<RawSpan>(batch.begin(), batch.begin() + kMaxBatch));
    }
  }
  for (const auto& tap : taps) (*tap)(batch);
}

// ---- the one registry, thread exit and the cold path ----

std::atomic<Registry*> g_registry{nullptr};

Registry& registry() {
  static Registry* r = [] {
    auto* created = new Registry();
    g_registry.store(created, std::memory_order_release);
    return created;
  }();
  return *r;
}

ThreadReaper::~ThreadReaper() {
  t_retired = true;
  ThreadState* b = tb;
  tb = nullptr;
  t_buffer = nullptr;
  if (b) registry().retire(b);
}

thread_local ThreadReaper t_reaper;

namespace cold {

ThreadBuffer* register_thread() noexcept {
  try {
    ThreadState* tb = registry().register_thread();
    if (tb == nullptr) return nullptr;
    t_reaper.tb = tb;
    t_buffer = tb;
    registry().ensure_collector();
    return tb;
  } catch (...) {
    return nullptr;
  }
}

std::uint32_t register_site(const Site& site) noexcept {
  try {
    const std::uint32_t id =
        registry().intern(site.name, site.category, false, site.file, site.function, site.line);
    site.id.store(id, kRelease);
    return id;
  } catch (...) {
    return kOtherSiteId;
  }
}

std::uint32_t dynamic_site(ThreadBuffer* buffer, std::string_view name,
                           std::string_view category) noexcept {
  auto* tb = static_cast<ThreadState*>(buffer);
  const std::uint64_t h = DynNameCache::hash(name, category);
  if (const std::uint32_t id = tb->dyn.find(h, name, category); id != 0) return id;
  try {
    const std::uint32_t id = registry().intern(name, category, true);
    // Folded names are cached too, up to a bound, so a flood of distinct
    // names cannot grow a thread's cache without limit.
    if (id != kOtherSiteId || tb->dyn.size() < 2 * COMFYVN_PERF_MAX_DYNAMIC_NAMES) {
      tb->dyn.insert(h, name, category, id);
    }
    return id;
  } catch (...) {
    return kOtherSiteId;
  }
}

void mark(std::string_view name, std::string_view category, std::uint64_t ticks) noexcept {
  try {
    registry().add_mark(MarkRecord{std::string(name), std::string(category), "", ticks});
  } catch (...) {
  }
}

bool install() noexcept {
  const ColdPath* none = nullptr;
  g_cold.compare_exchange_strong(none, &kTable, kAcqRel);
  if (os::env_flag_true(std::getenv("COMFYVN_ENABLE_PERF"))) g_enabled.store(true, kRelaxed);
  return true;
}

}  // namespace cold

const bool g_cold_installed = cold::install();

#if defined(__GNUC__) || defined(__clang__)
// Before every ordinary static initialiser of the program, whatever the link
// order: a span recorded during another file's static initialisation (before
// main()) must find the cold path. install() may run twice.
__attribute__((constructor(101))) static void install_cold_path_early() noexcept { cold::install(); }
#endif

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
