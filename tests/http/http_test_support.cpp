// The Beast-heavy parts of http_test_support.hpp, compiled once for every
// HTTP test program: the clients.
#include "http_test_support.hpp"

namespace http_test {

// Runs `start` (which launches async operations on `ioc`) to completion.
template <class Start>
void run_io(net::io_context& ioc, Start&& start) {
  start();
  ioc.restart();
  ioc.run();
}

Client::Client(std::uint16_t port, bool strict) : stream_(ioc_), strict_(strict) {
  stream_.expires_after(kIoTimeout);
  run_io(ioc_, [&] {
    stream_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                          [&](beast::error_code ec) { connect_error_ = ec; });
  });
  if (strict_) REQUIRE(!connect_error_);
}

Reply Client::send(phttp::Request req) {
  Reply r;
  const bool head = req.method() == bhttp::verb::head;
  beast::error_code wec;
  stream_.expires_after(kIoTimeout);
  run_io(ioc_, [&] {
    bhttp::async_write(stream_, req, [&](beast::error_code ec, std::size_t) { wec = ec; });
  });
  if (wec) {
    r.ec = wec;
    return r;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (head) parser.skip(true);
  run_io(ioc_, [&] {
    bhttp::async_read(stream_, buffer_, parser,
                      [&](beast::error_code ec, std::size_t) { r.ec = ec; });
  });
  if (r.ec) return r;
  r.msg = parser.release();
  r.status = r.msg.result_int();
  if (!head) r.body = strict_ ? parse_and_check(r.msg) : validate(r.msg, r.problem);
  r.closed_after = !r.msg.keep_alive();
  return r;
}

bool Client::peer_closed(std::chrono::milliseconds wait) {
  char byte;
  beast::error_code ec;
  stream_.expires_after(wait);
  run_io(ioc_, [&] {
    stream_.async_read_some(net::buffer(&byte, 1),
                            [&](beast::error_code e, std::size_t) { ec = e; });
  });
  return ec == net::error::eof || ec == net::error::connection_reset;
}

// Sends `bytes` over a fresh connection and reads one response (or the close).
RawReply raw_exchange(std::uint16_t port, const std::string& bytes, RawOptions opt) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  RawReply out;
  beast::error_code ec;
  stream.expires_after(kIoTimeout);
  run_io(ioc, [&] {
    stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                         [&](beast::error_code e) { ec = e; });
  });
  REQUIRE(!ec);
  // The server may answer and close before everything is written; a failed
  // write is not a failure here, the reply decides.
  run_io(ioc, [&] {
    net::async_write(stream, net::buffer(bytes), [&](beast::error_code, std::size_t) {});
  });
  if (opt.half_close) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (opt.head) parser.skip(true);
  stream.expires_after(opt.timeout);
  run_io(ioc, [&] {
    bhttp::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
  });
  if (!ec) {
    auto msg = parser.release();
    out.status = msg.result_int();
    out.body = msg.body();
    if (!opt.head) out.json = parse_and_check(msg);
    return out;
  }
  out.timed_out = ec == beast::error::timeout;
  out.clean_close = ec == bhttp::error::end_of_stream;
  return out;
}
}  // namespace http_test
