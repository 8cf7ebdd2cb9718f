// comfyvn_perf — moved to budget/ (the BudgetManager facade and its parts)
// and runtime/singletons.hpp (budget_manager()); kept for older includers.
#pragma once

#include "budget/manager.hpp"      // IWYU pragma: export
#include "runtime/singletons.hpp"  // IWYU pragma: export
