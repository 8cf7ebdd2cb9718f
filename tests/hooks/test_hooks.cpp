// Hooks: dispatcher thread, ordering, bounded queue, errors, flush,
// subscription lifetime, and the profiler / budget manager as emitters.
#include <comfyvn_perf/hooks/bus.hpp>
#include <comfyvn_perf/os/time.hpp>
#include <comfyvn_perf/profiler/registry.hpp>  // detail::registry()

#include <catch2/catch.hpp>

#include <comfyvn_perf/perf.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
using comfyvn::perf::Hooks;
using comfyvn::perf::hooks;
using comfyvn::perf::kBudgetEvent;
using comfyvn::perf::kProfilerEvent;
using comfyvn::perf::perf_profiler;
using comfyvn::perf::Subscription;

namespace {

// A one-shot gate: wait() blocks until open().
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return open_; });
  }
  bool is_open() {
    std::lock_guard<std::mutex> l(mu_);
    return open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Collects envelopes together with the thread that delivered them.
struct Collector {
  std::mutex mu;
  std::vector<json::object> events;
  std::set<std::thread::id> threads;

  Hooks::Callback callback() {
    return [this](const json::object& e) {
      std::lock_guard<std::mutex> l(mu);
      events.push_back(e);
      threads.insert(std::this_thread::get_id());
    };
  }
  std::size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return events.size();
  }
};

}  // namespace

TEST_CASE("events arrive on the dispatcher thread as {trigger, payload, timestamp}", "[hooks]") {
  Hooks h;
  Collector c;
  auto sub = h.subscribe("test.envelope", c.callback());
  REQUIRE(sub);
  const double before = comfyvn::perf::os::epoch_now();
  h.emit("test.envelope", "thing.happened",
         {{"n", 1}, {"file", "/home/alice/scene.png"}, {"password", "hunter2"}});
  h.flush();
  REQUIRE(c.size() == 1);
  CHECK(c.threads.count(std::this_thread::get_id()) == 0);
  const json::object& e = c.events[0];
  CHECK(e.size() == 3);
  CHECK(e.at("trigger").as_string() == "thing.happened");
  const double ts = e.at("timestamp").as_double();
  CHECK(ts >= before);
  CHECK(ts <= comfyvn::perf::os::epoch_now());
  const json::object& p = e.at("payload").as_object();
  CHECK(p.at("n").as_int64() == 1);
  CHECK(p.at("password").as_string() == "[redacted]");
  const std::string file(p.at("file").as_string());
  CHECK(file.rfind("<path:", 0) == 0);
  CHECK(file.find("alice") == std::string::npos);
  const auto s = h.stats();
  CHECK(s.emitted == 1);
  CHECK(s.delivered == 1);
  CHECK(s.dropped == 0);
  CHECK(s.subscriber_errors == 0);
}

TEST_CASE("order is preserved per event name, emitters never deliver", "[hooks][concurrency]") {
  Hooks h;
  h.set_queue_capacity(100000);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::mutex mu;
  std::map<std::pair<std::string, std::int64_t>, std::vector<std::int64_t>> seen;
  std::set<std::thread::id> delivery_threads;
  auto record = [&](const json::object& e) {
    const auto& p = e.at("payload").as_object();
    std::lock_guard<std::mutex> l(mu);
    seen[{std::string(e.at("trigger").as_string()), p.at("thread").as_int64()}].push_back(
        p.at("seq").as_int64());
    delivery_threads.insert(std::this_thread::get_id());
  };
  auto a = h.subscribe("order.a", record);
  auto b = h.subscribe("order.b", record);
  std::vector<std::thread> threads;
  std::set<std::thread::id> emitters;
  std::mutex emitters_mu;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      {
        std::lock_guard<std::mutex> l(emitters_mu);
        emitters.insert(std::this_thread::get_id());
      }
      for (int i = 0; i < kPerThread; ++i) {
        const char* ev = i % 2 == 0 ? "order.a" : "order.b";
        h.emit(ev, ev, {{"thread", t}, {"seq", i}});
      }
    });
  }
  for (auto& t : threads) t.join();
  h.flush();
  REQUIRE(seen.size() == 2 * kThreads);
  for (const auto& [key, seqs] : seen) {
    INFO(key.first << " from thread " << key.second);
    REQUIRE(seqs.size() == kPerThread / 2);
    for (std::size_t i = 1; i < seqs.size(); ++i) CHECK(seqs[i] > seqs[i - 1]);
  }
  REQUIRE(delivery_threads.size() == 1);
  CHECK(emitters.count(*delivery_threads.begin()) == 0);
  CHECK(delivery_threads.count(std::this_thread::get_id()) == 0);
  CHECK(h.stats().delivered == static_cast<std::uint64_t>(kThreads * kPerThread));
}

TEST_CASE("a slow subscriber cannot block emitters: the queue is bounded, drops are counted",
          "[hooks][concurrency]") {
  Hooks h;
  h.set_queue_capacity(4);
  Gate entered, release;
  std::vector<std::int64_t> got;
  auto sub = h.subscribe("slow", [&](const json::object& e) {
    if (!entered.is_open()) {
      entered.open();
      release.wait();
    }
    got.push_back(e.at("payload").at("i").as_int64());
  });
  h.emit("slow", "t", {{"i", 0}});
  entered.wait();  // the dispatcher holds event 0; the queue is empty
  for (int i = 1; i <= 7; ++i) h.emit("slow", "t", {{"i", i}});  // 4 fit, 3 do not
  auto s = h.stats();
  CHECK(s.emitted == 8);
  CHECK(s.dropped == 3);
  CHECK(s.delivered == 0);
  release.open();
  h.flush();
  CHECK(got == std::vector<std::int64_t>{0, 1, 2, 3, 4});
  s = h.stats();
  CHECK(s.delivered == 5);
  CHECK(s.emitted == s.delivered + s.dropped);
}

TEST_CASE("dropped events are reported in perf_profiler().health()", "[hooks][concurrency]") {
  auto& h = hooks();
  const std::size_t old_capacity = h.queue_capacity();
  h.set_queue_capacity(2);
  const auto dropped_before =
      perf_profiler().health().at("hooks").at("dropped").to_number<std::uint64_t>();
  Gate entered, release;
  auto sub = h.subscribe("test.health", [&](const json::object&) {
    if (!entered.is_open()) {
      entered.open();
      release.wait();
    }
  });
  h.emit("test.health", "t", {});
  entered.wait();
  for (int i = 0; i < 5; ++i) h.emit("test.health", "t", {});  // 2 queued, 3 dropped
  const auto dropped_after =
      perf_profiler().health().at("hooks").at("dropped").to_number<std::uint64_t>();
  release.open();
  h.flush();
  h.set_queue_capacity(old_capacity);
  CHECK(dropped_after - dropped_before == 3);
}

TEST_CASE("a throwing subscriber is caught and counted; others still receive", "[hooks]") {
  Hooks h;
  Collector good;
  auto t1 = h.subscribe("boom", [](const json::object&) { throw std::runtime_error("mod bug"); });
  auto t2 = h.subscribe("boom", [](const json::object&) { throw 42; });
  auto g = h.subscribe("boom", good.callback());
  for (int i = 0; i < 3; ++i) h.emit("boom", "t", {{"i", i}});
  h.flush();
  CHECK(good.size() == 3);
  const auto s = h.stats();
  CHECK(s.subscriber_errors == 6);
  CHECK(s.delivered == 3);
  CHECK(s.dropped == 0);
}

TEST_CASE("flush waits for every event emitted before it", "[hooks]") {
  Hooks h;
  std::atomic<int> done{0};
  auto sub = h.subscribe("slowish", [&](const json::object&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    done.fetch_add(1);
  });
  for (int i = 0; i < 30; ++i) h.emit("slowish", "t", {});
  h.flush();
  CHECK(done.load() == 30);
  h.flush();  // nothing pending: returns at once
  CHECK(done.load() == 30);
}

TEST_CASE("flush from inside a callback does not deadlock; callbacks may emit", "[hooks]") {
  Hooks h;
  Collector second;
  auto s2 = h.subscribe("second", second.callback());
  auto s1 = h.subscribe("first", [&](const json::object&) {
    h.flush();  // returns at once on the dispatcher
    h.emit("second", "chained", {});
  });
  h.emit("first", "t", {});
  h.flush();  // delivers "first", which queues "second"
  h.flush();  // delivers "second"
  CHECK(second.size() == 1);
}

TEST_CASE("the handle unsubscribes when destroyed; moves and reset", "[hooks]") {
  Hooks h;
  Collector c;
  {
    Subscription s = h.subscribe("life", c.callback());
    CHECK(h.has_subscribers("life"));
    h.emit("life", "t", {});
    h.flush();
  }
  CHECK(c.size() == 1);
  CHECK_FALSE(h.has_subscribers("life"));
  const auto before = h.stats().emitted;
  h.emit("life", "t", {});
  h.flush();
  CHECK(c.size() == 1);
  CHECK(h.stats().emitted == before);  // nobody listening: nothing queued or counted

  Subscription a = h.subscribe("life", c.callback());
  Subscription b = std::move(a);
  CHECK_FALSE(a);
  CHECK(b);
  CHECK(h.has_subscribers("life"));
  b.reset();
  CHECK_FALSE(b);
  CHECK_FALSE(h.has_subscribers("life"));
  CHECK_FALSE(h.subscribe("life", nullptr));
}

TEST_CASE("unsubscribing waits for a running callback", "[hooks][concurrency]") {
  Hooks h;
  Gate entered, release;
  std::atomic<bool> callback_done{false};
  auto sub = std::make_unique<Subscription>(h.subscribe("wait", [&](const json::object&) {
    entered.open();
    release.wait();
    callback_done.store(true);
  }));
  h.emit("wait", "t", {});
  entered.wait();
  std::atomic<bool> reset_returned{false};
  std::thread t([&] {
    sub.reset();
    reset_returned.store(true);
  });
  // The callback cannot finish before release, so neither can the reset.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(reset_returned.load());
  release.open();
  t.join();
  CHECK(callback_done.load());
  h.flush();
}

TEST_CASE("a subscriber sees only events emitted after it subscribed", "[hooks]") {
  Hooks h;
  Gate entered, release;
  auto first = h.subscribe("late", [&](const json::object&) {
    if (!entered.is_open()) {
      entered.open();
      release.wait();
    }
  });
  h.emit("late", "t", {{"i", 0}});
  entered.wait();
  h.emit("late", "t", {{"i", 1}});  // queued before the next subscriber exists
  Collector late;
  auto second = h.subscribe("late", late.callback());
  release.open();
  h.flush();
  CHECK(late.size() == 0);
  h.emit("late", "t", {{"i", 2}});
  h.flush();
  REQUIRE(late.size() == 1);
  CHECK(late.events[0].at("payload").at("i").as_int64() == 2);
}

TEST_CASE("a callback may unsubscribe itself", "[hooks]") {
  Hooks h;
  int calls = 0;
  Subscription self;
  self = h.subscribe("once", [&](const json::object&) {
    ++calls;
    self.reset();
  });
  h.emit("once", "t", {});
  h.flush();
  h.emit("once", "t", {});
  h.flush();
  CHECK(calls == 1);
  CHECK_FALSE(h.has_subscribers("once"));
}

TEST_CASE("has_subscribers is per event name", "[hooks]") {
  Hooks h;
  CHECK_FALSE(h.has_subscribers("a"));
  auto s = h.subscribe("a", [](const json::object&) {});
  CHECK(h.has_subscribers("a"));
  CHECK_FALSE(h.has_subscribers("b"));
  CHECK_FALSE(h.has_subscribers(kProfilerEvent));
  CHECK_FALSE(h.has_subscribers(kBudgetEvent));
  auto p = h.subscribe(std::string(kProfilerEvent), [](const json::object&) {});
  CHECK(h.has_subscribers(kProfilerEvent));
  CHECK_FALSE(h.has_subscribers(kBudgetEvent));
}

TEST_CASE("any event name gets the lock-free subscriber check", "[hooks]") {
  Hooks h;
  // A topic taken before anyone subscribes sees later subscriptions.
  const Hooks::Topic early = h.topic("mod.level_loaded");
  CHECK_FALSE(early.has_subscribers());
  auto a = h.subscribe("mod.level_loaded", [](const json::object&) {});
  auto b = h.subscribe("mod.level_loaded", [](const json::object&) {});
  const Hooks::Topic late = h.topic("mod.level_loaded");
  CHECK(early.has_subscribers());
  CHECK(late.has_subscribers());
  CHECK(h.has_subscribers("mod.level_loaded"));
  CHECK_FALSE(h.has_subscribers("mod.level_loade"));  // a prefix is another name
  CHECK_FALSE(h.has_subscribers(""));
  a.reset();
  CHECK(early.has_subscribers());
  b.reset();
  CHECK_FALSE(early.has_subscribers());
  CHECK_FALSE(late.has_subscribers());
  CHECK_FALSE(h.has_subscribers("mod.level_loaded"));
  CHECK_FALSE(Hooks::Topic().has_subscribers());
}

TEST_CASE("more event names than the counter table holds still work", "[hooks]") {
  Hooks h;
  std::vector<Subscription> subs;
  std::atomic<int> calls{0};
  const int names = 300;  // well past the table's room
  for (int i = 0; i < names; ++i) {
    subs.push_back(h.subscribe("many." + std::to_string(i), [&](const json::object&) { ++calls; }));
  }
  for (int i = 0; i < names; ++i) {
    const std::string name = "many." + std::to_string(i);
    REQUIRE(h.has_subscribers(name));
    REQUIRE(h.topic(name).has_subscribers());
    h.emit(name, "t", {});
  }
  CHECK_FALSE(h.has_subscribers("many.absent"));
  CHECK_FALSE(h.topic("many.absent").has_subscribers());
  h.flush();
  CHECK(calls.load() == names);
  subs.clear();
  for (int i = 0; i < names; ++i) REQUIRE_FALSE(h.has_subscribers("many." + std::to_string(i)));
}

TEST_CASE("subscribing from many threads keeps the per-name counts exact", "[hooks][concurrency]") {
  Hooks h;
  const Hooks::Topic topic = h.topic("busy");
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  auto keep = h.subscribe("other", [](const json::object&) {});
  std::thread reader([&] {
    while (!stop.load()) {
      // "other" always has a subscriber below; "busy" may or may not.
      if (!h.has_subscribers("other")) wrong.fetch_add(1);
      (void)topic.has_subscribers();
      (void)h.has_subscribers("busy");
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        auto s = h.subscribe(i % 2 ? "busy" : "name." + std::to_string(t * 1000 + i % 50),
                             [](const json::object&) {});
      }
    });
  }
  for (auto& w : writers) w.join();
  stop.store(true);
  reader.join();
  CHECK(wrong.load() == 0);
  CHECK_FALSE(topic.has_subscribers());
  CHECK_FALSE(h.has_subscribers("busy"));
  CHECK(h.has_subscribers("other"));
}

namespace {

struct ProfilerOn {
  ProfilerOn() {
    perf_profiler().set_enabled(false);
    // No periodic collection: batches then come only from thread exit and
    // explicit reads, which makes their number exact.
    comfyvn::perf::detail::registry().set_collect_interval(std::chrono::hours(1));
    perf_profiler().set_enabled(true);
    perf_profiler().reset();
  }
  ~ProfilerOn() {
    perf_profiler().set_enabled(false);
    comfyvn::perf::detail::registry().set_collect_interval(std::chrono::milliseconds(20));
  }
};

void record_on_thread(const char* name, int n, std::thread::id* id = nullptr) {
  std::thread t([&] {
    if (id) *id = std::this_thread::get_id();
    for (int i = 0; i < n; ++i) {
      PERF_SCOPE_DYN(name, "hooks");
    }
  });
  t.join();
}

}  // namespace

TEST_CASE("spans reach hooks in batches, and only when someone subscribed",
          "[hooks][concurrency]") {
  ProfilerOn on;
  auto& h = hooks();
  h.flush();

  // Nobody subscribed: recording and reading emit nothing.
  const auto before = h.stats().emitted;
  record_on_thread("unheard", 100);
  (void)perf_profiler().aggregates();
  (void)perf_profiler().dashboard();
  h.flush();
  CHECK(h.stats().emitted == before);

  Collector c;
  auto sub = h.subscribe(std::string(kProfilerEvent), c.callback());
  std::thread::id recorder;
  record_on_thread("heard", 100, &recorder);
  (void)perf_profiler().aggregates();
  h.flush();
  std::uint64_t batches = 0, spans = 0;
  {
    std::lock_guard<std::mutex> l(c.mu);
    for (const auto& e : c.events) {
      if (e.at("trigger").as_string() != "span.recorded") continue;
      ++batches;
      const auto& p = e.at("payload").as_object();
      const auto& list = p.at("spans").as_array();
      CHECK(p.at("count").to_number<std::size_t>() == list.size());
      for (const auto& s : list) {
        if (s.at("name").as_string() == "heard") ++spans;
      }
    }
    CHECK(c.threads.count(recorder) == 0);
    CHECK(c.threads.count(std::this_thread::get_id()) == 0);
  }
  CHECK(spans == 100);
  CHECK(batches == 1);

  // Unsubscribed again: back to nothing.
  sub.reset();
  const auto after = h.stats().emitted;
  record_on_thread("unheard", 100);
  (void)perf_profiler().aggregates();
  h.flush();
  CHECK(h.stats().emitted == after);
}

TEST_CASE("the profiler's events: marks, snapshots and resets, anonymised", "[hooks]") {
  ProfilerOn on;
  Collector c;
  auto sub = hooks().subscribe(std::string(kProfilerEvent), c.callback());
  perf_profiler().mark("asset.loaded", "io",
                       {{"file", "/home/alice/scene01.png"}, {"api_key", "sk-123"}, {"ms", 4}});
  (void)perf_profiler().dashboard(3);
  perf_profiler().reset();
  hooks().flush();
  std::map<std::string, json::object> by_trigger;
  {
    std::lock_guard<std::mutex> l(c.mu);
    for (const auto& e : c.events) by_trigger[std::string(e.at("trigger").as_string())] = e;
  }
  REQUIRE(by_trigger.count("mark.emitted") == 1);
  REQUIRE(by_trigger.count("snapshot.generated") == 1);
  REQUIRE(by_trigger.count("reset") == 1);
  const std::string mark = json::serialize(by_trigger["mark.emitted"]);
  CHECK(mark.find("alice") == std::string::npos);
  CHECK(mark.find("sk-123") == std::string::npos);
  const auto& meta = by_trigger["mark.emitted"].at("payload").at("metadata").as_object();
  CHECK(meta.at("ms").as_int64() == 4);
  CHECK(meta.at("api_key").as_string() == "[redacted]");
  CHECK(std::string(meta.at("file").as_string()).find(".png>") != std::string::npos);
}

TEST_CASE("the budget manager emits through hooks", "[hooks]") {
  Collector c;
  auto sub = hooks().subscribe(std::string(kBudgetEvent), c.callback());
  auto& b = comfyvn::perf::budget_manager();
  const auto limits = b.limits();
  (void)b.configure(json::object{{"max_running_jobs", 2}});
  (void)b.configure(limits);
  hooks().flush();
  std::lock_guard<std::mutex> l(c.mu);
  REQUIRE(c.events.size() >= 1);
  CHECK(c.events[0].at("trigger").as_string() == "limits.updated");
  CHECK(c.threads.count(std::this_thread::get_id()) == 0);
}
