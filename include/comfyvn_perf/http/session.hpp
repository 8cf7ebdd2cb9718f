// comfyvn_perf — one connection of the HTTP adapter over Boost.Beast: read a
// request, answer it, repeat while keep-alive holds, each step with a
// deadline, and answer requests that cannot be parsed. The listener that
// accepts connections is http/listener.hpp; http/server.hpp includes both
// only in its implementation section, so users never parse Asio.
#pragma once

#include <atomic>    // connection and request counters
#include <cstddef>   // size_t
#include <cstdint>   // uint64_t
#include <memory>    // shared_ptr: a session keeps itself alive while I/O is pending
#include <optional>  // parser and interim response of a session

#include <boost/asio/io_context.hpp>         // io_context: where route bodies are built
#include <boost/asio/ip/tcp.hpp>             // tcp::socket
#include <boost/beast/core/error.hpp>        // error_code
#include <boost/beast/core/flat_buffer.hpp>  // the read buffer
#include <boost/beast/core/tcp_stream.hpp>   // a socket with deadlines
#include <boost/beast/http/empty_body.hpp>   // the 100 Continue response
#include <boost/beast/http/parser.hpp>       // request_parser

#include "options.hpp"          // Options
#include "request_handler.hpp"  // RequestHandler, Request, Response, Status

namespace comfyvn::perf::http::detail {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

// Shared by the acceptor and every session; outlives both.
struct ServerState {
  ServerState(Options o, Services s) : handler(std::move(o), s) {}
  RequestHandler handler;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> requests{0};
  // Set first when the adapter stops: long routes (a trace capture) in
  // flight end at once instead of holding stop() up.
  std::atomic<bool> stopping{false};
  // Where route bodies are built (Options::worker_threads); set by Server
  // before the first connection, null only while it is being built.
  net::io_context* work = nullptr;
};

// The error detail of a request that could not be parsed.
const char* describe_parse_error(const boost::system::error_code& ec, Status status);

// One connection: read a request, answer it, repeat while keep-alive holds.
// Every step runs on the connection's strand and has a deadline.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<ServerState> state);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();

 private:
  const Options& options() const { return state_->handler.options(); }

  void read_header();
  void on_header(boost::beast::error_code ec);
  void read_body();

  // Only a parser error gets an answer. Anything else (the peer left
  // between requests, the deadline closed the socket, a socket error, the
  // server stopping) leaves nobody to answer: the session just ends.
  void on_read_error(const boost::beast::error_code& ec);

  // /health is answered here, on the I/O thread: it is small and bounded,
  // and it must keep answering while every worker builds a large body. Any
  // other request is answered on a worker thread (ServerState::work), and
  // the response comes back to this connection's strand to be written. The
  // session has no operation pending meanwhile, so nothing else touches the
  // parser or the stream until then.
  void respond();
  void answer_here();

  // While a worker builds the answer, watches the socket: a peer that closed
  // its side (EOF or an error) sets `gone`, which the route's cancel check
  // reads. A pipelined next request just ends the watch.
  void watch_peer(std::shared_ptr<std::atomic<bool>> gone);
  void send(Response res);

  // Closing a socket that still has unread input makes the kernel send a
  // reset, which can destroy the error response before the client reads it.
  // So: stop sending, then read and discard briefly before the socket closes.
  void linger();
  void drain();

  boost::beast::tcp_stream stream_;
  std::shared_ptr<ServerState> state_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  Response res_;
  std::size_t drained_ = 0;
};

}  // namespace comfyvn::perf::http::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>    // min
#include <sys/socket.h>  // recv: whether the peer closed its side

#include <cerrno>       // EAGAIN
#include <chrono>       // the lingering deadline
#include <functional>   // the cancel check
#include <string_view>  // received bytes, the target
#include <utility>      // move

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>  // async_read_header, async_read, async_write

#include "../os/text.hpp"  // iequals, trim: Expect
#include "handler.hpp"     // kVersionDetail
#include "routes.hpp"      // kHealthPath

namespace comfyvn::perf::http::detail {

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

Session::Session(tcp::socket&& socket, std::shared_ptr<ServerState> state)
    : stream_(std::move(socket)), state_(std::move(state)) {
  state_->open.fetch_add(1, std::memory_order_relaxed);
}

Session::~Session() {
  state_->open.fetch_sub(1, std::memory_order_relaxed);
}

void Session::start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
}

void Session::read_header() {
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

void Session::on_header(boost::beast::error_code ec) {
  if (ec) return on_read_error(ec);
  if (parser_->is_done()) return respond();
  const Request& req = parser_->get();
  if (req.version() >= 11 &&
      os::iequals(os::trim(to_sv(req[bhttp::field::expect])), "100-continue")) {
    // The client waits for this before sending its body (HTTP/1.0 never does).
    continue_.emplace(Status::continue_, req.version());
    stream_.expires_after(options().read_timeout);
    bhttp::async_write(stream_, *continue_,
                       [self = shared_from_this()](boost::beast::error_code write_ec, std::size_t) {
                         if (!write_ec) self->read_body();
                       });
    return;
  }
  read_body();
}

void Session::read_body() {
  stream_.expires_after(options().read_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                      if (ec) return self->on_read_error(ec);
                      self->respond();
                    });
}

void Session::on_read_error(const boost::beast::error_code& ec) {
  static const auto& parser_errors = bhttp::make_error_code(bhttp::error::end_of_stream).category();
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

void Session::respond() {
  state_->requests.fetch_add(1, std::memory_order_relaxed);
  const Request& req = parser_->get();
  const std::string_view target = to_sv(req.target());
  if (state_->work == nullptr || target.substr(0, target.find('?')) == kHealthPath) {
    answer_here();
    return;
  }
  auto gone = std::make_shared<std::atomic<bool>>(false);
  watch_peer(gone);
  net::post(*state_->work, [self = shared_from_this(), gone] {
    auto res = std::make_shared<Response>();
    bool built = true;
    const std::function<bool()> cancelled = [gone, state = self->state_] {
      return gone->load(std::memory_order_relaxed) ||
             state->stopping.load(std::memory_order_relaxed);
    };
    try {
      *res = self->state_->handler.handle(self->parser_->get(), &cancelled);
    } catch (...) {
      built = false;  // not even an error response could be built
    }
    net::post(self->stream_.get_executor(), [self, res, built, gone] {
      boost::system::error_code ec;
      self->stream_.socket().cancel(ec);  // ends the watch
      if (built && !gone->load()) self->send(std::move(*res));
    });
  });
}

void Session::watch_peer(std::shared_ptr<std::atomic<bool>> gone) {
  stream_.socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), gone](boost::system::error_code ec) {
        if (ec) return;  // cancelled: the answer is ready
        char c;
        const ssize_t n = ::recv(self->stream_.socket().native_handle(), &c, 1,
                                 MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          gone->store(true, std::memory_order_relaxed);
        }
      });
}

void Session::answer_here() {
  Response res;
  try {
    res = state_->handler.handle(parser_->get());
  } catch (...) {
    return;  // not even an error response could be built: drop the connection
  }
  send(std::move(res));
}

void Session::send(Response res) {
  res_ = std::move(res);
  const bool close = !res_.keep_alive();
  stream_.expires_after(options().read_timeout);
  bhttp::async_write(stream_, res_,
                     [self = shared_from_this(), close](boost::beast::error_code ec, std::size_t) {
                       if (ec) return;
                       if (close) {
                         self->linger();
                       } else {
                         self->read_header();
                       }
                     });
}

void Session::linger() {
  boost::beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return;
  stream_.expires_after(
      std::min<std::chrono::milliseconds>(options().read_timeout, std::chrono::milliseconds(1000)));
  buffer_.clear();
  drain();
}

void Session::drain() {
  stream_.async_read_some(buffer_.prepare(16 * 1024),
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

}  // namespace comfyvn::perf::http::detail
#endif
