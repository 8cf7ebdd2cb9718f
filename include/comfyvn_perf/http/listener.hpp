// comfyvn_perf — the HTTP adapter's listener: the bound socket, the accept
// loop with its connection cap, and the threads (socket I/O and route
// bodies) that serve the sessions of http/session.hpp. Adapter
// (http/server.hpp) owns one Server while it runs.
#pragma once

#include <cstdint>   // uint16_t
#include <memory>    // shared_ptr state, unique_ptr I/O objects
#include <optional>  // the work guard, released on destruction
#include <thread>    // serving threads
#include <vector>    // threads

#include <boost/asio/executor_work_guard.hpp>  // keeps the worker threads waiting
#include <boost/asio/io_context.hpp>           // io_context
#include <boost/asio/ip/tcp.hpp>               // acceptor, endpoint
#include <boost/asio/steady_timer.hpp>         // accept retry
#include <boost/system/error_code.hpp>         // accept errors

#include "options.hpp"   // Options
#include "services.hpp"  // Services
#include "session.hpp"   // ServerState, Session

namespace comfyvn::perf::http::detail {

class Server {
 public:
  // Binds and listens on `endpoint`, then starts the threads. Throws
  // std::runtime_error naming the address when it cannot listen.
  Server(Options options, Services services, const tcp::endpoint& endpoint);
  // Closes the listener and every connection and joins the threads.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // The counters of AdapterStats.
  const ServerState& state() const noexcept { return *state_; }

 private:
  unsigned thread_count() const;
  unsigned worker_count() const;

  void accept();
  void on_accept(const boost::system::error_code& ec, tcp::socket socket);

  // Over the connection cap: one non-blocking write of a canned 503, then
  // close. Never waits on the client, so a flood cannot slow the acceptor.
  void refuse(tcp::socket socket);

  // Serving threads inherit a full signal mask: the application's signal
  // handling (sigwait, SIGINT handlers) keeps running on its own threads.
  void launch_threads();

  std::shared_ptr<ServerState> state_;
  std::unique_ptr<net::io_context> ioc_;
  // Builds route bodies; the guard keeps its threads waiting for work.
  std::unique_ptr<net::io_context> work_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_guard_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<net::steady_timer> retry_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
};

// The listening endpoint of `o`, or std::runtime_error with the reason it is
// refused (not an IP address; not loopback and no token).
tcp::endpoint resolve_bind(const Options& o);

}  // namespace comfyvn::perf::http::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>  // pthread_sigmask, pthread_setname_np
#include <signal.h>   // sigset_t: serving threads never take the application's signals
#endif

#include <algorithm>  // max
#include <chrono>     // accept retry delay
#include <sstream>    // serialising the canned refusal
#include <stdexcept>  // runtime_error
#include <string>     // error messages
#include <utility>    // move

#include <boost/asio/strand.hpp>  // one strand per connection
#include <boost/beast/http.hpp>   // field, operator<< of a response

#include "../os/text.hpp"  // iequals: "localhost"
#include "address.hpp"     // is_loopback_literal

namespace comfyvn::perf::http::detail {

Server::Server(Options options, Services services, const tcp::endpoint& endpoint)
    : state_(std::make_shared<ServerState>(std::move(options), services)),
      ioc_(std::make_unique<net::io_context>(static_cast<int>(thread_count()))),
      work_(std::make_unique<net::io_context>(static_cast<int>(worker_count()))),
      work_guard_(net::make_work_guard(*work_)),
      acceptor_(std::make_unique<tcp::acceptor>(net::make_strand(*ioc_))),
      retry_(std::make_unique<net::steady_timer>(acceptor_->get_executor())) {
  boost::system::error_code ec;
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("comfyvn_perf http: cannot listen on " +
                             endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  state_->work = work_.get();
  accept();
  launch_threads();
}

Server::~Server() {
  // A long route in flight (a trace capture) ends now, not when its window
  // does: its cancel check reads this (Session::respond).
  state_->stopping.store(true);
  // I/O first, then the workers: a body being built finishes (stop()'s
  // "a request already being answered finishes first") and posts its
  // response into the stopped io_context, where it is simply destroyed.
  ioc_->stop();
  work_->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // Work not started yet holds sessions whose sockets belong to ioc_:
  // destroy it while ioc_ still exists.
  work_guard_.reset();
  work_.reset();
  // Order matters: the I/O objects go before their io_context, whose
  // destruction then frees the sessions still parked in pending handlers
  // (closing their sockets).
  retry_.reset();
  acceptor_.reset();
  ioc_.reset();
}

unsigned Server::thread_count() const {
  return std::max(1u, state_->handler.options().threads);
}

unsigned Server::worker_count() const {
  return std::max(1u, state_->handler.options().worker_threads);
}

void Server::accept() {
  // Each connection gets its own strand so that, with several threads, its
  // handlers never run concurrently.
  acceptor_->async_accept(net::make_strand(*ioc_),
                          [this](boost::system::error_code ec, tcp::socket socket) {
                            on_accept(ec, std::move(socket));
                          });
}

void Server::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
  if (ec) {
    // Out of descriptors or a connection aborted while queued: back off
    // briefly instead of spinning on an error that repeats at once.
    retry_->expires_after(std::chrono::milliseconds(50));
    retry_->async_wait([this](const boost::system::error_code& wait_ec) {
      if (!wait_ec) accept();
    });
    return;
  }
  if (state_->open.load(std::memory_order_relaxed) >= state_->handler.options().max_connections) {
    refuse(std::move(socket));
  } else {
    state_->accepted.fetch_add(1, std::memory_order_relaxed);
    std::make_shared<Session>(std::move(socket), state_)->start();
  }
  accept();
}

void Server::refuse(tcp::socket socket) {
  state_->refused.fetch_add(1, std::memory_order_relaxed);
  Response res = RequestHandler::error_response(
      Status::service_unavailable, "too many open connections", state_->handler.services());
  res.set(bhttp::field::retry_after, "1");
  std::ostringstream text;
  text << res;
  const std::string wire = text.str();
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(net::buffer(wire), ec);
  // Discard what the client already sent so that closing sends FIN, not RST.
  char scratch[4096];
  for (int i = 0; i < 16 && !ec; ++i) socket.read_some(net::buffer(scratch), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

void Server::launch_threads() {
#if defined(__unix__) || defined(__APPLE__)
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
#endif
  try {
    const unsigned io_threads = thread_count();
    for (unsigned i = 0; i < io_threads + worker_count(); ++i) {
      const bool io = i < io_threads;
      threads_.emplace_back([ioc = io ? ioc_.get() : work_.get(), io] {
#if defined(__linux__)
        pthread_setname_np(pthread_self(), io ? "perf-http" : "perf-http-work");
#else
        (void)io;
#endif
        // A handler that throws must not end the serving thread.
        for (;;) {
          try {
            ioc->run();
            return;
          } catch (...) {
          }
        }
      });
    }
  } catch (...) {
#if defined(__unix__) || defined(__APPLE__)
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
#endif
    ioc_->stop();
    work_->stop();
    for (auto& t : threads_) t.join();
    throw;
  }
#if defined(__unix__) || defined(__APPLE__)
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
#endif
}

tcp::endpoint resolve_bind(const Options& o) {
  const std::string host = os::iequals(o.bind, "localhost") ? std::string("127.0.0.1") : o.bind;
  boost::system::error_code ec;
  const auto addr = net::ip::make_address(host, ec);
  if (ec) {
    throw std::runtime_error("comfyvn_perf http: bind address '" + o.bind +
                             "' is not an IP address (use 127.0.0.1)");
  }
  if (!is_loopback_literal(host) && o.token.empty()) {
    throw std::runtime_error("comfyvn_perf http: refusing to bind " + o.bind +
                             " without a token; set Options::token or bind 127.0.0.1");
  }
  return tcp::endpoint(addr, o.port);
}

}  // namespace comfyvn::perf::http::detail
#endif
