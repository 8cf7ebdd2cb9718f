// comfyvn_perf — where the profiler's events and extensions go: the event
// sink and whether anyone listens, the health extension, and the counter
// source that traces sample. The runtime connects them to the hook bus and
// the budget manager (runtime/wiring.hpp); this part knows neither.
#pragma once

#include <functional>   // sink, interest, extension, source
#include <memory>       // shared_ptr: a callback outlives its replacement while it runs
#include <mutex>        // swaps
#include <string>       // counter names
#include <string_view>  // triggers
#include <utility>      // pair
#include <vector>       // counter values, spans

#include <boost/json/object.hpp>  // payloads, health

#include "../core/ring.hpp"  // RawSpan
#include "trace.hpp"         // TraceBuffer
#include "types.hpp"         // SpikeSummary

namespace comfyvn::perf::detail {

struct BudgetTransition;  // profiler/span_budgets.hpp

class EventChannel {
 public:
  // Receives {trigger, payload} for every event (kProfilerEvent's triggers).
  using EventSink = std::function<void(std::string_view trigger, boost::json::object payload)>;
  // Says whether anyone listens; events are not even built otherwise.
  using EventInterest = std::function<bool()>;
  // Adds fields to health() (the runtime adds the hook bus's counters).
  using HealthExtension = std::function<void(boost::json::object&)>;
  // Appends {counter track, value} pairs that traces sample a few times a
  // second (the runtime adds the budget manager's host metrics).
  using TraceCounterSource = std::function<void(std::vector<std::pair<std::string, double>>&)>;

  // An empty `interest` means "always wanted"; an empty sink emits nothing.
  void set_sink(EventSink sink, EventInterest interest);
  void set_counter_source(TraceCounterSource source);
  void set_health_extension(HealthExtension extension);

  bool wants() const;

  // Builds the payload only when someone listens.
  template <class MakePayload>
  void emit(std::string_view trigger, MakePayload&& make) const {
    const auto s = sink();
    if (!s || !s->emit || (s->interest && !s->interest())) return;
    s->emit(trigger, make());
  }

  void extend_health(boost::json::object& health) const;

  // Adds the counter source's values now to `buffer`.
  void sample_counters(TraceBuffer& buffer) const;

  // span.recorded for a drained batch, and for one span with metadata.
  void emit_batch(const std::vector<RawSpan>& batch) const;
  void emit_annotated(std::string_view name, std::string_view category, double duration_ms,
                      const boost::json::object& metadata) const;
  // span_budget.exceeded / .recovered / .spike.
  void emit_budget_events(const std::vector<BudgetTransition>& transitions,
                          const std::vector<SpikeSummary>& spikes) const;

  void fork_prepare() { mu_.lock(); }
  void fork_parent() { mu_.unlock(); }
  void fork_child() { mu_.unlock(); }

 private:
  struct Sink {
    EventSink emit;
    EventInterest interest;
  };
  std::shared_ptr<const Sink> sink() const;

  mutable std::mutex mu_;
  std::shared_ptr<const Sink> sink_;
  std::shared_ptr<const TraceCounterSource> counter_source_;
  std::shared_ptr<const HealthExtension> health_extension_;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <boost/json/array.hpp>       // span lists
#include <boost/json/value_from.hpp>  // budget states, spikes

#include "../core/clock.hpp"     // DefaultClock
#include "../json/profiler.hpp"  // tag_invoke of the profiler's types
#include "../os/text.hpp"        // clean_name
#include "../os/time.hpp"        // epoch_now
#include "events.hpp"            // profiler_events
#include "registry.hpp"          // registry(): site names, time base
#include "span_budgets.hpp"      // BudgetTransition

namespace comfyvn::perf::detail {

void EventChannel::set_sink(EventSink sink, EventInterest interest) {
  auto s = std::make_shared<const Sink>(Sink{std::move(sink), std::move(interest)});
  std::lock_guard<std::mutex> lock(mu_);
  sink_ = std::move(s);
}

void EventChannel::set_counter_source(TraceCounterSource source) {
  auto s = std::make_shared<const TraceCounterSource>(std::move(source));
  std::lock_guard<std::mutex> lock(mu_);
  counter_source_ = std::move(s);
}

void EventChannel::set_health_extension(HealthExtension extension) {
  auto e = std::make_shared<const HealthExtension>(std::move(extension));
  std::lock_guard<std::mutex> lock(mu_);
  health_extension_ = std::move(e);
}

std::shared_ptr<const EventChannel::Sink> EventChannel::sink() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sink_;
}

bool EventChannel::wants() const {
  const auto s = sink();
  return s && s->emit && (!s->interest || s->interest());
}

void EventChannel::extend_health(boost::json::object& health) const {
  std::shared_ptr<const HealthExtension> extension;
  {
    std::lock_guard<std::mutex> lock(mu_);
    extension = health_extension_;
  }
  if (extension && *extension) (*extension)(health);
}

void EventChannel::sample_counters(TraceBuffer& buffer) const {
  std::shared_ptr<const TraceCounterSource> source;
  {
    std::lock_guard<std::mutex> lock(mu_);
    source = counter_source_;
  }
  if (!source || !*source) return;
  std::vector<std::pair<std::string, double>> values;
  try {
    (*source)(values);
  } catch (...) {
    return;
  }
  const std::uint64_t now = DefaultClock::now();
  for (auto& v : values) buffer.add_counter(TraceCounterSample{std::move(v.first), v.second, now});
}

void EventChannel::emit_batch(const std::vector<RawSpan>& batch) const {
  emit(profiler_events::kSpanRecorded, [&] {
    auto& reg = registry();
    const double ms = reg.time().ns_per_tick() / 1e6;
    boost::json::array spans;
    spans.reserve(batch.size());
    for (const auto& s : batch) {
      const SiteInfo info = reg.site_info(s.site_id);
      if (info.counter) continue;  // counter samples are not spans
      spans.push_back(boost::json::object{
          {"name", info.name},
          {"category", info.category},
          {"duration_ms", static_cast<double>(s.duration_ticks) * ms},
          {"memory_kb", static_cast<double>(s.alloc_bytes) / 1024.0},
          {"thread", s.thread_index},
          {"timestamp", reg.time().ticks_to_epoch(s.start_ticks + s.duration_ticks)}});
    }
    const std::size_t n = spans.size();
    return boost::json::object{{"count", n}, {"spans", std::move(spans)}};
  });
}

void EventChannel::emit_annotated(std::string_view name, std::string_view category,
                                  double duration_ms, const boost::json::object& metadata) const {
  emit(profiler_events::kSpanRecorded, [&] {
    boost::json::array spans;
    spans.push_back(boost::json::object{{"name", os::clean_name(name, kMaxNameBytes)},
                                        {"category", os::clean_name(category, kMaxNameBytes)},
                                        {"duration_ms", duration_ms},
                                        {"metadata", metadata},
                                        {"timestamp", os::epoch_now()}});
    return boost::json::object{{"count", 1}, {"spans", std::move(spans)}};
  });
}

void EventChannel::emit_budget_events(const std::vector<BudgetTransition>& transitions,
                                      const std::vector<SpikeSummary>& spikes) const {
  for (const auto& t : transitions) {
    emit(t.exceeded ? profiler_events::kSpanBudgetExceeded : profiler_events::kSpanBudgetRecovered,
         [&] {
           return boost::json::object{{"budget", boost::json::value_from(t.state)}};
         });
  }
  for (const auto& s : spikes) {
    emit(profiler_events::kSpanBudgetSpike, [&] {
      return boost::json::object{{"spike", boost::json::value_from(s)}};
    });
  }
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
