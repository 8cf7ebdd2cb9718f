// The examples' implementation file: the SDK's definitions (config.hpp,
// COMFYVN_PERF_IMPLEMENTATION), compiled once and linked into every example.
// A program has exactly one such file; the others include the SDK's headers
// as usual and see declarations only (docs/integration.md).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/perf.hpp>
#if COMFYVN_EXAMPLES_HTTP
#include <comfyvn_perf/http.hpp>
#endif
