// budget_manager() through the old flat header, which still
// provides budget_manager() (now defined by the runtime layer). Kept apart
// from the fixture: the runtime pulls in every part, and this file names
// Boost.JSON in full so no namespace alias can clash with the SDK's own.
#include <comfyvn_perf/budget/manager.hpp>
#include <comfyvn_perf/runtime/singletons.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>  // waitpid
#include <unistd.h>    // fork, alarm, _exit

#include <memory>  // make_shared
#include <string>  // ids

using namespace comfyvn::perf;

namespace {

std::string numbered(std::string prefix, int n) {
  return prefix.append(std::to_string(n));
}

}  // namespace

TEST_CASE("the process-wide instance", "[budget]") {
  CHECK(&budget_manager() == &budget_manager());
  CHECK_FALSE(budget_manager().enabled());
}

TEST_CASE("a forked child can use the process-wide instance", "[budget][fork]") {
  auto& mgr = budget_manager();
  mgr.set_metrics_provider(std::make_shared<ManualMetricsProvider>());
  REQUIRE(mgr.configure(boost::json::object{{"evaluation_interval", 0.1}}).ok());
  mgr.set_enabled(true);
  for (int i = 0; i < 20; ++i) {
    // Fork while the sampler thread and this one both use the manager.
    REQUIRE(mgr.register_job(numbered("parent-", i)).ok());
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      alarm(20);  // a lock inherited in the held state would hang here
      const bool ok = !mgr.enabled() && mgr.register_job(numbered("child-", i)).ok() &&
                      mgr.finish_job(numbered("child-", i)).ok() &&
                      !mgr.snapshot().at("jobs").as_array().empty();
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    REQUIRE(mgr.finish_job(numbered("parent-", i)).ok());
  }
  CHECK(mgr.enabled());
  mgr.set_enabled(false);
  mgr.set_metrics_provider(nullptr);
  REQUIRE(mgr.configure(BudgetLimits{}).ok());
}
