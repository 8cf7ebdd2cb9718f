// render_loop: a simulated renderer instrumented with comfyvn_perf.
//
// Per frame: frame > update, cull, draw > draw_batch x N, present, then
// PERF_FRAME(). A mark every 60 frames. Draw batches allocate vertex data,
// which the allocation hook attributes to the spans. A small worker pool runs
// "render jobs" admitted by the BudgetManager, and "textures" are registered,
// touched and evicted as the camera moves over a strip of tiles.
//
//   render_loop [--port N] [--enable-perf] [--duration SECONDS] [--config PATH] [--idle]
//               [--trace PATH] [--snapshot PATH] [--spike-every N] [--token TOKEN]
//               [--token-file PATH]   (or COMFYVN_PERF_TOKEN: a --token shows in `ps`)
//
// --trace PATH writes a Chrome trace (Perfetto UI, chrome://tracing,
// speedscope) of the run's last kTraceSeconds at exit; --snapshot PATH writes
// the dashboard JSON at exit (what tools/perf_diff compares); --spike-every N
// makes every Nth frame at least three times slower than the others.
//
// Without --port and --config the demo turns perf on for its own process (as
// COMFYVN_ENABLE_PERF=1 would; the config file is never written). With --port
// or --config the flags come from the config file unless --enable-perf is given,
// so the HTTP tour can show both the 403 and the 200 answers.
// The SDK's definitions come from this program's implementation file,
// examples/perf_impl.cpp (COMFYVN_PERF_IMPLEMENTATION, docs/integration.md).
#include <comfyvn_perf/alloc_hook.hpp>  // memory attribution: this file only

#include <comfyvn_perf/perf.hpp>

#if COMFYVN_EXAMPLES_HTTP
#include <comfyvn_perf/http.hpp>
#endif

#include <fmt/core.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace perf = comfyvn::perf;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true);
}

struct Args {
  std::optional<int> port;
  bool enable_perf = false;
  double duration = 10.0;
  std::string config;
  bool idle = false;
  std::string trace;
  std::string snapshot;
  std::string token;
  std::uint64_t spike_every = 0;
};

// How much of the end of the run --trace keeps.
constexpr std::chrono::seconds kTraceSeconds{5};

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "render_loop: %s\n", why);
  std::fprintf(stderr,
               "usage: render_loop [--port N] [--enable-perf] [--duration SECONDS] "
               "[--config PATH] [--idle] [--trace PATH] [--snapshot PATH] [--spike-every N] "
               "[--token TOKEN | --token-file PATH]\n"
               "  the token may also come from COMFYVN_PERF_TOKEN; --token shows in `ps`\n");
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--port") {
      const std::string v = value();
      char* end = nullptr;
      const long p = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || p < 0 || p > 65535) usage("--port must be 0-65535");
      a.port = static_cast<int>(p);
    } else if (arg == "--enable-perf") {
      a.enable_perf = true;
    } else if (arg == "--duration") {
      const std::string v = value();
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(d >= 0) || d > 1e7) usage("--duration must be >= 0");
      a.duration = d;
    } else if (arg == "--config") {
      a.config = value();
    } else if (arg == "--idle") {
      a.idle = true;
    } else if (arg == "--token") {
      a.token = value();
      if (a.token.empty()) usage("--token needs a value");
    } else if (arg == "--token-file") {
      const std::string path = value();
#if COMFYVN_EXAMPLES_HTTP
      std::string problem, warning;
      if (!perf::http::read_token_file(path, a.token, problem, warning)) usage(problem.c_str());
      if (!warning.empty()) std::fprintf(stderr, "render_loop: warning: %s\n", warning.c_str());
#else
      usage("--token-file needs the HTTP adapter");
#endif
    } else if (arg == "--trace") {
      a.trace = value();
      if (a.trace.empty()) usage("--trace needs a file path");
    } else if (arg == "--snapshot") {
      a.snapshot = value();
      if (a.snapshot.empty()) usage("--snapshot needs a file path");
    } else if (arg == "--spike-every") {
      const std::string v = value();
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 1000000) usage("--spike-every must be 1-1000000");
      a.spike_every = static_cast<std::uint64_t>(n);
    } else if (arg == "--help" || arg == "-h") {
      usage(nullptr);
    } else {
      usage(("unknown argument " + arg).c_str());
    }
  }
  return a;
}

// Busy work that the optimiser cannot remove; `us` is roughly microseconds.
double burn(double us) {
  const auto end = Clock::now() + std::chrono::duration<double, std::micro>(us);
  double x = 1.0;
  while (Clock::now() < end) {
    for (int i = 0; i < 64; ++i) x = std::sqrt(x + i);
  }
  return x;
}

// ---------------------------------------------------------------------------
// Render jobs: registered with resource hints, started and finished through
// the budget manager by a small worker pool.
// ---------------------------------------------------------------------------
class JobPool {
 public:
  explicit JobPool(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i) {
      threads_.emplace_back([this, i] {
        // Named in traces, and set up before the first job's span.
        perf::set_thread_name("job worker " + std::to_string(i + 1));
        perf::register_this_thread();
        run();
      });
    }
  }
  ~JobPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void submit(int n, std::mt19937& rng) {
    const std::string id = "render-" + std::to_string(n);
    std::uniform_real_distribution<double> cpu(2.0, 15.0);
    std::uniform_int_distribution<int> ram(32, 256), vram(64, 768);
    boost::json::object payload{{"perf", boost::json::object{{"cpu_percent", cpu(rng)},
                                                             {"ram_mb", ram(rng)},
                                                             {"vram_mb", vram(rng)}}},
                                {"scene", "tile-" + std::to_string(n % 16)}};
    const auto r = perf::budget_manager().register_job(id, "render", std::move(payload));
    if (!r.ok()) return;  // queue full or budgets off: this frame skips a job
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(id);
    }
    cv_.notify_one();
  }

  std::size_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }

 private:
  void run() {
    std::mt19937 rng(std::random_device{}());
    for (;;) {
      std::string id;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(50),
                     [&] { return stopping_ || !pending_.empty(); });
        if (stopping_) return;
        if (pending_.empty()) continue;
        id = std::move(pending_.front());
        pending_.pop_front();
      }
      auto& bm = perf::budget_manager();
      const auto started = bm.start_job(id);
      if (!started.ok()) {
        if (started.error == perf::BudgetError::conflict) {
          // Not admissible yet (job cap, CPU, RAM or VRAM): try again later.
          std::lock_guard<std::mutex> lock(mu_);
          pending_.push_back(std::move(id));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      {
        PERF_SCOPE("render_job", "jobs");
        std::uniform_real_distribution<double> cost(2'000, 12'000);
        std::vector<float> tile(64 * 1024);  // attributed to the job span
        tile[0] = static_cast<float>(burn(cost(rng) / 4));
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int>(cost(rng))));
      }
      bm.finish_job(id, "complete");
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> pending_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------
// Textures: the camera moves along a strip of tiles; visible tiles are
// registered (lazily "loaded") and touched, the LRU evicts what scrolled away.
// ---------------------------------------------------------------------------
class TextureStreamer {
 public:
  void update(double camera_x) {
    PERF_SCOPE("stream_textures", "assets");
    auto& bm = perf::budget_manager();
    const int first = static_cast<int>(camera_x / 10.0);
    for (int tile = first; tile < first + 4; ++tile) {
      const std::string id = "texture/tile_" + std::to_string(tile) + ".ktx";
      if (bm.touch_asset(id).ok()) continue;  // reloads it (load handler) if evicted
      const double size_mb = tile_mb(tile);
      perf::note_alloc(static_cast<std::size_t>(size_mb * 1024 * 1024));  // the "GPU upload"
      bm.register_asset(
          id, size_mb, {{"kind", "texture"}, {"tile", tile}},
          [this](const std::string&, const boost::json::object& meta, perf::EvictionCause) {
            unloaded_.fetch_add(1);
            perf::note_free(static_cast<std::size_t>(tile_mb(meta.at("tile").to_number<int>()) *
                                                     1024 * 1024));
          },
          [](const std::string&, const boost::json::object& meta) {
            // Uploaded again: the next eviction frees it again.
            perf::note_alloc(static_cast<std::size_t>(
                tile_mb(meta.at("tile").to_number<int>()) * 1024 * 1024));
          });
      registered_.push_back(id);
    }
    // The camera only moves forward: tiles far behind it will not be seen
    // again, so they are unregistered and the registry stays bounded (a
    // loaded one is unloaded first, through its handler).
    while (registered_.size() > kKeptTiles) {
      bm.unregister_asset(registered_.front());
      registered_.pop_front();
    }
    PERF_COUNTER("textures_resident", bm.health_data().assets_loaded);
  }
  std::uint64_t unloaded() const { return unloaded_.load(); }

 private:
  static constexpr std::size_t kKeptTiles = 32;
  static double tile_mb(int tile) { return 16.0 + (tile % 4) * 16.0; }

  std::atomic<std::uint64_t> unloaded_{0};
  std::deque<std::string> registered_;  // oldest first; update() runs on one thread
};

// ---------------------------------------------------------------------------
// One frame of the simulated renderer.
// ---------------------------------------------------------------------------
double render_frame(std::uint64_t frame, std::mt19937& rng, bool spike) {
  PERF_SCOPE("frame", "render");
  double sink = 0;
  if (spike) {
    // A hitch on purpose (a shader compile, a blocking load): the frame
    // interval grows to more than three vsync intervals.
    PERF_SCOPE("hitch", "render");
    sink += burn(5'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  {
    PERF_SCOPE("update", "render");
    sink += burn(600 + 300 * std::sin(frame * 0.05));
  }
  {
    PERF_SCOPE("cull", "render");
    sink += burn(250);
  }
  {
    PERF_SCOPE("draw", "render");
    std::uniform_int_distribution<int> batches(4, 12);
    const int n = batches(rng);
    for (int b = 0; b < n; ++b) {
      PERF_SCOPE("draw_batch", "render");
      sink += burn(70 + 30 * (b % 4));  // state changes, command recording
      {
        PERF_SCOPE("upload", "render");
        std::vector<float> vertices(4096 * (1 + b % 3));  // per-batch upload buffer
        vertices[0] = static_cast<float>(b);
        sink += burn(50 + 10 * (b % 3)) + vertices[0];
      }
    }
    PERF_COUNTER("draw_calls", n);
  }
  {
    PERF_SCOPE("present", "render");
    sink += burn(150);
  }
  return sink;
}

void print_status(bool tty, double elapsed, std::uint64_t frames, const TextureStreamer& tex) {
  auto& prof = perf::perf_profiler();
  const auto rows = prof.aggregates();
  const perf::FrameStats fs = prof.frames();
  const boost::json::object bh = perf::budget_manager().health();
  const auto& q = bh.at("queue").as_object();
  const auto& as = bh.at("assets").as_object();
  const auto num = [](const boost::json::value& v) { return v.to_number<double>(); };
  if (!tty) {
    const auto* top = rows.empty() ? nullptr : &rows.front();
    fmt::print(
        "t={:.0f}s frames={} frame_avg={:.2f}ms frame_p95={:.2f}ms top={} ({:.1f} ms) "
        "queued={} delayed={} running={} assets_loaded_mb={:.0f}\n",
        elapsed, frames, fs.avg_ms, fs.p95_ms, top ? top->name : "-", top ? top->total_ms : 0.0,
        num(q.at("queued")), num(q.at("delayed")), num(q.at("running")), num(as.at("loaded_mb")));
    std::fflush(stdout);
    return;
  }
  std::string out = "\x1b[H\x1b[2J";  // home + clear: redraw in place
  out += fmt::format("comfyvn_perf render_loop  t={:.0f}s  frames={}  profiler={}  budgets={}\n\n",
                     elapsed, frames, prof.enabled() ? "on" : "off",
                     perf::budget_manager().enabled() ? "on" : "off");
  out += fmt::format("frame time  avg {:6.2f} ms   p95 {:6.2f} ms   max {:6.2f} ms\n\n", fs.avg_ms,
                     fs.p95_ms, fs.max_ms);
  out += fmt::format("{:<16} {:<8} {:>9} {:>11} {:>9} {:>9} {:>10}\n", "span", "category", "count",
                     "total ms", "avg ms", "p95 ms", "total KiB");
  for (std::size_t i = 0; i < rows.size() && i < 5; ++i) {
    const auto& r = rows[i];
    out += fmt::format("{:<16} {:<8} {:>9} {:>11.1f} {:>9.3f} {:>9.3f} {:>10.0f}\n", r.name,
                       r.category, r.count, r.total_ms, r.avg_ms, r.p95_ms, r.total_kb);
  }
  out += fmt::format("\njobs   queued {}  delayed {}  running {}  seen {}\n", num(q.at("queued")),
                     num(q.at("delayed")), num(q.at("running")), num(q.at("seen_jobs")));
  out += fmt::format("assets registered {}  loaded {}  loaded {:.0f} MB  unloaded so far {}\n",
                     num(as.at("registered")), num(as.at("loaded")), num(as.at("loaded_mb")),
                     tex.unloaded());
  out += "\nCtrl-C to stop.\n";
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

void print_summary() {
  auto& prof = perf::perf_profiler();
  const auto rows = prof.aggregates();
  const perf::FrameStats fs = prof.frames();
  fmt::print("\nTop offenders by total time\n");
  fmt::print("{:<16} {:<8} {:>9} {:>11} {:>9} {:>9} {:>9} {:>10}\n", "span", "category", "count",
             "total ms", "avg ms", "p95 ms", "max ms", "total KiB");
  for (std::size_t i = 0; i < rows.size() && i < 8; ++i) {
    const auto& r = rows[i];
    fmt::print("{:<16} {:<8} {:>9} {:>11.1f} {:>9.3f} {:>9.3f} {:>9.3f} {:>10.0f}\n", r.name,
               r.category, r.count, r.total_ms, r.avg_ms, r.p95_ms, r.max_ms, r.total_kb);
  }
  if (fs.count > 0) {
    fmt::print("frames {}  avg {:.2f} ms  p95 {:.2f} ms  max {:.2f} ms\n", fs.count, fs.avg_ms,
               fs.p95_ms, fs.max_ms);
  }
  if (rows.empty()) {
    fmt::print("(no spans: the profiler is disabled; try --enable-perf)\n");
    std::fflush(stdout);
    return;
  }
  fmt::print("\nSpan budgets\n{:<10} {:<8} {:>8} {:>8} {:>13} {:>13} {:>7}  {}\n", "site",
             "category", "p95 ms", "max ms", "observed p95", "observed max", "over", "state");
  const auto opt = [](const std::optional<double>& v) {
    return v ? fmt::format("{:.2f}", *v) : std::string("-");
  };
  for (const auto& b : prof.span_budgets()) {
    fmt::print("{:<10} {:<8} {:>8} {:>8} {:>13} {:>13} {:>7}  {}\n", b.name,
               b.category.empty() ? "*" : b.category, opt(b.p95_ms), opt(b.max_ms),
               opt(b.observed_p95_ms), opt(b.observed_max_ms), b.over_count, b.state);
  }
  const auto spikes = prof.spikes();
  if (!spikes.empty()) {
    fmt::print("spikes kept: {} (newest: #{}, {:.1f} ms, {} spans; GET /api/perf/profiler/spikes)\n",
               spikes.size(), spikes.front().id, spikes.front().frame_ms, spikes.front().spans);
  }
  // Where the time really goes: time not spent in child scopes.
  auto by_self = rows;
  std::stable_sort(by_self.begin(), by_self.end(),
                   [](const perf::Aggregate& a, const perf::Aggregate& b) { return a.self_ms > b.self_ms; });
  fmt::print("\nTop by self time\n{:<16} {:<8} {:>11} {:>11}\n", "span", "category", "self ms",
             "total ms");
  for (std::size_t i = 0; i < by_self.size() && i < 5; ++i) {
    fmt::print("{:<16} {:<8} {:>11.1f} {:>11.1f}\n", by_self[i].name, by_self[i].category,
               by_self[i].self_ms, by_self[i].total_ms);
  }
  const perf::CallTree tree = prof.call_tree(4);
  fmt::print("\nCall tree (top 4 children per node; coverage {:.3f})\n", tree.coverage);
  const auto print_node = [](const auto& self, const perf::CallTreeNode& n, int depth) -> void {
    if (depth > 3) return;
    fmt::print("{:>{}}{:<{}} {:>8} calls {:>10.1f} ms  self {:>9.1f} ms\n", "", depth * 2, n.name,
               24 - depth * 2, n.count, n.total_ms, n.self_ms);
    for (const auto& c : n.children) self(self, c, depth + 1);
  };
  for (std::size_t i = 0; i < tree.roots.size() && i < 3; ++i) print_node(print_node, tree.roots[i], 0);
  for (const auto& c : prof.counters()) {
    fmt::print("counter {:<18} last {:>8.1f}  min {:>8.1f}  max {:>8.1f}  avg {:>8.2f}  ({} samples)\n",
               c.name, c.last, c.min, c.max, c.avg, c.count);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  if (!args.config.empty()) setenv("COMFYVN_CONFIG", args.config.c_str(), 1);
  const bool force_perf = args.enable_perf || (!args.port && args.config.empty());
  if (force_perf) setenv("COMFYVN_ENABLE_PERF", "1", 1);
  perf::feature_flags();  // loads the config (and the override) and applies it

  auto& bm = perf::budget_manager();
  if (!args.idle && bm.enabled()) {
    // Tight enough that jobs queue up and textures get trimmed.
    bm.configure(boost::json::object{
        {"max_running_jobs", 2}, {"lazy_asset_target_mb", 160}, {"max_queue_depth", 32}});
  }

#if COMFYVN_EXAMPLES_HTTP
  std::optional<perf::http::Adapter> adapter;
  if (args.port) {
    perf::http::Options opt;
    opt.port = static_cast<std::uint16_t>(*args.port);
    opt.token = perf::http::token_from_environment(args.token);  // every route but /health and /ui then needs "Bearer TOKEN"
    adapter.emplace(opt);
    try {
      adapter->start();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "render_loop: cannot serve on port %d: %s\n", *args.port, e.what());
      return 1;
    }
    fmt::print("listening on http://127.0.0.1:{}\n", adapter->port());
    std::fflush(stdout);
  }
#else
  if (args.port) {
    std::fprintf(stderr, "render_loop: built without the HTTP adapter\n");
    return 1;
  }
#endif

  perf::set_thread_name("render");
  // A frame's work must fit in one vsync interval (16.7 ms); a frame
  // interval of two vsyncs is a visible hitch: its spans are kept as a spike.
  auto& prof = perf::perf_profiler();
  prof.set_span_budget({"frame", "render", std::nullopt, 16.7});
  prof.set_span_budget({"(frame)", "", std::nullopt, 33.4});
  perf::PerfProfiler::TraceRecorder recorder;
  if (!args.trace.empty()) recorder = perf::perf_profiler().trace_recorder(kTraceSeconds);

  const bool tty = isatty(STDOUT_FILENO) == 1;
  std::mt19937 rng(1234);
  std::optional<JobPool> pool;
  TextureStreamer textures;
  if (!args.idle) pool.emplace(2);

  const auto start = Clock::now();
  const auto frame_budget = std::chrono::microseconds(16'667);
  auto next_frame = start;
  auto next_status = start + std::chrono::seconds(1);
  std::uint64_t frame = 0;
  int job_counter = 0;
  double sink = 0;
  while (!g_stop.load()) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (args.duration > 0 && elapsed >= args.duration) break;

    const bool spike = args.spike_every != 0 && frame % args.spike_every == args.spike_every - 1;
    sink += render_frame(frame, rng, spike);
    if (!args.idle) {
      textures.update(frame * 0.5);  // the camera pans half a unit per frame
      if (frame % 20 == 0 && pool->pending() < 8) pool->submit(job_counter++, rng);
    }
    ++frame;
    if (frame % 60 == 0) PERF_MARK("second", "render");
    PERF_FRAME();

    next_frame += frame_budget;
    const auto now = Clock::now();
    if (next_frame > now) {
      std::this_thread::sleep_until(next_frame);  // vsync
    } else {
      next_frame = now;  // running late: do not try to catch up
    }
    if (Clock::now() >= next_status) {
      next_status += std::chrono::seconds(1);
      print_status(tty, std::chrono::duration<double>(Clock::now() - start).count(), frame,
                   textures);
    }
  }

  pool.reset();
#if COMFYVN_EXAMPLES_HTTP
  if (adapter) adapter->stop();
#endif
  print_summary();
  int status = 0;
  if (!args.trace.empty()) {
    if (const std::string e = recorder.write(args.trace); !e.empty()) {
      std::fprintf(stderr, "render_loop: --trace: %s\n", e.c_str());
      status = 1;
    } else {
      fmt::print("trace of the last {} s written to {}\n", kTraceSeconds.count(), args.trace);
    }
  }
  if (!args.snapshot.empty()) {
    if (const std::string e = perf::perf_profiler().write_dashboard(args.snapshot); !e.empty()) {
      std::fprintf(stderr, "render_loop: --snapshot: %s\n", e.c_str());
      status = 1;
    } else {
      fmt::print("dashboard snapshot written to {}\n", args.snapshot);
    }
  }
  std::fflush(stdout);
  if (sink == 42.4242) std::puts("");  // keeps the simulated work observable
  return status;
}
