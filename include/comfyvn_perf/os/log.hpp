// comfyvn_perf — the one log sink every SDK message goes through.
//
// Levels debug < info < warning < error. By default messages at warning and
// above go to stderr prefixed "comfyvn_perf: "; informational lines (no GPU,
// no config file) stay quiet unless asked for. The level and the sink are
// process-wide (exported like the singletons, so a library loaded with
// dlopen shares them). COMFYVN_PERF_LOG_LEVEL=debug|info|warning|error|off
// sets the initial level.
#pragma once

#include <functional>   // sinks
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
void log(LogLevel level, std::string_view message) noexcept;

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

void log(LogLevel level, std::string_view message) noexcept {
  if (!log_enabled(level)) return;
  try {
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
