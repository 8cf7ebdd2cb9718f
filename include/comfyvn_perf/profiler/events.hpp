// comfyvn_perf — the events the profiler emits (docs/hooks.md).
//
// The profiler owns these names; the runtime connects its event sink to the
// hook bus under kProfilerEvent.
#pragma once

#include <string_view>  // names

namespace comfyvn::perf {

inline constexpr std::string_view kProfilerEvent = "on_perf_profiler_snapshot";

namespace profiler_events {
inline constexpr std::string_view kSpanRecorded = "span.recorded";
inline constexpr std::string_view kMarkEmitted = "mark.emitted";
inline constexpr std::string_view kSnapshotGenerated = "snapshot.generated";
inline constexpr std::string_view kReset = "reset";
// Span budgets: once per transition into and out of `over` ({budget}), and
// each captured spike ({spike}).
inline constexpr std::string_view kSpanBudgetExceeded = "span_budget.exceeded";
inline constexpr std::string_view kSpanBudgetRecovered = "span_budget.recovered";
inline constexpr std::string_view kSpanBudgetSpike = "span_budget.spike";
}  // namespace profiler_events

}  // namespace comfyvn::perf
