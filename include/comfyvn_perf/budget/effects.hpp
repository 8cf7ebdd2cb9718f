// comfyvn_perf — what a BudgetManager call must do once its lock is released.
//
// The parts only record: an eviction carries the handler to run, an event
// its payload. The manager runs them after unlocking, so handlers and event
// sinks may call back into it.
#pragma once

#include <cstdint>  // uint64_t
#include <string>   // asset ids
#include <vector>   // pending evictions

#include <boost/json.hpp>  // metadata

#include "events.hpp"  // BudgetEvents
#include "types.hpp"   // UnloadHandler, LoadHandler, EvictionCause

namespace comfyvn::perf {

// An unload to report.
struct Eviction {
  std::string asset_id;
  double size_mb = 0;
  boost::json::object metadata;
  UnloadHandler handler;  // the asset's own, else the default; may be empty
  EvictionCause cause = EvictionCause::target;
  std::uint64_t size_units = 0;  // exact size (kSizeUnitsPerMb units): freed totals add these
};

// A reload to report: touch or pin found the asset evicted.
struct Reload {
  std::string asset_id;
  boost::json::object metadata;
  LoadHandler handler;  // the asset's own, else the default; may be empty
};

struct BudgetEffects {
  std::vector<Eviction> evictions;
  std::vector<Reload> reloads;
  BudgetEvents events;

  // Unload handlers first (what the call freed is released before anything
  // is brought back), then load handlers, then events, each in the order
  // they arose. Returns how many handlers threw: a failing handler must not
  // keep the others from running.
  std::uint64_t deliver() noexcept;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
namespace comfyvn::perf {

std::uint64_t BudgetEffects::deliver() noexcept {
  std::uint64_t failed = 0;
  for (auto& e : evictions) {
    if (!e.handler) continue;
    try {
      e.handler(e.asset_id, e.metadata, e.cause);
    } catch (...) {
      ++failed;
    }
  }
  evictions.clear();
  for (auto& r : reloads) {
    if (!r.handler) continue;
    try {
      r.handler(r.asset_id, r.metadata);
    } catch (...) {
      ++failed;
    }
  }
  reloads.clear();
  events.deliver();
  return failed;
}

}  // namespace comfyvn::perf
#endif
