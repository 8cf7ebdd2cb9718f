// comfyvn_perf — compatibility path; wall-clock helpers live in os/time.hpp.
#pragma once

#include "../os/time.hpp"

namespace comfyvn::perf::detail {
using os::epoch_now;
}  // namespace comfyvn::perf::detail
