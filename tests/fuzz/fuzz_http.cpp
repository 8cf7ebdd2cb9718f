// libFuzzer target: raw bytes -> Beast's request parser -> the adapter's
// request handler, for every request in the input (pipelining included).
//
// Fails (traps) when a response breaks the adapter's promises: a status of
// 500 or above other than 505, a body that is not a JSON object with boolean
// `ok` and `feature_flag`, a HEAD response with a body, or a parser error
// mapped to anything but a 4xx/505.
//
// Build: meson setup build-fuzz -Dfuzz=enabled (clang); run: see run_fuzz.sh.
// This program's one file with the SDK's definitions (config.hpp).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/http.hpp>

#include <boost/asio/io_context.hpp>  // io_context
#include <boost/asio/ip/tcp.hpp>      // sockets, make_address
#include <boost/beast/core.hpp>       // tcp_stream, flat_buffer
#include <boost/beast/http.hpp>       // read, write, parsers

#include <cstddef>      // size_t
#include <cstdint>      // uint8_t
#include <cstdlib>      // setenv
#include <string_view>  // the input

namespace {

namespace bhttp = boost::beast::http;
namespace phttp = comfyvn::perf::http;

// Trace captures block for their `seconds`: keep them at the shortest so
// that no input runs into the fuzzer's per-input timeout.
phttp::Options fuzz_options() {
  phttp::Options o;
  o.max_trace_seconds = phttp::kMinTraceSeconds;
  return o;
}

const phttp::RequestHandler& open_handler() {
  static const phttp::RequestHandler h{fuzz_options()};
  return h;
}

// Same routes behind a token, so the authentication path is fuzzed too.
const phttp::RequestHandler& token_handler() {
  static const phttp::RequestHandler h{[] {
    phttp::Options o = fuzz_options();
    o.token = "fuzz-token";
    return o;
  }()};
  return h;
}

void require(bool condition) {
  if (!condition) __builtin_trap();
}

void check_response(const phttp::Response& res, bool head) {
  const unsigned status = res.result_int();
  require(status >= 200 && status < 600);
  require(status < 500 || status == 505);
  if (head || status == 204) {
    require(res.body().empty());
    return;
  }
  // The routes that serve another format: the Prometheus text, the page,
  // and traces (JSON without the envelope). Errors always use the envelope.
  const std::string_view type(res[bhttp::field::content_type].data(),
                              res[bhttp::field::content_type].size());
  if (status == 200 && type.rfind("text/", 0) == 0) {
    require(!res.body().empty());
    return;
  }
  if (status == 200 && res.body().rfind("{\"traceEvents\":", 0) == 0) {
    boost::system::error_code tec;
    const boost::json::value t = boost::json::parse(res.body(), tec);
    require(!tec && t.is_object() && t.get_object().contains("otherData"));
    return;
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(res.body(), ec);
  require(!ec && v.is_object());
  const auto& o = v.get_object();
  const auto* ok = o.if_contains("ok");
  const auto* flag = o.if_contains("feature_flag");
  require(ok != nullptr && ok->is_bool() && flag != nullptr && flag->is_bool());
  require(ok->get_bool() == (status == 200));
  if (status != 200) require(o.contains("detail"));
  // Issue 10: bounded responses and short details, whatever was sent.
  require(res.body().size() <= phttp::Options{}.max_response_bytes);
  if (const auto* d = o.if_contains("detail"); d != nullptr && d->is_string()) {
    require(d->get_string().size() <= phttp::kMaxDetailChars + 3);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Subsystems on, so that inputs get past the 403 to the validation code.
  setenv("COMFYVN_ENABLE_PERF", "1", 1);
  comfyvn::perf::feature_flags().reload();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  bool use_token = false;
  while (!input.empty()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(1024 * 1024);
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!parser.is_done() && used < input.size()) {
      const std::size_t n =
          parser.put(boost::asio::buffer(input.data() + used, input.size() - used), ec);
      used += n;
      if (ec == bhttp::error::need_more) ec = {};
      if (ec || n == 0) break;
    }
    if (!ec && !parser.is_done()) parser.put_eof(ec);  // the input ends here
    if (ec) {
      const std::string_view received = parser.get().target().empty() ? input : std::string_view();
      const phttp::Status status = phttp::RequestHandler::parse_error_status(ec, received);
      const unsigned code = static_cast<unsigned>(status);
      require((code >= 400 && code < 500) || code == 505);
      check_response(phttp::RequestHandler::error_response(status, "malformed"), false);
      return 0;
    }
    const phttp::Request& req = parser.get();
    const auto& handler = use_token ? token_handler() : open_handler();
    const phttp::Response res = handler.handle(req);
    check_response(res, req.method() == bhttp::verb::head);
    if (!res.keep_alive()) break;
    input.remove_prefix(used);
    use_token = !use_token;
  }
  return 0;
}
