// comfyvn_perf — the budget part's data: limits, policy, outcomes, and the
// job and asset records the admission queue and the asset cache keep.
//
// Plain data with no JSON members; json/budget.hpp holds their JSON views.
#pragma once

#include <cstddef>     // size_t
#include <cstdint>     // uint64_t
#include <functional>  // UnloadHandler
#include <optional>    // reasons, thresholds, last eviction
#include <string>      // ids, reasons
#include <utility>     // move
#include <vector>      // blockers

#include <boost/json.hpp>

#include "../metrics/sample.hpp"
#include "../os/text.hpp"

namespace comfyvn::perf {

// The seven limits of the contract. 0 = no limit for the memory, job and
// asset limits, and also for max_cpu_percent (no CPU check). The defaults
// are the reference service's.
struct BudgetLimits {
  double max_cpu_percent = 85.0;
  std::uint64_t max_mem_mb = 0;
  std::uint64_t max_vram_mb = 0;
  std::uint64_t max_running_jobs = 3;
  std::uint64_t lazy_asset_target_mb = 512;
  std::uint64_t max_queue_depth = 128;
  double evaluation_interval = 2.0;  // seconds
};

// How a call failed. The HTTP adapter maps each onto a status code; the
// budget part itself knows nothing of HTTP.
enum class BudgetError {
  none,
  invalid,    // a field is missing, of the wrong type or out of range
  not_found,  // unknown job or asset
  conflict,   // not admissible now, duplicate, pinned, already finished
  // A capacity is reached and nothing was stored: max_queue_depth jobs are
  // already waiting, or an asset register would pass max_assets or the
  // metadata byte cap (BudgetPolicy). One value, since both mean "try again
  // once something has left" (HTTP 429).
  queue_full,
};

// Error details stay short whatever a client sent: a 1 MB unknown key or id
// must not be echoed whole. Cut on a UTF-8 boundary, marked with "...".
inline constexpr std::size_t kMaxDetailBytes = 200;

std::string shorten_detail(std::string detail);

// Outcome of a mutating call: `body` holds the success fields of the HTTP
// route (and, for some errors, context such as the job and its reason);
// `detail` is the human-readable message of an error.
struct BudgetResult {
  BudgetError error = BudgetError::none;
  std::string detail;
  boost::json::object body;

  bool ok() const noexcept { return error == BudgetError::none; }

  static BudgetResult failure(BudgetError e, std::string detail);
};

// Why an asset was unloaded, as handlers and the asset.evicted event see it.
enum class EvictionCause {
  explicit_,   // "explicit": evict_lazy_assets
  target,      // "target": the loaded total went over lazy_asset_target_mb
  pressure,    // "pressure": RAM or VRAM over their limit at a sample
  shutdown,    // "shutdown": BudgetManager::shutdown
  unregister,  // "unregister": BudgetManager::unregister_asset of a loaded asset
};

constexpr const char* to_string(EvictionCause c) noexcept {
  switch (c) {
    case EvictionCause::explicit_:
      return "explicit";
    case EvictionCause::target:
      return "target";
    case EvictionCause::pressure:
      return "pressure";
    case EvictionCause::shutdown:
      return "shutdown";
    case EvictionCause::unregister:
      return "unregister";
  }
  return "unknown";
}

// Called after an asset is marked unloaded, without the manager's lock held.
using UnloadHandler = std::function<void(const std::string& asset_id,
                                         const boost::json::object& metadata, EvictionCause cause)>;

// Called when touch_asset or pin_asset finds an asset evicted and marks it
// loaded again, after the fact and without the manager's lock held (like an
// UnloadHandler): the program brings the data back in. Not called by
// register_asset, whose caller has just loaded the asset itself.
using LoadHandler =
    std::function<void(const std::string& asset_id, const boost::json::object& metadata)>;

// The contract's numeric maxima (CONTRACT.md §4), shared by the checks of
// limits.hpp, admission.hpp and assets.hpp.
inline constexpr double kMaxSizeMb = 1e9;                 // size_mb, hints, target_mb
inline constexpr std::uint64_t kMaxLimitMb = 1000000000;  // integer limits other than the queue
inline constexpr std::uint64_t kMaxQueueDepth = 100000;
inline constexpr double kMaxEvaluationInterval = 3600.0;  // seconds
inline constexpr double kMinEvaluationInterval = 0.1;

// Asset sizes are accounted as whole thousandths of a MB, so loaded totals are
// exact integer sums that never drift, however large or small the sizes that
// came and went. With size_mb <= 1e9 an asset is at most 1e12 units, and
// max_assets <= kMaxAssetsCeiling keeps any total below 2^64.
inline constexpr double kSizeUnitsPerMb = 1000.0;
inline constexpr std::size_t kMaxAssetsCeiling = 1000000;

// Paging of BudgetManager::snapshot (GET /budgets?limit&offset): `jobs` and
// `assets` hold at most `limit` entries (default 256, at most 10,000), and
// asset metadata is included only while its running total stays within a
// byte budget (default 4 MiB, half the default response cap).
inline constexpr std::size_t kSnapshotDefaultLimit = 256;
inline constexpr std::size_t kSnapshotMaxLimit = 10000;
inline constexpr std::size_t kSnapshotMetadataBytes = std::size_t{4} << 20;
// Knobs of the scheduling policy that are not among the contract's limits.
struct BudgetPolicy {
  // A delayed job that has waited this long (seconds) stops newer jobs from
  // being admitted while running jobs could still make room for it.
  double starvation_after = 30.0;
  // A job delayed for CPU is released only once usage + hint is this many
  // percentage points below the limit (never more than half the headroom the
  // job's own hint leaves).
  double cpu_release_margin = 5.0;
  // Finished jobs kept for inspection; the oldest are dropped first.
  std::size_t finished_jobs_kept = 1024;
  // Registered assets at most (1..kMaxAssetsCeiling); a register of a new id
  // beyond it is refused (queue_full) and stores nothing.
  std::size_t max_assets = 10000;
  // Total serialized size of the registered assets' metadata, in bytes: a
  // register that would pass it is refused (queue_full). 64 MiB lets every
  // one of the default 10,000 assets carry about 6.5 KiB.
  std::size_t max_asset_metadata_bytes = std::size_t{64} << 20;
};

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

enum class JobStatus { queued, delayed, running, complete, canceled, error };

constexpr const char* status_name(JobStatus s) noexcept {
  switch (s) {
    case JobStatus::queued:
      return "queued";
    case JobStatus::delayed:
      return "delayed";
    case JobStatus::running:
      return "running";
    case JobStatus::complete:
      return "complete";
    case JobStatus::canceled:
      return "canceled";
    case JobStatus::error:
      return "error";
  }
  return "unknown";
}

// Queued, delayed and running jobs hold their id; finished ones do not.
constexpr bool is_active(JobStatus s) noexcept {
  return s == JobStatus::queued || s == JobStatus::delayed || s == JobStatus::running;
}

// What a job says it will use (payload.perf hints).
struct JobRequirements {
  double cpu_percent = 0;
  double ram_mb = 0;
  double vram_mb = 0;
};

// One reason a job waits. `behind` names the job a starvation hold waits
// for; `release_below` is the CPU threshold while hysteresis applies.
struct JobBlocker {
  const char* resource = "";
  double requested = 0;
  double in_use = 0;
  double limit = 0;
  std::string behind;
  std::optional<double> release_below;
};

struct BudgetJob {
  std::string id;
  std::string type;
  std::uint64_t seq = 0;  // registration order
  JobStatus status = JobStatus::queued;
  std::optional<std::string> reason;
  double submitted_at = 0;
  double last_transition = 0;
  double delayed_since = 0;  // monotonic seconds
  JobRequirements req;
  bool infeasible = false;
  bool cpu_hold = false;  // delayed for CPU at some point: release with the margin
  std::vector<JobBlocker> blockers;
};

struct BudgetAsset {
  std::string id;
  double size_mb = 0;
  std::uint64_t size_units = 0;  // size_mb in kSizeUnitsPerMb units: what totals add
  boost::json::object metadata;
  std::size_t metadata_bytes = 0;  // serialized size of metadata
  UnloadHandler handler;
  LoadHandler load_handler;
  bool loaded = false;
  std::uint64_t pins = 0;
  std::uint64_t use_seq = 0;  // LRU key while loaded
  double registered_at = 0;
  double last_used = 0;
  std::uint64_t evictions = 0;
  std::optional<EvictionCause> last_eviction;
};

// The figures of BudgetManager::health(), taken under the lock and turned
// into JSON after it.
struct BudgetHealth {
  BudgetLimits limits;
  std::size_t queued = 0;
  std::size_t delayed = 0;
  std::size_t running = 0;
  std::uint64_t seen_jobs = 0;
  std::size_t infeasible = 0;
  std::size_t finished_kept = 0;
  std::size_t assets_registered = 0;
  std::size_t assets_loaded = 0;
  double loaded_mb = 0;
  std::uint64_t assets_pinned = 0;
  std::size_t asset_metadata_bytes = 0;
  std::uint64_t evictions = 0;
  std::uint64_t handler_errors = 0;
  double last_evaluation = 0;  // 0 = never
  Metrics metrics;
  bool enabled = false;
  std::uint64_t sampler_errors = 0;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <utility>  // move

#include "../os/text.hpp"  // utf8_prefix

namespace comfyvn::perf {

std::string shorten_detail(std::string detail) {
  if (detail.size() <= kMaxDetailBytes) return detail;
  std::string out(os::utf8_prefix(detail, kMaxDetailBytes - 3));
  out += "...";
  return out;
}

BudgetResult BudgetResult::failure(BudgetError e, std::string detail) {
  return {e, shorten_detail(std::move(detail)), {}};
}

}  // namespace comfyvn::perf
#endif
