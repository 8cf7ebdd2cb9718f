// comfyvn_perf — feature flags: features.enable_perf and the legacy keys.
//
// Sources, later wins: built-in defaults (all off), ./comfyvn.json,
// config/comfyvn.json (or $COMFYVN_CONFIG), then $COMFYVN_ENABLE_PERF for the
// umbrella. The files are re-read when they change, checked at most once per
// check interval (1 s) and only when someone reads a flag; PERF_SCOPE never
// does, it reads one atomic switch that the flags set. docs/configuration.md
// describes the rules.
//
// The flags know no subsystem. Whoever follows them subscribes (on_change);
// the process-wide flags drive the profiler and the budget manager through a
// driver that the runtime installs (runtime/wiring.hpp).
#pragma once

#include <atomic>              // flag values read without a lock
#include <chrono>              // check interval
#include <condition_variable>  // unsubscribe waits for a running listener
#include <cstdint>             // int64_t, uint64_t
#include <functional>          // log sink, listeners
#include <memory>              // shared_ptr: a listener outlives its removal while it runs
#include <mutex>               // load / write / notification serialisation
#include <optional>            // per-source values
#include <string>              // paths, messages
#include <string_view>         // log messages, default paths
#include <thread>              // the notifying thread, for re-entrant calls
#include <vector>              // problems, listeners

#include <boost/json/fwd.hpp>  // to_json's result (callers include <boost/json/object.hpp>)

#include "../config.hpp"           // COMFYVN_PERF_VISIBLE
#include "../os/subscription.hpp"  // FlagSubscription
#include "config_file.hpp"         // FileStamp
#include "values.hpp"              // FlagValues, FlagFiles, FlagChange, FlagReport

namespace comfyvn::perf {

// Called with the flags' state whenever a derived switch (budgets_enabled,
// profiler_enabled) differs from what this listener last received.
using FlagListener = std::function<void(const FlagChange&)>;

class FeatureFlags;

// Removes its listener when destroyed. Move-only.
using FlagSubscription = os::BasicSubscription<FeatureFlags>;

namespace detail::flags {

// Switches the subsystems for a FeatureFlags that drives them; called once
// per switch that changed, profiler first. Installed by the runtime layer;
// one per process, so a FeatureFlags in any library finds it.
using SubsystemDriver = void (*)(const FlagChange&);

COMFYVN_PERF_VISIBLE std::atomic<SubsystemDriver>& subsystem_driver() noexcept;

// What the subsystems' real switches say where they differ from what the
// driver last set: someone switched them from code (perf_profiler()
// .set_enabled(true), budget_manager().set_enabled(false)). nullopt: no
// such difference.
struct SwitchReport {
  std::optional<bool> profiler;
  std::optional<bool> budgets;
};

// Fills a SwitchReport; returns false when it cannot tell right now (a
// driver is switching). Installed by the runtime with the driver. A
// FeatureFlags that drives the subsystems asks it on every flag read, so that
// the flags stay the one source of truth: a switch made from code becomes an
// in-memory override of the matching flag.
using SwitchProbe = bool (*)(SwitchReport&);

COMFYVN_PERF_VISIBLE std::atomic<SwitchProbe>& switch_probe() noexcept;

}  // namespace detail::flags

class FeatureFlags {
 public:
  static constexpr std::string_view kDefaultConfig = "config/comfyvn.json";
  static constexpr std::string_view kLocalConfig = "comfyvn.json";
  static constexpr std::chrono::milliseconds kDefaultCheckInterval{1000};

  // Reads the default files now: $COMFYVN_CONFIG or config/comfyvn.json, and
  // ./comfyvn.json, relative to the current working directory.
  FeatureFlags();
  // Reads the given files now. Only feature_flags() drives the subsystems;
  // an instance of your own does so after drive_subsystems(true).
  explicit FeatureFlags(FlagFiles files);
  FeatureFlags(const FeatureFlags&) = delete;
  FeatureFlags& operator=(const FeatureFlags&) = delete;

  // ---- reading (cheap; may re-read a changed file, at most once a second) ----

  // features.enable_perf, or COMFYVN_ENABLE_PERF when set.
  bool perf_enabled() const;
  bool budgets_enabled() const;
  bool profiler_enabled() const;
  FlagValues values() const;

  // ---- the settings toggle ----

  // Writes enable_perf and both legacy keys as `on` into the config file,
  // atomically and keeping every other key. Returns false (and logs why)
  // when the file cannot be written or is malformed; it is then left as it
  // was and the flags still match it. COMFYVN_ENABLE_PERF, when set, still
  // overrides the umbrella for this process.
  bool set_perf_enabled(bool on);

  // ---- overrides from code (in memory, never written) ----

  // Forces profiler_enabled() (or budgets_enabled()) to `on` for this
  // process, whatever the files say; nullopt follows the files again.
  // perf_enabled() (the umbrella, what the HTTP adapter reports as
  // "feature_flag") is not affected. The process flags record one by
  // themselves when code calls perf_profiler().set_enabled() or
  // budget_manager().set_enabled() (see detail::flags::switch_probe).
  void set_profiler_override(std::optional<bool> on);
  void set_budgets_override(std::optional<bool> on);
  std::optional<bool> profiler_override() const;
  std::optional<bool> budgets_override() const;

  // ---- sources ----

  // Re-reads every source now. Returns false when a problem was found.
  bool reload();

  // Re-reads the sources if a file or COMFYVN_ENABLE_PERF changed and the
  // last check is at least one check interval old. Every flag read calls
  // this; call it yourself from a loop that reads no flag.
  void refresh() const;

  // Reads these files from now on (tests, embedders with their own layout).
  void use_config_files(FlagFiles files);
  // Back to $COMFYVN_CONFIG / config/comfyvn.json and ./comfyvn.json.
  void use_default_config_files();

  // The file set_perf_enabled writes, as an absolute path.
  std::string config_path() const;
  std::string local_config_path() const;

  // How often a flag read may look at the files (default 1 s; 0 = always).
  void set_check_interval(std::chrono::milliseconds interval);

  // ---- diagnostics ----

  // Every problem found by the latest read, one message each (file named).
  std::vector<std::string> problems() const;
  // The latest failed write, or else the first problem of the latest read;
  // empty when all is well.
  std::string last_error() const;
  // Where this instance's messages go. Default (or an empty sink): the
  // process-wide log (os/log.hpp: stderr, prefixed "comfyvn_perf: ",
  // warnings and above; "config file not found" is an info line). A sink set
  // here receives every message, whatever its level. Each problem is logged
  // once, when it appears.
  void set_log_sink(std::function<void(std::string_view)> sink);

  // Values, switches, sources and problems, read together.
  FlagReport report() const;

  // {enable_perf, enable_perf_budgets, enable_perf_profiler_dashboard,
  //  budgets_enabled, profiler_enabled, env_override, config_path,
  //  local_config_path, problems} — the report as json/flags.hpp shows it.
  boost::json::object to_json() const;

  // ---- change notification ----

  // Calls `listener` whenever budgets_enabled or profiler_enabled differs
  // from what it last received, the first time counting as a change from
  // "off" (so it is called at once when a switch is on now). Calls come from
  // the thread that changed the flags (a reload, a flag read that noticed a
  // file edit, the toggle), one at a time and in subscription order, after
  // the subsystem driver. A listener may read or change the flags; a listener
  // that throws is logged and still counts as having received the change.
  FlagSubscription on_change(FlagListener listener);

  // Waits for a running call of this listener to return, unless called from
  // inside a listener.
  void unsubscribe(std::uint64_t id);

  // ---- subsystems ----

  // When on, the profiler and the budget manager follow the flags: each is
  // switched when its flag changes, the first read counting as a change
  // from "off". feature_flags() turns this on. The switching itself is the
  // runtime's driver (detail::flags::subsystem_driver), installed when the
  // first of perf_profiler(), budget_manager(), hooks() and feature_flags()
  // is created; before that (or with no runtime in the program) there is
  // nothing to drive.
  void drive_subsystems(bool on);

 private:
  struct Listener {
    std::uint64_t id;
    std::shared_ptr<FlagListener> fn;
    bool budgets;  // what it last received
    bool profiler;
  };

  // Clears the notifying thread however a notification round ends.
  struct NotifyingGuard {
    std::atomic<std::thread::id>& id;
    ~NotifyingGuard() { id.store(std::thread::id(), std::memory_order_release); }
  };

  static FlagFiles default_files();

  void set_files_locked(FlagFiles files);

  static bool changed(const FlagFiles& files, const detail::flags::FileStamp& config_stamp,
                      const detail::flags::FileStamp& local_stamp,
                      const std::optional<std::string>& env_seen);

  // Reads every source without holding mu_, then applies what it read under
  // it. A read that started before another one (a newer file list, a toggle's
  // re-read) never overwrites the newer result. Returns false when a problem
  // was found.
  bool load() const;

  // The switches from the values and the overrides. Caller holds mu_.
  void derive_locked() const;

  // A driving instance turns a switch made from code into an override (see
  // detail::flags::switch_probe). Cheap: a few atomic loads when nothing
  // changed.
  void observe_switches() const;

  // Caller holds mu_ (the sink is guarded by it). "Not found" is an info
  // line; every other problem a warning.
  void log(const std::string& message) const;

  bool on_notifying_thread() const noexcept;

  // Tells the driver and the listeners about the current switches.
  // Serialised on its own lock so that the latest flag values win even when
  // two threads reload at once. A listener that changes the flags (or reads
  // one and so notices a file edit) does not re-enter: its change is
  // delivered by another round of the loop here.
  void apply() const;

  // One driver call per switch that changed, profiler first; a switch that
  // fails is not retried until its flag changes again, and one that fails
  // leaves the next switch for the next round.
  void drive(const FlagChange& now) const;

  // Called with apply_mu_ held and mu_ free; takes mu_ only to pick each next
  // listener, so listeners may subscribe, unsubscribe and read the flags.
  void notify_listeners(const FlagChange& now) const;

  // Logically const: reading a flag may pick up a changed file and notify.
  // Lock order: apply_mu_, then mu_.
  mutable std::mutex mu_;
  mutable std::mutex apply_mu_;
  std::mutex write_mu_;  // serialises toggles (held during their file I/O; mu_ is not)
  mutable std::condition_variable listener_cv_;
  FlagFiles files_;
  mutable FlagValues values_;
  mutable std::optional<bool> env_override_;
  mutable std::optional<std::string> env_seen_;
  mutable std::optional<bool> profiler_override_, budgets_override_;
  mutable std::uint64_t load_seq_ = 0, committed_seq_ = 0;
  mutable std::atomic<bool> checking_{false};
  mutable detail::flags::FileStamp config_stamp_, local_stamp_;
  mutable std::vector<std::string> problems_;
  mutable std::string last_error_;
  std::function<void(std::string_view)> sink_;
  mutable std::vector<Listener> listeners_;
  std::uint64_t next_listener_id_ = 0;
  mutable std::uint64_t running_listener_ = 0;
  mutable std::atomic<bool> perf_{false};
  mutable std::atomic<bool> budgets_{false};
  mutable std::atomic<bool> profiler_{false};
  std::atomic<bool> drive_{false};
  mutable bool applied_profiler_ = false;  // what the driver last switched
  mutable bool applied_budgets_ = false;
  mutable bool again_ = false;  // a change arrived during a notification round
  mutable std::atomic<std::thread::id> notifying_{};
  mutable std::atomic<std::int64_t> next_check_ns_{0};
  std::atomic<std::int64_t> interval_ns_{
      std::chrono::duration_cast<std::chrono::nanoseconds>(kDefaultCheckInterval).count()};
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // find_if
#include <cstdlib>    // getenv
#include <exception>  // listener failures
#include <utility>    // move

#include <boost/json.hpp>  // value_from, object

#include "../json/flags.hpp"  // the report's JSON view
#include "../os/env.hpp"      // parse_switch
#include "../os/file.hpp"     // absolute
#include "../os/log.hpp"      // the process-wide log
#include "../os/time.hpp"     // steady_ns

namespace comfyvn::perf {

namespace detail::flags {

std::atomic<SubsystemDriver>& subsystem_driver() noexcept {
  static std::atomic<SubsystemDriver> driver{nullptr};
  return driver;
}

std::atomic<SwitchProbe>& switch_probe() noexcept {
  static std::atomic<SwitchProbe> probe{nullptr};
  return probe;
}

}  // namespace detail::flags

FeatureFlags::FeatureFlags() : FeatureFlags(default_files()) {}

FeatureFlags::FeatureFlags(FlagFiles files) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    set_files_locked(std::move(files));
  }
  load();
}

bool FeatureFlags::perf_enabled() const {
  refresh();
  return perf_.load(std::memory_order_acquire);
}

bool FeatureFlags::budgets_enabled() const {
  refresh();
  return budgets_.load(std::memory_order_acquire);
}

bool FeatureFlags::profiler_enabled() const {
  refresh();
  return profiler_.load(std::memory_order_acquire);
}

FlagValues FeatureFlags::values() const {
  refresh();
  std::lock_guard<std::mutex> lock(mu_);
  return values_;
}

bool FeatureFlags::set_perf_enabled(bool on) {
  std::string problem;
  {
    // Toggles are serialised on their own lock; mu_, which every reader
    // needs, is never held during file I/O (a config path that blocks
    // must not freeze the flags).
    std::lock_guard<std::mutex> write(write_mu_);
    std::string path;
    {
      std::lock_guard<std::mutex> lock(mu_);
      path = files_.config;
    }
    problem = detail::flags::write_switches(path, on);
    load();
    if (!problem.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = problem;
      log(problem);
    }
  }
  apply();
  return problem.empty();
}

void FeatureFlags::set_profiler_override(std::optional<bool> on) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    profiler_override_ = on;
    derive_locked();
  }
  apply();
}

void FeatureFlags::set_budgets_override(std::optional<bool> on) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    budgets_override_ = on;
    derive_locked();
  }
  apply();
}

std::optional<bool> FeatureFlags::profiler_override() const {
  std::lock_guard<std::mutex> lock(mu_);
  return profiler_override_;
}

std::optional<bool> FeatureFlags::budgets_override() const {
  std::lock_guard<std::mutex> lock(mu_);
  return budgets_override_;
}

bool FeatureFlags::reload() {
  const bool ok = load();
  apply();
  return ok;
}

void FeatureFlags::refresh() const {
  observe_switches();
  const std::int64_t now = os::steady_ns();
  if (now < next_check_ns_.load(std::memory_order_relaxed)) return;
  // One checker at a time; the others keep the values they have. The
  // check itself (stat, and a read when something changed) runs without
  // mu_, so readers are never stuck behind file I/O.
  if (checking_.exchange(true, std::memory_order_acquire)) return;
  struct Clear {
    std::atomic<bool>& flag;
    ~Clear() { flag.store(false, std::memory_order_release); }
  } clear{checking_};
  if (now < next_check_ns_.load(std::memory_order_relaxed)) return;
  next_check_ns_.store(now + interval_ns_.load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
  FlagFiles files;
  detail::flags::FileStamp config_stamp, local_stamp;
  std::optional<std::string> env_seen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files = files_;
    config_stamp = config_stamp_;
    local_stamp = local_stamp_;
    env_seen = env_seen_;
  }
  if (!changed(files, config_stamp, local_stamp, env_seen)) return;
  load();
  apply();
}

void FeatureFlags::use_config_files(FlagFiles files) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    set_files_locked(std::move(files));
  }
  load();
  apply();
}

void FeatureFlags::use_default_config_files() {
  use_config_files(default_files());
}

std::string FeatureFlags::config_path() const {
  std::lock_guard<std::mutex> lock(mu_);
  return files_.config;
}

std::string FeatureFlags::local_config_path() const {
  std::lock_guard<std::mutex> lock(mu_);
  return files_.local;
}

void FeatureFlags::set_check_interval(std::chrono::milliseconds interval) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
  interval_ns_.store(ns, std::memory_order_relaxed);
  next_check_ns_.store(os::steady_ns() + ns, std::memory_order_relaxed);
}

std::vector<std::string> FeatureFlags::problems() const {
  std::lock_guard<std::mutex> lock(mu_);
  return problems_;
}

std::string FeatureFlags::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void FeatureFlags::set_log_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sink_ = std::move(sink);
}

FlagReport FeatureFlags::report() const {
  refresh();
  std::lock_guard<std::mutex> lock(mu_);
  FlagReport r;
  r.values = values_;
  r.budgets_enabled = budgets_.load(std::memory_order_relaxed);
  r.profiler_enabled = profiler_.load(std::memory_order_relaxed);
  r.env_override = env_override_;
  r.profiler_override = profiler_override_;
  r.budgets_override = budgets_override_;
  r.files = files_;
  r.problems = problems_;
  return r;
}

boost::json::object FeatureFlags::to_json() const {
  boost::json::value v = boost::json::value_from(report());
  return std::move(v.as_object());
}

FlagSubscription FeatureFlags::on_change(FlagListener listener) {
  if (!listener) return {};
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = ++next_listener_id_;
    listeners_.push_back(
        Listener{id, std::make_shared<FlagListener>(std::move(listener)), false, false});
  }
  apply();
  return FlagSubscription(this, id);
}

void FeatureFlags::unsubscribe(std::uint64_t id) {
  std::shared_ptr<FlagListener> doomed;  // destroyed outside the lock
  std::unique_lock<std::mutex> lock(mu_);
  const auto it = std::find_if(listeners_.begin(), listeners_.end(),
                               [id](const Listener& l) { return l.id == id; });
  if (it != listeners_.end()) {
    doomed = std::move(it->fn);
    listeners_.erase(it);
  }
  if (running_listener_ == id && !on_notifying_thread()) {
    listener_cv_.wait(lock, [&] { return running_listener_ != id; });
  }
}

void FeatureFlags::drive_subsystems(bool on) {
  drive_.store(on, std::memory_order_release);
  if (on) apply();
}

FlagFiles FeatureFlags::default_files() {
  const char* env = std::getenv("COMFYVN_CONFIG");
  FlagFiles f;
  f.config =
      os::absolute(env != nullptr && *env != '\0' ? std::string(env) : std::string(kDefaultConfig));
  f.local = os::absolute(std::string(kLocalConfig));
  return f;
}

void FeatureFlags::set_files_locked(FlagFiles files) {
  files.config = os::absolute(std::move(files.config));
  files.local = os::absolute(std::move(files.local));
  if (files.local == files.config) files.local.clear();
  files_ = std::move(files);
}

bool FeatureFlags::changed(const FlagFiles& files, const detail::flags::FileStamp& config_stamp,
                           const detail::flags::FileStamp& local_stamp,
                           const std::optional<std::string>& env_seen) {
  using detail::flags::stamp_of;
  if (stamp_of(files.config) != config_stamp) return true;
  if (stamp_of(files.local) != local_stamp) return true;
  const char* env = std::getenv("COMFYVN_ENABLE_PERF");
  return env_seen != (env != nullptr ? std::optional<std::string>(env) : std::nullopt);
}

bool FeatureFlags::load() const {
  namespace fl = detail::flags;
  FlagFiles files;
  std::uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files = files_;
    seq = ++load_seq_;
  }
  std::vector<std::string> problems;
  fl::Layer local, config;
  fl::FileStamp local_stamp, config_stamp;
  const bool local_ok = fl::read_layer(files.local, false, local, local_stamp, problems);
  const bool config_ok = fl::read_layer(files.config, true, config, config_stamp, problems);
  const char* env = std::getenv("COMFYVN_ENABLE_PERF");
  const std::optional<std::string> env_seen =
      env != nullptr ? std::optional<std::string>(env) : std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  if (seq < committed_seq_) return problems.empty();  // a newer read already won
  committed_seq_ = seq;
  local_stamp_ = local_stamp;
  config_stamp_ = config_stamp;
  FlagValues v;
  if (local_ok && config_ok) {
    for (const fl::Layer* l : {&local, &config}) {
      if (l->perf) v.enable_perf = *l->perf;
      if (l->budgets) v.enable_perf_budgets = *l->budgets;
      if (l->dashboard) v.enable_perf_profiler_dashboard = *l->dashboard;
    }
  }
  env_seen_ = env_seen;
  bool invalid = false;
  env_override_ = env_seen ? os::parse_switch(*env_seen, invalid) : std::nullopt;
  if (invalid) {
    problems.push_back("COMFYVN_ENABLE_PERF='" + *env_seen +
                       "' is not one of 1, 0, true, false, yes, no, on, off; ignored");
  }
  if (env_override_) v.enable_perf = *env_override_;
  values_ = v;
  derive_locked();
  next_check_ns_.store(os::steady_ns() + interval_ns_.load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
  for (const auto& p : problems) {
    bool known = false;
    for (const auto& q : problems_) known = known || q == p;
    if (!known) log(p);
  }
  problems_ = std::move(problems);
  last_error_ = problems_.empty() ? std::string() : problems_.front();
  return problems_.empty();
}

void FeatureFlags::derive_locked() const {
  const FlagValues& v = values_;
  perf_.store(v.enable_perf, std::memory_order_release);
  budgets_.store(budgets_override_.value_or(v.enable_perf || v.enable_perf_budgets),
                 std::memory_order_release);
  profiler_.store(profiler_override_.value_or(v.enable_perf || v.enable_perf_profiler_dashboard),
                  std::memory_order_release);
}

void FeatureFlags::observe_switches() const {
  if (!drive_.load(std::memory_order_acquire)) return;
  const detail::flags::SwitchProbe probe =
      detail::flags::switch_probe().load(std::memory_order_acquire);
  if (probe == nullptr) return;
  detail::flags::SwitchReport r;
  if (!probe(r) || (!r.profiler && !r.budgets)) return;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (r.profiler && profiler_override_ != r.profiler) {
      profiler_override_ = r.profiler;
      changed = true;
    }
    if (r.budgets && budgets_override_ != r.budgets) {
      budgets_override_ = r.budgets;
      changed = true;
    }
    if (changed) derive_locked();
  }
  if (changed) apply();
}

void FeatureFlags::log(const std::string& message) const {
  try {
    if (sink_) {
      sink_(message);
    } else {
      os::log(detail::flags::is_note(message) ? os::LogLevel::info : os::LogLevel::warning,
              message);
    }
  } catch (...) {
  }
}

bool FeatureFlags::on_notifying_thread() const noexcept {
  return notifying_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

void FeatureFlags::apply() const {
  if (on_notifying_thread()) {
    again_ = true;
    return;
  }
  std::lock_guard<std::mutex> lock(apply_mu_);
  notifying_.store(std::this_thread::get_id(), std::memory_order_release);
  NotifyingGuard guard{notifying_};
  do {
    again_ = false;
    FlagChange now;
    {
      std::lock_guard<std::mutex> state(mu_);
      now.values = values_;
      now.profiler_enabled = profiler_.load(std::memory_order_acquire);
      now.budgets_enabled = budgets_.load(std::memory_order_acquire);
    }
    drive(now);
    notify_listeners(now);
  } while (again_);
}

void FeatureFlags::drive(const FlagChange& now) const {
  if (!drive_.load(std::memory_order_acquire)) return;
  const detail::flags::SubsystemDriver driver =
      detail::flags::subsystem_driver().load(std::memory_order_acquire);
  if (driver == nullptr) return;
  try {
    if (now.profiler_enabled != applied_profiler_) {
      applied_profiler_ = now.profiler_enabled;
      FlagChange c = now;
      c.profiler_changed = true;
      driver(c);
    }
    if (now.budgets_enabled != applied_budgets_) {
      applied_budgets_ = now.budgets_enabled;
      FlagChange c = now;
      c.budgets_changed = true;
      driver(c);
    }
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> log_lock(mu_);
    log(std::string("cannot switch a subsystem: ") + e.what());
  }
}

void FeatureFlags::notify_listeners(const FlagChange& now) const {
  std::uint64_t last = 0;
  while (true) {
    FlagChange c = now;
    std::shared_ptr<FlagListener> fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Listeners are kept in id order, so this finds the next one.
      const auto it = std::find_if(listeners_.begin(), listeners_.end(),
                                   [&](const Listener& l) { return l.id > last; });
      if (it == listeners_.end()) return;
      last = it->id;
      c.budgets_changed = it->budgets != now.budgets_enabled;
      c.profiler_changed = it->profiler != now.profiler_enabled;
      if (!c.budgets_changed && !c.profiler_changed) continue;
      it->budgets = now.budgets_enabled;
      it->profiler = now.profiler_enabled;
      fn = it->fn;
      running_listener_ = last;
    }
    std::string failure;
    try {
      (*fn)(c);
    } catch (const std::exception& e) {
      failure = e.what();
    } catch (...) {
      failure = "unknown exception";
    }
    fn.reset();
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_listener_ = 0;
      if (!failure.empty()) log("a flag change listener failed: " + failure);
    }
    listener_cv_.notify_all();
  }
}

}  // namespace comfyvn::perf
#endif
