// comfyvn_perf — the network side of the HTTP adapter over Boost.Beast and
// Asio: an acceptor and keep-alive sessions on the adapter's own threads,
// with the limits that stop slow or hostile clients from starving the
// others. The only header of the SDK that pulls in Beast and Asio.
//
// RequestHandler translates between Beast messages and the socket-free
// handler of http/handler.hpp (framing, header syntax, HEAD, keep-alive);
// Adapter serves it.
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint16_t, uint64_t
#include <memory>       // unique_ptr server
#include <mutex>        // start/stop from several threads
#include <string_view>  // received bytes, error details

#include <boost/beast/http/message.hpp>      // Request, Response
#include <boost/beast/http/status.hpp>       // Status
#include <boost/beast/http/string_body.hpp>  // the bodies of Request and Response
#include <boost/system/error_code.hpp>       // parse_error_status()'s argument

#include "handler.hpp"  // Services
#include "options.hpp"  // Options

namespace comfyvn::perf::http {

// ===========================================================================
// Public API
// ===========================================================================

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Status = boost::beast::http::status;

// Answers one parsed Beast request through http::handle(). Stateless apart
// from the options and services, and safe to call from any number of threads
// at once. The unit tests and the fuzzer drive it without a socket.
class RequestHandler {
 public:
  explicit RequestHandler(Options options = {}, Services services = {});

  const Options& options() const noexcept { return options_; }
  const Services& services() const noexcept { return services_; }

  // The complete response, errors included: JSON body with `ok` and
  // `feature_flag`, keep-alive mirrored from the request. Unexpected failures
  // become a JSON 500 rather than an exception; only std::bad_alloc while
  // building that answer can escape.
  Response handle(const Request& req) const;

  // Status for a request that Beast failed to parse. `received`: the bytes of
  // the request from its first byte when the parser failed before accepting
  // the request line, else empty. 431 for a header over the limit (414 when
  // the request line alone is), 413 for a body over the limit, 505 for a
  // well-formed request line naming another HTTP version, 400 otherwise.
  static Status parse_error_status(const boost::system::error_code& ec,
                                   std::string_view received = {});

  // A JSON error response ({"ok": false, "detail", "feature_flag"}) that
  // closes the connection; used for requests that could not be parsed.
  // `feature_flag` is read from `services`.
  static Response error_response(Status status, std::string_view detail,
                                 const Services& services = {});

 private:
  Options options_;
  Services services_;
};

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
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>  // pthread_sigmask, pthread_setname_np
#include <signal.h>   // sigset_t: serving threads never take the application's signals
#endif

#include <algorithm>  // min, max
#include <atomic>     // connection and request counters
#include <chrono>     // timeouts
#include <optional>   // parser and interim response of a session
#include <sstream>    // serialising the canned refusal
#include <stdexcept>  // runtime_error from start()
#include <string>     // error messages
#include <thread>     // serving threads
#include <utility>    // move
#include <vector>     // threads

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "../os/text.hpp"
#include "address.hpp"
#include "routes.hpp"
#include "status.hpp"

namespace comfyvn::perf::http {

// ===========================================================================
// Implementation: Beast messages
// ===========================================================================

namespace detail {

namespace bhttp = boost::beast::http;

std::string_view to_sv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

Method method_of(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get:
      return Method::get;
    case bhttp::verb::head:
      return Method::head;
    case bhttp::verb::post:
      return Method::post;
    case bhttp::verb::options:
      return Method::options;
    default:
      return Method::other;
  }
}

// The Beast response of a reply. HEAD keeps the GET answer's headers,
// Content-Length included, and drops its body.
Response to_response(Reply reply, unsigned version, bool head) {
  Response res{static_cast<Status>(static_cast<unsigned>(reply.status)), version == 10 ? 10u : 11u};
  res.set(bhttp::field::server, "comfyvn_perf");
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  // No Access-Control-* header is ever sent: browsers on other origins
  // cannot read these responses.
  if (!reply.allow.empty()) res.set(bhttp::field::allow, reply.allow);
  if (!reply.www_authenticate.empty()) {
    res.set(bhttp::field::www_authenticate, reply.www_authenticate);
  }
  if (!reply.body.empty()) {
    res.set(bhttp::field::content_type,
            reply.content_type.empty() ? std::string_view("application/json") : reply.content_type);
    if (reply.content_type == kHtmlContentType) {
      // The page may talk to its own origin only, and load nothing else.
      res.set("Content-Security-Policy",
              "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; "
              "style-src 'unsafe-inline'; img-src 'self' data: blob:; base-uri 'none'; "
              "form-action 'self'; frame-ancestors 'none'");
    }
    res.body() = std::move(reply.body);
    res.prepare_payload();
  }
  res.keep_alive(reply.keep_alive);
  if (head) {
    const std::size_t n = res.body().size();
    res.body().clear();
    if (res.result() != Status::no_content) res.content_length(n);
  }
  return res;
}

}  // namespace detail

RequestHandler::RequestHandler(Options options, Services services)
    : options_(std::move(options)), services_(services) {}

Response RequestHandler::handle(const Request& req) const {
  RequestView view;
  view.method = detail::method_of(req.method());
  view.version = req.version();
  view.target = detail::to_sv(req.target());
  view.host = detail::to_sv(req[detail::bhttp::field::host]);
  view.authorization = detail::to_sv(req[detail::bhttp::field::authorization]);
  view.has_origin = req.find(detail::bhttp::field::origin) != req.end();
  view.origin = detail::to_sv(req[detail::bhttp::field::origin]);
  // Beast would read a non-chunked Transfer-Encoding as a bodiless request
  // and parse what follows as the next one.
  view.unframed = req.find(detail::bhttp::field::transfer_encoding) != req.end() && !req.chunked();
  view.duplicate_host = req.count(detail::bhttp::field::host) > 1;
  view.keep_alive = req.keep_alive();
  view.body = req.body();
  return detail::to_response(http::handle(view, options_, services_), req.version(),
                             req.method() == detail::bhttp::verb::head);
}

Status RequestHandler::parse_error_status(const boost::system::error_code& ec,
                                          std::string_view received) {
  namespace bhttp = detail::bhttp;
  if (ec == bhttp::error::header_limit) {
    const bool line_ended = received.empty() || received.find('\n') != std::string_view::npos;
    return line_ended ? Status::request_header_fields_too_large : Status::uri_too_long;
  }
  if (ec == bhttp::error::body_limit) return Status::payload_too_large;
  if (ec == bhttp::error::bad_version) {
    // Beast accepts only 1.0 and 1.1 and says bad_version both for "HTTP/9.9"
    // and for a mangled line; only the first deserves 505.
    const auto eol = received.find("\r\n");
    const std::string_view line = received.substr(0, eol);
    const std::size_t n = line.size();
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (eol != std::string_view::npos && n >= 9 && line.substr(n - 9, 6) == " HTTP/" &&
        digit(line[n - 3]) && line[n - 2] == '.' && digit(line[n - 1])) {
      return Status::http_version_not_supported;
    }
  }
  return Status::bad_request;
}

Response RequestHandler::error_response(Status status, std::string_view detail,
                                        const Services& services) {
  // The parse-error statuses (414, 431, 505...) are not all among
  // StatusCode's names, but StatusCode carries any number.
  const auto code = static_cast<StatusCode>(static_cast<unsigned>(status));
  return detail::to_response(error_reply(code, detail, services), 11, false);
}

// ===========================================================================
// Implementation: networking
// ===========================================================================

namespace detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Shared by the acceptor and every session; outlives both.
struct ServerState {
  ServerState(Options o, Services s) : handler(std::move(o), s) {}
  RequestHandler handler;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> requests{0};
  // Where route bodies are built (Options::worker_threads); set by Server
  // before the first connection, null only while it is being built.
  net::io_context* work = nullptr;
};

const char* describe_parse_error(const boost::system::error_code& ec, Status status) {
  switch (status) {
    case Status::uri_too_long:
      return "request line too long";
    case Status::request_header_fields_too_large:
      return "request header too large";
    case Status::payload_too_large:
      return "request body too large";
    case Status::http_version_not_supported:
      return kVersionDetail;
    default:
      break;
  }
  if (ec == bhttp::error::partial_message) return "truncated request";
  return "malformed HTTP request";
}

// One connection: read a request, answer it, repeat while keep-alive holds.
// Every step runs on the connection's strand and has a deadline.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    state_->open.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() { state_->open.fetch_sub(1, std::memory_order_relaxed); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  const Options& options() const { return state_->handler.options(); }

  void read_header() {
    parser_.emplace();
    const std::size_t header_limit = std::min<std::size_t>(options().max_header_bytes, UINT32_MAX);
    parser_->header_limit(static_cast<std::uint32_t>(header_limit));
    parser_->body_limit(options().max_body_bytes);
    stream_.expires_after(options().read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(boost::beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return respond();
    const Request& req = parser_->get();
    if (req.version() >= 11 &&
        os::iequals(os::trim(to_sv(req[bhttp::field::expect])), "100-continue")) {
      // The client waits for this before sending its body (HTTP/1.0 never does).
      continue_.emplace(Status::continue_, req.version());
      stream_.expires_after(options().read_timeout);
      bhttp::async_write(stream_, *continue_,
                         [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                           if (!ec) self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(options().read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->respond();
                      });
  }

  void on_read_error(const boost::beast::error_code& ec) {
    // Only a parser error gets an answer. Anything else (the peer left
    // between requests, the deadline closed the socket, a socket error, the
    // server stopping) leaves nobody to answer: the session just ends.
    static const auto& parser_errors =
        bhttp::make_error_code(bhttp::error::end_of_stream).category();
    if (ec.category() != parser_errors || ec == bhttp::error::end_of_stream) return;
    // Until the parser accepts the request line it leaves it unconsumed in
    // the buffer, which tells an overlong line or a foreign version apart.
    std::string_view received;
    if (!parser_->is_header_done() && parser_->get().target().empty()) {
      const auto data = buffer_.cdata();
      received = std::string_view(static_cast<const char*>(data.data()), data.size());
    }
    const Status status = RequestHandler::parse_error_status(ec, received);
    state_->requests.fetch_add(1, std::memory_order_relaxed);
    send(RequestHandler::error_response(status, describe_parse_error(ec, status),
                                        state_->handler.services()));
  }

  // /health is answered here, on the I/O thread: it is small and bounded,
  // and it must keep answering while every worker builds a large body. Any
  // other request is answered on a worker thread (ServerState::work), and
  // the response comes back to this connection's strand to be written. The
  // session has no operation pending meanwhile, so nothing else touches the
  // parser or the stream until then.
  void respond() {
    state_->requests.fetch_add(1, std::memory_order_relaxed);
    const Request& req = parser_->get();
    const std::string_view target = to_sv(req.target());
    if (state_->work == nullptr || target.substr(0, target.find('?')) == kHealthPath) {
      answer_here();
      return;
    }
    net::post(*state_->work, [self = shared_from_this()] {
      auto res = std::make_shared<Response>();
      bool built = true;
      try {
        *res = self->state_->handler.handle(self->parser_->get());
      } catch (...) {
        built = false;  // not even an error response could be built
      }
      net::post(self->stream_.get_executor(), [self, res, built] {
        if (built) self->send(std::move(*res));
      });
    });
  }

  void answer_here() {
    Response res;
    try {
      res = state_->handler.handle(parser_->get());
    } catch (...) {
      return;  // not even an error response could be built: drop the connection
    }
    send(std::move(res));
  }

  void send(Response res) {
    res_ = std::move(res);
    const bool close = !res_.keep_alive();
    stream_.expires_after(options().read_timeout);
    bhttp::async_write(
        stream_, res_,
        [self = shared_from_this(), close](boost::beast::error_code ec, std::size_t) {
          if (ec) return;
          if (close) {
            self->linger();
          } else {
            self->read_header();
          }
        });
  }

  // Closing a socket that still has unread input makes the kernel send a
  // reset, which can destroy the error response before the client reads it.
  // So: stop sending, then read and discard briefly before the socket closes.
  void linger() {
    boost::beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    stream_.expires_after(std::min<std::chrono::milliseconds>(options().read_timeout,
                                                              std::chrono::milliseconds(1000)));
    buffer_.clear();
    drain();
  }

  void drain() {
    stream_.async_read_some(
        buffer_.prepare(16 * 1024),
        [self = shared_from_this()](boost::beast::error_code ec, std::size_t n) {
          if (ec) return;
          self->buffer_.clear();
          self->drained_ += n;
          if (self->drained_ > 2 * self->options().max_body_bytes + 65536) {
            return;
          }
          self->drain();
        });
  }

  boost::beast::tcp_stream stream_;
  std::shared_ptr<ServerState> state_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  Response res_;
  std::size_t drained_ = 0;
};

class Server {
 public:
  Server(Options options, Services services, const tcp::endpoint& endpoint)
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

  ~Server() {
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
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const noexcept { return port_; }

  AdapterStats stats() const noexcept {
    AdapterStats s;
    s.open_connections = state_->open.load(std::memory_order_relaxed);
    s.accepted_connections = state_->accepted.load(std::memory_order_relaxed);
    s.refused_connections = state_->refused.load(std::memory_order_relaxed);
    s.requests = state_->requests.load(std::memory_order_relaxed);
    return s;
  }

 private:
  unsigned thread_count() const { return std::max(1u, state_->handler.options().threads); }
  unsigned worker_count() const { return std::max(1u, state_->handler.options().worker_threads); }

  void accept() {
    // Each connection gets its own strand so that, with several threads, its
    // handlers never run concurrently.
    acceptor_->async_accept(net::make_strand(*ioc_),
                            [this](boost::system::error_code ec, tcp::socket socket) {
                              on_accept(ec, std::move(socket));
                            });
  }

  void on_accept(const boost::system::error_code& ec, tcp::socket socket) {
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

  // Over the connection cap: one non-blocking write of a canned 503, then
  // close. Never waits on the client, so a flood cannot slow the acceptor.
  void refuse(tcp::socket socket) {
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

  void launch_threads() {
#if defined(__unix__) || defined(__APPLE__)
    // Serving threads inherit a full signal mask: the application's signal
    // handling (sigwait, SIGINT handlers) keeps running on its own threads.
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

// The listening endpoint, or the reason it is refused.
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

}  // namespace detail

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
  return server_ ? server_->stats() : AdapterStats{};
}

}  // namespace comfyvn::perf::http
#endif
