// comfyvn_perf — where the feature flags come from: the config file and the
// local file (flags/config_file.hpp reads and writes one), and
// COMFYVN_ENABLE_PERF. FlagSource knows which files, how each looked when it
// was last read (FileStamp: mtime, size and identity), whether any source
// changed since, and when the next check is due. What the values mean is
// flags/rules.hpp's business.
//
// Reads happen without FeatureFlags' lock (a config path that blocks must not
// freeze the flags), so they are numbered: a read that began before another
// one never overwrites the newer result.
#pragma once

#include <atomic>       // the check schedule, kept without a lock
#include <chrono>       // check interval
#include <cstdint>      // int64_t, uint64_t
#include <optional>     // COMFYVN_ENABLE_PERF, when set
#include <string>       // paths, the environment's text
#include <string_view>  // default paths
#include <vector>       // problems

#include "../os/time.hpp"   // steady_ns: when the next check is due
#include "config_file.hpp"  // FileStamp, Layer
#include "values.hpp"       // FlagFiles

namespace comfyvn::perf::detail::flags {

inline constexpr std::string_view kDefaultConfigFile = "config/comfyvn.json";
inline constexpr std::string_view kLocalConfigFile = "comfyvn.json";
inline constexpr std::chrono::milliseconds kDefaultCheckInterval{1000};

// One read of every source.
struct SourceRead {
  std::uint64_t seq = 0;  // FlagSource::begin_read's number
  Layer local, config;
  FileStamp local_stamp, config_stamp;
  bool files_ok = true;               // both files could be trusted
  std::optional<std::string> env;     // COMFYVN_ENABLE_PERF, when set
  std::vector<std::string> problems;  // the files' problems, one message each
};

// How the sources looked at the latest committed read.
struct SourceStamps {
  FlagFiles files;
  FileStamp config, local;
  std::optional<std::string> env;
};

class FlagSource {
 public:
  // $COMFYVN_CONFIG or config/comfyvn.json, and ./comfyvn.json, as absolute
  // paths (relative to the current working directory).
  static FlagFiles default_files();

  // ---- under FeatureFlags' lock ----

  // Reads these files from the next read on: absolute paths, and no local
  // file when it is the config file itself.
  void set_files(FlagFiles files);
  const FlagFiles& files() const noexcept { return files_; }

  // Numbers a read about to start.
  std::uint64_t begin_read() noexcept { return ++load_seq_; }

  // Records what `read` saw, unless a read that began later was committed
  // already: false then, and `read` is stale.
  bool commit(const SourceRead& read);

  SourceStamps stamps() const;

  // ---- without the lock (file I/O) ----

  static SourceRead read(const FlagFiles& files, std::uint64_t seq);

  // Whether a file or COMFYVN_ENABLE_PERF differs from `seen`.
  static bool changed(const SourceStamps& seen);

  // The settings toggle: enable_perf and both legacy keys set to `on` in the
  // config file, atomically (temp file + rename), every other key kept.
  // "" on success, else why nothing was written.
  static std::string write(const std::string& config_path, bool on);

  // ---- the check schedule (atomics: no lock) ----

  // How often sources may be checked (0 = at every read); the next check is
  // one interval from now.
  void set_check_interval(std::chrono::milliseconds interval) noexcept;

  // The next check is one interval from now (a read just happened).
  void postpone() noexcept;

  // Runs `check` when a check is due and no other thread is making one; the
  // next is then due one interval later. The others keep the values they
  // have instead of waiting.
  template <class Check>
  void when_due(Check&& check) {
    const std::int64_t now = os::steady_ns();
    if (now < next_check_ns_.load(std::memory_order_relaxed)) return;
    if (checking_.exchange(true, std::memory_order_acquire)) return;
    struct Clear {
      std::atomic<bool>& flag;
      ~Clear() { flag.store(false, std::memory_order_release); }
    } clear{checking_};
    if (now < next_check_ns_.load(std::memory_order_relaxed)) return;
    next_check_ns_.store(now + interval_ns_.load(std::memory_order_relaxed),
                         std::memory_order_relaxed);
    check();
  }

 private:
  static std::optional<std::string> env_text();

  FlagFiles files_;
  FileStamp config_stamp_, local_stamp_;
  std::optional<std::string> env_seen_;
  std::uint64_t load_seq_ = 0, committed_seq_ = 0;
  std::atomic<bool> checking_{false};
  std::atomic<std::int64_t> next_check_ns_{0};
  std::atomic<std::int64_t> interval_ns_{
      std::chrono::duration_cast<std::chrono::nanoseconds>(kDefaultCheckInterval).count()};
};

}  // namespace comfyvn::perf::detail::flags

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cstdlib>  // getenv
#include <utility>  // move

#include "../os/file.hpp"  // absolute

namespace comfyvn::perf::detail::flags {

FlagFiles FlagSource::default_files() {
  const char* env = std::getenv("COMFYVN_CONFIG");
  FlagFiles f;
  f.config = os::absolute(env != nullptr && *env != '\0' ? std::string(env)
                                                         : std::string(kDefaultConfigFile));
  f.local = os::absolute(std::string(kLocalConfigFile));
  return f;
}

void FlagSource::set_files(FlagFiles files) {
  files.config = os::absolute(std::move(files.config));
  files.local = os::absolute(std::move(files.local));
  if (files.local == files.config) files.local.clear();
  files_ = std::move(files);
}

bool FlagSource::commit(const SourceRead& read) {
  if (read.seq < committed_seq_) return false;
  committed_seq_ = read.seq;
  local_stamp_ = read.local_stamp;
  config_stamp_ = read.config_stamp;
  env_seen_ = read.env;
  return true;
}

SourceStamps FlagSource::stamps() const {
  return SourceStamps{files_, config_stamp_, local_stamp_, env_seen_};
}

SourceRead FlagSource::read(const FlagFiles& files, std::uint64_t seq) {
  SourceRead r;
  r.seq = seq;
  const bool local_ok = read_layer(files.local, false, r.local, r.local_stamp, r.problems);
  const bool config_ok = read_layer(files.config, true, r.config, r.config_stamp, r.problems);
  r.files_ok = local_ok && config_ok;
  r.env = env_text();
  return r;
}

bool FlagSource::changed(const SourceStamps& seen) {
  if (stamp_of(seen.files.config) != seen.config) return true;
  if (stamp_of(seen.files.local) != seen.local) return true;
  return env_text() != seen.env;
}

std::string FlagSource::write(const std::string& config_path, bool on) {
  return write_switches(config_path, on);
}

void FlagSource::set_check_interval(std::chrono::milliseconds interval) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
  interval_ns_.store(ns, std::memory_order_relaxed);
  next_check_ns_.store(os::steady_ns() + ns, std::memory_order_relaxed);
}

void FlagSource::postpone() noexcept {
  next_check_ns_.store(os::steady_ns() + interval_ns_.load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
}

std::optional<std::string> FlagSource::env_text() {
  const char* env = std::getenv("COMFYVN_ENABLE_PERF");
  return env != nullptr ? std::optional<std::string>(env) : std::nullopt;
}

}  // namespace comfyvn::perf::detail::flags
#endif
