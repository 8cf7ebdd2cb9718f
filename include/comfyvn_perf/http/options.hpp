// comfyvn_perf — what an HTTP adapter's owner can tune: address, token,
// threads and the limits that keep slow or hostile clients from starving the
// others. docs/http_api.md lists each option with its default.
#pragma once

#include <chrono>   // milliseconds
#include <cstddef>  // size_t
#include <cstdint>  // uint16_t
#include <string>   // bind address, token
#include <string_view>  // content types

namespace comfyvn::perf::http {

// `limit` query parameter of /health and /profiler/dashboard: used when the
// parameter is absent, and the largest value accepted.
inline constexpr std::size_t kDefaultLimit = 5;
inline constexpr std::size_t kMaxLimit = 1000;

// `limit` and `offset` of GET /budgets, which page its `jobs` and `assets`
// lists. A page is bounded so that one request cannot make the adapter build
// a body proportional to everything registered.
inline constexpr std::size_t kDefaultPageLimit = 256;
inline constexpr std::size_t kMaxPageLimit = 10'000;
// Any offset up to this is accepted (past the end gives an empty page);
// beyond it the number is surely a mistake: 422.
inline constexpr std::size_t kMaxPageOffset = 1'000'000'000;

// `marks` query parameter of GET /profiler/dashboard: how many of the newest
// marks the dashboard lists (the registry keeps at most a few hundred).
inline constexpr std::size_t kDefaultMarksLimit = 64;
inline constexpr std::size_t kMaxMarksLimit = 1000;

// Error details are cut to about this many characters, so that a client
// sending a megabyte-long key does not get it echoed back.
inline constexpr std::size_t kMaxDetailChars = 200;

// `limit` of GET /profiler/tree: children kept per node (the rest fold
// into "(other)").
inline constexpr std::size_t kDefaultTreeLimit = 10;
inline constexpr std::size_t kMaxTreeLimit = 1000;

inline constexpr std::string_view kHtmlContentType = "text/html; charset=utf-8";

// `seconds` of GET /profiler/trace: default and range.
inline constexpr double kDefaultTraceSeconds = 2.0;
inline constexpr double kMinTraceSeconds = 0.1;
inline constexpr double kMaxTraceSeconds = 30.0;

struct Options {
  // Address to listen on. Anything but a loopback address needs a token.
  std::string bind = "127.0.0.1";
  // TCP port; 0 picks a free one (Adapter::port() tells which).
  std::uint16_t port = 8001;
  // Bearer token required on every route except /api/perf/health and
  // /api/perf/ui; empty = the environment variable COMFYVN_PERF_TOKEN when
  // set (token_from_environment), else none. A token on a command line is
  // visible to every local user in `ps`: prefer the environment or a file
  // (read_token_file).
  std::string token;
  // Threads serving connections (0 is treated as 1).
  unsigned threads = 2;
  // Request line plus header fields. Larger: 431 (414 when the request line
  // alone does not fit), then the connection closes.
  std::size_t max_header_bytes = 8 * 1024;
  // Request body. Larger: 413, decided from Content-Length before the body is
  // read (a chunked body is cut off when it crosses the limit).
  std::size_t max_body_bytes = 1024 * 1024;
  // Deadline for each step of a request: its header, its body, writing the
  // response. Also how long a keep-alive connection may sit idle.
  std::chrono::milliseconds read_timeout{10'000};
  // Open connections. The next one is answered 503 at once and closed.
  std::size_t max_connections = 512;
  // Nesting depth of a request's JSON body; deeper bodies answer 400.
  std::size_t max_json_depth = 32;
  // Serialised size of one `metadata` or `payload` object; larger answers 422.
  // Marks and assets keep their metadata, so this bounds what a client can pin.
  std::size_t max_metadata_bytes = 64 * 1024;
  // Largest response body. Lists that carry client metadata (assets of
  // GET /budgets, marks of the dashboard) drop that metadata first to fit;
  // a body still larger answers 422 naming `limit` (or `marks`), so that the
  // client asks for a smaller page. docs/http_api.md, "Response size".
  std::size_t max_response_bytes = 8 * 1024 * 1024;
  // GET /metrics builds its exposition at most once per this interval:
  // scrapers that arrive while one is built wait for it, and those within
  // the interval after get the same text (so 48 scrapers cost one build).
  std::chrono::milliseconds metrics_interval{500};
  // Threads that build route bodies (0 is treated as 1). The `threads` above
  // only do socket I/O and answer /health, so building a large body never
  // delays /health or the reading of other requests.
  unsigned worker_threads = 2;
  // Spans one GET /profiler/trace keeps at most (more count as dropped).
  // The trace is not subject to max_response_bytes: this bounds it instead,
  // at about 100 bytes of JSON a span.
  std::size_t max_trace_spans = 2'000'000;
  // Longest capture GET /profiler/trace accepts, in seconds (at most
  // kMaxTraceSeconds); longer answers 422. The default capture is shortened
  // to fit.
  double max_trace_seconds = kMaxTraceSeconds;
};

// `configured` when not empty, else $COMFYVN_PERF_TOKEN (else "").
std::string token_from_environment(std::string configured);

// Reads a token from a file (render_loop --token-file): its content without
// trailing whitespace. False, with `problem` set, when the file cannot be
// read, is empty, holds more than one line or more than 4 KiB. `warning` is
// set when other users may read the file.
bool read_token_file(const std::string& path, std::string& token, std::string& problem,
                     std::string& warning);

}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <sys/stat.h>  // stat: who may read a token file

#include <cstdlib>  // getenv

#include "../os/file.hpp"  // read_regular_file

namespace comfyvn::perf::http {

std::string token_from_environment(std::string configured) {
  if (!configured.empty()) return configured;
  const char* env = std::getenv("COMFYVN_PERF_TOKEN");
  return env != nullptr ? std::string(env) : std::string();
}

bool read_token_file(const std::string& path, std::string& token, std::string& problem,
                     std::string& warning) {
  constexpr std::size_t kMaxTokenBytes = 4096;
  const os::FileRead r = os::read_regular_file(path, kMaxTokenBytes);
  if (r.status == os::FileRead::missing) {
    problem = "token file '" + path + "' does not exist";
    return false;
  }
  if (r.status != os::FileRead::ok) {
    problem = "token file '" + path + "': " + r.problem;
    return false;
  }
  std::string t = r.text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ' || t.back() == '\t'))
    t.pop_back();
  if (t.empty()) {
    problem = "token file '" + path + "' is empty";
    return false;
  }
  if (t.find_first_of("\r\n") != std::string::npos) {
    problem = "token file '" + path + "' holds more than one line";
    return false;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    warning = "token file '" + path + "' may be read by other users (chmod 600 it)";
  }
  token = std::move(t);
  return true;
}

}  // namespace comfyvn::perf::http
#endif  // COMFYVN_PERF_IMPLEMENTATION
