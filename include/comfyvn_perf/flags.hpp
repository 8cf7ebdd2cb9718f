// comfyvn_perf — feature flags: features.enable_perf and the legacy keys.
//
// Sources, later wins: built-in defaults (all off), ./comfyvn.json,
// config/comfyvn.json (or $COMFYVN_CONFIG), then $COMFYVN_ENABLE_PERF for the
// umbrella. The files are re-read when they change, checked at most once per
// check interval (1 s) and only when someone reads a flag; PERF_SCOPE never
// does, it reads one atomic switch that the flags set. docs/configuration.md
// describes the rules.
#pragma once

#include <fcntl.h>     // open
#include <sys/stat.h>  // stat, mkdir, fchmod
#include <unistd.h>    // read, write, fsync, close, rename, unlink, getpid, getcwd

#include <atomic>        // flag values read without a lock
#include <cerrno>        // errno
#include <charconv>      // to_chars: doubles written back as they were read
#include <chrono>        // check interval
#include <climits>       // PATH_MAX
#include <cstdint>       // int64_t
#include <cstdio>        // fputs: default log sink
#include <cstdlib>       // getenv, realpath, free
#include <exception>     // subsystem switch failures
#include <functional>    // log sink
#include <mutex>         // load / write serialisation
#include <optional>      // per-source values
#include <string>        // paths, messages
#include <string_view>   // keys
#include <system_error>  // thread-safe errno messages
#include <utility>       // move
#include <vector>        // problems

#include <boost/json.hpp>

#include "budget.hpp"
#include "config.hpp"
#include "detail/registry.hpp"
#include "profiler.hpp"

namespace comfyvn::perf {

// The three keys after every source has been applied.
struct FlagValues {
  bool enable_perf = false;                     // umbrella, COMFYVN_ENABLE_PERF included
  bool enable_perf_budgets = false;             // legacy: budgets only
  bool enable_perf_profiler_dashboard = false;  // legacy: profiler only
};

// The two files read, lowest precedence last. An empty `local` means none.
struct FlagFiles {
  std::string config;
  std::string local;
};

namespace detail::flags {

inline constexpr std::string_view kUmbrella = "enable_perf";
inline constexpr std::string_view kLegacyBudgets = "enable_perf_budgets";
inline constexpr std::string_view kLegacyDashboard = "enable_perf_profiler_dashboard";
inline constexpr std::size_t kMaxFileBytes = 1 << 20;

inline std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

inline const char* kind_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::object:
      return "object";
    default:
      return "number";
  }
}

inline std::string absolute(std::string path) {
  if (path.empty() || path[0] == '/') return path;
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) return path;
  std::string out(buf);
  if (out.back() != '/') out.push_back('/');
  if (path.compare(0, 2, "./") == 0) path.erase(0, 2);
  return out + path;
}

inline std::string parent_dir(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// What identifies one version of a file: an editor that replaces the file
// (new inode) or rewrites it within the same mtime tick (new size) is seen.
struct FileStamp {
  int error = 0;  // 0: exists; otherwise the errno of stat
  std::uint64_t dev = 0, ino = 0, size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp& o) const {
    return error == o.error && dev == o.dev && ino == o.ino && size == o.size &&
           mtime_ns == o.mtime_ns;
  }
  bool operator!=(const FileStamp& o) const { return !(*this == o); }
};

inline FileStamp stamp_of(const std::string& path) {
  FileStamp s;
  if (path.empty()) return s;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    s.error = errno;
    return s;
  }
  s.dev = static_cast<std::uint64_t>(st.st_dev);
  s.ino = static_cast<std::uint64_t>(st.st_ino);
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return s;
}

struct FileRead {
  enum Status { missing, ok, failed } status = missing;
  std::string text;
  std::string problem;  // for `failed`
};

inline FileRead read_file(const std::string& path) {
  FileRead r;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return r;
    r.status = FileRead::failed;
    r.problem = "cannot open: " + errno_text(errno);
    return r;
  }
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.status = FileRead::failed;
      r.problem = "cannot read: " + errno_text(errno);
      break;
    }
    if (n == 0) {
      r.status = FileRead::ok;
      break;
    }
    if (r.text.size() + static_cast<std::size_t>(n) > kMaxFileBytes) {
      r.status = FileRead::failed;
      r.problem = "larger than 1 MiB";
      break;
    }
    r.text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (r.status != FileRead::ok) r.text.clear();
  return r;
}

// Strict JSON; on error the problem names line and column.
inline bool parse_json(std::string_view text, boost::json::value& out, std::string& problem) {
  boost::json::stream_parser p;
  boost::system::error_code ec;
  const std::size_t used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (!ec) {
    out = p.release();
    return true;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    problem = "empty file, expected a JSON object";
    return false;
  }
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < used && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  problem = "malformed JSON at line " + std::to_string(line) + ", column " +
            std::to_string(column) + " (" + ec.message() + ")";
  return false;
}

// Indented like the shipped file, so a settings toggle leaves a file a
// person can still read and diff.
inline void pretty(std::string& out, const boost::json::value& v, std::size_t indent) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ",\n";
        first = false;
        out.append(indent + 2, ' ');
        out += boost::json::serialize(boost::json::string_view(kv.key()));
        out += ": ";
        pretty(out, kv.value(), indent + 2);
      }
      out += '\n';
      out.append(indent, ' ');
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i != 0) out += ",\n";
        out.append(indent + 2, ' ');
        pretty(out, a[i], indent + 2);
      }
      out += '\n';
      out.append(indent, ' ');
      out += ']';
      return;
    }
    case boost::json::kind::double_: {
      // Shortest text that reads back as the same double, and still a
      // double ("1.0", not Boost's "1E0" or an integer "1").
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());
      std::string s(buf, r.ptr);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      out += s;
      return;
    }
    default:
      out += boost::json::serialize(v);
      return;
  }
}

inline std::string pretty(const boost::json::value& v) {
  std::string out;
  pretty(out, v, 0);
  out += '\n';
  return out;
}

inline std::string ensure_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? std::string() : "'" + dir + "' is not a directory";
  }
  if (errno != ENOENT) return "cannot use directory '" + dir + "': " + errno_text(errno);
  if (const std::string up = parent_dir(dir); up != dir) {
    if (std::string e = ensure_dir(up); !e.empty()) return e;
  }
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return "cannot create directory '" + dir + "': " + errno_text(errno);
  }
  return {};
}

// Temp file in the same directory, flushed to disk, then renamed over the
// target: a reader sees the old file or the new one, never a torn one.
// Returns "" on success.
inline std::string write_atomically(const std::string& path, std::string_view text) {
  const std::string dir = parent_dir(path);
  if (std::string e = ensure_dir(dir); !e.empty()) return e;
  struct stat st {};
  const bool existed = ::stat(path.c_str(), &st) == 0;
  // A short name (a long config name must not push it past NAME_MAX); a
  // leftover of a crashed writer is skipped, never reused.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = (dir == "/" ? std::string() : dir) + "/.comfyvn_perf." + std::to_string(::getpid()) +
          "." + std::to_string(counter.fetch_add(1)) + ".tmp";
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return "cannot create a temporary file in '" + dir + "': " + errno_text(errno);
  std::string problem;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      problem = "cannot write '" + tmp + "': " + errno_text(n < 0 ? errno : EIO);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (problem.empty() && existed) (void)::fchmod(fd, st.st_mode & 07777);
  if (problem.empty() && ::fsync(fd) != 0)
    problem = "cannot flush '" + tmp + "': " + errno_text(errno);
  if (::close(fd) != 0 && problem.empty())
    problem = "cannot close '" + tmp + "': " + errno_text(errno);
  if (problem.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    problem = "cannot rename '" + tmp + "' to '" + path + "': " + errno_text(errno);
  }
  if (!problem.empty()) {
    ::unlink(tmp.c_str());
    return problem;
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // best effort: makes the rename itself durable
    ::close(dfd);
  }
  return {};
}

// 1/0 and the usual spellings; anything else is invalid.
inline std::optional<bool> parse_switch(std::string_view s, bool& invalid) {
  invalid = false;
  if (s.empty()) return std::nullopt;
  std::string l;
  for (char c : s) l.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (l == "1" || l == "true" || l == "yes" || l == "on") return true;
  if (l == "0" || l == "false" || l == "no" || l == "off") return false;
  invalid = true;
  return std::nullopt;
}

// One source's say on each key; nullopt: the source leaves it alone.
struct Layer {
  std::optional<bool> perf, budgets, dashboard;
};

}  // namespace detail::flags

class FeatureFlags {
 public:
  static constexpr std::string_view kDefaultConfig = "config/comfyvn.json";
  static constexpr std::string_view kLocalConfig = "comfyvn.json";
  static constexpr std::chrono::milliseconds kDefaultCheckInterval{1000};

  // Reads the default files now: $COMFYVN_CONFIG or config/comfyvn.json, and
  // ./comfyvn.json, relative to the current working directory.
  FeatureFlags() : FeatureFlags(default_files()) {}
  // Reads the given files now. Only feature_flags() drives the subsystems;
  // an instance of your own does so after drive_subsystems(true).
  explicit FeatureFlags(FlagFiles files) {
    std::lock_guard<std::mutex> lock(mu_);
    set_files_locked(std::move(files));
    load_locked();
  }
  FeatureFlags(const FeatureFlags&) = delete;
  FeatureFlags& operator=(const FeatureFlags&) = delete;

  // ---- reading (cheap; may re-read a changed file, at most once a second) ----

  // features.enable_perf, or COMFYVN_ENABLE_PERF when set.
  bool perf_enabled() const {
    refresh();
    return perf_.load(std::memory_order_acquire);
  }
  bool budgets_enabled() const {
    refresh();
    return budgets_.load(std::memory_order_acquire);
  }
  bool profiler_enabled() const {
    refresh();
    return profiler_.load(std::memory_order_acquire);
  }
  FlagValues values() const {
    refresh();
    std::lock_guard<std::mutex> lock(mu_);
    return values_;
  }

  // ---- the settings toggle ----

  // Writes enable_perf and both legacy keys as `on` into the config file,
  // atomically and keeping every other key. Returns false (and logs why)
  // when the file cannot be written or is malformed; it is then left as it
  // was and the flags still match it. COMFYVN_ENABLE_PERF, when set, still
  // overrides the umbrella for this process.
  bool set_perf_enabled(bool on) {
    std::string problem;
    {
      std::lock_guard<std::mutex> lock(mu_);
      problem = write_locked(on);
      load_locked();
      if (!problem.empty()) {
        last_error_ = problem;
        log(problem);
      }
    }
    apply();
    return problem.empty();
  }

  // ---- sources ----

  // Re-reads every source now. Returns false when a problem was found.
  bool reload() {
    bool ok;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ok = load_locked();
    }
    apply();
    return ok;
  }

  // Re-reads the sources if a file or COMFYVN_ENABLE_PERF changed and the
  // last check is at least one check interval old. Every flag read calls
  // this; call it yourself from a loop that reads no flag.
  void refresh() const {
    const std::int64_t now = steady_ns();
    if (now < next_check_ns_.load(std::memory_order_relaxed)) return;
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) return;  // another thread is checking right now
    if (now < next_check_ns_.load(std::memory_order_relaxed)) return;
    next_check_ns_.store(now + interval_ns_.load(std::memory_order_relaxed),
                         std::memory_order_relaxed);
    if (!changed_locked()) return;
    load_locked();
    lock.unlock();
    apply();
  }

  // Reads these files from now on (tests, embedders with their own layout).
  void use_config_files(FlagFiles files) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      set_files_locked(std::move(files));
      load_locked();
    }
    apply();
  }
  // Back to $COMFYVN_CONFIG / config/comfyvn.json and ./comfyvn.json.
  void use_default_config_files() { use_config_files(default_files()); }

  // The file set_perf_enabled writes, as an absolute path.
  std::string config_path() const {
    std::lock_guard<std::mutex> lock(mu_);
    return files_.config;
  }
  std::string local_config_path() const {
    std::lock_guard<std::mutex> lock(mu_);
    return files_.local;
  }

  // How often a flag read may look at the files (default 1 s; 0 = always).
  void set_check_interval(std::chrono::milliseconds interval) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
    interval_ns_.store(ns, std::memory_order_relaxed);
    next_check_ns_.store(steady_ns() + ns, std::memory_order_relaxed);
  }

  // ---- diagnostics ----

  // Every problem found by the latest read, one message each (file named).
  std::vector<std::string> problems() const {
    std::lock_guard<std::mutex> lock(mu_);
    return problems_;
  }
  // The latest failed write, or else the first problem of the latest read;
  // empty when all is well.
  std::string last_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }
  // Where messages go (default: stderr, prefixed "comfyvn_perf: "). Each
  // problem is logged once, when it appears.
  void set_log_sink(std::function<void(std::string_view)> sink) {
    std::lock_guard<std::mutex> lock(mu_);
    sink_ = std::move(sink);
  }

  // {enable_perf, enable_perf_budgets, enable_perf_profiler_dashboard,
  //  budgets_enabled, profiler_enabled, env_override, config_path,
  //  local_config_path, problems}
  boost::json::object to_json() const {
    refresh();
    std::lock_guard<std::mutex> lock(mu_);
    boost::json::array problems;
    for (const auto& p : problems_) problems.push_back(boost::json::string(p));
    boost::json::value env = nullptr;
    if (env_override_) env = *env_override_;
    return boost::json::object{
        {"enable_perf", values_.enable_perf},
        {"enable_perf_budgets", values_.enable_perf_budgets},
        {"enable_perf_profiler_dashboard", values_.enable_perf_profiler_dashboard},
        {"budgets_enabled", budgets_.load(std::memory_order_relaxed)},
        {"profiler_enabled", profiler_.load(std::memory_order_relaxed)},
        {"env_override", env},
        {"config_path", files_.config},
        {"local_config_path", files_.local},
        {"problems", std::move(problems)}};
  }

  // ---- subsystems ----

  // When on, the profiler and the budget manager follow the flags: each is
  // switched when its flag changes, the first read counting as a change
  // from "off". feature_flags() turns this on.
  void drive_subsystems(bool on) {
    drive_.store(on, std::memory_order_release);
    if (on) apply();
  }

 private:
  static FlagFiles default_files() {
    const char* env = std::getenv("COMFYVN_CONFIG");
    FlagFiles f;
    f.config = detail::flags::absolute(
        env != nullptr && *env != '\0' ? std::string(env) : std::string(kDefaultConfig));
    f.local = detail::flags::absolute(std::string(kLocalConfig));
    return f;
  }

  static std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void set_files_locked(FlagFiles files) {
    files.config = detail::flags::absolute(std::move(files.config));
    files.local = detail::flags::absolute(std::move(files.local));
    if (files.local == files.config) files.local.clear();
    files_ = std::move(files);
  }

  bool changed_locked() const {
    using detail::flags::stamp_of;
    if (stamp_of(files_.config) != config_stamp_) return true;
    if (stamp_of(files_.local) != local_stamp_) return true;
    const char* env = std::getenv("COMFYVN_ENABLE_PERF");
    return env_seen_ != (env != nullptr ? std::optional<std::string>(env) : std::nullopt);
  }

  // Reads one file into `layer`. A missing file says nothing (the config
  // file's absence is still reported); false means the file exists but
  // cannot be trusted, and then every file flag is off.
  bool read_layer(const std::string& path, bool report_missing, detail::flags::Layer& layer,
                  detail::flags::FileStamp& stamp, std::vector<std::string>& problems) const {
    namespace fl = detail::flags;
    stamp = fl::stamp_of(path);  // before reading: a change during the read is seen next time
    if (path.empty()) return true;
    const std::string name = "config file '" + path + "': ";
    const std::string off = "; all feature flags are off until this is fixed";
    const fl::FileRead r = fl::read_file(path);
    if (r.status == fl::FileRead::missing) {
      if (report_missing) problems.push_back(name + "not found; its flags default to off");
      return true;
    }
    if (r.status == fl::FileRead::failed) {
      problems.push_back(name + r.problem + off);
      return false;
    }
    boost::json::value root;
    std::string problem;
    if (!fl::parse_json(r.text, root, problem)) {
      problems.push_back(name + problem + off);
      return false;
    }
    if (!root.is_object()) {
      problems.push_back(name + "the top level must be a JSON object, found " +
                         fl::kind_name(root) + off);
      return false;
    }
    const auto* features = root.get_object().if_contains("features");
    if (features == nullptr) return true;
    if (!features->is_object()) {
      problems.push_back(name + "\"features\" must be an object, found " +
                         fl::kind_name(*features) + "; ignored");
      return true;
    }
    auto take = [&](std::string_view key, std::optional<bool>& slot) {
      const auto* v = features->get_object().if_contains(key);
      if (v == nullptr) return;
      if (v->is_bool()) {
        slot = v->get_bool();
        return;
      }
      std::string found = fl::kind_name(*v);
      if (!v->is_null()) found += " " + boost::json::serialize(*v);
      problems.push_back(name + "features." + std::string(key) + " must be true or false, found " +
                         found + "; ignored");
    };
    take(fl::kUmbrella, layer.perf);
    take(fl::kLegacyBudgets, layer.budgets);
    take(fl::kLegacyDashboard, layer.dashboard);
    return true;
  }

  // Returns false when a problem was found.
  bool load_locked() const {
    namespace fl = detail::flags;
    std::vector<std::string> problems;
    fl::Layer local, config;
    const bool local_ok = read_layer(files_.local, false, local, local_stamp_, problems);
    const bool config_ok = read_layer(files_.config, true, config, config_stamp_, problems);
    FlagValues v;
    if (local_ok && config_ok) {
      for (const fl::Layer* l : {&local, &config}) {
        if (l->perf) v.enable_perf = *l->perf;
        if (l->budgets) v.enable_perf_budgets = *l->budgets;
        if (l->dashboard) v.enable_perf_profiler_dashboard = *l->dashboard;
      }
    }
    const char* env = std::getenv("COMFYVN_ENABLE_PERF");
    env_seen_ = env != nullptr ? std::optional<std::string>(env) : std::nullopt;
    bool invalid = false;
    env_override_ = env != nullptr ? fl::parse_switch(env, invalid) : std::nullopt;
    if (invalid) {
      problems.push_back(std::string("COMFYVN_ENABLE_PERF='") + env +
                         "' is not one of 1, 0, true, false, yes, no, on, off; ignored");
    }
    if (env_override_) v.enable_perf = *env_override_;
    values_ = v;
    perf_.store(v.enable_perf, std::memory_order_release);
    budgets_.store(v.enable_perf || v.enable_perf_budgets, std::memory_order_release);
    profiler_.store(v.enable_perf || v.enable_perf_profiler_dashboard, std::memory_order_release);
    next_check_ns_.store(steady_ns() + interval_ns_.load(std::memory_order_relaxed),
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

  // Returns "" on success, else why nothing was written.
  std::string write_locked(bool on) const {
    namespace fl = detail::flags;
    std::string target = files_.config;
    // Editing through a symlink updates the file it points to.
    if (char* real = ::realpath(target.c_str(), nullptr)) {
      target = real;
      std::free(real);
    }
    const std::string refuse = "cannot update config file '" + target + "': ";
    const std::string kept = "; the file was left unchanged";
    const fl::FileRead r = fl::read_file(target);
    if (r.status == fl::FileRead::failed) return refuse + r.problem + kept;
    boost::json::value root = boost::json::object();
    if (r.status == fl::FileRead::ok) {
      std::string problem;
      if (!fl::parse_json(r.text, root, problem)) return refuse + problem + kept;
      if (!root.is_object()) {
        return refuse + "the top level must be a JSON object, found " + fl::kind_name(root) + kept;
      }
    }
    boost::json::value& features = root.as_object()["features"];
    if (!features.is_object()) features = boost::json::object();
    auto& f = features.as_object();
    f[fl::kUmbrella] = on;
    f[fl::kLegacyBudgets] = on;
    f[fl::kLegacyDashboard] = on;
    const std::string problem = fl::write_atomically(target, fl::pretty(root));
    if (!problem.empty()) return refuse + problem + kept;
    return {};
  }

  void log(const std::string& message) const {
    try {
      if (sink_) {
        sink_(message);
      } else {
        std::fputs(("comfyvn_perf: " + message + "\n").c_str(), stderr);
      }
    } catch (...) {
    }
  }

  // Serialised on its own lock so that the latest flag values win even when
  // two threads reload at once.
  void apply() const {
    if (!drive_.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> lock(apply_mu_);
    const bool profiler = profiler_.load(std::memory_order_acquire);
    const bool budgets = budgets_.load(std::memory_order_acquire);
    try {
      if (profiler != applied_profiler_) {
        applied_profiler_ = profiler;
        perf_profiler().set_enabled(profiler);
      }
      if (budgets != applied_budgets_) {
        applied_budgets_ = budgets;
        budget_manager().set_enabled(budgets);
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> log_lock(mu_);
      log(std::string("cannot switch a subsystem: ") + e.what());
    }
  }

  // Logically const: reading a flag may pick up a changed file.
  mutable std::mutex mu_;
  mutable std::mutex apply_mu_;
  FlagFiles files_;
  mutable FlagValues values_;
  mutable std::optional<bool> env_override_;
  mutable std::optional<std::string> env_seen_;
  mutable detail::flags::FileStamp config_stamp_, local_stamp_;
  mutable std::vector<std::string> problems_;
  mutable std::string last_error_;
  std::function<void(std::string_view)> sink_;
  mutable std::atomic<bool> perf_{false};
  mutable std::atomic<bool> budgets_{false};
  mutable std::atomic<bool> profiler_{false};
  std::atomic<bool> drive_{false};
  mutable bool applied_profiler_ = false;
  mutable bool applied_budgets_ = false;
  mutable std::atomic<std::int64_t> next_check_ns_{0};
  std::atomic<std::int64_t> interval_ns_{
      std::chrono::duration_cast<std::chrono::nanoseconds>(kDefaultCheckInterval).count()};
};

// The flags of the process (shared by every library that uses it). Created
// by the first call — the HTTP adapter, the demo or your own start-up code —
// which reads the files relative to the working directory of that moment.
// It drives the profiler and the budget manager from then on.
COMFYVN_PERF_VISIBLE inline FeatureFlags& feature_flags() {
  static FeatureFlags* f = [] {
    auto* p = new FeatureFlags();
    p->drive_subsystems(true);
    return p;
  }();
  return *f;
}

}  // namespace comfyvn::perf
