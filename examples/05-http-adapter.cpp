// 05-http-adapter: serve /api/perf/* from the process and query it with a
// small Boost.Beast client, as a dashboard or a script would.
// The SDK's definitions come from this program's implementation file,
// examples/perf_impl.cpp (COMFYVN_PERF_IMPLEMENTATION, docs/integration.md).
#include <comfyvn_perf/http.hpp>

#include <fmt/core.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>

namespace perf = comfyvn::perf;
namespace beast = boost::beast;
namespace asio = boost::asio;

namespace {
std::pair<unsigned, std::string> request(std::uint16_t port, beast::http::verb verb,
                                         const std::string& target, const std::string& body = "") {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  beast::http::request<beast::http::string_body> req{verb, target, 11};
  req.set(beast::http::field::host, "127.0.0.1");
  if (!body.empty()) {
    req.set(beast::http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  beast::http::write(socket, req);
  beast::flat_buffer buf;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(socket, buf, res);
  return {res.result_int(), res.body()};
}
}  // namespace

int main() {
  // The adapter answers from the feature flags (config/comfyvn.json ships them
  // off, so its routes would answer 403). Turn perf on for this process only.
  setenv("COMFYVN_ENABLE_PERF", "1", 1);
  perf::feature_flags();  // applies the flags: profiler and budgets on
  for (int i = 0; i < 100; ++i) {
    PERF_SCOPE("step", "render");
  }

  perf::http::Options options;
  options.port = 0;  // any free port on 127.0.0.1
  perf::http::Adapter adapter(options);
  adapter.start();
  fmt::print("listening on http://127.0.0.1:{}\n", adapter.port());

  auto [code, body] = request(adapter.port(), beast::http::verb::get, "/api/perf/health");
  fmt::print("GET /api/perf/health -> {}\n", code);
  std::tie(code, body) = request(adapter.port(), beast::http::verb::post, "/api/perf/profiler/mark",
                                 R"({"name": "checkpoint", "category": "demo"})");
  fmt::print("POST /api/perf/profiler/mark -> {}\n", code);
  std::tie(code, body) =
      request(adapter.port(), beast::http::verb::get, "/api/perf/profiler/dashboard?limit=1");
  const auto dash = boost::json::parse(body);
  fmt::print("GET /api/perf/profiler/dashboard?limit=1 -> {} top: {}\n", code,
             dash.at("dashboard").at("top_time").at(0).at("name").as_string().c_str());
  std::tie(code, body) = request(adapter.port(), beast::http::verb::post, "/api/perf/budgets/apply",
                                 R"({"max_cpu_percent": 150})");
  fmt::print("POST /api/perf/budgets/apply (bad value) -> {} {}\n", code,
             boost::json::parse(body).at("detail").as_string().c_str());
  adapter.stop();
  return 0;
}

// Build and run:
//   ./dev demo        (builds everything), then: ./build/examples/05-http-adapter
// Expected output (the port varies):
//   listening on http://127.0.0.1:41237
//   GET /api/perf/health -> 200
//   POST /api/perf/profiler/mark -> 200
//   GET /api/perf/profiler/dashboard?limit=1 -> 200 top: step
//   POST /api/perf/budgets/apply (bad value) -> 422 max_cpu_percent must be ...
