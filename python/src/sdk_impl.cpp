// The SDK's definitions for the Python module (config.hpp,
// COMFYVN_PERF_IMPLEMENTATION): in a plain Python process the module is the
// SDK. Loaded into a C++ program that exports its own definitions (linked
// with -rdynamic, the comfyvn_perf-host variant), the dynamic linker binds
// this module's references to the singletons to the program's instead, and
// the whole process shares one profiler (docs/python.md).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/http.hpp>
#include <comfyvn_perf/perf.hpp>
