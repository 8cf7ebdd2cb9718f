// The adapter under concurrent load: 64 keep-alive clients while another
// thread records spans, and stop() while clients are mid-request. Runs under
// ThreadSanitizer in the 'concurrency' suite.
#include <comfyvn_perf/http.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_test_support.hpp"

using namespace http_test;
using namespace std::chrono_literals;

namespace {

// Catch2 assertions may not run on client threads: they report here.
class Failures {
 public:
  void add(std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (list_.size() < 10) list_.push_back(std::move(what));
    ++count_;
  }
  int count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return count_;
  }
  std::string summary() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string s;
    for (const auto& f : list_) s += f + "\n";
    return s;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> list_;
  int count_ = 0;
};

}  // namespace

TEST_CASE("64 concurrent keep-alive clients while spans are recorded", "[http][concurrency]") {
  Flags on(true);
  phttp::Options o = test_options();
  o.threads = 4;
  Adapter adapter(o);
  adapter.start();
  const std::uint16_t port = adapter.port();

  constexpr int kClients = 64;
  constexpr int kRequests = 24;
  Failures failures;
  std::atomic<bool> recording{true};
  std::thread recorder([&] {
    while (recording.load(std::memory_order_relaxed)) {
      PERF_SCOPE("recorder", "load");
    }
  });

  std::atomic<int> connected{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Client c(port, /*strict=*/false);
      connected.fetch_add(1);
      if (c.connect_error()) {
        failures.add("client " + std::to_string(i) + ": connect: " + c.connect_error().message());
        return;
      }
      // Every client holds its connection open before any sends, so all 64
      // are served at the same time.
      while (connected.load() < kClients) std::this_thread::yield();
      const std::string id = "client-" + std::to_string(i);
      for (int k = 0; k < kRequests; ++k) {
        Reply r;
        switch (k % 4) {
          case 0:
            r = c.get("/api/perf/health?limit=3");
            break;
          case 1:
            r = c.get("/api/perf/profiler/dashboard");
            break;
          case 2:
            r = c.post("/api/perf/profiler/mark", R"({"name":")" + id + R"("})");
            break;
          default: {
            const std::string job = id + "-" + std::to_string(k);
            r = c.post("/api/perf/budgets/jobs/register", R"({"job_id":")" + job + R"("})");
            if (r.status == 200) {
              r = c.post("/api/perf/budgets/jobs/finish", R"({"job_id":")" + job + R"("})");
            }
          }
        }
        if (r.status != 200 || !r.problem.empty() || r.closed_after) {
          failures.add(id + " request " + std::to_string(k) + ": status " +
                       std::to_string(r.status) + " " + r.ec.message() + " " + r.problem + " " +
                       r.msg.body().substr(0, 200));
          return;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  recording.store(false);
  recorder.join();

  INFO(failures.summary());
  CHECK(failures.count() == 0);
  const auto stats = adapter.stats();
  CHECK(stats.accepted_connections == kClients);
  CHECK(stats.refused_connections == 0);
  CHECK(stats.requests == kClients * (kRequests + kRequests / 4));
}

TEST_CASE("stop() while clients are busy returns promptly", "[http][concurrency]") {
  Flags on(true);
  phttp::Options o = test_options();
  o.threads = 2;
  auto adapter = std::make_unique<Adapter>(o);
  adapter->start();
  const std::uint16_t port = adapter->port();

  std::atomic<bool> running{true};
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&] {
      while (running.load()) {
        Client c(port, /*strict=*/false);
        if (c.connect_error()) return;  // the adapter is gone
        for (;;) {
          const Reply r = c.get("/api/perf/profiler/dashboard");
          if (r.status != 200) break;
          answered.fetch_add(1);
        }
      }
    });
  }
  while (answered.load() < 200) std::this_thread::sleep_for(1ms);
  const auto t0 = std::chrono::steady_clock::now();
  adapter->stop();
  const auto took = std::chrono::steady_clock::now() - t0;
  running.store(false);
  for (auto& t : clients) t.join();
  CHECK(took < 1s);
  CHECK_FALSE(adapter->running());
}
