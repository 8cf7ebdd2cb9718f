// comfyvn_perf — the admission rules: what a job request must hold, and
// whether a job may run now under the limits and the latest sample.
//
// Checks run in the contract's order: queue depth (register only, in the
// queue), job cap, CPU, RAM, VRAM. The first that fails gives the reason
// ("job cap reached", "cpu 85.0%/70.0%", "ram 900MB/600MB", ...), and every
// one that fails a blocker. CPU hysteresis and the starvation guard are
// applied here too; which job the guard protects is the queue's
// (admission.hpp). docs/budgets.md describes both.
#pragma once

#include <cstddef>           // size_t
#include <initializer_list>  // concat
#include <optional>          // field problems
#include <string>            // reasons
#include <string_view>       // fields, message parts
#include <vector>            // blockers

#include <boost/json/object.hpp>  // payloads

#include "../metrics/sample.hpp"  // Metrics
#include "types.hpp"              // limits, policy, jobs

namespace comfyvn::perf {

// What one call is judged against. BudgetManager builds it under its lock.
struct AdmissionContext {
  const BudgetLimits& limits;
  const BudgetPolicy& policy;
  const Metrics& metrics;  // the latest sample
  double wall = 0;         // epoch seconds: timestamps
  double mono = 0;         // monotonic seconds: waiting times
};

// job_id and job_type: 1-128 characters each.
std::optional<std::string> check_job_fields(std::string_view job_id, std::string_view job_type);

// payload.perf.{cpu_percent, ram_mb, vram_mb}: each optional, a finite
// number 0..1e9 (kMaxSizeMb), so sums with usage stay finite and printable.
std::optional<std::string> parse_job_hints(const boost::json::object& payload,
                                           JobRequirements& req);

// The statuses finish_job accepts.
std::optional<JobStatus> parse_final_status(std::string_view s);

// Whether a job may run now, and if not why.
struct AdmissionVerdict {
  bool admit = true;
  bool infeasible = false;   // a hint alone exceeds a limit: it can never run
  bool cpu_blocked = false;  // CPU was among the blockers (hysteresis applies next time)
  std::string reason;
  std::vector<JobBlocker> blockers;
};

// Admission of `j` in the contract's order: job cap, CPU, RAM, VRAM. Every
// failing check becomes a blocker; the first gives the reason.
// `slots_in_use`: the jobs that count against max_running_jobs.
// `hysteresis`: the CPU threshold is lowered by the release margin.
// `guard`: the starved job that newer jobs are held for, or nullptr.
AdmissionVerdict judge_admission(const AdmissionContext& c, const BudgetJob& j,
                                 std::size_t slots_in_use, bool hysteresis, const BudgetJob* guard);

namespace detail {

// Messages are assembled by appending: GCC 12 warns (-Wrestrict, a false
// positive) on `"literal" + std::string&&` in C++20 builds.
std::string concat(std::initializer_list<std::string_view> parts);

// Fixed-point text that ignores the C locale (a "," decimal separator
// would break the reason strings tools match on). The buffer holds any
// double in fixed form (DBL_MAX has 309 digits), so a huge figure still
// prints instead of leaving a hole in the reason.
std::string fixed(double v, int precision);

}  // namespace detail

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min, max
#include <charconv>   // to_chars: reason strings independent of locale
#include <cstdint>    // uint64_t
#include <utility>    // pair, move

#include "../json/fields.hpp"  // json_number, length_within

namespace comfyvn::perf {

std::optional<std::string> check_job_fields(std::string_view job_id, std::string_view job_type) {
  if (!detail::length_within(job_id, 1, 128)) return std::string("job_id must be 1-128 characters");
  if (!detail::length_within(job_type, 1, 128)) {
    return std::string("job_type must be 1-128 characters");
  }
  return std::nullopt;
}

std::optional<std::string> parse_job_hints(const boost::json::object& payload,
                                           JobRequirements& req) {
  const auto* perf = payload.if_contains("perf");
  if (perf == nullptr) return std::nullopt;
  if (!perf->is_object()) return std::string("payload.perf must be an object");
  const auto& o = perf->get_object();
  const std::pair<const char*, double*> fields[] = {
      {"cpu_percent", &req.cpu_percent}, {"ram_mb", &req.ram_mb}, {"vram_mb", &req.vram_mb}};
  for (const auto& [name, dst] : fields) {
    const auto* v = o.if_contains(name);
    if (v == nullptr) continue;
    const auto d = detail::json_number(*v);
    if (!d || *d < 0 || *d > kMaxSizeMb) {
      return std::string("payload.perf.") + name + " must be a number >= 0 and <= 1e9";
    }
    *dst = *d;
  }
  return std::nullopt;
}

std::optional<JobStatus> parse_final_status(std::string_view s) {
  if (s == "complete") return JobStatus::complete;
  if (s == "canceled") return JobStatus::canceled;
  if (s == "error") return JobStatus::error;
  return std::nullopt;
}

namespace detail {

std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (const auto p : parts) out.append(p);
  return out;
}

std::string fixed(double v, int precision) {
  char buf[384];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, precision);
  if (r.ec == std::errc()) return std::string(buf, r.ptr);
  return std::string("?");  // unreachable for precision <= 8; never an empty number
}

// A failing check: the first one gives the reason.
void add_blocker(AdmissionVerdict& v, std::string reason, JobBlocker b) {
  if (v.admit) {
    v.admit = false;
    if (v.reason.empty()) v.reason = std::move(reason);
  }
  v.blockers.push_back(std::move(b));
}

}  // namespace detail

AdmissionVerdict judge_admission(const AdmissionContext& c, const BudgetJob& j,
                                 std::size_t slots_in_use, bool hysteresis,
                                 const BudgetJob* guard) {
  using detail::add_blocker;
  using detail::concat;
  using detail::fixed;
  AdmissionVerdict v;
  const BudgetLimits& l = c.limits;
  if (l.max_running_jobs > 0 && slots_in_use >= l.max_running_jobs) {
    add_blocker(v, "job cap reached",
                {"jobs",
                 1,
                 static_cast<double>(slots_in_use),
                 static_cast<double>(l.max_running_jobs),
                 {},
                 {}});
  }
  std::string infeasible;
  if (l.max_cpu_percent > 0) {
    const double usage = c.metrics.cpu_percent;
    const double hint = j.req.cpu_percent;
    const double lim = l.max_cpu_percent;
    auto text = [&](double amount) {
      return concat({"cpu ", fixed(amount, 1), "%/", fixed(lim, 1), "%"});
    };
    double threshold = lim;
    std::optional<double> release_below;
    if (hysteresis) {
      threshold -= std::min(c.policy.cpu_release_margin, std::max(0.0, lim - hint) / 2);
      release_below = threshold;
    }
    if (usage + hint > threshold) {
      add_blocker(v, v.admit ? text(usage + hint) : std::string(),
                  {"cpu", hint, usage, lim, {}, release_below});
      v.cpu_blocked = true;
    }
    if (hint > lim) infeasible = text(hint);
  }
  auto memory = [&](const char* name, double usage, double hint, std::uint64_t limit) {
    if (limit == 0) return;
    const auto lim = static_cast<double>(limit);
    auto text = [&](double amount) {
      return concat({name, " ", fixed(amount, 0), "MB/", std::to_string(limit), "MB"});
    };
    if (usage + hint > lim) {
      add_blocker(v, v.admit ? text(usage + hint) : std::string(),
                  {name, hint, usage, lim, {}, {}});
    }
    if (hint > lim && infeasible.empty()) infeasible = text(hint);
  };
  memory("ram", c.metrics.mem_used_mb, j.req.ram_mb, l.max_mem_mb);
  memory("vram", c.metrics.vram_used_mb(), j.req.vram_mb, l.max_vram_mb);
  if (!infeasible.empty()) {
    v.infeasible = true;
    v.reason = infeasible + ": can never run under the current limits";
  }
  if (v.admit && guard != nullptr && guard != &j && j.seq > guard->seq) {
    add_blocker(v, "held for starved job " + guard->id,
                {"starvation_guard", 0, 0, 0, guard->id, {}});
  }
  return v;
}

}  // namespace comfyvn::perf
#endif
