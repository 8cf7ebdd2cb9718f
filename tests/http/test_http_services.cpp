// The socket-free request handler of http/handler.hpp over injected services:
// a private BudgetManager and FeatureFlags answer instead of the process-wide
// ones, requests are plain RequestViews, and the route table and status
// mapping are checked as data.
#include <comfyvn_perf/http/handler.hpp>

// The handler is the layer the fuzzer and unit tests drive without a
// network: it must not drag the network libraries in.
#if defined(BOOST_BEAST_VERSION) || defined(BOOST_ASIO_VERSION)
#error "http/handler.hpp must not include Boost.Beast or Boost.Asio"
#endif

#include <boost/asio/ip/address.hpp>  // the reference for loopback literals

#include <catch2/catch.hpp>

#include <unistd.h>  // getpid

#include <cstdlib>      // setenv, unsetenv
#include <filesystem>   // a private config directory
#include <fstream>      // writing the private config
#include <set>          // distinct route paths
#include <string>       // paths
#include <string_view>  // route paths

namespace phttp = comfyvn::perf::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using comfyvn::perf::BudgetError;
using comfyvn::perf::BudgetManager;
using comfyvn::perf::FeatureFlags;
using comfyvn::perf::FlagFiles;
using phttp::Method;
using phttp::StatusCode;

namespace {

// A config directory of this test's own with `enable_perf` set to `on`,
// removed at the end.
class PrivateConfig {
 public:
  explicit PrivateConfig(bool on)
      : dir_(fs::temp_directory_path() /
             ("comfyvn_perf_http_services_" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "comfyvn.json")
        << R"({"features": {"enable_perf": )" << (on ? "true" : "false") << "}}";
  }
  ~PrivateConfig() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  PrivateConfig(const PrivateConfig&) = delete;
  PrivateConfig& operator=(const PrivateConfig&) = delete;

  FlagFiles files() const {
    return {(dir_ / "comfyvn.json").string(), (dir_ / "none.json").string()};
  }

 private:
  fs::path dir_;
};

phttp::RequestView view(Method method, std::string_view target, std::string_view body = {}) {
  phttp::RequestView v;
  v.method = method;
  v.target = target;
  v.host = "127.0.0.1";
  v.body = body;
  return v;
}

json::object body_of(const phttp::Reply& r) {
  json::value v = json::parse(r.body);
  REQUIRE(v.is_object());
  return std::move(v.as_object());
}

}  // namespace

TEST_CASE("the route table: unique /api/perf paths, GET or POST", "[http][routes]") {
  std::set<std::string_view> paths;
  for (const phttp::Route& r : phttp::kRoutes) {
    INFO(r.path);
    CHECK(r.path.substr(0, 10) == "/api/perf/");
    CHECK((r.method == Method::get || r.method == Method::post));
    CHECK(paths.insert(r.path).second);
    CHECK(phttp::find_route(r.path) == &r);
  }
  CHECK(paths.size() == 22);
  CHECK(phttp::find_route("/api/perf/nowhere") == nullptr);
  CHECK(phttp::find_route("/api/perf/health/") == nullptr);

  const phttp::Route* health = phttp::find_route(phttp::kHealthPath);
  REQUIRE(health != nullptr);
  CHECK(health->subsystem == phttp::Subsystem::none);
  CHECK(phttp::accepts(*health, Method::head));
  CHECK_FALSE(phttp::accepts(*health, Method::post));
  CHECK(phttp::allowed_methods(*health) == "GET, HEAD, OPTIONS");
  const phttp::Route* mark = phttp::find_route("/api/perf/profiler/mark");
  REQUIRE(mark != nullptr);
  CHECK(mark->subsystem == phttp::Subsystem::profiler);
  CHECK_FALSE(phttp::accepts(*mark, Method::get));
  CHECK(phttp::allowed_methods(*mark) == "POST, OPTIONS");
}

TEST_CASE("budget errors map onto HTTP statuses", "[http][status]") {
  STATIC_REQUIRE(phttp::status_of(BudgetError::none) == StatusCode::ok);
  STATIC_REQUIRE(static_cast<unsigned>(phttp::status_of(BudgetError::invalid)) == 422);
  STATIC_REQUIRE(static_cast<unsigned>(phttp::status_of(BudgetError::not_found)) == 404);
  STATIC_REQUIRE(static_cast<unsigned>(phttp::status_of(BudgetError::conflict)) == 409);
  STATIC_REQUIRE(static_cast<unsigned>(phttp::status_of(BudgetError::queue_full)) == 429);
}

TEST_CASE("injected flags and budget manager answer instead of the singletons",
          "[http][services]") {
  // The process-wide flags read no file here and stay off; the private ones
  // read a config that turns everything on.
  ::unsetenv("COMFYVN_ENABLE_PERF");
  comfyvn::perf::feature_flags().reload();
  REQUIRE_FALSE(comfyvn::perf::feature_flags().budgets_enabled());
  const PrivateConfig config(true);
  FeatureFlags flags(config.files());
  REQUIRE(flags.budgets_enabled());
  BudgetManager budgets;

  // The profiler stays the process-wide one: every PerfProfiler reads the
  // one span registry of the process, so a private one would change nothing.
  const phttp::Services services{nullptr, &budgets, &flags};
  const phttp::Options options;
  const std::string job = R"({"job_id": "injected-job", "job_type": "render"})";

  const phttp::Reply refused =
      phttp::handle(view(Method::post, "/api/perf/budgets/jobs/register", job), options);
  CHECK(refused.status == StatusCode::forbidden);
  CHECK(body_of(refused).at("feature_flag") == false);

  const phttp::Reply reply =
      phttp::handle(view(Method::post, "/api/perf/budgets/jobs/register", job), options, services);
  REQUIRE(reply.status == StatusCode::ok);
  const json::object body = body_of(reply);
  CHECK(body.at("ok") == true);
  CHECK(body.at("feature_flag") == true);
  CHECK(body.at("job").at("id") == "injected-job");
  CHECK(budgets.snapshot().at("jobs").as_array().size() == 1);

  // A second register of the same id is a conflict of the private manager.
  const phttp::Reply again =
      phttp::handle(view(Method::post, "/api/perf/budgets/jobs/register", job), options, services);
  CHECK(again.status == StatusCode::conflict);

  const phttp::Reply health =
      phttp::handle(view(Method::get, "/api/perf/health"), options, services);
  REQUIRE(health.status == StatusCode::ok);
  const json::object h = body_of(health);
  CHECK(h.at("budgets_enabled") == true);
  CHECK(h.at("budgets").at("queue").at("seen_jobs") == 1);

  const phttp::Reply err = phttp::error_reply(StatusCode::bad_request, "malformed", services);
  CHECK_FALSE(err.keep_alive);
  CHECK(body_of(err).at("feature_flag") == true);
  CHECK(body_of(err).at("detail") == "malformed");
}

TEST_CASE("a RequestView is answered without Beast", "[http][handler]") {
  const phttp::Options options;
  const phttp::Reply options_reply =
      phttp::handle(view(Method::options, "/api/perf/budgets"), options);
  CHECK(options_reply.status == StatusCode::no_content);
  CHECK(options_reply.body.empty());
  CHECK(options_reply.allow == "GET, HEAD, OPTIONS");

  const phttp::Reply wrong =
      phttp::handle(view(Method::other, "/api/perf/profiler/reset"), options);
  CHECK(wrong.status == StatusCode::method_not_allowed);
  CHECK(wrong.allow == "POST, OPTIONS");
  CHECK(wrong.keep_alive);

  phttp::RequestView unframed = view(Method::post, "/api/perf/profiler/reset");
  unframed.unframed = true;
  const phttp::Reply smuggled = phttp::handle(unframed, options);
  CHECK(smuggled.status == StatusCode::bad_request);
  CHECK_FALSE(smuggled.keep_alive);

  phttp::RequestView closing = view(Method::get, "/api/perf/health");
  closing.keep_alive = false;
  CHECK_FALSE(phttp::handle(closing, options).keep_alive);

  phttp::Options guarded;
  guarded.token = "t0ken";
  const phttp::Reply anonymous = phttp::handle(view(Method::get, "/api/perf/budgets"), guarded);
  CHECK(anonymous.status == StatusCode::unauthorized);
  CHECK(anonymous.www_authenticate == "Bearer realm=\"comfyvn_perf\"");
  phttp::RequestView bearer = view(Method::get, "/api/perf/nowhere");
  bearer.authorization = "bearer  t0ken ";
  CHECK(phttp::handle(bearer, guarded).status == StatusCode::not_found);
}

TEST_CASE("loopback literals are classified as Asio classifies them", "[http][handler]") {
  namespace ip = boost::asio::ip;
  const auto asio_loopback = [](const std::string& s) {
    boost::system::error_code ec;
    const ip::address a = ip::make_address(s, ec);
    if (ec) return false;
    if (a.is_v4()) return a.to_v4().is_loopback();
    const ip::address_v6 v6 = a.to_v6();
    if (v6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, v6).is_loopback();
    return v6.is_loopback();
  };
  for (const std::string s : {"127.0.0.1",
                              "127.255.255.254",
                              "127.1",
                              "127.0.0.01",
                              "127.0.0.256",
                              "128.0.0.1",
                              "0.0.0.0",
                              "10.0.0.1",
                              "127.0.0.1.",
                              ".127.0.0.1",
                              "127..0.1",
                              "1270.0.0.1",
                              "::1",
                              "0:0:0:0:0:0:0:1",
                              "0000:0000:0000:0000:0000:0000:0000:0001",
                              "::0:1",
                              "::2",
                              "::",
                              "1::",
                              "::1:0",
                              "::ffff:127.0.0.1",
                              "::FFFF:127.9.9.9",
                              "::ffff:7f00:1",
                              "::ffff:10.0.0.1",
                              "::127.0.0.1",
                              "::0.0.0.1",
                              "::1::",
                              ":::1",
                              "::1:",
                              ":1",
                              "1:2:3:4:5:6:7:8",
                              "1:2:3:4:5:6:7::",
                              "1:2:3:4:5:6:7:8::",
                              "0:0:0:0:0:0:0:0:1",
                              "00000::1",
                              "::g",
                              "::1%lo",
                              "localhost",
                              "",
                              "fe80::1"}) {
    INFO(s);
    CHECK(phttp::detail::is_loopback_literal(s) == asio_loopback(s));
  }
}
