// comfyvn_perf — umbrella header: hot path, profiler, budgets, flags, hooks.
// The HTTP adapter is separate: <comfyvn_perf/http.hpp>.
#pragma once

#include "alloc.hpp"
#include "budget.hpp"
#include "config.hpp"
#include "flags.hpp"
#include "hooks.hpp"
#include "profiler.hpp"
#include "scope.hpp"
