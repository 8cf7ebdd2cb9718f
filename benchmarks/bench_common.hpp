// Shared by the benchmark translation units.
#pragma once

#include <benchmark/benchmark.h>

// Runs before any thread of a benchmark starts (Google Benchmark Setup hook).
void enable_profiler(const benchmark::State&);
void disable_profiler(const benchmark::State&);
