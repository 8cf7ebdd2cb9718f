// comfyvn.perf._perf — the compiled half of the Python package comfyvn.perf
// (python/comfyvn/perf/__init__.py re-exports it). docs/python.md describes
// the API; _perf.pyi has its types.
#include "common.hpp"

#include <dlfcn.h>  // dladdr: which binary holds the singletons

#include <string>  // paths

#include <comfyvn_perf/perf.hpp>

namespace comfyvn_py {

namespace perf = comfyvn::perf;

namespace {

// The file that holds `address` (the program for the executable itself).
std::string binary_of(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return {};
  return info.dli_fname;
}

const void* base_of(const void* address) {
  Dl_info info{};
  return dladdr(address, &info) != 0 ? info.dli_fbase : nullptr;
}

void this_module() {}

// perf_profiler() resolves, through the dynamic linker, to the first
// definition in the process: the program's when it exports one.
const void* profiler_function() {
  return reinterpret_cast<const void*>(&perf::perf_profiler);
}

}  // namespace

bool sdk_in_host() {
  return base_of(profiler_function()) != base_of(reinterpret_cast<const void*>(&this_module));
}

}  // namespace comfyvn_py

PYBIND11_MODULE(_perf, m) {
  namespace cp = comfyvn_py;
  m.doc() = "The compiled half of comfyvn.perf: the process's comfyvn_perf singletons.";
  m.attr("__version__") = comfyvn::perf::version();
  cp::bind_gate(m);
  cp::bind_profile(m);
  cp::bind_profiler(m);
  cp::bind_budgets(m);
  cp::bind_hooks(m);
  cp::bind_http(m);
  m.def(
      "_sdk_info",
      [] {
        cp::py::dict d;
        d["module"] = cp::binary_of(reinterpret_cast<const void*>(&cp::this_module));
        d["origin"] = cp::binary_of(cp::profiler_function());
        d["shared_with_host"] = cp::sdk_in_host();
        d["perf_profiler"] = reinterpret_cast<std::uintptr_t>(&comfyvn::perf::perf_profiler());
        d["budget_manager"] = reinterpret_cast<std::uintptr_t>(&comfyvn::perf::budget_manager());
        d["hooks"] = reinterpret_cast<std::uintptr_t>(&comfyvn::perf::hooks());
        d["feature_flags"] = reinterpret_cast<std::uintptr_t>(&comfyvn::perf::feature_flags());
        return d;
      },
      "Where the SDK's singletons live: `origin` is the binary whose definitions the process "
      "uses (this module, or a C++ program that exports its own), with their addresses.");
}
