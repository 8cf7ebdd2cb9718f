// comfyvn.perf — calls into Python from the SDK's threads, and the end of
// the interpreter.
//
// The hook dispatcher, the budget sampler and the HTTP adapter's threads
// call Python callbacks (hook subscribers, unload handlers). Once the
// interpreter finalises, a thread that asks for the GIL is ended by Python
// with pthread_exit, which inside the SDK's noexcept delivery code would
// terminate the process. So the module's atexit hook closes a gate first:
// calls that start later are skipped, calls already running finish, and only
// then does it close subscriptions and stop adapters.
#include "common.hpp"

#include <atomic>   // the gate
#include <chrono>   // waiting for calls in flight
#include <map>      // cleanups by id
#include <mutex>    // deferred decrefs, cleanups
#include <thread>   // sleep_for
#include <utility>  // move
#include <vector>   // deferred decrefs

namespace comfyvn_py {

namespace {

std::atomic<bool> g_alive{false};
std::atomic<int> g_in_flight{0};

std::mutex g_deferred_mu;
std::vector<PyObject*> g_deferred;  // references to drop once a thread holds the GIL
std::atomic<bool> g_drain_scheduled{false};

std::mutex g_cleanups_mu;
std::map<std::uint64_t, std::function<void()>> g_cleanups;
std::uint64_t g_next_cleanup = 0;

int drain_pending_call(void*) {
  detail::drain_deferred_decrefs();
  return 0;
}

// The atexit hook (GIL held).
void shutdown() {
  g_alive.store(false);
  std::map<std::uint64_t, std::function<void()>> cleanups;
  {
    std::lock_guard<std::mutex> lock(g_cleanups_mu);
    cleanups.swap(g_cleanups);
  }
  {
    py::gil_scoped_release release;
    while (g_in_flight.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (auto& entry : cleanups) entry.second();
  }
  detail::drain_deferred_decrefs();
}

}  // namespace

bool python_alive() noexcept {
  return g_alive.load();
}

namespace detail {

// Counted before the gate is read: the atexit hook closes the gate, then
// waits for the count to reach zero, so a call either sees the gate closed
// or finishes before the interpreter goes.
GateCall::GateCall() noexcept {
  g_in_flight.fetch_add(1);
  admitted = g_alive.load();
}

GateCall::~GateCall() {
  g_in_flight.fetch_sub(1);
}

void drain_deferred_decrefs() noexcept {
  std::vector<PyObject*> batch;
  {
    std::lock_guard<std::mutex> lock(g_deferred_mu);
    if (g_deferred.empty()) return;
    batch.swap(g_deferred);
    g_drain_scheduled.store(false);
  }
  for (PyObject* obj : batch) Py_DECREF(obj);
}

}  // namespace detail

PyRef::PyRef(py::handle obj) : obj_(obj.inc_ref().ptr()) {}

PyRef::~PyRef() {
  // After the atexit hook the reference is left for the process exit to
  // reclaim: no SDK thread may touch the interpreter any more.
  if (obj_ == nullptr || !g_alive.load()) return;
  if (PyGILState_Check()) {
    Py_DECREF(obj_);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(g_deferred_mu);
    g_deferred.push_back(obj_);
  }
  // The main thread runs pending calls between bytecodes; any with_gil()
  // drains the list too.
  if (!g_drain_scheduled.exchange(true)) Py_AddPendingCall(drain_pending_call, nullptr);
}

void log_callback_error(py::error_already_set& e, const char* what) {
  try {
    py::object logger = py::module_::import("logging").attr("getLogger")("comfyvn.perf");
    logger.attr("error")("%s raised an exception", what, py::arg("exc_info") = e.value());
  } catch (py::error_already_set&) {
    e.discard_as_unraisable(what);
  }
}

ExitBound::ExitBound(std::function<void()> end) : end_(std::move(end)) {
  std::lock_guard<std::mutex> lock(g_cleanups_mu);
  id_ = ++g_next_cleanup;
  g_cleanups.emplace(id_, end_);
}

ExitBound::~ExitBound() {
  forget();
  release_gil_for(end_);
}

void ExitBound::end_now() {
  forget();
  py::gil_scoped_release release;
  end_();
}

void ExitBound::forget() {
  std::lock_guard<std::mutex> lock(g_cleanups_mu);
  g_cleanups.erase(id_);
}

void bind_gate(py::module_& m) {
  g_alive.store(true);
  m.def("_shutdown", &shutdown,
        "Closes subscriptions and stops adapters before the interpreter finalises "
        "(registered with atexit; calling it earlier stops every callback for good).");
  py::module_::import("atexit").attr("register")(m.attr("_shutdown"));
}

}  // namespace comfyvn_py
