// comfyvn_perf — RequestHandler: the HTTP adapter's answer to one parsed
// Beast request. It translates between Beast messages and the socket-free
// handler of http/handler.hpp (framing, header syntax, HEAD, keep-alive), and
// needs no socket: the unit tests and the fuzzer drive it directly. The
// adapter that serves it over sockets is http/server.hpp.
#pragma once

#include <functional>   // the cancel check
#include <string_view>  // received bytes, error details

#include <boost/beast/core/string_type.hpp>  // boost::beast::string_view: header values
#include <boost/beast/http/message.hpp>      // Request, Response
#include <boost/beast/http/status.hpp>       // Status
#include <boost/beast/http/string_body.hpp>  // the bodies of Request and Response
#include <boost/system/error_code.hpp>       // parse_error_status()'s argument

#include "handler.hpp"  // Services, handle()
#include "options.hpp"  // Options

namespace comfyvn::perf::http {

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
  // `cancelled` (optional): the session's check whether anyone still waits
  // for the answer (RequestView::cancelled).
  Response handle(const Request& req, const std::function<bool()>* cancelled = nullptr) const;

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

namespace detail {

std::string_view to_sv(boost::beast::string_view s);

}  // namespace detail

}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cstddef>  // size_t
#include <string>   // the page's policy
#include <utility>  // move

#include <boost/beast/http.hpp>  // verb, field, error

#include "routes.hpp"   // Method
#include "status.hpp"   // StatusCode
#include "ui_page.hpp"  // kDashboardScriptHash, kDashboardStyleHash

namespace comfyvn::perf::http {

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
      // The page may talk to its own origin only, and load nothing else. Its
      // one script and one style sheet are pinned by their hashes (written
      // with the page by tools/gen_ui_header.py): no inline code but them runs.
      static const std::string kPolicy =
          std::string("default-src 'none'; connect-src 'self'; script-src '") +
          std::string(kDashboardScriptHash) + "'; style-src '" + std::string(kDashboardStyleHash) +
          "'; img-src 'self' data: blob:; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'";
      res.set("Content-Security-Policy", kPolicy);
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
    : options_(std::move(options)), services_(services) {
  // No token given: $COMFYVN_PERF_TOKEN, which, unlike a command-line
  // argument, other local users cannot read in `ps`.
  options_.token = token_from_environment(std::move(options_.token));
}

Response RequestHandler::handle(const Request& req,
                                const std::function<bool()>* cancelled) const {
  RequestView view;
  view.method = detail::method_of(req.method());
  view.version = req.version();
  view.target = detail::to_sv(req.target());
  view.host = detail::to_sv(req[detail::bhttp::field::host]);
  view.authorization = detail::to_sv(req[detail::bhttp::field::authorization]);
  view.has_origin = req.find(detail::bhttp::field::origin) != req.end();
  view.origin = detail::to_sv(req[detail::bhttp::field::origin]);
  view.fetch_site_count = static_cast<unsigned>(req.count("Sec-Fetch-Site"));
  view.fetch_site = detail::to_sv(req["Sec-Fetch-Site"]);
  // Beast would read a non-chunked Transfer-Encoding as a bodiless request
  // and parse what follows as the next one.
  view.unframed = req.find(detail::bhttp::field::transfer_encoding) != req.end() && !req.chunked();
  view.duplicate_host = req.count(detail::bhttp::field::host) > 1;
  view.keep_alive = req.keep_alive();
  view.body = req.body();
  view.cancelled = cancelled;
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

}  // namespace comfyvn::perf::http
#endif
