// comfyvn_perf — the one log sink every SDK message goes through.
//
// Levels debug < info < warning < error. By default messages at warning and
// above go to stderr prefixed "comfyvn_perf: "; informational lines (no GPU,
// no config file) stay quiet unless asked for. The level and the sink are
// process-wide (exported like the singletons, so a library loaded with
// dlopen shares them). COMFYVN_PERF_LOG_LEVEL=debug|info|warning|error|off
// sets the initial level.
#pragma once

#include <cstddef>      // size_t
#include <functional>   // sinks
#include <string>       // printable lines
#include <string_view>  // messages

#include "../config.hpp"  // COMFYVN_PERF_VISIBLE

namespace comfyvn::perf::os {

enum class LogLevel : int { debug = 0, info = 1, warning = 2, error = 3, off = 4 };

// Receives the level and the message without prefix or newline.
using LogSink = std::function<void(LogLevel, std::string_view)>;

const char* log_level_name(LogLevel l) noexcept;

// "debug", "info", "warning" (or "warn"), "error", "off"; false otherwise.
bool parse_log_level(std::string_view s, LogLevel& out) noexcept;

namespace detail {

struct LogState;

// One per process. The initial level comes from the environment once, so a
// user can turn on the quiet lines without recompiling.
COMFYVN_PERF_VISIBLE LogState& log_state();

}  // namespace detail

// Messages below `level` are dropped before reaching the sink.
void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
bool log_enabled(LogLevel level) noexcept;

// Replaces the process-wide sink; an empty one restores stderr.
void set_log_sink(LogSink sink);

// Never throws: a failing sink loses the message, not the caller's work.
// Every message reaches the sink as one printable line (printable_log_line).
void log(LogLevel level, std::string_view message) noexcept;

// Bytes of one log message at most.
inline constexpr std::size_t kMaxLogBytes = 2048;

// `message` with control characters and ill-formed UTF-8 escaped, cut to
// kMaxLogBytes.
std::string printable_log_line(std::string_view message);

}  // namespace comfyvn::perf::os

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <atomic>   // level read without a lock
#include <cstdio>   // fputs: the default sink
#include <cstdlib>  // getenv
#include <memory>   // shared_ptr: a sink outlives its replacement while it runs
#include <mutex>    // sink swap
#include <string>   // the default sink's line
#include <utility>  // move

#include "text.hpp"  // utf8_sequence

namespace comfyvn::perf::os {

const char* log_level_name(LogLevel l) noexcept {
  switch (l) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
    default:
      return "off";
  }
}

bool parse_log_level(std::string_view s, LogLevel& out) noexcept {
  if (s == "debug")
    out = LogLevel::debug;
  else if (s == "info")
    out = LogLevel::info;
  else if (s == "warning" || s == "warn")
    out = LogLevel::warning;
  else if (s == "error")
    out = LogLevel::error;
  else if (s == "off")
    out = LogLevel::off;
  else
    return false;
  return true;
}

namespace detail {

struct LogState {
  std::atomic<int> level;
  std::mutex mu;
  std::shared_ptr<const LogSink> sink;  // null: stderr
};

LogState& log_state() {
  static LogState* s = [] {
    auto* st = new LogState();  // never destroyed: logging stays safe at exit
    LogLevel l = LogLevel::warning;
    if (const char* env = std::getenv("COMFYVN_PERF_LOG_LEVEL")) {
      LogLevel parsed;
      if (parse_log_level(env, parsed)) l = parsed;
    }
    st->level.store(static_cast<int>(l), std::memory_order_relaxed);
    return st;
  }();
  return *s;
}

}  // namespace detail

void set_log_level(LogLevel level) noexcept {
  detail::log_state().level.store(static_cast<int>(level), std::memory_order_relaxed);
}
LogLevel log_level() noexcept {
  return static_cast<LogLevel>(detail::log_state().level.load(std::memory_order_relaxed));
}
bool log_enabled(LogLevel level) noexcept {
  return level != LogLevel::off &&
         static_cast<int>(level) >= detail::log_state().level.load(std::memory_order_relaxed);
}

void set_log_sink(LogSink sink) {
  std::shared_ptr<const LogSink> s;
  if (sink) s = std::make_shared<const LogSink>(std::move(sink));
  auto& st = detail::log_state();
  std::lock_guard<std::mutex> lock(st.mu);
  st.sink = std::move(s);
}

// One line whatever the message holds: control characters (a newline in a
// config key could forge a second log line) and ill-formed UTF-8 are
// written as escapes (\n, \t, \xNN); a message longer than kMaxLogBytes is
// cut and marked.
std::string printable_log_line(std::string_view message) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(message.size() < kMaxLogBytes ? message.size() : kMaxLogBytes);
  while (!message.empty() && out.size() < kMaxLogBytes) {
    const std::size_t n = utf8_sequence(message);
    const auto c = static_cast<unsigned char>(message[0]);
    if (n > 1 || (n == 1 && c >= 0x20 && c != 0x7F)) {
      out.append(message.data(), n);
      message.remove_prefix(n);
      continue;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    message.remove_prefix(1);
  }
  if (!message.empty()) out += " [cut]";
  return out;
}

void log(LogLevel level, std::string_view raw) noexcept {
  if (!log_enabled(level)) return;
  try {
    const std::string message = printable_log_line(raw);
    auto& st = detail::log_state();
    std::shared_ptr<const LogSink> sink;
    {
      std::lock_guard<std::mutex> lock(st.mu);
      sink = st.sink;
    }
    if (sink) {
      (*sink)(level, message);
    } else {
      std::string line = "comfyvn_perf: ";
      line.append(message.data(), message.size());
      line += '\n';
      std::fputs(line.c_str(), stderr);
    }
  } catch (...) {
  }
}

}  // namespace comfyvn::perf::os
#endif
