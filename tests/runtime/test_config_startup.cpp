// The config file alone turns recording on from the first PERF_SCOPE, as
// COMFYVN_ENABLE_PERF=1 does: a program whose only use of the SDK is
// PERF_SCOPE, with `features.enable_perf: true` in its config file, loses no
// span recorded before its first singleton call.
//
// The switch is read at start-up, before main(), so each case runs in a
// fresh process: this program runs itself again with COMFYVN_CONFIG naming a
// file it wrote and COMFYVN_ENABLE_PERF as the case needs. No Catch2: its
// runner must not be what touches the SDK first.
#include <comfyvn_perf/perf.hpp>
#include <comfyvn_perf/runtime/instances.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace {

constexpr int kSpans = 1000;

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  if (!ok) ++failures;
}

std::uint64_t count_of(std::string_view name) {
  std::uint64_t n = 0;
  for (const auto& a : comfyvn::perf::perf_profiler().aggregates())
    if (a.name == name) n += a.count;
  return n;
}

// ---- the child: PERF_SCOPE first, the singletons afterwards ----

// `expect`: umbrella (profiler and budgets on), profiler (the profiler
// only), off, or edited (on at start-up, the file then switched off before
// the first scope: the flags, loaded by that scope's registration, win).
int child(std::string_view expect) {
  namespace rt = comfyvn::perf::detail::runtime;
  const bool on = expect == "umbrella" || expect == "profiler";
  if (expect == "edited") {
    std::ofstream(std::getenv("COMFYVN_CONFIG")) << R"({"features": {"enable_perf": false}})"
                                                 << '\n';
  }
  for (int i = 0; i < kSpans; ++i) {
    PERF_SCOPE("startup.main", "config_startup");
  }
  std::thread worker([] {
    for (int i = 0; i < kSpans; ++i) {
      PERF_SCOPE("startup.worker", "config_startup");
    }
  });
  worker.join();
  // The first thread registration loaded the flags, so the rest of the
  // config applies (budgets follow enable_perf) without a singleton call.
  if (on || expect == "edited") {
    check(rt::instances().flags.load() != nullptr, "flags loaded by the first registration");
    comfyvn::perf::BudgetManager* budgets = rt::instances().budgets.load();
    const bool budgets_on = budgets != nullptr && budgets->enabled();
    check(budgets_on == (expect == "umbrella"), "budgets follow the config");
  }
  // Edited: the scope that loaded the flags began while the switch was on
  // and is recorded whole; none after it.
  const std::uint64_t main_want = on ? kSpans : expect == "edited" ? 1 : 0;
  const std::uint64_t worker_want = on ? kSpans : 0;
  const std::uint64_t main_got = count_of("startup.main");
  const std::uint64_t worker_got = count_of("startup.worker");
  check(main_got == main_want, "main thread: " + std::to_string(main_got) + " spans");
  check(worker_got == worker_want, "second thread: " + std::to_string(worker_got) + " spans");
  check(comfyvn::perf::perf_profiler().enabled() == on, "profiler switch");
  // The start-up switch is the flags' own, never taken for one made from code.
  check(!comfyvn::perf::feature_flags().profiler_override().has_value(), "no override");
  return failures == 0 ? 0 : 1;
}

// ---- the parent: one fresh process per case ----

struct Case {
  const char* name;
  const char* config;      // the config file's text
  const char* enable_env;  // COMFYVN_ENABLE_PERF, or nullptr for unset
  const char* expect;      // umbrella | profiler | off | edited (see child())
};

const Case kCases[] = {
    {"enable_perf", R"({"features": {"enable_perf": true}})", nullptr, "umbrella"},
    {"legacy profiler key",
     R"({"features": {"enable_perf": false, "enable_perf_profiler_dashboard": true}})", nullptr,
     "profiler"},
    {"COMFYVN_ENABLE_PERF=0 wins", R"({"features": {"enable_perf": true}})", "0", "off"},
    {"malformed file", R"({"features": {"enable_perf": true})", nullptr, "off"},
    {"switched off", R"({"features": {"enable_perf": false}})", nullptr, "off"},
    {"edited before the first scope", R"({"features": {"enable_perf": true}})", nullptr,
     "edited"},
};

int run_case(const Case& c, const std::string& dir, int index) {
  const std::string path = dir + "/config" + std::to_string(index) + ".json";
  std::ofstream(path) << c.config << '\n';
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.rfind("COMFYVN_CONFIG=", 0) == 0 || v.rfind("COMFYVN_ENABLE_PERF=", 0) == 0) continue;
    env.emplace_back(v);
  }
  env.push_back("COMFYVN_CONFIG=" + path);
  if (c.enable_env != nullptr) env.push_back(std::string("COMFYVN_ENABLE_PERF=") + c.enable_env);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = "test_config_startup", arg1 = "--child", arg2 = c.expect;
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
  std::printf("== %s (expect %s)\n", c.name, c.expect);
  std::fflush(stdout);
  pid_t pid = -1;
  if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data()) != 0) return 1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return 1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--child") == 0) return child(argv[2]);
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                    "/comfyvn_config_startup.XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  int failed = 0, index = 0;
  for (const Case& c : kCases) failed += run_case(c, dir, index++);
  for (int i = 0; i < index; ++i) std::remove((dir + "/config" + std::to_string(i) + ".json").c_str());
  ::rmdir(dir.c_str());
  std::printf("%s: %d of %d cases failed\n", failed == 0 ? "ok" : "FAIL", failed, index);
  return failed == 0 ? 0 : 1;
}
