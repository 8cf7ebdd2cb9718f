// comfyvn_perf — compatibility path; environment switches live in os/env.hpp.
#pragma once

#include "../os/env.hpp"

namespace comfyvn::perf::detail {
using os::env_flag_true;
}  // namespace comfyvn::perf::detail
