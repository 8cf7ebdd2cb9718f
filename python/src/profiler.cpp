// comfyvn.perf — perf_profiler: the process's one PerfProfiler.
//
// Every method acts on comfyvn::perf::perf_profiler(), the same object C++
// code in the process records into. Reads collect every thread's pending
// spans, which may wait for the collector: they run with the GIL released,
// and so does every call that blocks (a trace capture blocks for its whole
// window). profile() itself lives in profile.cpp.
#include "common.hpp"

#include <chrono>       // capture windows
#include <cmath>        // isfinite, llround
#include <string>       // paths, names
#include <string_view>  // `by`

#include <comfyvn_perf/perf.hpp>

namespace comfyvn_py {

namespace perf = comfyvn::perf;

namespace {

// The Python face of perf_profiler(); holds nothing itself.
struct ProfilerHandle {};

perf::PerfProfiler& profiler() {
  return perf::perf_profiler();
}

// Longest capture window accepted, in seconds (the HTTP route allows 30).
constexpr double kMaxTraceSeconds = 3600.0;

std::chrono::milliseconds trace_window(double seconds) {
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > kMaxTraceSeconds) {
    throw py::value_error("seconds must be a number > 0 and <= 3600");
  }
  const long long ms = std::llround(seconds * 1000.0);
  return std::chrono::milliseconds(ms < 1 ? 1 : ms);
}

std::string text_arg(py::handle s) {
  return py::cast<std::string>(s);
}

}  // namespace

void bind_profiler(py::module_& m) {
  py::register_exception<perf::TraceBusy>(m, "TraceBusy", PyExc_RuntimeError);

  auto cls = py::class_<ProfilerHandle>(m, "PerfProfiler", R"doc(
The process's one profiler (``comfyvn.perf.perf_profiler``): the object C++ code in the same
process records into through ``PERF_SCOPE`` and ``perf_profiler()``. Results are plain dicts
and lists shaped as the HTTP adapter's JSON (docs/http_api.md).)doc");

  cls.def(
      "mark",
      [](ProfilerHandle&, const std::string& name, const std::string& category,
         py::handle metadata) {
        json::object meta = to_json_object(metadata, "metadata");
        name_thread_once();
        return to_python(profiler().mark(name, category, std::move(meta)));
      },
      py::arg("name"), py::arg("category") = "general", py::arg("metadata") = py::none(),
      R"doc(An instant mark; returns it as ``{name, category, timestamp, metadata}``.
While the profiler is disabled nothing is kept (the dict is still returned).)doc");

  cls.def(
      "record_span",
      [](ProfilerHandle&, const std::string& name, const std::string& category, double duration_ms,
         py::handle metadata, double memory_kb) {
        json::object meta = to_json_object(metadata, "metadata");
        if (!std::isfinite(duration_ms) || duration_ms < 0) {
          throw py::value_error("duration_ms must be a finite number >= 0");
        }
        if (!std::isfinite(memory_kb) || memory_kb < 0) {
          throw py::value_error("memory_kb must be a finite number >= 0");
        }
        return profiler().record_span(name, category, duration_ms, std::move(meta), memory_kb);
      },
      py::arg("name"), py::arg("category"), py::arg("duration_ms"),
      py::arg("metadata") = py::none(), py::arg("memory_kb") = 0.0,
      R"doc(Records a span measured elsewhere, ending now. Returns False while the profiler
is disabled.)doc");

  cls.def(
      "dashboard",
      [](ProfilerHandle&, std::int64_t limit, py::object marks) {
        const std::size_t n = to_count(limit, "limit");
        const std::size_t kept = marks.is_none() ? perf::PerfProfiler::kAllMarks
                                                 : to_count(py::cast<std::int64_t>(marks), "marks");
        return json_without_gil([&] { return profiler().dashboard(n, kept); });
      },
      py::arg("limit") = 5, py::arg("marks") = py::none(),
      R"doc(``{top_time, top_memory, aggregates, categories, marks, timestamp, ...}``:
`limit` rows in top_time and top_memory, the newest `marks` marks (all kept by default).
Reflects every span that ended before the call, on any thread.)doc");

  cls.def(
      "health",
      [](ProfilerHandle&, std::int64_t limit) {
        const std::size_t n = to_count(limit, "limit");
        return json_without_gil([&] { return profiler().health(n); });
      },
      py::arg("limit") = 5,
      R"doc(``{spans_recorded, marks_recorded, dropped, top_time, top_memory, timestamp, ...}``.)doc");

  cls.def(
      "top_offenders",
      [](ProfilerHandle&, std::int64_t limit, const std::string& by) {
        const std::size_t n = to_count(limit, "limit");
        if (by != "time" && by != "memory" && by != "self") {
          throw py::value_error("by must be 'time', 'memory' or 'self', not '" + by + "'");
        }
        return json_without_gil([&] { return profiler().top_offenders(n, by); });
      },
      py::arg("limit") = 5, py::arg("by") = "time",
      R"doc(The top `limit` aggregate entries by total time ("time"), total memory
("memory") or self time ("self"), descending.)doc");

  cls.def(
      "report",
      [](ProfilerHandle&, std::int64_t limit) {
        const std::size_t n = to_count(limit, "limit");
        py::gil_scoped_release release;
        return profiler().report(n);
      },
      py::arg("limit") = 10,
      "A plain-text table of the top sites by total time, and frame statistics.");

  cls.def(
      "reset",
      [](ProfilerHandle&) {
        py::gil_scoped_release release;
        profiler().reset();
      },
      "Clears spans, marks and counters (safe while other threads record).");

  cls.def(
      "set_enabled",
      [](ProfilerHandle&, bool on) {
        py::gil_scoped_release release;
        profiler().set_enabled(on);
      },
      py::arg("on"),
      R"doc(Switches recording on or off for the whole process (an in-memory override of the
profiler flag; the config file is not written).)doc");

  cls.def(
      "enabled", [](ProfilerHandle&) { return profiler().enabled(); },
      "Whether spans are being recorded.");

  cls.def(
      "capture_trace",
      [](ProfilerHandle&, double seconds) {
        const auto window = trace_window(seconds);
        return json_without_gil([&] { return profiler().capture_trace(window); });
      },
      py::arg("seconds"),
      R"doc(Chrome Trace Event JSON (a dict) of the spans that end during the next `seconds`
(at most 3600). Blocks the calling thread, with the GIL released, for that long; other
threads keep recording. Raises TraceBusy while another capture runs.)doc");

  cls.def(
      "write_trace",
      [](ProfilerHandle&, py::object path, double seconds) {
        const std::string file = text_arg(py::module_::import("os").attr("fspath")(path));
        const auto window = trace_window(seconds);
        std::string problem;
        {
          py::gil_scoped_release release;
          problem = profiler().write_trace(file, window);
        }
        if (!problem.empty()) {
          PyErr_SetString(PyExc_OSError, problem.c_str());
          throw py::error_already_set();
        }
      },
      py::arg("path"), py::arg("seconds"),
      R"doc(Captures for `seconds` like capture_trace, then writes the trace to `path`
atomically. Raises OSError when nothing could be written.)doc");

  cls.def(
      "set_thread_name",
      [](ProfilerHandle&, const std::string& name) {
        mark_thread_named();
        perf::set_thread_name(name);
      },
      py::arg("name"),
      R"doc(Names the calling thread in traces (and in the OS, first 15 bytes). Without it a
Python thread is listed under its Python name.)doc");

  add_profile_method(cls);
  m.attr("perf_profiler") = py::cast(ProfilerHandle{});
}

}  // namespace comfyvn_py
