// comfyvn_perf — umbrella header: hot path, profiler, budgets, flags, hooks.
// The HTTP adapter is separate: <comfyvn_perf/http.hpp>.
#pragma once

#include "config.hpp"
#include "scope.hpp"
#include "alloc.hpp"
#include "hooks.hpp"
#include "profiler.hpp"
#include "budget.hpp"
#include "flags.hpp"
