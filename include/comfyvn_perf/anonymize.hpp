// comfyvn_perf — compatibility path; the header lives in hooks/.
#pragma once
#include "hooks/anonymize.hpp"  // IWYU pragma: export
