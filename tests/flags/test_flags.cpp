// Feature flags: sources and precedence, bad files, the settings toggle,
// reloading, and the subsystems they drive.
#include <comfyvn_perf/flags/flags.hpp>
#include <comfyvn_perf/os/log.hpp>
#include <comfyvn_perf/profiler/registry.hpp>  // detail::registry()

#include <catch2/catch.hpp>

#include <comfyvn_perf/perf.hpp>

#include "../support/temp_files.hpp"  // TempDir, read_text

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace json = boost::json;
using comfyvn::perf::budget_manager;
using comfyvn::perf::feature_flags;
using comfyvn::perf::FeatureFlags;
using comfyvn::perf::FlagFiles;
using comfyvn::perf::perf_profiler;
using comfyvn::perf::testing::read_text;
using comfyvn::perf::testing::TempDir;

namespace {

std::int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// Writes as editors do (a new file renamed over the old one) and gives it a
// modification time never used before, so a change is visible even on file
// systems with coarse timestamps.
void write_text(const std::string& path, const std::string& text) {
  static int generation = 0;
  const std::string tmp = path + ".writing";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    REQUIRE(out.good());
  }
  REQUIRE(::rename(tmp.c_str(), path.c_str()) == 0);
  const timespec times[2] = {{1600000000 + ++generation, 0}, {1600000000 + generation, 0}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

std::string features(const char* body) {
  return std::string(R"({"features": {)") + body + "}}";
}

// Clears the variables the flags read and restores them afterwards (meson
// runs every test with COMFYVN_ENABLE_PERF=0).
class CleanEnv {
 public:
  CleanEnv() {
    for (const char* n : {"COMFYVN_ENABLE_PERF", "COMFYVN_CONFIG"}) {
      const char* v = std::getenv(n);
      saved_.push_back({n, v ? std::optional<std::string>(v) : std::nullopt});
      ::unsetenv(n);
    }
  }
  ~CleanEnv() {
    for (const auto& [n, v] : saved_) {
      if (v) {
        ::setenv(n.c_str(), v->c_str(), 1);
      } else {
        ::unsetenv(n.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// A FeatureFlags of the test's own (it does not drive the subsystems) whose
// messages are captured.
class Flags {
 public:
  Flags(const std::string& config, const std::string& local)
      : f_(std::make_unique<FeatureFlags>(FlagFiles{})) {
    f_->set_log_sink([this](std::string_view m) { messages.emplace_back(m); });
    f_->use_config_files({config, local});
  }
  FeatureFlags* operator->() { return f_.get(); }
  FeatureFlags& operator*() { return *f_; }
  std::vector<std::string> messages;

 private:
  std::unique_ptr<FeatureFlags> f_;
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

void check_all_off(FeatureFlags& f) {
  CHECK_FALSE(f.perf_enabled());
  CHECK_FALSE(f.budgets_enabled());
  CHECK_FALSE(f.profiler_enabled());
  const auto v = f.values();
  CHECK_FALSE(v.enable_perf);
  CHECK_FALSE(v.enable_perf_budgets);
  CHECK_FALSE(v.enable_perf_profiler_dashboard);
}

// The SDK's own threads: every one it starts names itself "perf-..."
// (perf-collector, perf-budgets, perf-hooks, perf-http). Counting every thread
// of the process instead is timing dependent: a sanitizer's runtime starts
// and ends background threads of its own (ThreadSanitizer does).
std::size_t sdk_thread_count() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string name;
      if (std::getline(comm, name) && name.rfind("perf-", 0) == 0) ++n;
    }
    ::closedir(d);
  }
  return n;
}

// The SDK's thread count once it settles at `expected`, or what it is after
// a few seconds: a thread that was told to stop may still be on its way out.
std::size_t sdk_threads_settled(std::size_t expected) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::size_t n = sdk_thread_count();
  while (n != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    n = sdk_thread_count();
  }
  return n;
}

}  // namespace

TEST_CASE("defaults are all off, and the shipped config keeps them off", "[flags]") {
  CleanEnv env;
  Flags none("", "");
  check_all_off(*none);
  CHECK(none->problems().empty());

  const std::string shipped = std::string(COMFYVN_TEST_SOURCE_ROOT) + "/config/comfyvn.json";
  const std::string before = read_text(shipped);
  Flags f(shipped, "");
  check_all_off(*f);
  CHECK(f->problems().empty());
  const json::value v = json::parse(before);
  for (const char* k : {"enable_perf", "enable_perf_budgets", "enable_perf_profiler_dashboard"}) {
    INFO(k);
    CHECK(v.at("features").at(k).as_bool() == false);
  }
  CHECK(read_text(shipped) == before);
}

TEST_CASE("precedence: defaults < ./comfyvn.json < config file < COMFYVN_ENABLE_PERF", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "config.json";
  const std::string local = dir / "local.json";
  Flags f(config, local);

  write_text(local, features(R"("enable_perf": true)"));
  f->reload();
  CHECK(f->perf_enabled());  // the local file alone
  CHECK(f->budgets_enabled());
  CHECK(f->profiler_enabled());

  write_text(config, features(R"("enable_perf": false)"));
  f->reload();
  check_all_off(*f);  // the config file wins over the local file

  write_text(local, features(R"("enable_perf_budgets": true)"));
  f->reload();
  CHECK(f->budgets_enabled());  // per key: the config file says nothing about budgets
  CHECK_FALSE(f->profiler_enabled());
  CHECK_FALSE(f->perf_enabled());

  write_text(local, "{}");
  write_text(config, features(R"("enable_perf": true)"));
  ::setenv("COMFYVN_ENABLE_PERF", "0", 1);
  f->reload();
  check_all_off(*f);  // the environment wins over every file
  CHECK(f->to_json().at("env_override").as_bool() == false);

  write_text(config, features(R"("enable_perf": false)"));
  ::setenv("COMFYVN_ENABLE_PERF", "1", 1);
  f->reload();
  CHECK(f->perf_enabled());
  CHECK(f->budgets_enabled());
  CHECK(f->profiler_enabled());
  CHECK(f->problems().empty());

  for (const char* on : {"true", "YES", "on"}) {
    ::setenv("COMFYVN_ENABLE_PERF", on, 1);
    f->reload();
    CHECK(f->perf_enabled());
  }
  for (const char* off : {"false", "no", "OFF"}) {
    ::setenv("COMFYVN_ENABLE_PERF", off, 1);
    write_text(config, features(R"("enable_perf": true)"));
    f->reload();
    CHECK_FALSE(f->perf_enabled());
  }

  // The environment overrides the umbrella only: a legacy key still counts.
  ::setenv("COMFYVN_ENABLE_PERF", "0", 1);
  write_text(config, features(R"("enable_perf": true, "enable_perf_profiler_dashboard": true)"));
  f->reload();
  CHECK_FALSE(f->perf_enabled());
  CHECK_FALSE(f->budgets_enabled());
  CHECK(f->profiler_enabled());

  // An unknown value is reported once and ignored.
  ::setenv("COMFYVN_ENABLE_PERF", "maybe", 1);
  f.messages.clear();
  f->reload();
  f->reload();
  CHECK(f->perf_enabled());  // the file's value stands
  REQUIRE(f.messages.size() == 1);
  CHECK(contains(f.messages[0], "COMFYVN_ENABLE_PERF='maybe'"));
}

TEST_CASE("COMFYVN_CONFIG names the config file; the default is relative to the working directory",
          "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  {
    FeatureFlags f;
    char cwd[PATH_MAX];
    REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
    CHECK(f.config_path() == std::string(cwd) + "/config/comfyvn.json");
    CHECK(f.local_config_path() == std::string(cwd) + "/comfyvn.json");
  }
  const std::string custom = dir / "custom.json";
  write_text(custom, features(R"("enable_perf_profiler_dashboard": true)"));
  ::setenv("COMFYVN_CONFIG", custom.c_str(), 1);
  FeatureFlags f;
  CHECK(f.config_path() == custom);
  CHECK(f.profiler_enabled());
  CHECK_FALSE(f.budgets_enabled());
}

TEST_CASE("legacy keys switch only their own subsystem", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  Flags f(config, "");
  write_text(config, features(R"("enable_perf_budgets": true)"));
  f->reload();
  CHECK(f->budgets_enabled());
  CHECK_FALSE(f->profiler_enabled());
  CHECK_FALSE(f->perf_enabled());
  write_text(config, features(R"("enable_perf_profiler_dashboard": true)"));
  f->reload();
  CHECK_FALSE(f->budgets_enabled());
  CHECK(f->profiler_enabled());
  CHECK_FALSE(f->perf_enabled());
  write_text(config, features(R"("enable_perf": true, "enable_perf_budgets": false)"));
  f->reload();
  CHECK(f->budgets_enabled());  // the umbrella covers both
  CHECK(f->profiler_enabled());
}

TEST_CASE("values that are not booleans are reported and ignored", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "config.json";
  const std::string local = dir / "local.json";
  write_text(local, features(R"("enable_perf": true)"));
  write_text(
      config,
      features(
          R"("enable_perf": "false", "enable_perf_budgets": 1, "enable_perf_profiler_dashboard": null)"));
  Flags f(config, local);
  CHECK(f->perf_enabled());  // the local true stands: "false" is not a boolean
  const auto problems = f->problems();
  REQUIRE(problems.size() == 3);
  CHECK(contains(problems[0], config));
  CHECK(
      contains(problems[0], "features.enable_perf must be true or false, found string \"false\""));
  CHECK(contains(problems[1], "features.enable_perf_budgets"));
  CHECK(contains(problems[2], "features.enable_perf_profiler_dashboard"));
  CHECK(f.messages.size() == 3);

  write_text(config, R"({"features": "yes"})");
  f->reload();
  CHECK(f->perf_enabled());
  REQUIRE(f->problems().size() == 1);
  CHECK(contains(f->problems()[0], "\"features\" must be an object"));
}

TEST_CASE("a missing, unreadable or malformed config file: one message, all off, file untouched",
          "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "config.json";
  const std::string local = dir / "local.json";
  write_text(local, features(R"("enable_perf": true)"));

  SECTION("missing") {
    Flags f(config, "");
    check_all_off(*f);
    REQUIRE(f.messages.size() == 1);
    CHECK(contains(f.messages[0], config));
    CHECK(contains(f.messages[0], "not found"));
    CHECK(f->last_error() == f.messages[0]);
    CHECK(dir.entries().size() == 1);  // nothing was created
  }

  auto bad_file = [&](const std::string& text, const std::string& problem) {
    write_text(config, text);
    const auto stamp = mtime_ns(config);
    Flags f(config, local);
    check_all_off(*f);  // the local file's true does not count either
    REQUIRE(f.messages.size() == 1);
    CHECK(contains(f.messages[0], config));
    CHECK(contains(f.messages[0], problem));
    f->reload();
    f->reload();
    CHECK(f.messages.size() == 1);  // reported once, not on every read
    // An explicit set refuses to replace what it cannot parse.
    CHECK_FALSE(f->set_perf_enabled(true));
    CHECK(contains(f->last_error(), "left unchanged"));
    check_all_off(*f);
    CHECK(read_text(config) == text);
    CHECK(mtime_ns(config) == stamp);
  };
  SECTION("malformed: trailing comma") {
    bad_file("{\n  \"features\": {\n    \"enable_perf\": true,\n  }\n}\n",
             "malformed JSON at line 4, column 3");
  }
  SECTION("malformed: truncated") {
    bad_file(R"({"features": {"enable_perf": tr)", "malformed JSON");
  }
  SECTION("empty") {
    bad_file("", "empty file");
  }
  SECTION("not an object") {
    bad_file("[true]", "top level must be a JSON object, found array");
  }
  SECTION("unreadable: a directory") {
    REQUIRE(::mkdir(config.c_str(), 0755) == 0);
    Flags f(config, local);
    check_all_off(*f);
    REQUIRE(f.messages.size() == 1);
    CHECK(contains(f.messages[0], config));
    CHECK(contains(f.messages[0], "cannot read"));
    CHECK_FALSE(f->set_perf_enabled(true));
    struct stat st {};
    REQUIRE(::stat(config.c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
  }
  SECTION("unreadable: no permission") {
    if (::geteuid() == 0) return;  // root reads anything
    write_text(config, features(R"("enable_perf": true)"));
    REQUIRE(::chmod(config.c_str(), 0) == 0);
    Flags f(config, local);
    check_all_off(*f);
    REQUIRE(f.messages.size() == 1);
    CHECK(contains(f.messages[0], "Permission denied"));
  }
}

TEST_CASE("the settings toggle writes all three keys atomically and keeps every other key",
          "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  const std::string original = R"({
    "theme": "dark",
    "features": {"enable_perf": false, "other_flag": true, "enable_perf_budgets": false},
    "list": [1, 2.5, "x", {"deep": null}],
    "ratio": 1.0,
    "big": 12345678901234567,
    "text": "üñí \"quoted\" \\ \n"
  })";
  write_text(config, original);
  REQUIRE(::chmod(config.c_str(), 0640) == 0);
  Flags f(config, "");
  check_all_off(*f);

  REQUIRE(f->set_perf_enabled(true));
  CHECK(f->perf_enabled());
  CHECK(f->budgets_enabled());
  CHECK(f->profiler_enabled());
  json::value expected = json::parse(original);
  auto& feats = expected.at("features").as_object();
  feats["enable_perf"] = true;
  feats["enable_perf_budgets"] = true;
  feats["enable_perf_profiler_dashboard"] = true;
  const json::value written = json::parse(read_text(config));
  CHECK(written == expected);
  CHECK(written.at("ratio").is_double());
  CHECK(dir.entries() == std::vector<std::string>{"comfyvn.json"});  // no temp file left
  struct stat st {};
  REQUIRE(::stat(config.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);

  REQUIRE(f->set_perf_enabled(false));
  check_all_off(*f);
  CHECK(json::parse(read_text(config)).at("features").at("other_flag").as_bool());
  CHECK(f->last_error().empty());
}

TEST_CASE("the settings toggle writes the shipped layout byte for byte", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string shipped =
      read_text(std::string(COMFYVN_TEST_SOURCE_ROOT) + "/config/comfyvn.json");
  const std::string config = dir / "config/comfyvn.json";  // the directory does not exist yet
  Flags f(config, "");
  REQUIRE(f->set_perf_enabled(false));
  CHECK(read_text(config) == shipped);
  REQUIRE(f->set_perf_enabled(true));
  REQUIRE(f->set_perf_enabled(false));
  CHECK(read_text(config) == shipped);
}

TEST_CASE("the settings toggle edits the file behind a symlink", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string real = dir / "real.json";
  const std::string link = dir / "link.json";
  write_text(real, features(R"("enable_perf": false)"));
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  Flags f(link, "");
  REQUIRE(f->set_perf_enabled(true));
  struct stat st {};
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK(json::parse(read_text(real)).at("features").at("enable_perf").as_bool());
  CHECK(f->perf_enabled());
}

TEST_CASE("a toggle that cannot be written returns false; the flags still match the file",
          "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");

  SECTION("the parent of the config file is a regular file") {
    const std::string blocker = dir / "not_a_dir";
    write_text(blocker, "plain file");
    const std::string config = blocker + "/comfyvn.json";
    Flags f(config, "");
    CHECK_FALSE(f->set_perf_enabled(true));
    CHECK(contains(f->last_error(), config));
    CHECK(contains(f->last_error(), "Not a directory"));
    check_all_off(*f);  // the file (missing) says off
    CHECK(read_text(blocker) == "plain file");
    CHECK(f.messages.back() == f->last_error());
  }

  SECTION("the write itself fails (file size limit)") {
    const std::string config = dir / "comfyvn.json";
    const std::string text = features(R"("enable_perf": true, "keep": "me")");
    write_text(config, text);
    Flags f(config, "");
    REQUIRE(f->perf_enabled());
    rlimit old{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit tiny = old;
    tiny.rlim_cur = 16;  // the new file is larger: write() fails with EFBIG
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &tiny) == 0);
    const bool ok = f->set_perf_enabled(false);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &old) == 0);
    std::signal(SIGXFSZ, old_handler);
    CHECK_FALSE(ok);
    CHECK(contains(f->last_error(), "cannot write"));
    CHECK(f->perf_enabled());  // still what the file says
    CHECK(f->budgets_enabled());
    CHECK(read_text(config) == text);
    CHECK(dir.entries() == std::vector<std::string>{"comfyvn.json"});  // temp file removed
  }

  SECTION("a read-only directory") {
    if (::geteuid() == 0) return;  // root writes anywhere
    const std::string sub = dir / "ro";
    REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
    const std::string config = sub + "/comfyvn.json";
    write_text(config, features(R"("enable_perf": false)"));
    REQUIRE(::chmod(sub.c_str(), 0555) == 0);
    Flags f(config, "");
    CHECK_FALSE(f->set_perf_enabled(true));
    check_all_off(*f);
    CHECK(contains(f->last_error(), "Permission denied"));
  }
}

TEST_CASE("a changed file is re-read, at most once per check interval", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  write_text(config, features(R"("enable_perf": false)"));
  Flags f(config, "");
  f->set_check_interval(std::chrono::hours(1));
  write_text(config, features(R"("enable_perf": true)"));
  CHECK_FALSE(f->perf_enabled());  // not looked at again within the interval
  CHECK(f->reload());
  CHECK(f->perf_enabled());

  f->set_check_interval(std::chrono::milliseconds(0));
  write_text(config, features(R"("enable_perf": false)"));
  CHECK_FALSE(f->perf_enabled());  // noticed by the read itself
  write_text(config, features(R"("enable_perf_budgets": true)"));
  CHECK(f->budgets_enabled());
  ::setenv("COMFYVN_ENABLE_PERF", "1", 1);
  CHECK(f->profiler_enabled());  // the environment is checked with the files
  ::unsetenv("COMFYVN_ENABLE_PERF");
  ::unlink(config.c_str());
  CHECK_FALSE(f->budgets_enabled());  // deleted: back to the defaults
}

TEST_CASE("the flags start and stop the profiler and the budget manager cleanly", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  auto& flags = feature_flags();
  flags.set_log_sink([](std::string_view) {});
  flags.use_config_files({config, dir / "local.json"});
  flags.set_check_interval(std::chrono::milliseconds(0));
  auto& registry = comfyvn::perf::detail::registry();
  REQUIRE_FALSE(flags.perf_enabled());
  REQUIRE_FALSE(perf_profiler().enabled());
  REQUIRE_FALSE(budget_manager().enabled());
  // One round first, so that whatever a library loads once (and keeps) is
  // part of the baseline; the subsystems' own threads come and go each time.
  REQUIRE(flags.set_perf_enabled(true));
  REQUIRE(flags.set_perf_enabled(false));
  const std::size_t threads_off = sdk_threads_settled(0);

  // A thread records continuously while the flags flip; every scope that
  // began while recording must be counted, none twice, none half.
  perf_profiler().reset();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> active{0};
  std::thread worker([&] {
    while (!stop.load()) {
      comfyvn::perf::Scope s("flags.toggle", "flags");
      if (s.active()) active.fetch_add(1);
    }
  });
  for (int i = 0; i < 6; ++i) {
    REQUIRE(flags.set_perf_enabled(true));
    CHECK(perf_profiler().enabled());
    CHECK(budget_manager().enabled());
    while (active.load() < static_cast<std::uint64_t>(i + 1) * 50) std::this_thread::yield();
    REQUIRE(flags.set_perf_enabled(false));
    CHECK_FALSE(perf_profiler().enabled());
    CHECK_FALSE(budget_manager().enabled());
  }
  stop.store(true);
  worker.join();
  std::uint64_t recorded = 0;
  for (const auto& a : perf_profiler().aggregates())
    if (a.name == "flags.toggle") recorded += a.count;
  CHECK(recorded == active.load());
  CHECK(recorded >= 300);

  // Off means no helper thread is left.
  CHECK_FALSE(registry.collector_running());
  CHECK(sdk_threads_settled(threads_off) == threads_off);

  // A file edit and the legacy keys drive them too.
  std::ofstream(config) << features(R"("enable_perf_profiler_dashboard": true)");
  CHECK(flags.profiler_enabled());
  CHECK(perf_profiler().enabled());
  CHECK_FALSE(budget_manager().enabled());
  write_text(config, features(R"("enable_perf_budgets": true)"));
  CHECK(flags.budgets_enabled());
  CHECK(budget_manager().enabled());
  CHECK_FALSE(perf_profiler().enabled());
  ::setenv("COMFYVN_ENABLE_PERF", "1", 1);
  CHECK(flags.perf_enabled());
  CHECK(perf_profiler().enabled());
  CHECK(budget_manager().enabled());
  ::unsetenv("COMFYVN_ENABLE_PERF");
  ::unlink(config.c_str());
  CHECK_FALSE(flags.perf_enabled());
  CHECK_FALSE(perf_profiler().enabled());
  CHECK_FALSE(budget_manager().enabled());
  CHECK(sdk_threads_settled(threads_off) == threads_off);

  flags.set_check_interval(FeatureFlags::kDefaultCheckInterval);
}

// Run in a child process with COMFYVN_ENABLE_PERF=1 by the next test case.
// It never reads a flag.
TEST_CASE("env child: never reads a flag", "[.flags_env_child]") {
  REQUIRE(perf_profiler().enabled());
  REQUIRE(budget_manager().enabled());
}

TEST_CASE("a process that never reads a flag still honours COMFYVN_ENABLE_PERF", "[flags]") {
  TempDir dir("comfyvn_flags");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string s = *e;
    if (s.rfind("COMFYVN_ENABLE_PERF=", 0) == 0 || s.rfind("COMFYVN_CONFIG=", 0) == 0) continue;
    env_strings.push_back(s);
  }
  env_strings.push_back("COMFYVN_ENABLE_PERF=1");
  env_strings.push_back("COMFYVN_CONFIG=" + (dir / "absent.json"));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe";
  std::string name = "env child: never reads a flag";
  std::vector<char*> argv = {exe.data(), name.data(), nullptr};
  pid_t pid = 0;
  REQUIRE(::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), envp.data()) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("flags read from many threads while the toggle writes", "[flags][concurrency]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  Flags f(config, "");
  f->set_check_interval(std::chrono::milliseconds(0));
  std::atomic<bool> stop{false};
  std::atomic<int> inconsistent{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const auto v = f->values();
        if (v.enable_perf != v.enable_perf_budgets ||
            v.enable_perf != v.enable_perf_profiler_dashboard) {
          inconsistent.fetch_add(1);
        }
        (void)f->perf_enabled();
        (void)f->budgets_enabled();
      }
    });
  }
  for (int i = 0; i < 20; ++i) REQUIRE(f->set_perf_enabled(i % 2 == 0));
  stop.store(true);
  for (auto& t : readers) t.join();
  CHECK(inconsistent.load() == 0);
  CHECK_FALSE(f->perf_enabled());
}

TEST_CASE("to_json describes the flags and their sources", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  write_text(config, features(R"("enable_perf_budgets": true)"));
  Flags f(config, "");
  const json::object j = f->to_json();
  CHECK(j.at("enable_perf").as_bool() == false);
  CHECK(j.at("enable_perf_budgets").as_bool() == true);
  CHECK(j.at("budgets_enabled").as_bool() == true);
  CHECK(j.at("profiler_enabled").as_bool() == false);
  CHECK(j.at("env_override").is_null());
  CHECK(j.at("config_path").as_string() == config);
  CHECK(j.at("problems").as_array().empty());
}

TEST_CASE("on_change tells listeners about each switch that changed", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  write_text(config, features(R"("enable_perf": false)"));
  Flags f(config, "");
  std::vector<comfyvn::perf::FlagChange> seen;
  auto sub = f->on_change([&](const comfyvn::perf::FlagChange& c) { seen.push_back(c); });
  REQUIRE(sub);
  CHECK(seen.empty());  // all off: no change from "off" to report

  write_text(config, features(R"("enable_perf_budgets": true)"));
  REQUIRE(f->reload());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].budgets_enabled);
  CHECK(seen[0].budgets_changed);
  CHECK_FALSE(seen[0].profiler_enabled);
  CHECK_FALSE(seen[0].profiler_changed);
  CHECK(seen[0].values.enable_perf_budgets);
  CHECK_FALSE(seen[0].values.enable_perf);

  REQUIRE(f->reload());  // nothing changed: nothing to tell
  CHECK(seen.size() == 1);

  REQUIRE(f->set_perf_enabled(true));
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].profiler_changed);
  CHECK_FALSE(seen[1].budgets_changed);  // budgets were on already
  CHECK(seen[1].values.enable_perf);

  // A listener that subscribes now hears the current state as a change from off.
  int late_calls = 0;
  comfyvn::perf::FlagChange late_change;
  auto late = f->on_change([&](const comfyvn::perf::FlagChange& c) {
    ++late_calls;
    late_change = c;
  });
  CHECK(late_calls == 1);
  CHECK(late_change.budgets_changed);
  CHECK(late_change.profiler_changed);
  CHECK(seen.size() == 2);  // the first listener had nothing new

  sub.reset();
  CHECK_FALSE(sub);
  REQUIRE(f->set_perf_enabled(false));
  CHECK(seen.size() == 2);
  CHECK(late_calls == 2);
  CHECK_FALSE(late_change.budgets_enabled);
  CHECK_FALSE(late_change.profiler_enabled);

  // An empty listener gives an empty handle.
  CHECK_FALSE(f->on_change({}));
}

TEST_CASE("a flag listener may read and change the flags and unsubscribe itself", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  Flags f(config, "");
  f->set_check_interval(std::chrono::milliseconds(0));
  std::vector<bool> profiler_states;
  comfyvn::perf::FlagSubscription self;
  self = f->on_change([&](const comfyvn::perf::FlagChange& c) {
    profiler_states.push_back(c.profiler_enabled);
    CHECK(f->perf_enabled() == c.values.enable_perf);  // reading from inside is fine
    if (c.profiler_enabled) {
      // Turning it back off from inside: delivered after this call returns.
      REQUIRE(f->set_perf_enabled(false));
    } else {
      self.reset();
    }
  });
  REQUIRE(f->set_perf_enabled(true));
  CHECK(profiler_states == std::vector<bool>{true, false});
  CHECK_FALSE(f->perf_enabled());
  CHECK_FALSE(self);
  REQUIRE(f->set_perf_enabled(true));
  CHECK(profiler_states.size() == 2);  // unsubscribed
}

TEST_CASE("a flag listener that throws is logged and the others still hear", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  Flags f(config, "");
  auto bad = f->on_change(
      [](const comfyvn::perf::FlagChange&) { throw std::runtime_error("listener broke"); });
  int good_calls = 0;
  auto good = f->on_change([&](const comfyvn::perf::FlagChange&) { ++good_calls; });
  f.messages.clear();
  REQUIRE(f->set_perf_enabled(true));
  CHECK(good_calls == 1);
  bool logged = false;
  for (const auto& m : f.messages) logged = logged || m.find("listener broke") != std::string::npos;
  CHECK(logged);
}

TEST_CASE("unsubscribing waits for a listener running on another thread", "[flags][concurrency]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  Flags f(config, "");
  std::atomic<bool> entered{false}, release{false}, finished{false};
  auto sub = f->on_change([&](const comfyvn::perf::FlagChange&) {
    entered.store(true);
    while (!release.load()) std::this_thread::yield();
    finished.store(true);
  });
  std::atomic<bool> toggled{false};  // Catch's assertions belong to the main thread
  std::thread toggler([&] { toggled.store(f->set_perf_enabled(true)); });
  while (!entered.load()) std::this_thread::yield();
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release.store(true);
  });
  sub.reset();
  CHECK(finished.load());
  toggler.join();
  releaser.join();
  CHECK(toggled.load());
}

TEST_CASE("drive_subsystems lets a FeatureFlags of your own switch the subsystems", "[flags]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  auto& global = feature_flags();  // it drives them too: keep it off and quiet
  global.set_log_sink([](std::string_view) {});
  global.use_config_files({dir / "global.json", ""});
  REQUIRE_FALSE(perf_profiler().enabled());
  REQUIRE_FALSE(budget_manager().enabled());

  Flags f(config, "");
  write_text(config, features(R"("enable_perf_profiler_dashboard": true)"));
  REQUIRE(f->reload());
  CHECK_FALSE(perf_profiler().enabled());  // not driving yet
  f->drive_subsystems(true);               // the first drive counts as a change from off
  CHECK(perf_profiler().enabled());
  CHECK_FALSE(budget_manager().enabled());
  f->drive_subsystems(false);
  write_text(config, features(R"("enable_perf_profiler_dashboard": false)"));
  REQUIRE(f->reload());
  CHECK(perf_profiler().enabled());  // not driven any more
  f->drive_subsystems(true);         // catches up with the change it missed
  CHECK_FALSE(perf_profiler().enabled());
  f->drive_subsystems(false);
}

// ---- issue 10: config paths that are not regular files, overrides, log ----

namespace {

// Runs `make` on a thread of its own and waits at most `limit`. On a hang
// (the bug: open() on a FIFO waits for a writer forever) the FIFO's reader is
// released by opening its write end, so the test fails instead of hanging.
template <typename Make>
bool finishes_within(std::chrono::milliseconds limit, const std::string& fifo, Make make) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread t([done, make] {
    make();
    done->store(true);
  });
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done->load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const bool in_time = done->load();
  while (!done->load()) {
    if (!fifo.empty()) {
      const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) ::close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  t.join();
  return in_time;
}

}  // namespace

TEST_CASE("a FIFO, a directory or /dev/zero as config file: refused at once, all off",
          "[flags][robust]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string fifo = dir / "fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const std::string folder = dir / "folder.json";
  REQUIRE(::mkdir(folder.c_str(), 0755) == 0);

  for (const std::string& path : {fifo, folder, std::string("/dev/zero")}) {
    INFO(path);
    std::unique_ptr<Flags> f;
    CHECK(finishes_within(std::chrono::milliseconds(2000), fifo,
                          [&] { f = std::make_unique<Flags>(path, ""); }));
    REQUIRE(f != nullptr);
    check_all_off(**f);
    REQUIRE(f->messages.size() == 1);
    CHECK(contains(f->messages[0], path));
    CHECK(contains(f->messages[0], "not a regular file"));
    CHECK(contains(f->messages[0], "all feature flags are off"));
    // Reads, reloads and the toggle come back too, and the path is untouched.
    (*f)->set_check_interval(std::chrono::milliseconds(0));
    bool toggled = true;
    CHECK(finishes_within(std::chrono::milliseconds(2000), fifo, [&] {
      for (int i = 0; i < 20; ++i) (void)(*f)->perf_enabled();
      (void)(*f)->reload();
      toggled = (*f)->set_perf_enabled(true);
    }));
    CHECK_FALSE(toggled);
    CHECK(contains((*f)->last_error(), "not a regular file"));
    check_all_off(**f);
  }
  struct stat st {};
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
}

TEST_CASE("a FIFO named by COMFYVN_CONFIG at start-up does not block", "[flags][robust]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string fifo = dir / "comfyvn.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  ::setenv("COMFYVN_CONFIG", fifo.c_str(), 1);
  std::vector<std::string> messages;
  std::unique_ptr<FeatureFlags> f;
  comfyvn::perf::os::set_log_sink(
      [&](comfyvn::perf::os::LogLevel, std::string_view m) { messages.emplace_back(m); });
  CHECK(finishes_within(std::chrono::milliseconds(2000), fifo,
                        [&] { f = std::make_unique<FeatureFlags>(); }));
  comfyvn::perf::os::set_log_sink({});
  REQUIRE(f != nullptr);
  check_all_off(*f);
  CHECK(f->config_path() == fifo);
  REQUIRE(messages.size() == 1);
  CHECK(contains(messages[0], "not a regular file (a FIFO)"));
}

TEST_CASE("a reader is never stuck behind another thread's file I/O", "[flags][robust]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  write_text(config, features(R"("enable_perf": true)"));
  Flags f(config, "");
  f->set_check_interval(std::chrono::milliseconds(0));
  // Swap a FIFO in while readers and a toggler run: every call must return.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        (void)f->values();
        (void)f->profiler_enabled();
        reads.fetch_add(1);
      }
    });
  }
  ::unlink(config.c_str());
  REQUIRE(::mkfifo(config.c_str(), 0644) == 0);
  CHECK(finishes_within(std::chrono::milliseconds(2000), config, [&] {
    for (int i = 0; i < 5; ++i) (void)f->set_perf_enabled(i % 2 == 0);
    const int before = reads.load();
    while (reads.load() < before + 100) std::this_thread::yield();
  }));
  stop.store(true);
  for (auto& t : readers) t.join();
  check_all_off(*f);
}

TEST_CASE("overrides from code switch profiler/budgets in memory, not the umbrella",
          "[flags][robust]") {
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  const std::string config = dir / "comfyvn.json";
  write_text(config, features(R"("enable_perf": false)"));
  Flags f(config, "");
  const std::string before = read_text(config);
  std::vector<bool> heard;
  auto sub = f->on_change([&](const comfyvn::perf::FlagChange& c) {
    if (c.profiler_changed) heard.push_back(c.profiler_enabled);
  });
  f->set_profiler_override(true);
  CHECK(f->profiler_enabled());
  CHECK_FALSE(f->budgets_enabled());
  CHECK_FALSE(f->perf_enabled());  // feature_flag keeps reporting the umbrella
  CHECK(f->profiler_override() == std::optional<bool>(true));
  CHECK(f->to_json().at("profiler_override").as_bool());
  CHECK(f->to_json().at("budgets_override").is_null());
  f->set_budgets_override(true);
  CHECK(f->budgets_enabled());
  // The file stays the file: a reload keeps the override, nothing is written.
  REQUIRE(f->reload());
  CHECK(f->profiler_enabled());
  CHECK(read_text(config) == before);
  // An override off wins over a file that says on.
  write_text(config, features(R"("enable_perf": true)"));
  f->set_profiler_override(false);
  REQUIRE(f->reload());
  CHECK(f->perf_enabled());
  CHECK_FALSE(f->profiler_enabled());
  f->set_profiler_override(std::nullopt);
  f->set_budgets_override(std::nullopt);
  CHECK(f->profiler_enabled());  // follows the file again
  CHECK(heard == std::vector<bool>{true, false, true});
}

TEST_CASE("one log sink with levels; 'not found' is an info line", "[flags][robust]") {
  namespace os = comfyvn::perf::os;
  CleanEnv env;
  TempDir dir("comfyvn_flags");
  std::vector<std::pair<os::LogLevel, std::string>> got;
  os::set_log_sink([&](os::LogLevel l, std::string_view m) { got.emplace_back(l, m); });
  const os::LogLevel saved = os::log_level();
  os::set_log_level(os::LogLevel::warning);
  CHECK_FALSE(os::log_enabled(os::LogLevel::info));
  CHECK(os::log_enabled(os::LogLevel::warning));
  {
    FeatureFlags f(FlagFiles{dir / "absent.json", ""});  // quiet by default
    CHECK(f.problems().size() == 1);
  }
  CHECK(got.empty());
  os::set_log_level(os::LogLevel::info);
  {
    FeatureFlags f(FlagFiles{dir / "absent2.json", ""});
  }
  REQUIRE(got.size() == 1);
  CHECK(got[0].first == os::LogLevel::info);
  CHECK(contains(got[0].second, "not found"));
  got.clear();
  const std::string bad = dir / "bad.json";
  write_text(bad, "[");
  os::set_log_level(os::LogLevel::warning);
  {
    FeatureFlags f(FlagFiles{bad, ""});
  }
  REQUIRE(got.size() == 1);
  CHECK(got[0].first == os::LogLevel::warning);
  CHECK(contains(got[0].second, "malformed JSON"));
  got.clear();
  // A per-instance sink still receives every message, whatever its level.
  std::vector<std::string> mine;
  FeatureFlags f(FlagFiles{});
  f.set_log_sink([&](std::string_view m) { mine.emplace_back(m); });
  f.use_config_files({dir / "absent3.json", ""});
  CHECK(mine.size() == 1);
  CHECK(got.empty());
  os::set_log_level(saved);
  os::set_log_sink({});
  os::LogLevel parsed;
  CHECK(os::parse_log_level("debug", parsed));
  CHECK(parsed == os::LogLevel::debug);
  CHECK_FALSE(os::parse_log_level("loud", parsed));
}

TEST_CASE("COMFYVN_PERF_VERSION agrees with meson.build", "[flags]") {
  CHECK(std::string(COMFYVN_PERF_VERSION) == COMFYVN_TEST_PROJECT_VERSION);
  CHECK(std::string(comfyvn::perf::version()) == COMFYVN_PERF_VERSION);
}
