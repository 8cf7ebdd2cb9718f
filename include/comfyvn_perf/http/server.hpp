// comfyvn_perf — the HTTP adapter: Adapter serves RequestHandler
// (http/request_handler.hpp) over Boost.Beast and Asio on its own threads,
// with the limits that stop slow or hostile clients from starving the
// others. Its implementation section pulls in Asio: the listener
// (http/listener.hpp) and the connections (http/session.hpp).
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint16_t, uint64_t
#include <memory>   // unique_ptr server
#include <mutex>    // start/stop from several threads

#include "options.hpp"          // Options
#include "request_handler.hpp"  // RequestHandler, Request, Response, Status
#include "services.hpp"         // Services

namespace comfyvn::perf::http {

struct AdapterStats {
  std::size_t open_connections = 0;
  std::uint64_t accepted_connections = 0;
  std::uint64_t refused_connections = 0;  // turned away by max_connections
  std::uint64_t requests = 0;
};

namespace detail {
class Server;
}

// The adapter: off until start(). Several adapters (different ports) may run
// in one process; each owns its threads and sockets.
class Adapter {
 public:
  explicit Adapter(Options options = {}, Services services = {});
  ~Adapter();
  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;

  // Binds and starts serving. Throws std::runtime_error, with the reason in
  // what(), when the adapter already runs, the bind address is invalid, a
  // non-loopback address is requested without a token, or the port cannot be
  // bound. Returns once connections are accepted.
  void start();

  // Closes the listener and every connection and joins the serving threads.
  // Returns within a second even with clients connected (a request already
  // being answered finishes first). Safe to call twice; start() may follow.
  void stop() noexcept;

  bool running() const noexcept;
  // The bound port once started (the real one when Options::port is 0), else 0.
  std::uint16_t port() const noexcept;
  AdapterStats stats() const noexcept;
  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
  Services services_;
  mutable std::mutex mutex_;
  std::unique_ptr<detail::Server> server_;
};

}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <stdexcept>  // runtime_error from start()
#include <utility>    // move

#include "listener.hpp"  // Server, resolve_bind

namespace comfyvn::perf::http {

Adapter::Adapter(Options options, Services services)
    : options_(std::move(options)), services_(services) {}

Adapter::~Adapter() {
  stop();
}

void Adapter::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (server_) throw std::runtime_error("comfyvn_perf http: adapter already started");
  const auto endpoint = detail::resolve_bind(options_);
  server_ = std::make_unique<detail::Server>(options_, services_, endpoint);
}

void Adapter::stop() noexcept {
  std::unique_ptr<detail::Server> server;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    server = std::move(server_);
  }
  server.reset();
}

bool Adapter::running() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return server_ != nullptr;
}

std::uint16_t Adapter::port() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return server_ ? server_->port() : 0;
}

AdapterStats Adapter::stats() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  AdapterStats s;
  if (!server_) return s;
  const detail::ServerState& state = server_->state();
  s.open_connections = state.open.load(std::memory_order_relaxed);
  s.accepted_connections = state.accepted.load(std::memory_order_relaxed);
  s.refused_connections = state.refused.load(std::memory_order_relaxed);
  s.requests = state.requests.load(std::memory_order_relaxed);
  return s;
}

}  // namespace comfyvn::perf::http
#endif
