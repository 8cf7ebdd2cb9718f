// check_current_system --profile p3_ops_obs_perf [--base URL] [--root DIR]
//
// The smoke check of the perf subsystem. It verifies that
//   1. the feature flags are off in the config this process would load
//      (features.enable_perf and both legacy keys, and the effective values);
//   2. every /api/perf route is present: each answers 200-499 with a JSON body
//      carrying `feature_flag`, and every POST route answers OPTIONS with an
//      Allow header listing POST. Without --base the adapter is started
//      in-process on an ephemeral 127.0.0.1 port. POST routes are probed with
//      GET (405) and OPTIONS only, so the check never changes server state;
//   3. the documentation exists under --root (default: the working directory).
// --root also locates the config (DIR/config/comfyvn.json) unless
// COMFYVN_CONFIG names one, so the installed program checks any tree from
// anywhere. Prints one JSON report {ts, profile, base, pass, flags, routes,
// files, notes} and exits 0 on pass, 2 on fail; --help prints the usage.
// This program's one file with the SDK's definitions (config.hpp).
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/http.hpp>
#include <comfyvn_perf/os/time.hpp>

#include <fmt/core.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace perf = comfyvn::perf;
namespace json = boost::json;
namespace beast = boost::beast;
namespace asio = boost::asio;
namespace http = beast::http;

namespace {

constexpr const char* kProfile = "p3_ops_obs_perf";

struct Route {
  const char* method;
  const char* path;
};

// Every route of the contract, prefix /api/perf.
constexpr Route kRoutes[] = {
    {"GET", "/health"},
    {"GET", "/budgets"},
    {"POST", "/budgets/apply"},
    {"POST", "/budgets/jobs/register"},
    {"POST", "/budgets/jobs/start"},
    {"POST", "/budgets/jobs/finish"},
    {"POST", "/budgets/jobs/refresh"},
    {"POST", "/budgets/assets/register"},
    {"POST", "/budgets/assets/touch"},
    {"POST", "/budgets/assets/evict"},
    {"POST", "/budgets/assets/unregister"},
    {"POST", "/profiler/mark"},
    {"GET", "/profiler/dashboard"},
    {"POST", "/profiler/reset"},
};

constexpr const char* kDocs[] = {
    "docs/PERF_BUDGETS.md", "docs/dev_notes_observability_perf.md",
    "docs/http_api.md",     "docs/configuration.md",
    "docs/performance.md",  "docs/integration.md",
};

struct Endpoint {
  std::string host;
  std::string port;
};

std::optional<Endpoint> parse_base(const std::string& base, std::string& problem) {
  const std::string scheme = "http://";
  if (base.compare(0, scheme.size(), scheme) != 0) {
    problem = "--base must start with http://";
    return std::nullopt;
  }
  std::string rest = base.substr(scheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  Endpoint e;
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    e.host = rest.substr(0, colon);
    e.port = rest.substr(colon + 1);
  } else {
    e.host = rest;
    e.port = "80";
  }
  if (e.host.empty() || e.port.empty()) {
    problem = "--base has no host or port: " + base;
    return std::nullopt;
  }
  return e;
}

struct Reply {
  unsigned status = 0;
  std::string allow;
  std::string body;
  std::string error;
};

Reply request(const Endpoint& ep, http::verb verb, const std::string& target) {
  Reply r;
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(resolver.resolve(ep.host, ep.port));
    http::request<http::empty_body> req{verb, target, 11};
    req.set(http::field::host, ep.host);
    req.set(http::field::user_agent, "check_current_system");
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(8 * 1024 * 1024);
    http::read(stream, buf, parser);
    const auto& res = parser.get();
    r.status = res.result_int();
    r.allow = std::string(res[http::field::allow]);
    r.body = res.body();
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

constexpr const char* kUsage = R"(usage: check_current_system --profile p3_ops_obs_perf [--base URL] [--root DIR]

Smoke check of comfyvn_perf: the feature flags are off, every /api/perf route
answers, and the documentation is present. Prints one JSON report; exits 0 on
pass, 2 on fail or on a usage error.

  --profile NAME  the check to run; the only one is p3_ops_obs_perf
  --base URL      probe the adapter already serving at URL (http://HOST:PORT);
                  without it an adapter is started in-process on an
                  ephemeral 127.0.0.1 port
  --root DIR      the tree to check (default: the working directory): the
                  docs are looked up under DIR/docs/, and the flags are read
                  from DIR/config/comfyvn.json unless COMFYVN_CONFIG is set;
                  without it, and without ./docs, the docs that meson install
                  put under <prefix>/share/doc/comfyvn_perf are checked
  --help          print this text and exit 0

Environment: COMFYVN_CONFIG=PATH (config file), COMFYVN_ENABLE_PERF=1|0.
)";

[[noreturn]] void fail_usage(const std::string& why) {
  const json::object report{{"ts", perf::os::epoch_now()},
                            {"profile", nullptr},
                            {"base", nullptr},
                            {"pass", false},
                            {"flags", json::object{}},
                            {"routes", json::array{}},
                            {"files", json::array{}},
                            {"notes", json::array{json::string(why)}}};
  fmt::print("{}\n", json::serialize(report));
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string profile;
  std::string base;
  std::string root = ".";
  bool root_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kUsage);
      return 0;
    }
    if (a == "--root" && i + 1 < argc) root_given = true;
    if ((a == "--profile" || a == "--base" || a == "--root") && i + 1 < argc) {
      (a == "--profile" ? profile : a == "--base" ? base : root) = argv[++i];
    } else {
      fail_usage(
          "unknown or incomplete argument: " + a +
          " (usage: check_current_system --profile p3_ops_obs_perf [--base URL] [--root DIR])");
    }
  }
  if (profile != kProfile) fail_usage("unknown profile '" + profile + "'; known: " + kProfile);
  // Before the first use of the SDK, which loads the config: the tree named
  // by --root brings its own config, unless the environment names one.
  if (root_given && std::getenv("COMFYVN_CONFIG") == nullptr) {
    ::setenv("COMFYVN_CONFIG", (root + "/config/comfyvn.json").c_str(), 1);
  }

  json::array notes;
  bool pass = true;

  // 1. Flags, as this process would load them.
  auto& flags = perf::feature_flags();
  const perf::FlagValues v = flags.values();
  json::object flag_report{{"enable_perf", v.enable_perf},
                           {"enable_perf_budgets", v.enable_perf_budgets},
                           {"enable_perf_profiler_dashboard", v.enable_perf_profiler_dashboard},
                           {"budgets_enabled", flags.budgets_enabled()},
                           {"profiler_enabled", flags.profiler_enabled()},
                           {"config", flags.config_path()}};
  if (const std::string e = flags.last_error(); !e.empty()) notes.emplace_back("config: " + e);
  for (const char* k : {"enable_perf", "enable_perf_budgets", "enable_perf_profiler_dashboard",
                        "budgets_enabled", "profiler_enabled"}) {
    if (flag_report.at(k).as_bool()) {
      pass = false;
      notes.emplace_back(fmt::format("flag {} is on; it must be off by default", k));
    }
  }

  // 2. Routes.
  std::optional<perf::http::Adapter> adapter;
  Endpoint ep;
  if (base.empty()) {
    perf::http::Options opt;
    opt.port = 0;
    adapter.emplace(opt);
    try {
      adapter->start();
    } catch (const std::exception& e) {
      fail_usage(std::string("cannot start the adapter: ") + e.what());
    }
    ep = Endpoint{"127.0.0.1", std::to_string(adapter->port())};
    base = "http://127.0.0.1:" + ep.port;
  } else {
    std::string problem;
    auto parsed = parse_base(base, problem);
    if (!parsed) fail_usage(problem);
    ep = *parsed;
    while (!base.empty() && base.back() == '/') base.pop_back();
  }

  json::array routes;
  for (const auto& route : kRoutes) {
    const std::string target = std::string("/api/perf") + route.path;
    const bool is_post = std::string(route.method) == "POST";
    // POST routes are probed with GET: a 405 proves the route exists without
    // changing anything on the server.
    const Reply r = request(ep, http::verb::get, target);
    json::object entry{{"method", route.method}, {"path", target}, {"status", r.status}};
    bool ok = r.error.empty() && r.status >= 200 && r.status <= 499 && r.status != 404;
    if (!r.error.empty()) entry["error"] = r.error;
    boost::system::error_code ec;
    const json::value body = json::parse(r.body, ec);
    const bool has_flag = !ec && body.is_object() && body.as_object().contains("feature_flag") &&
                          body.at("feature_flag").is_bool();
    entry["feature_flag"] = has_flag ? body.at("feature_flag") : json::value(nullptr);
    ok = ok && has_flag;
    if (is_post) {
      const Reply o = request(ep, http::verb::options, target);
      entry["options_status"] = o.status;
      entry["allow"] = o.allow;
      const bool allows_post =
          o.error.empty() && o.status == 204 && o.allow.find("POST") != std::string::npos;
      if (!allows_post) notes.emplace_back("OPTIONS " + target + " does not allow POST");
      ok = ok && allows_post;
    }
    if (!ok) {
      pass = false;
      notes.emplace_back(fmt::format("route {} {} failed (status {}{})", route.method, target,
                                     r.status, r.error.empty() ? "" : ", " + r.error));
    }
    entry["ok"] = ok;
    routes.push_back(std::move(entry));
  }
  if (adapter) adapter->stop();

  // 3. Docs: under --root, else ./docs of a source tree, else the copy that
  // `meson install` put under <prefix>/share/doc/comfyvn_perf.
  std::string docs_root = root;
#ifdef COMFYVN_PERF_DOCDIR
  if (!root_given && !file_exists(std::string("./") + kDocs[0])) {
    docs_root = COMFYVN_PERF_DOCDIR;
    notes.emplace_back("docs: the installed copy in " + docs_root);
  }
#endif
  json::array files;
  for (const char* doc : kDocs) {
    const std::string name = docs_root == root ? std::string(doc) : std::string(doc).substr(5);
    const std::string path = docs_root + "/" + name;
    const bool exists = file_exists(path);
    files.push_back(json::object{{"path", doc}, {"exists", exists}});
    if (!exists) {
      pass = false;
      notes.emplace_back(std::string("missing ") + doc);
    }
  }

  const json::object report{{"ts", perf::os::epoch_now()},
                            {"profile", profile},
                            {"base", base},
                            {"pass", pass},
                            {"flags", std::move(flag_report)},
                            {"routes", std::move(routes)},
                            {"files", std::move(files)},
                            {"notes", std::move(notes)}};
  fmt::print("{}\n", json::serialize(report));
  return pass ? 0 : 2;
}
