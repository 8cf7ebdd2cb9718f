// comfyvn.perf — hooks (the modder event bus) and feature_flags.
//
// A subscriber is called on the bus's dispatcher thread, never on the thread
// that recorded or emitted, with the GIL taken and the anonymised envelope
// {trigger, payload, timestamp} as a dict. A subscription lasts until its
// handle's close() (or the end of its `with` block, or interpreter exit):
// dropping the handle does not end it, as with atexit.register.
#include "common.hpp"

#include <memory>   // shared_ptr: the state the atexit hook may end
#include <mutex>    // a handle closed from two threads
#include <string>   // event names
#include <utility>  // move

#include <comfyvn_perf/perf.hpp>

namespace comfyvn_py {

namespace perf = comfyvn::perf;

namespace {

struct HooksHandle {};
struct FlagsHandle {};

// The Python handles of live subscriptions, kept until close().
py::object live_subscriptions(py::module_ m = {}) {
  static PyObject* set = nullptr;  // owned by the module's dict
  if (m) {
    py::set s;
    m.attr("_live_subscriptions") = s;
    set = s.ptr();
  }
  return py::reinterpret_borrow<py::object>(set);
}

// What a handle and the atexit hook share: either may end the subscription,
// from any thread, and the other then finds it ended.
struct SubscriptionState {
  std::mutex mu;
  perf::Subscription sub;

  // Waits for a running call of the callback to return (unless called from
  // that callback): never with the GIL held, which that call may need.
  void end() {
    std::lock_guard<std::mutex> lock(mu);
    sub.reset();
  }
  bool active() {
    std::lock_guard<std::mutex> lock(mu);
    return static_cast<bool>(sub);
  }
};

class PySubscription {
 public:
  PySubscription(std::string event, perf::Subscription sub)
      : event_(std::move(event)),
        state_(std::make_shared<SubscriptionState>()),
        exit_([state = state_] { state->end(); }) {
    state_->sub = std::move(sub);
  }

  // GIL held.
  void close(py::handle self) {
    exit_.end_now();
    live_subscriptions().attr("discard")(self);
  }

  bool active() const { return state_->active(); }
  const std::string& event() const { return event_; }

 private:
  std::string event_;
  std::shared_ptr<SubscriptionState> state_;
  ExitBound exit_;  // destroyed once closed, or at interpreter teardown: nothing waits then
};

perf::Hooks::Callback hook_callback(py::handle callback) {
  auto ref = std::make_shared<PyRef>(callback);
  return [ref](const json::object& envelope) {
    bool failed = false;
    with_gil([&] {
      try {
        ref->get()(to_python(envelope));
      } catch (py::error_already_set& e) {
        log_callback_error(e, "hook subscriber");
        failed = true;
      }
    });
    // Counted in hooks.stats()["subscriber_errors"].
    if (failed) throw std::runtime_error("hook subscriber raised");
  };
}

py::dict stats_dict(const perf::HooksStats& s) {
  py::dict d;
  d["emitted"] = s.emitted;
  d["delivered"] = s.delivered;
  d["dropped"] = s.dropped;
  d["subscriber_errors"] = s.subscriber_errors;
  return d;
}

}  // namespace

void bind_hooks(py::module_& m) {
  live_subscriptions(m);
  m.attr("PROFILER_EVENT") = std::string(perf::kProfilerEvent);
  m.attr("BUDGET_EVENT") = std::string(perf::kBudgetEvent);

  py::class_<PySubscription>(m, "Subscription", R"doc(
A hook subscription from hooks.subscribe(). close() ends it; so does the end of a ``with``
block. It lasts until then, whether or not the handle is kept.)doc")
      .def(
          "close", [](py::object self) { self.cast<PySubscription&>().close(self); },
          R"doc(Ends the subscription. When it returns the callback is not running (unless
close() was called from inside it) and will not be called again. Safe to call twice.)doc")
      .def_property_readonly("active", &PySubscription::active, "True until close().")
      .def_property_readonly("event", &PySubscription::event, "The event subscribed to.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](py::object self, py::args) { self.cast<PySubscription&>().close(self); })
      .def("__repr__", [](PySubscription& s) {
        return "<comfyvn.perf.Subscription event='" + s.event() + "'" +
               (s.active() ? "" : " closed") + ">";
      });

  py::class_<HooksHandle>(m, "Hooks", R"doc(
The process's modder event bus (``comfyvn.perf.hooks``). Events: ``on_perf_profiler_snapshot``
(PROFILER_EVENT: span.recorded, mark.emitted, snapshot.generated, reset, span_budget.*) and
``on_perf_budget_state`` (BUDGET_EVENT: limits.updated, job.*, queue.refreshed, asset.*).
Payloads are anonymised before any subscriber sees them.)doc")
      .def(
          "subscribe",
          [](HooksHandle&, std::string event, py::handle callback) {
            if (event.empty()) throw py::value_error("event must be a non-empty string");
            if (!PyCallable_Check(callback.ptr())) {
              throw py::type_error(std::string("callback must be callable, not ") +
                                   Py_TYPE(callback.ptr())->tp_name);
            }
            perf::Hooks::Callback cb = hook_callback(callback);
            perf::Subscription sub;
            {
              py::gil_scoped_release release;
              sub = perf::hooks().subscribe(event, std::move(cb));
            }
            py::object handle = py::cast(new PySubscription(std::move(event), std::move(sub)),
                                         py::return_value_policy::take_ownership);
            live_subscriptions().attr("add")(handle);
            return handle;
          },
          py::arg("event"), py::arg("callback"),
          R"doc(Calls ``callback(envelope)`` for every `event` emitted from now on, on the
bus's dispatcher thread with the GIL taken; `envelope` is ``{"trigger", "payload",
"timestamp"}``. An exception in the callback is logged (logger "comfyvn.perf") and counted in
stats()["subscriber_errors"]. Returns a Subscription.)doc")
      .def(
          "flush",
          [](HooksHandle&) {
            py::gil_scoped_release release;
            perf::hooks().flush();
          },
          R"doc(Blocks, with the GIL released, until every event emitted before the call has
been delivered (or dropped). Returns at once when called from a subscriber.)doc")
      .def(
          "stats", [](HooksHandle&) { return stats_dict(perf::hooks().stats()); },
          "``{emitted, delivered, dropped, subscriber_errors}`` since the process started.");
  m.attr("hooks") = py::cast(HooksHandle{});

  py::class_<FlagsHandle>(m, "FeatureFlags", R"doc(
The process's feature flags (``comfyvn.perf.feature_flags``), read from config/comfyvn.json (or
$COMFYVN_CONFIG) relative to the working directory when the module was first used, and
COMFYVN_ENABLE_PERF. docs/configuration.md has the rules.)doc")
      .def(
          "perf_enabled",
          [](FlagsHandle&) {
            py::gil_scoped_release release;
            return perf::feature_flags().perf_enabled();
          },
          "features.enable_perf, or COMFYVN_ENABLE_PERF when set.")
      .def(
          "budgets_enabled",
          [](FlagsHandle&) {
            py::gil_scoped_release release;
            return perf::feature_flags().budgets_enabled();
          },
          "enable_perf or enable_perf_budgets (or an override from code).")
      .def(
          "profiler_enabled",
          [](FlagsHandle&) {
            py::gil_scoped_release release;
            return perf::feature_flags().profiler_enabled();
          },
          "enable_perf or enable_perf_profiler_dashboard (or an override from code).")
      .def(
          "set_perf_enabled",
          [](FlagsHandle&, bool on) {
            py::gil_scoped_release release;
            return perf::feature_flags().set_perf_enabled(on);
          },
          py::arg("on"),
          R"doc(The settings toggle: writes enable_perf and both legacy keys to the config
file atomically, keeping every other key. Returns whether it was written (the reason is
logged otherwise).)doc")
      .def(
          "config_path",
          [](FlagsHandle&) {
            py::gil_scoped_release release;
            return perf::feature_flags().config_path();
          },
          "The config file set_perf_enabled writes, as an absolute path.");
  m.attr("feature_flags") = py::cast(FlagsHandle{});
}

}  // namespace comfyvn_py
