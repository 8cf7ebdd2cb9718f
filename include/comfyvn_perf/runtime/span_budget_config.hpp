// comfyvn_perf — span budgets from the config file: the `perf.span_budgets`
// object, re-read when the file changes (checked about once a second from the
// profiler's collection), like the feature flags.
//
//   {"perf": {"span_budgets": {"draw": {"p95_ms": 4},
//                              "(frame)": {"max_ms": 16.7},
//                              "upload": {"max_ms": 2, "category": "render"}}}}
//
// Each key is a site name; its object sets `p95_ms` and/or `max_ms` and may
// name a `category`. A bad entry gets one clear message (the log sink, level
// warning) and is skipped; the other entries still apply. Budgets set in code
// or over HTTP are kept; the file's own budgets are replaced on each change.
#pragma once

#include <cstddef>  // size_t
#include <mutex>   // one poll at a time
#include <string>  // paths, messages
#include <vector>  // specs

#include <boost/json/fwd.hpp>  // value: the parsed config document

#include "../config.hpp"             // COMFYVN_PERF_VISIBLE
#include "../flags/config_file.hpp"  // FileStamp
#include "../profiler/types.hpp"     // SpanBudgetSpec

namespace comfyvn::perf {

class PerfProfiler;  // profiler/profiler.hpp

namespace detail::runtime {

// Reads `perf.span_budgets` of a parsed config document. Entries that cannot
// be used are described in `problems` and left out.
std::vector<SpanBudgetSpec> parse_span_budgets(const boost::json::value& doc,
                                               std::vector<std::string>& problems);

// Polls the config file and hands its span budgets to the profiler when the
// file changed. Never creates a singleton: the path comes from the flags
// when they exist, else from $COMFYVN_CONFIG or the default path.
class SpanBudgetConfig {
 public:
  // Problems named in the log per load; the rest are counted.
  static constexpr std::size_t kMaxLoggedProblems = 10;

  void poll(PerfProfiler& profiler);

 private:
  static std::string config_path();

  std::mutex mu_;
  std::string path_;
  flags::FileStamp stamp_;
};

// Never destroyed: the collector may poll during static destruction.
COMFYVN_PERF_VISIBLE SpanBudgetConfig& span_budget_config();

}  // namespace detail::runtime
}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <atomic>       // memory_order_acquire
#include <cmath>        // isfinite
#include <cstdlib>      // getenv
#include <string_view>  // keys
#include <utility>      // move

#include <boost/json.hpp>  // parse, object

#include "../flags/flags.hpp"        // FeatureFlags::config_path
#include "../os/file.hpp"            // FileRead
#include "../os/log.hpp"             // warnings
#include "../json/profiler.hpp"      // span_budget_from_json
#include "../profiler/profiler.hpp"  // PerfProfiler::set_config_span_budgets
#include "instances.hpp"             // the flags, when they exist

namespace comfyvn::perf::detail::runtime {

std::vector<SpanBudgetSpec> parse_span_budgets(const boost::json::value& doc,
                                               std::vector<std::string>& problems) {
  std::vector<SpanBudgetSpec> out;
  const boost::json::object* root = doc.if_object();
  const boost::json::value* perf = root ? root->if_contains("perf") : nullptr;
  const boost::json::value* section =
      perf && perf->is_object() ? perf->as_object().if_contains("span_budgets") : nullptr;
  if (section == nullptr) return out;
  if (!section->is_object()) {
    problems.push_back("perf.span_budgets must be an object of {name: {p95_ms, max_ms}}");
    return out;
  }
  std::size_t seen = 0;
  for (const auto& kv : section->as_object()) {
    // The API's cap: a file cannot hold more budgets than a process keeps.
    if (++seen > kMaxSpanBudgets) {
      problems.push_back("perf.span_budgets has " + std::to_string(section->as_object().size()) +
                         " entries; only the first " + std::to_string(kMaxSpanBudgets) +
                         " are read");
      break;
    }
    const std::string where = "perf.span_budgets." + std::string(kv.key());
    if (!kv.value().is_object()) {
      problems.push_back(where + " must be an object with p95_ms and/or max_ms; entry ignored");
      continue;
    }
    SpanBudgetSpec spec;
    std::string field;
    const std::string name(kv.key());
    // The HTTP route's reader (json/profiler.hpp): one set of rules.
    const std::string problem = span_budget_from_json(kv.value().as_object(), spec, field, &name);
    if (!problem.empty()) {
      problems.push_back(where + ": " + problem + "; entry ignored");
      continue;
    }
    out.push_back(std::move(spec));
  }
  return out;
}

void SpanBudgetConfig::poll(PerfProfiler& profiler) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string path = config_path();
  const flags::FileStamp stamp = flags::stamp_of(path);
  if (path == path_ && stamp == stamp_) return;
  path_ = path;
  stamp_ = stamp;
  std::vector<std::string> problems;
  std::vector<SpanBudgetSpec> specs;
  const os::FileRead r = flags::read_config(path);
  if (r.status == os::FileRead::ok) {
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(r.text, ec);
    if (ec) {
      problems.push_back("is not valid JSON; its span budgets are not applied");
    } else {
      specs = parse_span_budgets(doc, problems);
    }
  }
  for (auto& p : profiler.set_config_span_budgets(specs)) problems.push_back(std::move(p));
  // A bounded report per load however broken the file is (each line is
  // escaped by os::log, so a key cannot forge a line).
  for (std::size_t i = 0; i < problems.size() && i < kMaxLoggedProblems; ++i) {
    os::log(os::LogLevel::warning, "config file '" + path + "': " + problems[i]);
  }
  if (problems.size() > kMaxLoggedProblems) {
    os::log(os::LogLevel::warning,
            "config file '" + path + "': and " +
                std::to_string(problems.size() - kMaxLoggedProblems) +
                " more problems in perf.span_budgets");
  }
}

std::string SpanBudgetConfig::config_path() {
  if (FeatureFlags* f = instances().flags.load(std::memory_order_acquire)) {
    return f->config_path();
  }
  const char* env = std::getenv("COMFYVN_CONFIG");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("config/comfyvn.json");
}

SpanBudgetConfig& span_budget_config() {
  static SpanBudgetConfig* config = new SpanBudgetConfig();
  return *config;
}

}  // namespace comfyvn::perf::detail::runtime
#endif
