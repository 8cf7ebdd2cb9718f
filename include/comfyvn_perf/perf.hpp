// comfyvn_perf — umbrella header: hot path, profiler, budgets, flags, hooks,
// and the process-wide objects that connect them. The HTTP adapter is
// separate: <comfyvn_perf/http.hpp>.
#pragma once

// Results are Boost.JSON values (dashboard(), health(), ...): callers can
// read and serialise them without another include.
#include <boost/json.hpp>  // IWYU pragma: export

#include "budget/manager.hpp"      // IWYU pragma: export
#include "config.hpp"              // IWYU pragma: export
#include "core/alloc.hpp"          // IWYU pragma: export
#include "flags/flags.hpp"         // IWYU pragma: export
#include "hooks/anonymize.hpp"     // IWYU pragma: export
#include "hooks/bus.hpp"           // IWYU pragma: export
#include "json/metrics.hpp"        // IWYU pragma: export
#include "metrics/provider.hpp"    // IWYU pragma: export
#include "export/prometheus.hpp"   // IWYU pragma: export
#include "profiler/profiler.hpp"   // IWYU pragma: export
#include "runtime/singletons.hpp"  // IWYU pragma: export
#include "scope.hpp"               // IWYU pragma: export
