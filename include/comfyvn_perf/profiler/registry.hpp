// comfyvn_perf — the process-wide registry: the cold half of the hot path,
// and the head of the collection pipeline.
//
// Owns what is per thread and per site: every thread's buffer and ring, the
// site table, the exact totals of exited threads, the switch, the collector
// and the drain. Each drain hands one thread's spans, in order, to the
// consumers (profiler/consumer.hpp): aggregates, call tree, counters, span
// budgets and spikes, marks, taps, then any added with add_consumer().
// Recording threads touch only their own buffer; everything here that takes
// a lock runs at registration, collection, reset or thread exit, never per
// span. The cold path the hot header calls through is profiler/cold_path.hpp.
#pragma once

#include <atomic>         // collect interval
#include <chrono>         // collect interval
#include <cstddef>        // size_t
#include <cstdint>        // uint64_t
#include <functional>     // second tick
#include <map>            // thread names by index
#include <mutex>          // collection and state locks
#include <string>         // owned site names
#include <string_view>    // dynamic names
#include <utility>        // pair
#include <vector>         // site table, consumers

#include "../config.hpp"
#include "../core/site.hpp"
#include "../core/thread_buffer.hpp"
#include "../os/worker.hpp"
#include "aggregates.hpp"       // AggregateConsumer, SiteSnapshot
#include "budget_consumer.hpp"  // SpanBudgetConsumer
#include "call_tree.hpp"        // CallTreeConsumer
#include "consumer.hpp"         // SpanConsumer, SiteInfo
#include "counters.hpp"         // CounterConsumer
#include "marks.hpp"            // MarkStore
#include "site_table.hpp"       // SiteTable
#include "taps.hpp"             // TapConsumer
#include "thread_state.hpp"     // ThreadState, Totals
#include "timebase.hpp"         // TimeBase

namespace comfyvn::perf::detail {

// The registry's own counters, for health().
struct Health {
  std::uint64_t spans_recorded = 0;
  std::uint64_t marks_recorded = 0;  // filled by the reader (MarkStore)
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

  // Thread exit: drain the thread's last spans to the consumers, fold its
  // exact totals into the store of exited threads, then free the buffer.
  void retire(ThreadState* tb);

  // ---- the pipeline ----

  // Adds a consumer after the built-in ones; it sees every drain from the
  // next collection on. It must live as long as the process (the registry
  // is never destroyed).
  void add_consumer(SpanConsumer& consumer);

  // After this returns the consumer is not running and will not run again.
  void remove_consumer(SpanConsumer& consumer);

  AggregateConsumer& aggregates() { return aggregates_; }
  CallTreeConsumer& tree() { return tree_; }
  CounterConsumer& counters() { return counters_; }
  SpanBudgetConsumer& budgets() { return budgets_; }
  MarkStore& marks() { return marks_; }
  TimeBase& time() { return time_; }

  // ---- collection ----

  // Drains every live ring to the consumers. Collections are serialised, so
  // consumers see each thread's spans in the order they were recorded.
  void collect();

  // Closes the span budgets' window now (tests, tools): collects, then
  // judges every budget on what the window saw.
  void close_budget_window();

  // Exact totals of every site with spans (ids from 1, the frame site
  // included), read from the threads' accumulators and the exited threads'
  // store; percentiles and self time are the aggregates consumer's to fill.
  std::vector<SiteSnapshot> snapshot_sites(std::vector<SiteInfo>* infos = nullptr,
                                           Health* health = nullptr);

  // Clears everything recorded so far, in the registry and in every
  // consumer. Safe while other threads record: their slots from the old
  // generation are ignored and lazily zeroed by the owner.
  void reset();

  void set_max_dynamic_names(std::size_t n);

  // Called about once a second from the collection, outside the state lock
  // (the runtime re-reads the config file's span budgets from here).
  void set_second_tick(std::function<void()> tick);

  // ---- switch and collector ----

  void set_enabled(bool on);

  bool collector_running() const;

  void set_collect_interval(std::chrono::milliseconds ms);

  // Starts the collector when the profiler is on and some thread records.
  // Never called with the registry lock held: starting may reap a collector
  // that stopped itself, and that one may still be waiting for the lock.
  void ensure_collector();

  // ---- span taps (TapConsumer) ----

  using SpanTap = TapConsumer::SpanTap;

  std::uint64_t add_tap(SpanTap tap);

  // After this returns the tap is not running and will not run again.
  void remove_tap(std::uint64_t id);

  // The JSON layer installs these; they run outside the locks, on the
  // collector thread or the thread that asked for a snapshot, never inside a
  // scope.
  void set_span_listener(std::function<bool()> wanted,
                         std::function<void(const std::vector<RawSpan>&)> listener) {
    taps_.set_listener(std::move(wanted), std::move(listener));
  }

  // Spans lost so far: overwritten in a ring before collection, or recorded
  // without a buffer.
  std::uint64_t dropped_total();

  // ---- thread names and sites ----

  // Names the calling thread's buffer (registered on demand by the caller).
  void set_thread_name(ThreadState* tb, std::string_view name);

  // Index -> name of every live thread, and of the most recently exited
  // ones (bounded), so a trace of a thread that just ended still names it.
  std::map<std::uint32_t, std::string> thread_names();

  std::vector<SiteInfo> sites();

  const SiteInfo site_info(std::uint32_t id);

  // The runtime's fork handler calls these (docs/architecture.md gives the
  // lock order across parts). Every lock, in the order the code nests them:
  // the collection lock (outermost: consumers run under it), calibration,
  // the state lock, each consumer's lock (taken under the state lock while
  // draining), the second tick's, then the collector's own.
  void fork_prepare();
  void fork_parent();
  void fork_child();

 private:
  // One collection: every live thread, or only `exiting` (then unlinked).
  void run_collection(bool close_window, ThreadState* exiting = nullptr);

  // Drains one thread's ring and hands its spans to every consumer.
  void drain_locked(ThreadState* tb, const Collection& c);

  static constexpr std::size_t kMaxThreadNameBytes = 128;

  std::mutex collect_mu_;  // serialises collections (drain + delivery)
  std::mutex mu_;          // the state lock: threads, sites, totals, drop counts
  std::mutex tick_mu_;
  TimeBase time_;
  ThreadList threads_;
  SiteTable sites_;
  std::vector<Totals> retired_;  // by site id: the exact totals of exited threads
  std::uint64_t dropped_ = 0;
  std::vector<RawSpan> scratch_;  // one thread's drain, under collect_mu_

  // The consumers, in drain order: the built-in ones, then the added ones.
  AggregateConsumer aggregates_;
  CallTreeConsumer tree_;
  CounterConsumer counters_;
  SpanBudgetConsumer budgets_;
  MarkStore marks_;
  TapConsumer taps_;
  std::vector<SpanConsumer*> consumers_;  // under collect_mu_ and mu_

  os::PeriodicWorker collector_;
  std::atomic<std::int64_t> collect_interval_ns_{20'000'000};
  std::uint64_t last_second_tick_ = 0;  // steady ns, under tick_mu_
  std::function<void()> second_tick_;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // find, min
#include <cstdlib>    // calloc, free, getenv

#include <pthread.h>  // the OS name of a thread, as its default name

#include "../core/alloc.hpp"
#include "../core/clock.hpp"
#include "../os/env.hpp"
#include "../os/text.hpp"  // clean_name

namespace comfyvn::perf::detail {

Registry::Registry() {
  retired_.resize(sites_.size());
  // The built-in consumers, in drain order; add_consumer() appends.
  consumers_ = {&aggregates_, &tree_, &counters_, &budgets_, &marks_, &taps_};
}

std::uint32_t Registry::intern(std::string_view name, std::string_view category, bool dynamic,
                               const char* file, const char* function, std::uint32_t line) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint32_t id = sites_.intern(name, category, dynamic, file, function, line);
  if (retired_.size() < sites_.size()) retired_.resize(sites_.size());
  return id;
}

ThreadState* Registry::register_thread() {
  auto* tb = new ThreadState();
  char os_name[32] = {0};
  if (pthread_getname_np(pthread_self(), os_name, sizeof os_name) == 0) {
    tb->name = os::clean_name(os_name, kMaxThreadNameBytes);
  }
  tb->accum = static_cast<SiteAccum*>(std::calloc(COMFYVN_PERF_MAX_SITES, sizeof(SiteAccum)));
  if (tb->accum == nullptr) {
    delete tb;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  threads_.link(tb);
  return tb;
}

void Registry::retire(ThreadState* tb) {
  run_collection(false, tb);
}

void Registry::add_consumer(SpanConsumer& consumer) {
  std::lock_guard<std::mutex> serial(collect_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (std::find(consumers_.begin(), consumers_.end(), &consumer) == consumers_.end())
    consumers_.push_back(&consumer);
}

void Registry::remove_consumer(SpanConsumer& consumer) {
  std::lock_guard<std::mutex> serial(collect_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  consumers_.erase(std::remove(consumers_.begin(), consumers_.end(), &consumer), consumers_.end());
}

void Registry::collect() {
  run_collection(false);
}

void Registry::close_budget_window() {
  run_collection(true);
}

std::vector<SiteSnapshot> Registry::snapshot_sites(std::vector<SiteInfo>* infos, Health* health) {
  collect();
  std::vector<SiteSnapshot> out;
  std::lock_guard<std::mutex> lock(mu_);
  const std::uint32_t g = g_generation.load(kRelaxed);
  std::vector<Totals> sum(retired_);
  for (ThreadState* tb = threads_.head(); tb; tb = tb->next) {
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
    if (id != kFrameSiteId) spans += s.totals.count;
    out.push_back(std::move(s));
  }
  if (infos) *infos = sites_.all();
  if (health) {
    health->spans_recorded = spans;
    health->dropped = dropped_ + g_late_dropped.load(kRelaxed);
    health->threads_live = threads_.live();
    health->threads_retired = threads_.retired();
    health->sites = sites_.size() - kFirstUserSiteId;
    health->dynamic_names = sites_.dynamic_names();
    health->dynamic_folded = sites_.dynamic_folded();
  }
  return out;
}

void Registry::reset() {
  std::lock_guard<std::mutex> serial(collect_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  g_generation.fetch_add(1, kAcqRel);
  for (ThreadState* tb = threads_.head(); tb; tb = tb->next) tb->ring_cursor = tb->ring.head();
  for (auto& t : retired_) t = Totals{};
  dropped_ = 0;
  g_late_dropped.store(0, kRelaxed);
  for (SpanConsumer* c : consumers_) c->reset();
}

void Registry::set_max_dynamic_names(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  sites_.set_max_dynamic(n);
}

void Registry::set_second_tick(std::function<void()> tick) {
  std::lock_guard<std::mutex> lock(tick_mu_);
  second_tick_ = std::move(tick);
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
    if (threads_.empty()) return;
  }
  collector_.start(
      [this] { collect(); },
      [this] {
        std::chrono::nanoseconds interval(collect_interval_ns_.load(std::memory_order_relaxed));
        if (taps_.active()) {
          interval = std::min<std::chrono::nanoseconds>(interval, TapConsumer::kTapInterval);
        }
        return interval;
      },
      /*tick_at_start=*/false, "perf-collector");
}

std::uint64_t Registry::add_tap(SpanTap tap) {
  const std::uint64_t id = taps_.add(std::move(tap));
  collector_.reschedule();
  return id;
}

void Registry::remove_tap(std::uint64_t id) {
  std::lock_guard<std::mutex> serial(collect_mu_);
  taps_.remove(id);
}

std::uint64_t Registry::dropped_total() {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_ + g_late_dropped.load(kRelaxed);
}

void Registry::set_thread_name(ThreadState* tb, std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  tb->name = os::clean_name(name, kMaxThreadNameBytes);
}

std::map<std::uint32_t, std::string> Registry::thread_names() {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.names();
}

std::vector<SiteInfo> Registry::sites() {
  std::lock_guard<std::mutex> lock(mu_);
  return sites_.all();
}

const SiteInfo Registry::site_info(std::uint32_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return id < sites_.size() ? sites_.all()[id] : SiteInfo{};
}

void Registry::fork_prepare() {
  collect_mu_.lock();
  time_.fork_prepare();
  mu_.lock();
  for (SpanConsumer* c : consumers_) c->fork_prepare();
  tick_mu_.lock();
  collector_.fork_prepare();
}

void Registry::fork_parent() {
  collector_.fork_parent();
  tick_mu_.unlock();
  for (auto it = consumers_.rbegin(); it != consumers_.rend(); ++it) (*it)->fork_parent();
  mu_.unlock();
  time_.fork_parent();
  collect_mu_.unlock();
}

void Registry::fork_child() {
  // Threads do not survive fork: the collector is forgotten, not joined.
  collector_.fork_child();
  threads_.recount();
  tick_mu_.unlock();
  for (auto it = consumers_.rbegin(); it != consumers_.rend(); ++it) (*it)->fork_child();
  mu_.unlock();
  time_.fork_child();
  collect_mu_.unlock();
}

void Registry::run_collection(bool close_window, ThreadState* exiting) {
  std::unique_lock<std::mutex> serial(collect_mu_);
  bool calibrate = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const SpanConsumer* c : consumers_) calibrate = calibrate || c->wants_calibration();
  }
  Collection c;
  c.ns_per_tick = calibrate ? time_.ns_per_tick() : 1.0;
  c.close_window = close_window;
  c.now_ticks = DefaultClock::now();
  const std::uint64_t now_ns = SteadyClock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    c.sites = &sites_.all();
    for (SpanConsumer* k : consumers_) k->begin(c);
    if (exiting == nullptr) {
      for (ThreadState* tb = threads_.head(); tb; tb = tb->next) drain_locked(tb, c);
    } else {
      drain_locked(exiting, c);
      for (SpanConsumer* k : consumers_) k->thread_exited(exiting->thread_index);
    }
    for (SpanConsumer* k : consumers_) k->end(c);
    c.sites = nullptr;
    if (exiting != nullptr) {
      const std::uint32_t g = g_generation.load(kRelaxed);
      for (std::size_t id = 0; id < sites_.size(); ++id) {
        Totals t;
        if (load_accum(exiting->accum[id], g, t)) retired_[id].add(t);
      }
      threads_.unlink(exiting);
    }
  }
  if (exiting != nullptr) {
    std::free(exiting->accum);
    delete exiting;
  }
  for (SpanConsumer* k : consumers_) k->deliver();
  if (exiting != nullptr) return;  // the second tick belongs to the collector's rhythm
  std::function<void()> tick;
  {
    std::lock_guard<std::mutex> lock(tick_mu_);
    if (last_second_tick_ == 0 || now_ns - last_second_tick_ >= 1'000'000'000) {
      last_second_tick_ = now_ns;
      tick = second_tick_;
    }
  }
  serial.unlock();
  if (tick) tick();
}

void Registry::drain_locked(ThreadState* tb, const Collection& c) {
  scratch_.clear();
  tb->ring_cursor = tb->ring.drain(tb->ring_cursor, tb->thread_index, dropped_,
                                   [&](const RawSpan& s) { scratch_.push_back(s); });
  if (scratch_.empty()) return;
  const SpanBatch batch{tb->thread_index, scratch_, c};
  for (SpanConsumer* k : consumers_) k->consume(batch);
}
}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION

// The one registry (registry()) and the cold path; every includer of the
// registry gets them.
#include "cold_path.hpp"
