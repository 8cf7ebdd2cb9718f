// comfyvn_perf — PerfProfiler::profile()'s scope: a span with a runtime name
// (the form of PERF_SCOPE_DYN that carries metadata). Metadata, when given,
// travels with the span's span.recorded event.
#pragma once

#include <string>       // names kept for the event
#include <string_view>  // names

#include <boost/json/object.hpp>  // metadata

#include "../core/scope.hpp"  // Scope
#include "event_channel.hpp"  // EventChannel

namespace comfyvn::perf {

class PerfProfiler;  // profiler/profiler.hpp

class ProfileScope {
 public:
  // The form PerfProfiler::profile() returns (defined in profiler/profiler.hpp).
  ProfileScope(PerfProfiler& profiler, std::string_view name, std::string_view category,
               boost::json::object metadata);
  ProfileScope(const detail::EventChannel& events, std::string_view name,
               std::string_view category, boost::json::object metadata);
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;
  bool active() const noexcept { return scope_.active(); }

 private:
  const detail::EventChannel* events_;
  Scope scope_;
  std::string name_, category_;
  boost::json::object metadata_;
  double start_ = 0;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <utility>  // move

#include "../os/time.hpp"  // epoch_now

namespace comfyvn::perf {

ProfileScope::ProfileScope(const detail::EventChannel& events, std::string_view name,
                           std::string_view category, boost::json::object metadata)
    : events_(&events), scope_(name, category) {
  if (!metadata.empty() && scope_.active()) {
    name_ = std::string(name);
    category_ = std::string(category);
    metadata_ = std::move(metadata);
    start_ = os::epoch_now();
  }
}

ProfileScope::~ProfileScope() {
  if (name_.empty()) return;
  try {
    events_->emit_annotated(name_, category_, (os::epoch_now() - start_) * 1e3, metadata_);
  } catch (...) {
  }
}

}  // namespace comfyvn::perf
#endif  // COMFYVN_PERF_IMPLEMENTATION
