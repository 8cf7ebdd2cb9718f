// comfyvn.perf — what the binding files share: the JSON conversions, the
// guard around calls into Python from the SDK's threads, and each part's
// binding function (module.cpp calls them in order).
//
// Python.h comes first (pybind11 includes it), as Python requires.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>      // size_t
#include <cstdint>      // int64_t, uint64_t
#include <functional>   // ExitBound
#include <string_view>  // field names

#include <boost/json/fwd.hpp>  // json::value, object, array

namespace comfyvn_py {

namespace py = pybind11;
namespace json = boost::json;

// ---- JSON <-> Python (convert.cpp) ----

// The SDK's JSON results as plain Python objects: objects become dicts,
// arrays lists, numbers int or float, null None.
py::object to_python(const json::value& v);
py::dict to_python(const json::object& o);
py::list to_python(const json::array& a);

// A Python dict (or None: empty) as a JSON object. `field` names the
// argument in errors ("metadata.key[2] ...": TypeError for a value JSON
// cannot hold, ValueError for NaN, infinity or nesting past 32 levels).
json::object to_json_object(py::handle obj, std::string_view field);

// A non-negative integer argument; ValueError naming `field` otherwise.
std::size_t to_count(std::int64_t v, std::string_view field);

// Runs `fn` (an SDK read that may wait for a lock or a thread) with the GIL
// released, and returns its JSON result as Python objects.
template <class Fn>
auto json_without_gil(Fn&& fn) {
  auto out = [&] {
    py::gil_scoped_release release;
    return fn();
  }();
  return to_python(out);
}

// ---- calls into Python from the SDK's threads (gate.cpp) ----

// False once the interpreter has begun shutting down (this module's
// atexit hook ran): from then on no SDK thread enters Python again.
bool python_alive() noexcept;

// Runs `fn` with the GIL held on the calling thread (any thread), unless
// the interpreter is shutting down; returns whether it ran. The atexit hook
// waits for every such call to return before the interpreter goes away.
template <class Fn>
bool with_gil(Fn&& fn);

// A strong reference to a Python object that any thread may copy and drop:
// the last drop decrements the reference count under the GIL, at once when
// the dropping thread holds it, else later, on a thread that does. So SDK
// threads never wait for the GIL just to free a callback.
class PyRef {
 public:
  explicit PyRef(py::handle obj);  // GIL held
  ~PyRef();
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  py::handle get() const noexcept { return obj_; }

 private:
  PyObject* obj_;
};

// Runs `fn` without the GIL when this thread holds it (a destructor that may
// wait for an SDK thread, which may be waiting for the GIL): once the
// interpreter is shutting down, with the GIL kept, as no SDK thread enters
// Python any more.
template <class Fn>
void release_gil_for(Fn&& fn) {
  if (python_alive() && PyGILState_Check()) {
    py::gil_scoped_release release;
    fn();
  } else {
    fn();
  }
}

// Logs a Python callback's exception through logging.getLogger("comfyvn.perf")
// (sys.unraisablehook if logging itself fails). GIL held; clears the error.
void log_callback_error(py::error_already_set& e, const char* what);

// Something that a handle's close() or the atexit hook ends, whichever comes
// first (a subscription, an adapter). `end` may wait for an SDK thread, so
// it never runs with the GIL held while Python still runs; it must be safe
// from any thread and more than once.
class ExitBound {
 public:
  explicit ExitBound(std::function<void()> end);
  ~ExitBound();  // ends it too
  ExitBound(const ExitBound&) = delete;
  ExitBound& operator=(const ExitBound&) = delete;
  void end_now();  // GIL held

 private:
  void forget();
  std::function<void()> end_;
  std::uint64_t id_ = 0;
};

namespace detail {
struct GateCall {
  GateCall() noexcept;
  ~GateCall();
  bool admitted;
};
void drain_deferred_decrefs() noexcept;
}  // namespace detail

template <class Fn>
bool with_gil(Fn&& fn) {
  detail::GateCall call;
  if (!call.admitted) return false;
  py::gil_scoped_acquire gil;
  detail::drain_deferred_decrefs();
  fn();
  return true;
}

// ---- the parts ----

void bind_gate(py::module_& m);      // gate.cpp: the atexit hook
void bind_profile(py::module_& m);   // profile.cpp: profile(), its scope and decorator
void bind_profiler(py::module_& m);  // profiler.cpp: perf_profiler
void bind_budgets(py::module_& m);   // budgets.cpp: budget_manager, the Budget*Error types
void bind_hooks(py::module_& m);     // hooks.cpp: hooks, feature_flags
void bind_http(py::module_& m);      // http.cpp: serve()

// Whether the SDK's singletons are the program's (a C++ host that exports
// them) rather than this module's own (module.cpp).
bool sdk_in_host();

// Installs the fast `profile` method on the profiler's type (profile.cpp).
void add_profile_method(py::handle profiler_type);

// Names the calling thread after its Python thread before its first span or
// mark while the profiler is enabled (profile.cpp). An explicit name wins:
// mark_thread_named() says one was given.
void name_thread_once();
void mark_thread_named() noexcept;

}  // namespace comfyvn_py
