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
//
// FeatureFlags is a facade over four parts, each with its own state:
//   flags/rules.hpp      FlagRules: the values, the defaults, which flag implies which
//   flags/source.hpp     FlagSource: the files and the environment, change detection,
//                        the toggle's atomic write (flags/config_file.hpp: one file)
//   flags/overrides.hpp  FlagOverrides: in-memory overrides from code
//   flags/notifier.hpp   FlagNotifier: the subsystem driver and the change listeners
// It holds one lock around the first three and keeps the problems and the log.
#pragma once

#include <chrono>       // check interval
#include <cstdint>      // uint64_t
#include <functional>   // log sink
#include <mutex>        // the parts' lock, toggle serialisation
#include <optional>     // overrides
#include <string>       // paths, messages
#include <string_view>  // log messages, default paths
#include <vector>       // problems

#include <boost/json/fwd.hpp>  // to_json's result (callers include <boost/json/object.hpp>)

#include "../os/subscription.hpp"  // FlagSubscription
#include "notifier.hpp"            // FlagListener, FlagNotifier, subsystem_driver
#include "overrides.hpp"           // FlagOverrides, switch_probe
#include "rules.hpp"               // FlagRules
#include "source.hpp"              // FlagSource
#include "values.hpp"              // FlagValues, FlagFiles, FlagChange, FlagReport

namespace comfyvn::perf {

class FeatureFlags;

// Removes its listener when destroyed. Move-only.
using FlagSubscription = os::BasicSubscription<FeatureFlags>;

class FeatureFlags {
 public:
  static constexpr std::string_view kDefaultConfig = detail::flags::kDefaultConfigFile;
  static constexpr std::string_view kLocalConfig = detail::flags::kLocalConfigFile;
  static constexpr std::chrono::milliseconds kDefaultCheckInterval =
      detail::flags::kDefaultCheckInterval;

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
  // Reads every source without holding mu_, then applies what it read under
  // it. A read that started before another one (a newer file list, a toggle's
  // re-read) never overwrites the newer result. Returns false when a problem
  // was found.
  bool load() const;

  // A driving instance turns a switch made from code into an override (see
  // detail::flags::switch_probe). Cheap: a few atomic loads when nothing
  // changed.
  void observe_switches() const;

  // Keeps the problems of the latest read; logs each one not seen before.
  // Caller holds mu_.
  void record_problems(std::vector<std::string> problems) const;

  // Caller holds mu_ (the sink is guarded by it). "Not found" is an info
  // line; every other problem a warning.
  void log(const std::string& message) const;

  // Tells the driver and the listeners about the current switches.
  void apply() const;

  // Logically const: reading a flag may pick up a changed file and notify.
  // Lock order: the notifier's round lock, then mu_.
  mutable std::mutex mu_;  // rules_, source_, overrides_ and the diagnostics
  std::mutex write_mu_;    // serialises toggles (held during their file I/O; mu_ is not)
  mutable detail::flags::FlagRules rules_;
  mutable detail::flags::FlagSource source_;
  mutable detail::flags::FlagOverrides overrides_;
  mutable detail::flags::FlagNotifier notifier_;
  mutable std::vector<std::string> problems_;
  mutable std::string last_error_;
  std::function<void(std::string_view)> sink_;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <utility>  // move

#include <boost/json.hpp>  // value_from, object

#include "../json/flags.hpp"  // the report's JSON view
#include "../os/log.hpp"      // the process-wide log

namespace comfyvn::perf {

FeatureFlags::FeatureFlags() : FeatureFlags(detail::flags::FlagSource::default_files()) {}

FeatureFlags::FeatureFlags(FlagFiles files)
    : notifier_([this](const std::string& message) {
        std::lock_guard<std::mutex> lock(mu_);
        log(message);
      }) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    source_.set_files(std::move(files));
  }
  load();
}

bool FeatureFlags::perf_enabled() const {
  refresh();
  return rules_.perf();
}

bool FeatureFlags::budgets_enabled() const {
  refresh();
  return rules_.budgets();
}

bool FeatureFlags::profiler_enabled() const {
  refresh();
  return rules_.profiler();
}

FlagValues FeatureFlags::values() const {
  refresh();
  std::lock_guard<std::mutex> lock(mu_);
  return rules_.values();
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
      path = source_.files().config;
    }
    problem = detail::flags::FlagSource::write(path, on);
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
    overrides_.set_profiler(on);
    rules_.derive(overrides_);
  }
  apply();
}

void FeatureFlags::set_budgets_override(std::optional<bool> on) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    overrides_.set_budgets(on);
    rules_.derive(overrides_);
  }
  apply();
}

std::optional<bool> FeatureFlags::profiler_override() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overrides_.profiler();
}

std::optional<bool> FeatureFlags::budgets_override() const {
  std::lock_guard<std::mutex> lock(mu_);
  return overrides_.budgets();
}

bool FeatureFlags::reload() {
  const bool ok = load();
  apply();
  return ok;
}

void FeatureFlags::refresh() const {
  observe_switches();
  // The check itself (stat, and a read when something changed) runs without
  // mu_, so readers are never stuck behind file I/O.
  source_.when_due([this] {
    detail::flags::SourceStamps seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = source_.stamps();
    }
    if (!detail::flags::FlagSource::changed(seen)) return;
    load();
    apply();
  });
}

void FeatureFlags::use_config_files(FlagFiles files) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    source_.set_files(std::move(files));
  }
  load();
  apply();
}

void FeatureFlags::use_default_config_files() {
  use_config_files(detail::flags::FlagSource::default_files());
}

std::string FeatureFlags::config_path() const {
  std::lock_guard<std::mutex> lock(mu_);
  return source_.files().config;
}

std::string FeatureFlags::local_config_path() const {
  std::lock_guard<std::mutex> lock(mu_);
  return source_.files().local;
}

void FeatureFlags::set_check_interval(std::chrono::milliseconds interval) {
  source_.set_check_interval(interval);
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
  r.values = rules_.values();
  r.budgets_enabled = rules_.budgets();
  r.profiler_enabled = rules_.profiler();
  r.env_override = rules_.env_override();
  r.profiler_override = overrides_.profiler();
  r.budgets_override = overrides_.budgets();
  r.files = source_.files();
  r.problems = problems_;
  return r;
}

boost::json::object FeatureFlags::to_json() const {
  boost::json::value v = boost::json::value_from(report());
  return std::move(v.as_object());
}

FlagSubscription FeatureFlags::on_change(FlagListener listener) {
  if (!listener) return {};
  const std::uint64_t id = notifier_.add(std::move(listener));
  apply();
  return FlagSubscription(this, id);
}

void FeatureFlags::unsubscribe(std::uint64_t id) {
  notifier_.remove(id);
}

void FeatureFlags::drive_subsystems(bool on) {
  notifier_.set_driving(on);
  if (on) apply();
}

bool FeatureFlags::load() const {
  namespace fl = detail::flags;
  FlagFiles files;
  std::uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files = source_.files();
    seq = source_.begin_read();
  }
  fl::SourceRead read = fl::FlagSource::read(files, seq);
  std::lock_guard<std::mutex> lock(mu_);
  if (!source_.commit(read)) return read.problems.empty();  // a newer read already won
  std::vector<std::string> problems = std::move(read.problems);
  const std::optional<bool> env = fl::FlagRules::env_switch(read.env, problems);
  rules_.set(fl::FlagRules::combine(read.local, read.config, read.files_ok), env, overrides_);
  source_.postpone();
  record_problems(std::move(problems));
  return problems_.empty();
}

void FeatureFlags::observe_switches() const {
  if (!notifier_.driving()) return;
  detail::flags::SwitchReport r;
  if (!detail::flags::FlagOverrides::probe(r)) return;
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = overrides_.adopt(r);
    if (changed) rules_.derive(overrides_);
  }
  if (changed) apply();
}

void FeatureFlags::record_problems(std::vector<std::string> problems) const {
  for (const auto& p : problems) {
    bool known = false;
    for (const auto& q : problems_) known = known || q == p;
    if (!known) log(p);
  }
  problems_ = std::move(problems);
  last_error_ = problems_.empty() ? std::string() : problems_.front();
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

void FeatureFlags::apply() const {
  notifier_.deliver([this] {
    std::lock_guard<std::mutex> lock(mu_);
    return rules_.change();
  });
}

}  // namespace comfyvn::perf
#endif
