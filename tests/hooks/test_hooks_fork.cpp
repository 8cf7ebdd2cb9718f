// A forked child (e.g. a render worker) gets working hooks: the parent's
// dispatcher thread does not exist there, so a new one must take over.
#include <comfyvn_perf/runtime/singletons.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

namespace json = boost::json;
using comfyvn::perf::hooks;

TEST_CASE("hooks keep delivering in a forked child", "[hooks][fork]") {
  std::atomic<int> received{0};
  auto sub = hooks().subscribe("fork.test", [&](const json::object&) { received.fetch_add(1); });
  hooks().emit("fork.test", "parent", {});
  hooks().flush();  // the parent's dispatcher is running now
  REQUIRE(received.load() == 1);

  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(30);  // a hang in the child becomes a failure, not a stuck test
    hooks().emit("fork.test", "child", {});
    hooks().flush();
    _exit(received.load() == 2 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  // The parent is unaffected.
  hooks().emit("fork.test", "parent", {});
  hooks().flush();
  CHECK(received.load() == 2);
}
