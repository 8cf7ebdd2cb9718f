// comfyvn_perf — compatibility path: the hook bus and the anonymiser
// (hooks/) and the process-wide hooks() (runtime/).
#pragma once

#include "hooks/anonymize.hpp"     // IWYU pragma: export
#include "hooks/bus.hpp"           // IWYU pragma: export
#include "runtime/singletons.hpp"  // IWYU pragma: export
