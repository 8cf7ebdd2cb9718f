// The SDK's definitions, compiled once per build flavour and language mode
// and linked into every test program (config.hpp: COMFYVN_PERF_IMPLEMENTATION).
// The test files themselves see only declarations.
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/perf.hpp>
#if COMFYVN_TEST_HTTP
#include <comfyvn_perf/http.hpp>
#endif
