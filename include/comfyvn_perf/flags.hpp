// comfyvn_perf — compatibility path: FeatureFlags (flags/) and the
// process-wide feature_flags() (runtime/).
#pragma once

#include "flags/flags.hpp"         // IWYU pragma: export
#include "runtime/singletons.hpp"  // IWYU pragma: export
