// comfyvn.perf — Boost.JSON values to Python objects and back.
//
// Results (dashboards, job records, envelopes) become plain dicts and lists,
// shaped as the HTTP adapter's JSON. Arguments (metadata, payloads) go the
// other way with the json module's rules, and a clear error naming the
// offending path where JSON cannot hold a value.
#include "common.hpp"

#include <cmath>    // isfinite
#include <string>   // error paths
#include <utility>  // move

#include <boost/json.hpp>

namespace comfyvn_py {

namespace {

// As deep as the HTTP adapter accepts a request body (Options::max_json_depth).
constexpr int kMaxDepth = 32;

PyObject* new_ref(const json::value& v);

PyObject* new_dict(const json::object& o) {
  PyObject* d = PyDict_New();
  if (d == nullptr) return nullptr;
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    PyObject* k = PyUnicode_DecodeUTF8(key.data(), static_cast<Py_ssize_t>(key.size()), "replace");
    PyObject* v = k != nullptr ? new_ref(kv.value()) : nullptr;
    const bool ok = v != nullptr && PyDict_SetItem(d, k, v) == 0;
    Py_XDECREF(k);
    Py_XDECREF(v);
    if (!ok) {
      Py_DECREF(d);
      return nullptr;
    }
  }
  return d;
}

PyObject* new_list(const json::array& a) {
  PyObject* l = PyList_New(static_cast<Py_ssize_t>(a.size()));
  if (l == nullptr) return nullptr;
  Py_ssize_t i = 0;
  for (const json::value& item : a) {
    PyObject* v = new_ref(item);
    if (v == nullptr) {
      Py_DECREF(l);
      return nullptr;
    }
    PyList_SET_ITEM(l, i++, v);  // steals v
  }
  return l;
}

PyObject* new_ref(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      Py_RETURN_NONE;
    case json::kind::bool_:
      return PyBool_FromLong(v.get_bool() ? 1 : 0);
    case json::kind::int64:
      return PyLong_FromLongLong(v.get_int64());
    case json::kind::uint64:
      return PyLong_FromUnsignedLongLong(v.get_uint64());
    case json::kind::double_:
      return PyFloat_FromDouble(v.get_double());
    case json::kind::string: {
      const json::string& s = v.get_string();
      return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
    }
    case json::kind::array:
      return new_list(v.get_array());
    case json::kind::object:
      return new_dict(v.get_object());
  }
  Py_RETURN_NONE;
}

py::object steal_or_throw(PyObject* obj) {
  if (obj == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(obj);
}

[[noreturn]] void fail(PyObject* type, const std::string& path, const std::string& what) {
  PyErr_SetString(type, (path + " " + what).c_str());
  throw py::error_already_set();
}

std::string type_name(py::handle obj) {
  return Py_TYPE(obj.ptr())->tp_name;
}

json::value from_python(py::handle obj, const std::string& path, int depth);

json::object object_from_dict(py::handle obj, const std::string& path, int depth) {
  json::object out;
  PyObject* key = nullptr;
  PyObject* value = nullptr;
  Py_ssize_t pos = 0;
  while (PyDict_Next(obj.ptr(), &pos, &key, &value)) {
    if (!PyUnicode_Check(key)) {
      fail(PyExc_TypeError, path,
           "keys must be strings, not " + type_name(key) + " (JSON objects have string keys)");
    }
    Py_ssize_t n = 0;
    const char* text = PyUnicode_AsUTF8AndSize(key, &n);
    if (text == nullptr) throw py::error_already_set();
    const std::string_view k(text, static_cast<std::size_t>(n));
    // The value is converted before the next PyDict_Next: it may run no
    // Python code that changes the dict (only type checks and conversions).
    out[k] = from_python(value, path + "." + std::string(k), depth + 1);
  }
  return out;
}

json::value from_python(py::handle obj, const std::string& path, int depth) {
  if (depth > kMaxDepth) {
    fail(PyExc_ValueError, path,
         "is nested deeper than " + std::to_string(kMaxDepth) + " levels (or holds a cycle)");
  }
  PyObject* o = obj.ptr();
  if (o == Py_None) return nullptr;
  if (PyBool_Check(o)) return o == Py_True;
  if (PyLong_Check(o)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0) {
      if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
      return static_cast<std::int64_t>(v);
    }
    if (overflow > 0) {
      const unsigned long long u = PyLong_AsUnsignedLongLong(o);
      if (!PyErr_Occurred()) return static_cast<std::uint64_t>(u);
      PyErr_Clear();
    }
    fail(PyExc_ValueError, path, "is an integer outside the 64-bit range JSON numbers keep");
  }
  if (PyFloat_Check(o)) {
    const double d = PyFloat_AS_DOUBLE(o);
    if (!std::isfinite(d))
      fail(PyExc_ValueError, path, "must be a finite number (JSON has no NaN or infinity)");
    return d;
  }
  if (PyUnicode_Check(o)) {
    Py_ssize_t n = 0;
    const char* text = PyUnicode_AsUTF8AndSize(o, &n);
    if (text == nullptr) throw py::error_already_set();
    return json::string(text, static_cast<std::size_t>(n));
  }
  if (PyDict_Check(o)) return object_from_dict(obj, path, depth);
  if (PyList_Check(o) || PyTuple_Check(o)) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
    json::array out;
    out.reserve(seq.size());
    std::size_t i = 0;
    for (py::handle item : seq) {
      out.push_back(from_python(item, path + "[" + std::to_string(i++) + "]", depth + 1));
    }
    return out;
  }
  fail(PyExc_TypeError, path,
       "holds a " + type_name(obj) +
           ", which JSON cannot hold (use dict, list, tuple, str, int, float, bool or None)");
}

}  // namespace

py::object to_python(const json::value& v) {
  return steal_or_throw(new_ref(v));
}

py::dict to_python(const json::object& o) {
  return py::reinterpret_steal<py::dict>(steal_or_throw(new_dict(o)).release());
}

py::list to_python(const json::array& a) {
  return py::reinterpret_steal<py::list>(steal_or_throw(new_list(a)).release());
}

json::object to_json_object(py::handle obj, std::string_view field) {
  if (obj.is_none()) return {};
  const std::string path(field);
  if (!PyDict_Check(obj.ptr())) {
    fail(PyExc_TypeError, path, "must be a dict or None, not " + type_name(obj));
  }
  return object_from_dict(obj, path, 1);
}

std::size_t to_count(std::int64_t v, std::string_view field) {
  if (v < 0) {
    throw py::value_error(std::string(field) + " must be an integer >= 0, got " +
                          std::to_string(v));
  }
  return static_cast<std::size_t>(v);
}

}  // namespace comfyvn_py
