// comfyvn_perf — the HTTP adapter. PLACEHOLDER until the adapter work lands.
#pragma once

#include "perf.hpp"
