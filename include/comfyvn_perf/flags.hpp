// comfyvn_perf — feature flags (features.enable_perf and the legacy keys).
//
// PLACEHOLDER: reads only COMFYVN_ENABLE_PERF. The config-file implementation
// replaces the bodies; the API is fixed.
#pragma once

#include <cstdlib>  // getenv

#include "config.hpp"
#include "detail/registry.hpp"

namespace comfyvn::perf {

class FeatureFlags {
 public:
  bool perf_enabled() const { return detail::env_flag_true(std::getenv("COMFYVN_ENABLE_PERF")); }
  bool budgets_enabled() const { return perf_enabled(); }
  bool profiler_enabled() const { return perf_enabled(); }
  bool set_perf_enabled(bool on) {
    (void)on;
    return false;
  }
};

COMFYVN_PERF_VISIBLE inline FeatureFlags& feature_flags() {
  static FeatureFlags* f = new FeatureFlags();
  return *f;
}

}  // namespace comfyvn::perf
