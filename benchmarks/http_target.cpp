// http_target: a render-loop stand-in for benchmarks/http_load.sh.
//
// Every frame runs a fixed amount of arithmetic under nested PERF_SCOPEs and
// ends with PERF_FRAME(), paced at 60 Hz, while the HTTP adapter serves the
// data. Two modes:
//   serve   run for --seconds, print "listening on http://127.0.0.1:PORT" once
//           requests are accepted (wrk is pointed at it from outside).
//   frames  alternate phases without and with a 10 Hz poller (an in-process
//           keep-alive client reading /health and /profiler/dashboard) and
//           print the frame-time statistics of each kind as one JSON line.
//
//   http_target --mode serve --seconds 60 [--port 0] [--threads 2]
//   http_target --mode frames --phases 8 --phase-seconds 5 [--poll-hz 10]
// This program's one file with the SDK's definitions (config.hpp).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/http.hpp>

#include <boost/asio/io_context.hpp>  // io_context
#include <boost/asio/ip/tcp.hpp>      // sockets, make_address
#include <boost/beast/core.hpp>       // tcp_stream, flat_buffer
#include <boost/beast/http.hpp>       // read, write, parsers

#include <algorithm>  // sort
#include <atomic>     // poller switch
#include <chrono>     // frame pacing and timing
#include <cmath>      // sqrt
#include <cstdio>     // printf
#include <cstdlib>    // setenv, atoi
#include <cstring>    // strcmp
#include <string>     // arguments
#include <thread>     // poller
#include <vector>     // frame samples

namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string mode = "serve";
  unsigned port = 0;
  double seconds = 30;
  int phases = 8;
  double phase_seconds = 5;
  double poll_hz = 10;
  unsigned threads = 2;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    const char* v = argv[i + 1];
    if (!std::strcmp(k, "--mode"))
      a.mode = v;
    else if (!std::strcmp(k, "--port"))
      a.port = static_cast<unsigned>(std::atoi(v));
    else if (!std::strcmp(k, "--seconds"))
      a.seconds = std::atof(v);
    else if (!std::strcmp(k, "--phases"))
      a.phases = std::atoi(v);
    else if (!std::strcmp(k, "--phase-seconds"))
      a.phase_seconds = std::atof(v);
    else if (!std::strcmp(k, "--threads"))
      a.threads = static_cast<unsigned>(std::atoi(v));
    else if (!std::strcmp(k, "--poll-hz"))
      a.poll_hz = std::atof(v);
  }
  return a;
}

// About 2 ms of arithmetic (on a 2020s x86-64 core) under 12 scopes: a frame's CPU work.
double work(int n) {
  double acc = 0;
  for (int i = 0; i < n; ++i) acc += std::sqrt(static_cast<double>(i) * 1.0001);
  return acc;
}

volatile double g_sink = 0;

void render_frame() {
  PERF_SCOPE("frame", "render");
  {
    PERF_SCOPE("update", "sim");
    g_sink = g_sink + work(160000);
  }
  {
    PERF_SCOPE("cull", "render");
    g_sink = g_sink + work(80000);
  }
  for (int b = 0; b < 8; ++b) {
    PERF_SCOPE("draw_batch", "render");
    g_sink = g_sink + work(60000);
  }
  {
    PERF_SCOPE("present", "render");
    g_sink = g_sink + work(20000);
  }
  PERF_FRAME();
}

// Runs frames at 60 Hz until `end`; returns the duration of each frame's work in ms.
std::vector<double> run_frames(Clock::time_point end) {
  std::vector<double> out;
  const auto period = std::chrono::microseconds(16667);
  auto next = Clock::now();
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    render_frame();
    out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    next += period;
    std::this_thread::sleep_until(next);
    if (Clock::now() > next + period) next = Clock::now();  // fell behind: do not burst
  }
  return out;
}

// A dashboard tool: one keep-alive connection, /health and /dashboard each tick.
void poll_adapter(std::uint16_t port, double hz, const std::atomic<bool>& active,
                  const std::atomic<bool>& quit, std::atomic<long>& polls) {
  net::io_context ioc;
  net::ip::tcp::socket socket(ioc);
  socket.connect({net::ip::make_address("127.0.0.1"), port});
  boost::beast::flat_buffer buf;
  const auto period = std::chrono::duration<double>(1.0 / hz);
  auto next = Clock::now();
  while (!quit.load()) {
    if (active.load()) {
      for (const char* target : {"/api/perf/health", "/api/perf/profiler/dashboard"}) {
        bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
        req.set(bhttp::field::host, "127.0.0.1");
        bhttp::write(socket, req);
        bhttp::response<bhttp::string_body> res;
        bhttp::read(socket, buf, res);
        if (res.result_int() != 200) std::fprintf(stderr, "poll: status %u\n", res.result_int());
      }
      polls.fetch_add(1);
    }
    next += std::chrono::duration_cast<Clock::duration>(period);
    std::this_thread::sleep_until(next);
  }
}

struct Stats {
  std::size_t frames = 0;
  double mean = 0, p50 = 0, p99 = 0;
};

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.frames = v.size();
  s.mean = sum / static_cast<double>(v.size());
  s.p50 = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  // Turn every subsystem on for this process, whatever the config file says.
  setenv("COMFYVN_ENABLE_PERF", "1", 1);

  comfyvn::perf::http::Options options;
  options.port = static_cast<std::uint16_t>(args.port);
  options.threads = args.threads;
  comfyvn::perf::http::Adapter adapter(options);
  adapter.start();
  std::printf("listening on http://127.0.0.1:%u\n", adapter.port());
  std::fflush(stdout);

  if (args.mode == "serve") {
    run_frames(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(args.seconds)));
    return 0;
  }

  // frames: phases alternate off/on so that drift in machine load hits both.
  std::atomic<bool> active{false}, quit{false};
  std::atomic<long> polls{0};
  std::thread poller([&] { poll_adapter(adapter.port(), args.poll_hz, active, quit, polls); });
  std::vector<double> quiet, polled;
  const auto phase = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(args.phase_seconds));
  for (int p = 0; p < args.phases; ++p) {
    const bool on = p % 2 == 1;
    active.store(on);
    auto frames = run_frames(Clock::now() + phase);
    // Drop the first frames of a phase: they straddle the switch.
    if (frames.size() > 10) frames.erase(frames.begin(), frames.begin() + 10);
    (on ? polled : quiet).insert((on ? polled : quiet).end(), frames.begin(), frames.end());
  }
  quit.store(true);
  poller.join();
  const Stats q = stats_of(quiet), w = stats_of(polled);
  // Overhead relative to the frame's own work and to the 60 Hz frame period.
  const double extra_ms = w.mean - q.mean;
  std::printf(
      "{\"poll_hz\": %.1f, \"polls\": %ld, "
      "\"quiet\": {\"frames\": %zu, \"mean_ms\": %.4f, \"p50_ms\": %.4f, \"p99_ms\": %.4f}, "
      "\"polled\": {\"frames\": %zu, \"mean_ms\": %.4f, \"p50_ms\": %.4f, \"p99_ms\": %.4f}, "
      "\"extra_ms\": %.4f, \"percent_of_work\": %.3f, \"percent_of_frame_period\": %.3f}\n",
      args.poll_hz, polls.load(), q.frames, q.mean, q.p50, q.p99, w.frames, w.mean, w.p50, w.p99,
      extra_ms, q.mean > 0 ? extra_ms / q.mean * 100.0 : 0.0, extra_ms / 16.667 * 100.0);
  return 0;
}
