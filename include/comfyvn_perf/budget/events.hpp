// comfyvn_perf — the events the budget part emits, and how they leave it.
//
// The budget part owns its event name and triggers but not the delivery: the
// manager hands each event to a sink that the wiring layer installs (the
// runtime connects it to hooks()). Without a sink nothing is built at all.
#pragma once

#include <functional>   // sink and interest predicate
#include <string_view>  // event names
#include <utility>      // pair
#include <vector>       // pending events

#include <boost/json.hpp>  // payloads

namespace comfyvn::perf {

// The hook event every budget trigger is published under.
inline constexpr std::string_view kBudgetEvent = "on_perf_budget_state";

// Triggers of kBudgetEvent.
inline constexpr std::string_view kBudgetLimitsUpdated = "limits.updated";
inline constexpr std::string_view kBudgetJobRegistered = "job.registered";
inline constexpr std::string_view kBudgetJobStarted = "job.started";
inline constexpr std::string_view kBudgetJobFinished = "job.finished";
inline constexpr std::string_view kBudgetQueueRefreshed = "queue.refreshed";
inline constexpr std::string_view kBudgetAssetRegistered = "asset.registered";
inline constexpr std::string_view kBudgetAssetEvicted = "asset.evicted";
inline constexpr std::string_view kBudgetAssetUnregistered = "asset.unregistered";

// Receives each event (trigger, payload) after the manager's lock is released.
using BudgetEventSink = std::function<void(std::string_view trigger, boost::json::object payload)>;
// Whether anyone listens right now; consulted once per call, before any
// payload is built. Empty: always.
using BudgetEventInterest = std::function<bool()>;

// The events one call produces. Filled under the manager's lock and
// delivered after it, so sinks may call back into the manager.
class BudgetEvents {
 public:
  BudgetEvents() = default;  // wants nothing
  // `sink` and `interest` belong to the manager and are read only while its
  // lock is held; the sink is copied on the first wanted() call.
  BudgetEvents(const BudgetEventSink* sink, const BudgetEventInterest* interest)
      : sink_src_(sink), interest_src_(interest) {}

  // Asked before building a payload: building one is the costly part.
  bool wanted();

  // Only after wanted() said yes.
  void add(std::string_view trigger, boost::json::object payload);

  // In the order they arose. An event that cannot be delivered must not undo
  // the change it reports, so sink errors end here.
  void deliver() noexcept;

  const std::vector<std::pair<std::string_view, boost::json::object>>& pending() const noexcept {
    return pending_;
  }

 private:
  const BudgetEventSink* sink_src_ = nullptr;
  const BudgetEventInterest* interest_src_ = nullptr;
  bool checked_ = false;
  bool wanted_ = false;
  BudgetEventSink sink_;
  std::vector<std::pair<std::string_view, boost::json::object>> pending_;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
namespace comfyvn::perf {

bool BudgetEvents::wanted() {
  if (!checked_) {
    checked_ = true;
    if (sink_src_ != nullptr && *sink_src_) {
      wanted_ = true;
      if (interest_src_ != nullptr && *interest_src_) {
        try {
          wanted_ = (*interest_src_)();
        } catch (...) {
          // A broken predicate must not abort a state change half-way;
          // delivering is the safe side (sinks' errors are swallowed too).
        }
      }
      if (wanted_) sink_ = *sink_src_;
    }
  }
  return wanted_;
}

void BudgetEvents::add(std::string_view trigger, boost::json::object payload) {
  pending_.emplace_back(trigger, std::move(payload));
}

void BudgetEvents::deliver() noexcept {
  for (auto& [trigger, payload] : pending_) {
    try {
      sink_(trigger, std::move(payload));
    } catch (...) {
    }
  }
  pending_.clear();
}

}  // namespace comfyvn::perf
#endif
