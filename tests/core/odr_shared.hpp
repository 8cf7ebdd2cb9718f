#pragma once
#include <comfyvn_perf/scope.hpp>

inline void odr_shared_work(int n) {
  for (int i = 0; i < n; ++i) {
    PERF_SCOPE("odr.shared", "test");
  }
}
