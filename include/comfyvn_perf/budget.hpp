// comfyvn_perf — BudgetManager. PLACEHOLDER until the budget work lands.
#pragma once

#include "config.hpp"

namespace comfyvn::perf {

class BudgetManager {};

COMFYVN_PERF_VISIBLE inline BudgetManager& budget_manager() {
  static BudgetManager* b = new BudgetManager();
  return *b;
}

}  // namespace comfyvn::perf
