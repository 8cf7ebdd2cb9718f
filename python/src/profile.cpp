// comfyvn.perf — perf_profiler.profile(): the span from Python, as a context
// manager and as a decorator.
//
// This is the one hot path of the module, so it is written against the C API
// rather than pybind11 (whose call dispatch alone costs more than the span):
// profile() is a METH_FASTCALL method, the object it returns is a small C
// type whose __enter__ and __exit__ construct and destroy the SDK's own
// Scope in place, and the decorator's wrapper is a vectorcall object that
// holds a Scope on the C stack around the call. Each (name, category) is
// interned once into a Site that lives as long as the process, so a span
// from Python costs the SDK what PERF_SCOPE costs plus the interpreter's
// calls. docs/python.md has the measured cost.
#include "common.hpp"

#include <pthread.h>  // pthread_self, pthread_equal, thread names

#include <cstring>  // memchr
#include <new>      // placement new: the Scope lives inside the Python object
#include <string>   // site names

#include <comfyvn_perf/perf.hpp>

namespace comfyvn_py {

namespace perf = comfyvn::perf;

namespace {

using Scope = perf::Scope;
using SlowScope = perf::PerfProfiler::ProfileScope;

// A site interned from Python: the SDK's Site over strings it owns. Never
// freed (the SDK keeps the site's id in it for the life of the process).
struct SiteEntry {
  SiteEntry(std::string n, std::string c)
      : name(std::move(n)),
        category(std::move(c)),
        site{name.c_str(), category.c_str(), "<python>", "", 0} {}
  std::string name;
  std::string category;
  perf::Site site;
};

// Distinct (name, category) pairs given their own Site. Past this, profile()
// records through the SDK's runtime-name path (PERF_SCOPE_DYN's interning,
// with its cap and its "(other)" site), which costs a little more per span.
constexpr Py_ssize_t kMaxCachedSites = 1024;

PyObject* g_sites = nullptr;    // name, or (name, category) -> capsule(SiteEntry*)
PyObject* g_general = nullptr;  // "general", interned
perf::PerfProfiler* g_profiler = nullptr;
bool g_sdk_in_host = false;  // the singletons belong to the program, not to this module

thread_local bool t_named = false;

void name_thread_from_python();

// ---- sites ----

// The cached entry of (name, category), creating it while there is room;
// nullptr when the pair records through the runtime-name path. `name` and
// `category` are exact str objects. Returns false with a Python error set.
bool lookup_site(PyObject* name, PyObject* category, SiteEntry** out) {
  *out = nullptr;
  PyObject* key = name;
  bool own_key = false;
  if (category != g_general) {
    const int same = PyUnicode_Compare(category, g_general);
    if (same == -1 && PyErr_Occurred()) return false;
    if (same != 0) {
      key = PyTuple_Pack(2, name, category);
      if (key == nullptr) return false;
      own_key = true;
    }
  }
  struct DropKey {
    PyObject* key;
    bool own;
    ~DropKey() {
      if (own) Py_DECREF(key);
    }
  } drop{key, own_key};

  PyObject* cached = PyDict_GetItemWithError(g_sites, key);  // borrowed
  if (cached != nullptr) {
    *out = static_cast<SiteEntry*>(PyCapsule_GetPointer(cached, nullptr));
    return *out != nullptr;
  }
  if (PyErr_Occurred()) return false;
  if (PyDict_GET_SIZE(g_sites) >= kMaxCachedSites) return true;

  Py_ssize_t name_len = 0;
  Py_ssize_t category_len = 0;
  const char* name_text = PyUnicode_AsUTF8AndSize(name, &name_len);
  if (name_text == nullptr) return false;
  const char* category_text = PyUnicode_AsUTF8AndSize(category, &category_len);
  if (category_text == nullptr) return false;
  // A Site holds C strings: a name with a NUL inside takes the other path,
  // which passes lengths.
  if (std::memchr(name_text, 0, static_cast<std::size_t>(name_len)) != nullptr ||
      std::memchr(category_text, 0, static_cast<std::size_t>(category_len)) != nullptr) {
    return true;
  }
  SiteEntry* entry = nullptr;
  try {
    entry = new SiteEntry(std::string(name_text, static_cast<std::size_t>(name_len)),
                          std::string(category_text, static_cast<std::size_t>(category_len)));
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
    return false;
  }
  PyObject* capsule = PyCapsule_New(entry, nullptr, nullptr);
  if (capsule == nullptr || PyDict_SetItem(g_sites, key, capsule) != 0) {
    Py_XDECREF(capsule);
    delete entry;
    return false;
  }
  Py_DECREF(capsule);
  *out = entry;
  return true;
}

std::string_view utf8_view(PyObject* s) {
  Py_ssize_t n = 0;
  const char* text = PyUnicode_AsUTF8AndSize(s, &n);
  if (text == nullptr) throw py::error_already_set();
  return {text, static_cast<std::size_t>(n)};
}

// What profile(), the scope object and the decorator share.
struct SpanSpec {
  PyObject* name;          // exact str (strong)
  PyObject* category;      // exact str (strong)
  SiteEntry* site;         // nullptr: runtime-name path
  json::object* metadata;  // owned; nullptr when none
  bool fast() const { return site != nullptr && metadata == nullptr; }
};

void clear_spec(SpanSpec& s) {
  Py_CLEAR(s.name);
  Py_CLEAR(s.category);
  delete s.metadata;
  s.metadata = nullptr;
  s.site = nullptr;
}

bool copy_spec(const SpanSpec& from, SpanSpec& to) {
  to.name = Py_NewRef(from.name);
  to.category = Py_NewRef(from.category);
  to.site = from.site;
  to.metadata = nullptr;
  if (from.metadata != nullptr) {
    try {
      to.metadata = new json::object(*from.metadata);
    } catch (const std::bad_alloc&) {
      PyErr_NoMemory();
      return false;
    }
  }
  return true;
}

// The span's slow form: metadata travels with its span.recorded event, or
// the name is interned at run time.
SlowScope* new_slow_scope(const SpanSpec& s) {
  return new SlowScope(*g_profiler, utf8_view(s.name), utf8_view(s.category),
                       s.metadata != nullptr ? *s.metadata : json::object());
}

inline void before_span() {
  if (!t_named && g_profiler->enabled()) name_thread_from_python();
}

// Runs `fn` and turns C++ exceptions into Python ones; returns fn's result,
// or `fail` with a Python error set.
template <class T, class Fn>
T guarded(T fail, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return fail;
}

// ---- the scope object: profile(...) ----

struct ProfileObject {
  // clang-format off
  PyObject_HEAD  // the Python object header (a macro without its semicolon)
  SpanSpec spec;
  // clang-format on
  SlowScope* slow;   // while entered on the slow path
  pthread_t thread;  // the thread that entered
  bool entered;
  alignas(Scope) unsigned char scope[sizeof(Scope)];
};
static_assert(alignof(Scope) <= 16, "PyObject_Malloc aligns to 16 bytes");

PyTypeObject ProfileType;
PyTypeObject ProfiledFunctionType;

// Ends the span if this thread started it. A scope exited (or dropped) on
// another thread is discarded: a thread's buffer has one writer.
void end_span(ProfileObject* p) {
  if (!p->entered) return;
  p->entered = false;
  const bool same_thread = pthread_equal(p->thread, pthread_self()) != 0;
  if (p->spec.fast()) {
    // A Scope owns nothing: on another thread it is simply not ended.
    if (same_thread) std::launder(reinterpret_cast<Scope*>(p->scope))->~Scope();
  } else {
    SlowScope* s = p->slow;
    p->slow = nullptr;
    // On another thread the small scope is leaked rather than let it write
    // into the entering thread's buffer.
    if (same_thread) delete s;
  }
}

PyObject* profile_enter(PyObject* self, PyObject*) {
  auto* p = reinterpret_cast<ProfileObject*>(self);
  if (p->entered) {
    PyErr_SetString(PyExc_RuntimeError,
                    "this profile() scope is already entered; call profile() again for a nested "
                    "or concurrent span");
    return nullptr;
  }
  before_span();
  if (p->spec.fast()) {
    new (p->scope) Scope(p->spec.site->site);
  } else {
    p->slow = guarded<SlowScope*>(nullptr, [&] { return new_slow_scope(p->spec); });
    if (p->slow == nullptr) return nullptr;
  }
  p->thread = pthread_self();
  p->entered = true;
  return Py_NewRef(self);
}

PyObject* profile_exit(PyObject* self, PyObject* const*, Py_ssize_t) {
  end_span(reinterpret_cast<ProfileObject*>(self));
  Py_RETURN_NONE;  // false: an exception raised in the block propagates
}

PyObject* make_profiled_function(const SpanSpec& spec, PyObject* func);

// profile(...)(func): the decorator form.
PyObject* profile_call(PyObject* self, PyObject* args, PyObject* kwargs) {
  auto* p = reinterpret_cast<ProfileObject*>(self);
  if ((kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0) || PyTuple_GET_SIZE(args) != 1) {
    PyErr_SetString(PyExc_TypeError, "a profile() object used as a decorator takes one function");
    return nullptr;
  }
  return make_profiled_function(p->spec, PyTuple_GET_ITEM(args, 0));
}

void profile_dealloc(PyObject* self) {
  auto* p = reinterpret_cast<ProfileObject*>(self);
  end_span(p);
  clear_spec(p->spec);
  Py_TYPE(self)->tp_free(self);
}

PyObject* profile_repr(PyObject* self) {
  auto* p = reinterpret_cast<ProfileObject*>(self);
  return PyUnicode_FromFormat("<comfyvn.perf profile name=%R category=%R%s>", p->spec.name,
                              p->spec.category, p->entered ? " entered" : "");
}

PyMethodDef profile_methods[] = {
    {"__enter__", profile_enter, METH_NOARGS, "Starts the span; returns this object."},
    {"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(profile_exit)),
     METH_FASTCALL, "Ends the span (exceptions raised in the block propagate)."},
    {nullptr, nullptr, 0, nullptr},
};

PyObject* name_getter(PyObject* self, void*) {
  return Py_NewRef(reinterpret_cast<ProfileObject*>(self)->spec.name);
}
PyObject* category_getter(PyObject* self, void*) {
  return Py_NewRef(reinterpret_cast<ProfileObject*>(self)->spec.category);
}

PyGetSetDef profile_getset[] = {
    {"name", name_getter, nullptr, "The span's name.", nullptr},
    {"category", category_getter, nullptr, "The span's category.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

// ---- the decorator's wrapper ----

struct ProfiledFunction {
  // clang-format off
  PyObject_HEAD
  SpanSpec spec;
  // clang-format on
  PyObject* func;
  PyObject* dict;  // __dict__: functools.update_wrapper's attributes
  vectorcallfunc vectorcall;
};

PyObject* profiled_vectorcall(PyObject* self, PyObject* const* args, size_t nargsf,
                              PyObject* kwnames) {
  auto* f = reinterpret_cast<ProfiledFunction*>(self);
  before_span();
  if (f->spec.fast()) {
    Scope scope(f->spec.site->site);
    return PyObject_Vectorcall(f->func, args, nargsf, kwnames);
  }
  SlowScope* scope = guarded<SlowScope*>(nullptr, [&] { return new_slow_scope(f->spec); });
  if (scope == nullptr) return nullptr;
  PyObject* result = PyObject_Vectorcall(f->func, args, nargsf, kwnames);
  delete scope;
  return result;
}

// As a method: bound to the instance like a plain function.
PyObject* profiled_get(PyObject* self, PyObject* obj, PyObject*) {
  if (obj == nullptr || obj == Py_None) return Py_NewRef(self);
  return PyMethod_New(self, obj);
}

int profiled_traverse(PyObject* self, visitproc visit, void* arg) {
  auto* f = reinterpret_cast<ProfiledFunction*>(self);
  Py_VISIT(f->func);
  Py_VISIT(f->dict);
  return 0;
}

int profiled_clear(PyObject* self) {
  auto* f = reinterpret_cast<ProfiledFunction*>(self);
  Py_CLEAR(f->func);
  Py_CLEAR(f->dict);
  return 0;
}

void profiled_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);
  profiled_clear(self);
  clear_spec(reinterpret_cast<ProfiledFunction*>(self)->spec);
  Py_TYPE(self)->tp_free(self);
}

PyObject* profiled_repr(PyObject* self) {
  auto* f = reinterpret_cast<ProfiledFunction*>(self);
  return PyUnicode_FromFormat("<comfyvn.perf profiled %R name=%R category=%R>", f->func,
                              f->spec.name, f->spec.category);
}

PyGetSetDef profiled_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

// Generators and coroutines would be timed only while they are created.
bool check_decoratable(PyObject* func) {
  if (!PyCallable_Check(func)) {
    PyErr_Format(PyExc_TypeError, "profile() decorates a callable, not %.200s",
                 Py_TYPE(func)->tp_name);
    return false;
  }
  PyObject* code = PyObject_GetAttrString(func, "__code__");
  if (code == nullptr) {
    PyErr_Clear();
    return true;
  }
  PyObject* flags_obj = PyObject_GetAttrString(code, "co_flags");
  Py_DECREF(code);
  if (flags_obj == nullptr) {
    PyErr_Clear();
    return true;
  }
  const long flags = PyLong_AsLong(flags_obj);
  Py_DECREF(flags_obj);
  if (flags == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    return true;
  }
  constexpr long kLazy = CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR | CO_ITERABLE_COROUTINE;
  if ((flags & kLazy) != 0) {
    PyErr_SetString(PyExc_TypeError,
                    "profile() cannot decorate a generator or coroutine function: the span would "
                    "cover only its creation. Use `with perf_profiler.profile(...)` inside it, "
                    "around code that does not yield or await.");
    return false;
  }
  return true;
}

PyObject* make_profiled_function(const SpanSpec& spec, PyObject* func) {
  if (!check_decoratable(func)) return nullptr;
  auto* f = PyObject_GC_New(ProfiledFunction, &ProfiledFunctionType);
  if (f == nullptr) return nullptr;
  f->spec = SpanSpec{nullptr, nullptr, nullptr, nullptr};
  f->func = Py_NewRef(func);
  f->dict = nullptr;
  f->vectorcall = profiled_vectorcall;
  PyObject* self = reinterpret_cast<PyObject*>(f);
  if (!copy_spec(spec, f->spec)) {
    Py_DECREF(self);
    return nullptr;
  }
  PyObject_GC_Track(self);
  // __name__, __qualname__, __doc__, __module__, __wrapped__, __dict__.
  PyObject* functools = PyImport_ImportModule("functools");
  PyObject* done = functools != nullptr
                       ? PyObject_CallMethod(functools, "update_wrapper", "OO", self, func)
                       : nullptr;
  Py_XDECREF(functools);
  if (done == nullptr) {
    Py_DECREF(self);
    return nullptr;
  }
  Py_DECREF(done);
  return self;
}

// ---- profile(name, category="general", metadata=None) ----

PyObject* as_exact_str(PyObject* obj, const char* what) {
  if (PyUnicode_CheckExact(obj)) return Py_NewRef(obj);
  if (PyUnicode_Check(obj)) return PyObject_Str(obj);
  PyErr_Format(PyExc_TypeError, "profile() %s must be a str, not %.200s", what,
               Py_TYPE(obj)->tp_name);
  return nullptr;
}

// profile(func) without arguments: the span is named after the function.
PyObject* profile_bare_decorator(PyObject* func) {
  PyObject* name = PyObject_GetAttrString(func, "__qualname__");
  if (name == nullptr) {
    PyErr_Clear();
    name = PyObject_GetAttrString(func, "__name__");
  }
  if (name == nullptr || !PyUnicode_Check(name)) {
    Py_XDECREF(name);
    PyErr_Clear();
    PyErr_SetString(PyExc_TypeError, "profile() takes a name (str) first");
    return nullptr;
  }
  SpanSpec spec{name, Py_NewRef(g_general), nullptr, nullptr};
  PyObject* result = nullptr;
  if (lookup_site(spec.name, spec.category, &spec.site)) {
    result = make_profiled_function(spec, func);
  }
  clear_spec(spec);
  return result;
}

PyObject* profile_method(PyObject*, PyObject* const* args, Py_ssize_t nargsf, PyObject* kwnames) {
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  PyObject* slots[3] = {nullptr, nullptr, nullptr};  // name, category, metadata
  static const char* const kNames[3] = {"name", "category", "metadata"};
  if (nargs > 3) {
    PyErr_Format(PyExc_TypeError, "profile() takes at most 3 arguments (%zd given)", nargs);
    return nullptr;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) slots[i] = args[i];
  const Py_ssize_t nkw = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, k);
    int slot = -1;
    for (int i = 0; i < 3; ++i) {
      if (PyUnicode_CompareWithASCIIString(key, kNames[i]) == 0) slot = i;
    }
    if (slot < 0) {
      PyErr_Format(PyExc_TypeError, "profile() got an unexpected keyword argument %R", key);
      return nullptr;
    }
    if (slots[slot] != nullptr) {
      PyErr_Format(PyExc_TypeError, "profile() got multiple values for argument '%s'",
                   kNames[slot]);
      return nullptr;
    }
    slots[slot] = args[nargs + k];
  }
  if (slots[0] == nullptr) {
    PyErr_SetString(PyExc_TypeError, "profile() missing required argument 'name'");
    return nullptr;
  }
  if (nargs == 1 && nkw == 0 && !PyUnicode_Check(slots[0]) && PyCallable_Check(slots[0])) {
    return profile_bare_decorator(slots[0]);
  }

  auto* p = PyObject_New(ProfileObject, &ProfileType);
  if (p == nullptr) return nullptr;
  p->spec = SpanSpec{nullptr, nullptr, nullptr, nullptr};
  p->slow = nullptr;
  p->entered = false;
  PyObject* self = reinterpret_cast<PyObject*>(p);
  p->spec.name = as_exact_str(slots[0], "name");
  p->spec.category =
      slots[1] != nullptr ? as_exact_str(slots[1], "category") : Py_NewRef(g_general);
  if (p->spec.name == nullptr || p->spec.category == nullptr) {
    Py_DECREF(self);
    return nullptr;
  }
  if (slots[2] != nullptr && slots[2] != Py_None) {
    const bool ok = guarded<bool>(false, [&] {
      json::object metadata = to_json_object(slots[2], "metadata");
      if (!metadata.empty()) p->spec.metadata = new json::object(std::move(metadata));
      return true;
    });
    if (!ok) {
      Py_DECREF(self);
      return nullptr;
    }
  }
  if (!lookup_site(p->spec.name, p->spec.category, &p->spec.site)) {
    Py_DECREF(self);
    return nullptr;
  }
  return self;
}

PyMethodDef profile_def = {
    "profile", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(profile_method)),
    METH_FASTCALL | METH_KEYWORDS,
    "profile($self, name, category='general', metadata=None)\n--\n\n"
    "A span named `name` in `category`: a context manager (``with "
    "perf_profiler.profile(\"step\"):``)\n"
    "and a decorator (``@perf_profiler.profile(\"step\")``; a bare ``@perf_profiler.profile``\n"
    "names the span after the function). `metadata`, a JSON-compatible dict, travels with the\n"
    "span's span.recorded hook event. The span is recorded on the calling thread, as\n"
    "PERF_SCOPE_DYN does in C++; while the profiler is disabled it records nothing."};

void ready_types() {
  ProfileType.tp_name = "comfyvn.perf.Profile";
  ProfileType.tp_basicsize = sizeof(ProfileObject);
  ProfileType.tp_flags = Py_TPFLAGS_DEFAULT;
  ProfileType.tp_doc =
      "A span from perf_profiler.profile(): use it in a `with` statement, or call it with a "
      "function to decorate it. One object is one span at a time; it may be entered again after "
      "it has exited.";
  ProfileType.tp_dealloc = profile_dealloc;
  ProfileType.tp_repr = profile_repr;
  ProfileType.tp_call = profile_call;
  ProfileType.tp_methods = profile_methods;
  ProfileType.tp_getset = profile_getset;

  ProfiledFunctionType.tp_name = "comfyvn.perf.ProfiledFunction";
  ProfiledFunctionType.tp_basicsize = sizeof(ProfiledFunction);
  ProfiledFunctionType.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
                                  Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR;
  ProfiledFunctionType.tp_doc =
      "A function decorated with perf_profiler.profile(): each call is one span.";
  ProfiledFunctionType.tp_dealloc = profiled_dealloc;
  ProfiledFunctionType.tp_repr = profiled_repr;
  ProfiledFunctionType.tp_call = PyVectorcall_Call;
  ProfiledFunctionType.tp_vectorcall_offset = offsetof(ProfiledFunction, vectorcall);
  ProfiledFunctionType.tp_descr_get = profiled_get;
  ProfiledFunctionType.tp_dictoffset = offsetof(ProfiledFunction, dict);
  ProfiledFunctionType.tp_traverse = profiled_traverse;
  ProfiledFunctionType.tp_clear = profiled_clear;
  ProfiledFunctionType.tp_getset = profiled_getset;
  if (PyType_Ready(&ProfileType) < 0 || PyType_Ready(&ProfiledFunctionType) < 0) {
    throw py::error_already_set();
  }
}

}  // namespace

void name_thread_once() {
  before_span();
}

void mark_thread_named() noexcept {
  t_named = true;
}

namespace {

void name_thread_from_python() {
  t_named = true;
  // Naming must never disturb the span's caller: any error is dropped and
  // an exception already pending is kept.
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* trace = nullptr;
  PyErr_Fetch(&type, &value, &trace);
  try {
    py::module_ threading = py::module_::import("threading");
    py::object current = threading.attr("current_thread")();
    // A thread Python did not start keeps the name its creator gave it.
    if (!py::isinstance(current, threading.attr("_DummyThread"))) {
      const bool main = current.is(threading.attr("main_thread")());
      if (!(main && g_sdk_in_host)) {
        const std::string name = py::str(current.attr("name"));
        if (main) {
          // The main thread's OS name is the process name (ps, top, pkill):
          // it keeps it; only traces list the thread as Python names it.
          char os_name[32] = {0};
          const bool have = pthread_getname_np(pthread_self(), os_name, sizeof os_name) == 0;
          perf::set_thread_name(name);
          if (have) pthread_setname_np(pthread_self(), os_name);
        } else {
          perf::set_thread_name(name);
        }
      }
    }
  } catch (py::error_already_set&) {
  } catch (const std::exception&) {
  }
  PyErr_Restore(type, value, trace);
}

}  // namespace

void add_profile_method(py::handle profiler_type) {
  PyObject* descr =
      PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(profiler_type.ptr()), &profile_def);
  if (descr == nullptr) throw py::error_already_set();
  const int rc = PyObject_SetAttrString(profiler_type.ptr(), "profile", descr);
  Py_DECREF(descr);
  if (rc != 0) throw py::error_already_set();
}

void bind_profile(py::module_& m) {
  g_profiler = &perf::perf_profiler();
  g_sdk_in_host = sdk_in_host();
  g_sites = PyDict_New();
  g_general = PyUnicode_InternFromString("general");
  if (g_sites == nullptr || g_general == nullptr) throw py::error_already_set();
  ready_types();
  m.add_object("Profile", reinterpret_cast<PyObject*>(&ProfileType));
  m.add_object("ProfiledFunction", reinterpret_cast<PyObject*>(&ProfiledFunctionType));
}

}  // namespace comfyvn_py
