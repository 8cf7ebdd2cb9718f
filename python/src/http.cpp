// comfyvn.perf — comfyvn.perf.http.serve(): the HTTP adapter in process.
//
// The adapter serves the process's singletons on 127.0.0.1 from its own
// threads. Starting and stopping run with the GIL released: a route may run
// an unload handler that needs it, and stop() joins the serving threads.
#include "common.hpp"

#include <pybind11/stl.h>  // optional token

#include <cstdlib>    // getenv: COMFYVN_PERF_TOKEN
#include <memory>     // shared_ptr: the adapter the atexit hook may stop
#include <optional>   // token
#include <stdexcept>  // runtime_error from start()
#include <string>     // token

#include <comfyvn_perf/http.hpp>

namespace comfyvn_py {

namespace perf = comfyvn::perf;

namespace {

class Server {
 public:
  Server(std::uint16_t port, std::string token)
      : adapter_(std::make_shared<perf::http::Adapter>(options(port, std::move(token)))),
        exit_([adapter = adapter_] { adapter->stop(); }) {
    try {
      py::gil_scoped_release release;
      adapter_->start();
    } catch (const std::runtime_error& e) {
      PyErr_SetString(PyExc_OSError, e.what());
      throw py::error_already_set();
    }
    port_ = adapter_->port();
  }

  // GIL held.
  void stop() { exit_.end_now(); }

  std::uint16_t port() const { return port_; }
  bool running() const { return adapter_->running(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  static perf::http::Options options(std::uint16_t port, std::string token) {
    perf::http::Options o;
    o.bind = "127.0.0.1";
    o.port = port;
    o.token = std::move(token);
    return o;
  }

  std::shared_ptr<perf::http::Adapter> adapter_;
  ExitBound exit_;  // stops the adapter: stop(), garbage collection or interpreter exit
  std::uint16_t port_ = 0;
};

}  // namespace

void bind_http(py::module_& m) {
  py::class_<Server>(m, "Server", R"doc(
An HTTP adapter serving /api/perf/* on 127.0.0.1 (from comfyvn.perf.http.serve()). It stops on
stop(), at the end of a ``with`` block, when garbage-collected, or at interpreter exit.)doc")
      .def_property_readonly("port", &Server::port, "The bound port (the real one for port 0).")
      .def_property_readonly("url", &Server::url, "``http://127.0.0.1:PORT``.")
      .def_property_readonly("running", &Server::running, "True until stop().")
      .def("stop", &Server::stop,
           "Closes the listener and every connection and joins the serving threads (within "
           "about a second). Safe to call twice.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Server& s, py::args) { s.stop(); })
      .def("__repr__", [](Server& s) {
        return "<comfyvn.perf.http.Server " + s.url() + (s.running() ? "" : " stopped") + ">";
      });

  m.def(
      "serve",
      [](std::int64_t port, std::optional<std::string> token) {
        if (port < 0 || port > 65535) {
          throw py::value_error("port must be an integer from 0 to 65535 (0 picks a free one)");
        }
        if (token && token->empty()) {
          throw py::value_error("token must be a non-empty string, or None for no token");
        }
        if (!token) {
          const char* env = std::getenv("COMFYVN_PERF_TOKEN");
          if (env != nullptr && *env != '\0') token = env;
        }
        return std::make_unique<Server>(static_cast<std::uint16_t>(port), token.value_or(""));
      },
      py::arg("port") = 0, py::arg("token") = py::none(),
      R"doc(Starts the HTTP adapter in this process on 127.0.0.1:`port` (0: a free port) and
returns a Server once it accepts connections. With `token` (or, when it is None, the
environment variable COMFYVN_PERF_TOKEN) every route but /api/perf/health requires
``Authorization: Bearer <token>``. Raises OSError when the port cannot be bound.)doc");
}

}  // namespace comfyvn_py
