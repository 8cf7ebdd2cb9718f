// The prometheus-cpp bridge (export/prometheus_cpp.hpp): its families,
// serialized by prometheus-cpp next to a program's own registry as an
// Exposer would, hold the same sample lines as prometheus_text() for the
// same data. Built only where prometheus-cpp is installed.
#include <comfyvn_perf/export/prometheus_cpp.hpp>
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace perf = comfyvn::perf;

namespace {

struct Lines {
  std::set<std::string> meta;             // # HELP and # TYPE lines
  std::map<std::string, double> samples;  // series (labels sorted) -> value
  std::set<std::string> written;          // series as written, labels sorted
};

// `le` bounds can also be compared as numbers (the series check below then
// also compares them as written).
std::string series_of(std::string_view s, bool numeric_le) {
  const std::size_t brace = s.find('{');
  if (brace == std::string_view::npos) return std::string(s);
  std::vector<std::string> labels;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = brace + 1; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted && c == '\\' && i + 1 < s.size()) {
      cur += c;
      cur += s[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == ',' || c == '}')) {
      if (numeric_le && cur.rfind("le=\"", 0) == 0 && cur != "le=\"+Inf\"") {
        char buf[64];
        std::snprintf(buf, sizeof buf, "le=\"%.17g\"", std::strtod(cur.c_str() + 4, nullptr));
        cur = buf;
      }
      if (!cur.empty()) labels.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  std::sort(labels.begin(), labels.end());
  std::string out(s.substr(0, brace));
  out += '{';
  for (std::size_t i = 0; i < labels.size(); ++i) out += (i ? "," : "") + labels[i];
  return out + '}';
}

Lines read(const std::string& text) {
  Lines l;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    if (line[0] == '#') {
      l.meta.insert(line);
      continue;
    }
    const std::size_t sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    const std::string series = series_of(std::string_view(line).substr(0, sp), true);
    INFO(line);
    CHECK(l.samples.count(series) == 0);
    l.samples[series] = std::strtod(line.c_str() + sp + 1, nullptr);
    l.written.insert(series_of(std::string_view(line).substr(0, sp), false));
  }
  return l;
}

// Same help/type lines, same series, values equal but for prometheus-cpp's
// 16 significant digits.
void check_same(const Lines& ours, const Lines& theirs) {
  CHECK(ours.meta == theirs.meta);
  REQUIRE(ours.samples.size() == theirs.samples.size());
  for (const auto& [series, v] : ours.samples) {
    INFO(series);
    auto it = theirs.samples.find(series);
    REQUIRE(it != theirs.samples.end());
    if (v == 0) {
      CHECK(it->second == 0);
    } else {
      CHECK(std::fabs(it->second - v) <= 1e-15 * std::fabs(v));
    }
  }
}

std::string serialize(const std::vector<prometheus::MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace

TEST_CASE("the prometheus-cpp bridge serves prometheus_text()'s samples", "[export]") {
  auto& p = perf::perf_profiler();
  p.set_enabled(true);
  p.reset();
  const std::string odd = "we\"ird\\name\nwith lines";
  const std::string bad_utf8("x\xff" "y", 3);
  for (int i = 0; i < 10; ++i) REQUIRE(p.record_span("known", "test", 0.003));
  for (int i = 0; i < 5; ++i) REQUIRE(p.record_span("known", "test", 0.30));  // 300 us: le 5e-04
  for (int i = 0; i < 3; ++i) REQUIRE(p.record_span("known", "test", 123.456789));
  for (int i = 0; i < 7; ++i) REQUIRE(p.record_span(odd, "cat\"q", 0.5));
  REQUIRE(p.record_span(bad_utf8, "test", 0.08));  // 80 us: le 1e-04
  for (int f = 0; f < 3; ++f) {
    PERF_SCOPE("framed", "test");
    PERF_FRAME();
  }

  perf::PrometheusSources src;
  src.feature_flag = true;
  src.profiler = &p;
  src.budgets = &perf::budget_manager();

  // An Exposer serves every registered collectable in turn; a Registry
  // holds only its own families, so the bridge sits beside it.
  prometheus::Registry app;
  prometheus::BuildCounter().Name("app_requests_total").Help("Requests.").Register(app).Add({}).Increment(3);
  auto bridge = std::make_shared<perf::PrometheusCollectable>(src);
  const std::vector<std::shared_ptr<prometheus::Collectable>> collectables = {
      std::shared_ptr<prometheus::Collectable>(&app, [](prometheus::Collectable*) {}), bridge};
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables) {
    for (auto& f : c->Collect()) families.push_back(std::move(f));
  }
  const std::string theirs_all = serialize(families);
  CHECK(theirs_all.find("\napp_requests_total 3\n") != std::string::npos);

  const std::string ours = perf::prometheus_text(src);
  const std::string theirs = serialize(bridge->Collect());
  const Lines a = read(ours);
  const Lines b = read(theirs);
  check_same(a, b);
  CHECK(a.samples.size() > 60);
  // The odd names arrive escaped, the control character and the ill-formed
  // byte replaced at interning, as ours.
  CHECK(theirs.find("name=\"we\\\"ird\\\\name\xEF\xBF\xBDwith lines\"") != std::string::npos);
  CHECK(theirs.find("name=\"x\xEF\xBF\xBDy\"") != std::string::npos);
  // As written, the series are the same: bounds are spelled as prometheus-cpp
  // (and Go's client) spell them.
  CHECK(a.written == b.written);
  p.set_enabled(false);
}

TEST_CASE("the prometheus-cpp bridge follows the flags as prometheus_text() does", "[export]") {
  // COMFYVN_ENABLE_PERF=0 (meson test's environment): the flag and the build info only.
  auto& flags = perf::feature_flags();
  REQUIRE_FALSE(flags.perf_enabled());
  const perf::PrometheusCollectable bridge(perf::perf_profiler(), perf::budget_manager(), flags);
  const std::vector<prometheus::MetricFamily> families = bridge.Collect();
  REQUIRE(families.size() == 2);
  CHECK(families[0].name == "comfyvn_perf_build_info");
  CHECK(families[1].name == "comfyvn_perf_feature_flag");
  check_same(read(perf::prometheus_text(perf::perf_profiler(), perf::budget_manager(), flags)),
             read(serialize(families)));
}
