// comfyvn.perf — budget_manager: jobs, limits and lazy assets of the
// process's one BudgetManager.
//
// Each call returns the body the HTTP route returns (without `ok` and
// `feature_flag`) as a dict, or raises a Budget*Error that carries the
// route's `detail` and, where the route sends one, its body. The manager
// checks every field itself (the same checks as the HTTP adapter's 422s), so
// a bad limit raises BudgetValueError, a ValueError, naming the field.
//
// Calls run with the GIL released: the manager may wait for its sampler
// thread, which may be running a Python unload handler that needs the GIL.
#include "common.hpp"

#include <pybind11/stl.h>  // optional arguments

#include <memory>    // shared_ptr: an unload handler shared by its copies
#include <optional>  // evict arguments, finish reason
#include <string>    // ids
#include <utility>   // move

#include <comfyvn_perf/perf.hpp>

namespace comfyvn_py {

namespace perf = comfyvn::perf;

namespace {

struct BudgetsHandle {};

perf::BudgetManager& budgets() {
  return perf::budget_manager();
}

PyObject* g_error_types[5] = {};  // by BudgetError; [0] is the base class

PyObject* new_error_type(py::module_& m, const char* name, const char* doc, PyObject* bases) {
  const std::string qualified = std::string("comfyvn.perf.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, type);  // steals one reference; the module keeps the type
  Py_INCREF(type);           // and so does g_error_types, for the process
  return type;
}

[[noreturn]] void raise_error(const perf::BudgetResult& r) {
  PyObject* type = g_error_types[0];
  switch (r.error) {
    case perf::BudgetError::invalid:
      type = g_error_types[1];
      break;
    case perf::BudgetError::not_found:
      type = g_error_types[2];
      break;
    case perf::BudgetError::conflict:
      type = g_error_types[3];
      break;
    case perf::BudgetError::queue_full:
      type = g_error_types[4];
      break;
    case perf::BudgetError::none:
      break;
  }
  py::object error = py::reinterpret_borrow<py::object>(type)(r.detail);
  error.attr("detail") = r.detail;
  error.attr("body") = to_python(r.body);
  PyErr_SetObject(type, error.ptr());
  throw py::error_already_set();
}

// Runs a manager call without the GIL; its body as a dict, or the error.
template <class Call>
py::dict result_of(Call&& call) {
  perf::BudgetResult r;
  {
    py::gil_scoped_release release;
    r = call();
  }
  if (!r.ok()) raise_error(r);
  return to_python(r.body);
}

perf::UnloadHandler unload_handler(py::handle unload) {
  if (unload.is_none()) return {};
  if (!PyCallable_Check(unload.ptr())) {
    throw py::type_error(std::string("unload must be callable or None, not ") +
                         Py_TYPE(unload.ptr())->tp_name);
  }
  auto ref = std::make_shared<PyRef>(unload);
  // Runs after the asset has left the cache, on whichever thread evicted it,
  // without the manager's lock. An exception is logged and counted; the
  // asset stays unloaded.
  return
      [ref](const std::string& asset_id, const json::object& metadata, perf::EvictionCause cause) {
        bool failed = false;
        with_gil([&] {
          try {
            ref->get()(asset_id, to_python(metadata), perf::to_string(cause));
          } catch (py::error_already_set& e) {
            log_callback_error(e, ("unload handler of asset '" + asset_id + "'").c_str());
            failed = true;
          }
        });
        if (failed) throw std::runtime_error("unload handler raised");
      };
}

}  // namespace

void bind_budgets(py::module_& m) {
  g_error_types[0] = new_error_type(
      m, "BudgetError",
      "A budget_manager call failed. `detail` is the message (the HTTP adapter's "
      "`detail`), `body` a dict of context (for a refused start: the job and its reason).",
      PyExc_Exception);
  const auto derived = [&](const char* name, const char* doc, PyObject* builtin) {
    py::tuple bases = py::make_tuple(py::handle(g_error_types[0]), py::handle(builtin));
    return new_error_type(m, name, doc, bases.ptr());
  };
  g_error_types[1] = derived("BudgetValueError",
                             "A field is missing, of the wrong type or out of range; the message "
                             "names it (HTTP 422).",
                             PyExc_ValueError);
  g_error_types[2] =
      derived("BudgetNotFoundError", "Unknown job or asset (HTTP 404).", PyExc_LookupError);
  g_error_types[3] = derived("BudgetConflictError",
                             "Not possible now: a job not admissible yet (its reason is in "
                             "body), a duplicate id, a pinned asset (HTTP 409).",
                             PyExc_RuntimeError);
  g_error_types[4] = derived("BudgetFullError",
                             "The queue holds max_queue_depth jobs, or the asset cache is at "
                             "max_assets or its metadata cap; nothing was stored (HTTP 429).",
                             PyExc_RuntimeError);

  auto cls = py::class_<BudgetsHandle>(m, "BudgetManager", R"doc(
The process's one budget manager (``comfyvn.perf.budget_manager``): soft CPU/RAM/VRAM limits, a
job queue that explains each admission decision, and an LRU of lazily loaded assets. Each
method returns the HTTP route's body as a dict (docs/http_api.md) or raises a BudgetError.)doc");

  cls.def(
      "register_job",
      [](BudgetsHandle&, std::string job_id, std::string job_type, py::handle payload) {
        json::object p = to_json_object(payload, "payload");
        return result_of([&] {
          return budgets().register_job(std::move(job_id), std::move(job_type), std::move(p));
        });
      },
      py::arg("job_id"), py::arg("job_type") = "generic", py::arg("payload") = py::none(),
      R"doc(Queues a job: ``{job, queue_state, reason, metrics, limits}``. Hints in
``payload["perf"]``: ``cpu_percent``, ``ram_mb``, ``vram_mb``. A job that does not fit now is
``delayed`` with its reason; past max_queue_depth raises BudgetFullError.)doc");

  cls.def(
      "start_job",
      [](BudgetsHandle&, const std::string& job_id) {
        return result_of([&] { return budgets().start_job(job_id); });
      },
      py::arg("job_id"),
      R"doc(``{job}``. Re-checks admission: a job that does not fit now raises
BudgetConflictError (the job stays delayed; ``body`` carries its reason).)doc");

  cls.def(
      "finish_job",
      [](BudgetsHandle&, const std::string& job_id, std::string status,
         std::optional<std::string> reason) {
        return result_of(
            [&] { return budgets().finish_job(job_id, std::move(status), std::move(reason)); });
      },
      py::arg("job_id"), py::arg("status") = "complete", py::arg("reason") = py::none(),
      "``{job}``; `status` is complete, canceled or error.");

  cls.def(
      "refresh_queue",
      [](BudgetsHandle&) { return json_without_gil([&] { return budgets().refresh_queue(); }); },
      "Re-evaluates every delayed job now: a list of ``{job, queue_state, reason}``.");

  cls.def(
      "apply",
      [](BudgetsHandle&, py::kwargs limits) {
        json::object patch = to_json_object(limits, "limits");
        return result_of([&] { return budgets().configure(patch); });
      },
      R"doc(apply(**limits): sets the limits named (max_cpu_percent, max_mem_mb, max_vram_mb,
max_running_jobs, lazy_asset_target_mb, max_queue_depth, evaluation_interval) and returns
``{limits}`` with all seven. Every value is checked before any is applied; a bad or unknown
one raises BudgetValueError naming it.)doc");

  cls.def(
      "limits",
      [](BudgetsHandle&) {
        perf::BudgetLimits l;
        {
          py::gil_scoped_release release;
          l = budgets().limits();
        }
        return to_python(perf::limits_json(l));
      },
      "The seven limits now, as a dict.");

  cls.def(
      "snapshot",
      [](BudgetsHandle&, std::int64_t limit, std::int64_t offset) {
        const std::size_t n = to_count(limit, "limit");
        const std::size_t from = to_count(offset, "offset");
        return json_without_gil([&] { return budgets().snapshot(n, from); });
      },
      py::arg("limit") = 256, py::arg("offset") = 0,
      R"doc(``{limits, metrics, jobs, queued_ids, delayed_ids, running_ids, assets, jobs_total,
assets_total, ...}``; `jobs` and `assets` hold entries [offset, offset + limit) (limit at most
10,000).)doc");

  cls.def(
      "health", [](BudgetsHandle&) { return json_without_gil([&] { return budgets().health(); }); },
      "``{limits, queue, assets, last_evaluation, metrics, ...}``.");

  cls.def(
      "register_asset",
      [](BudgetsHandle&, std::string asset_id, double size_mb, py::handle metadata,
         py::handle unload) {
        json::object meta = to_json_object(metadata, "metadata");
        perf::UnloadHandler handler = unload_handler(unload);
        return result_of([&] {
          return budgets().register_asset(std::move(asset_id), size_mb, std::move(meta),
                                          std::move(handler));
        });
      },
      py::arg("asset_id"), py::arg("size_mb"), py::arg("metadata") = py::none(),
      py::arg("unload") = py::none(),
      R"doc(Registers a loaded lazy asset: ``{asset}``. ``unload(asset_id, metadata, cause)``
runs when the asset is evicted or unregistered (cause "explicit", "target", "pressure",
"shutdown" or "unregister"), after it has left the cache, on the evicting thread, with the
GIL taken. If it raises, the exception is logged (logger "comfyvn.perf") and the asset stays
evicted.)doc");

  cls.def(
      "touch_asset",
      [](BudgetsHandle&, const std::string& asset_id) {
        return result_of([&] { return budgets().touch_asset(asset_id); });
      },
      py::arg("asset_id"),
      "Marks the asset used now (loaded again if it had been evicted): ``{asset, reloaded}``.");

  cls.def(
      "evict_lazy_assets",
      [](BudgetsHandle&, std::optional<double> target_mb, std::optional<std::string> asset_id) {
        return result_of(
            [&] { return budgets().evict_lazy_assets(target_mb, std::move(asset_id)); });
      },
      py::arg("target_mb") = py::none(), py::arg("asset_id") = py::none(),
      R"doc(Evicts loaded assets, least recently used first, until their total is at most
`target_mb` (default lazy_asset_target_mb), or evicts `asset_id`: ``{evicted, freed_mb}``.)doc");

  cls.def(
      "unregister_asset",
      [](BudgetsHandle&, const std::string& asset_id) {
        return result_of([&] { return budgets().unregister_asset(asset_id); });
      },
      py::arg("asset_id"),
      "Forgets an asset, unloading it first if loaded: ``{removed}`` (False for an unknown id).");

  cls.def(
      "set_enabled",
      [](BudgetsHandle&, bool on) {
        py::gil_scoped_release release;
        budgets().set_enabled(on);
      },
      py::arg("on"), "Starts (True) or stops the sampler thread that evaluates the limits.");

  cls.def(
      "enabled", [](BudgetsHandle&) { return budgets().enabled(); },
      "Whether the sampler thread runs.");

  m.attr("budget_manager") = py::cast(BudgetsHandle{});
}

}  // namespace comfyvn_py
