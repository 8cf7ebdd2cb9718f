// comfyvn_perf — moved to metrics/procfs.hpp, metrics/cgroup.hpp and
// metrics/psi.hpp; kept for older includers.
#pragma once

#include "metrics/cgroup.hpp"  // IWYU pragma: export
#include "metrics/procfs.hpp"  // IWYU pragma: export
#include "metrics/psi.hpp"     // IWYU pragma: export
