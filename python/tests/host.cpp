// A C++ program that embeds Python and imports comfyvn.perf: one profiler per
// process. The program defines the SDK (COMFYVN_PERF_IMPLEMENTATION) and
// exports it (-rdynamic, the comfyvn_perf-host dependency); the extension
// module, which defines the SDK too, must bind to the program's singletons.
// Spans of one site from both languages land in one dashboard with exact
// counts, a job registered from Python is the program's, and a Python hook
// subscriber receives the program's events.
//
// Run by `meson test python_host` with PYTHONPATH at the built package.
// Prints the counts and exits 0, or names what differs and exits 1.
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/perf.hpp>

#include <pybind11/embed.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

namespace py = pybind11;
namespace perf = comfyvn::perf;

namespace {

constexpr int kCxxBefore = 1500;  // "mixed.step" from C++ before Python starts
constexpr int kCxxAfter = 1500;   // ... and after it recorded its own
constexpr int kPython = 2000;     // "mixed.step" from Python's with-statement
constexpr int kPythonDecorated = 700;
constexpr int kPythonThreads = 4;
constexpr int kPerThread = 250;
constexpr int kCxxOnly = 321;

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what.c_str());
    ++failures;
  }
}

void cxx_spans(int n) {
  for (int i = 0; i < n; ++i) {
    PERF_SCOPE("mixed.step", "mixed");
  }
}

std::map<std::string, std::uint64_t> cxx_counts() {
  std::map<std::string, std::uint64_t> out;
  for (const auto& a : perf::perf_profiler().aggregates()) out[a.name] = a.count;
  return out;
}

const char* kPythonCode = R"(
import threading
import comfyvn.perf as cp

info = cp._perf._sdk_info()
p = cp.perf_profiler
for _ in range(N_PYTHON):
    with p.profile("mixed.step", "mixed"):
        pass

@p.profile("py.decorated", "mixed")
def step():
    pass

for _ in range(N_DECORATED):
    step()

def worker():
    for _ in range(N_PER_THREAD):
        with p.profile("py.thread", "mixed"):
            pass

threads = [threading.Thread(target=worker, name=f"py-worker-{i}") for i in range(N_THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()

cp.budget_manager.register_job("py-job", "render")
seen = []
subscription = cp.hooks.subscribe(cp.BUDGET_EVENT, lambda env: seen.append(env["trigger"]))
)";

}  // namespace

int main() {
  perf::PerfProfiler& profiler = perf::perf_profiler();
  profiler.set_enabled(true);
  profiler.reset();
  perf::set_thread_name("host main");
  cxx_spans(kCxxBefore);
  for (int i = 0; i < kCxxOnly; ++i) {
    PERF_SCOPE("cxx.only", "mixed");
  }

  py::scoped_interpreter interpreter;
  py::dict scope;
  scope["N_PYTHON"] = kPython;
  scope["N_DECORATED"] = kPythonDecorated;
  scope["N_THREADS"] = kPythonThreads;
  scope["N_PER_THREAD"] = kPerThread;
  try {
    py::exec(kPythonCode, scope);
  } catch (const py::error_already_set& e) {
    std::printf("FAIL: Python raised: %s\n", e.what());
    return 1;
  }

  // The extension bound to this program's singletons.
  py::dict info = scope["info"];
  expect(info["shared_with_host"].cast<bool>(), "the module uses its own SDK, not the program's");
  const auto address = [](auto& object) { return reinterpret_cast<std::uintptr_t>(&object); };
  expect(info["perf_profiler"].cast<std::uintptr_t>() == address(profiler), "perf_profiler()");
  expect(info["budget_manager"].cast<std::uintptr_t>() == address(perf::budget_manager()),
         "budget_manager()");
  expect(info["hooks"].cast<std::uintptr_t>() == address(perf::hooks()), "hooks()");
  expect(info["feature_flags"].cast<std::uintptr_t>() == address(perf::feature_flags()),
         "feature_flags()");

  cxx_spans(kCxxAfter);

  // Exact counts, read from both languages.
  const std::map<std::string, std::uint64_t> expected = {
      {"mixed.step", kCxxBefore + kCxxAfter + kPython},
      {"cxx.only", kCxxOnly},
      {"py.decorated", kPythonDecorated},
      {"py.thread", kPythonThreads * kPerThread},
  };
  std::map<std::string, std::uint64_t> from_cxx = cxx_counts();
  py::dict dashboard = py::module_::import("comfyvn.perf")
                           .attr("perf_profiler")
                           .attr("dashboard")(py::arg("limit") = 100);
  std::map<std::string, std::uint64_t> from_python;
  for (py::handle row : dashboard["aggregates"]) {
    from_python[row["name"].cast<std::string>()] = row["count"].cast<std::uint64_t>();
  }
  for (const auto& [name, count] : expected) {
    std::printf("%-12s expected %5llu  C++ dashboard %5llu  Python dashboard %5llu\n", name.c_str(),
                static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(from_cxx[name]),
                static_cast<unsigned long long>(from_python[name]));
    expect(from_cxx[name] == count, name + " count seen from C++");
    expect(from_python[name] == count, name + " count seen from Python");
  }

  // One budget manager: the job Python registered is the program's.
  const std::string budgets = boost::json::serialize(perf::budget_manager().snapshot());
  expect(budgets.find("\"py-job\"") != std::string::npos, "py-job in the program's budgets");

  // One hook bus: the program's event reaches the Python subscriber, on
  // the dispatcher thread, which needs the GIL this thread gives up here.
  {
    py::gil_scoped_release release;
    perf::budget_manager().register_job("cxx-job", "render");
    perf::hooks().flush();
  }
  py::list seen = scope["seen"];
  expect(seen.size() == 1 && seen[0].cast<std::string>() == "job.registered",
         "the Python subscriber got the program's job.registered");
  scope["subscription"].attr("close")();

  profiler.set_enabled(false);
  if (failures == 0) std::printf("one profiler per process: ok\n");
  return failures == 0 ? 0 : 1;
}
