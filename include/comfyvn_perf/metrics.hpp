// comfyvn_perf — moved to metrics/ (the providers) and json/metrics.hpp (the
// JSON of a sample); kept for older includers.
#pragma once

#include "json/metrics.hpp"      // IWYU pragma: export
#include "metrics/provider.hpp"  // IWYU pragma: export
