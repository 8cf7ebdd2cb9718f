#include <comfyvn_perf/core/histogram.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using comfyvn::perf::LogHistogram;

namespace {
double exact_quantile(std::vector<std::uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  if (rank == 0) rank = 1;
  return static_cast<double>(v[rank - 1]);
}
void check_within_2pct(const std::vector<std::uint64_t>& values) {
  LogHistogram h;
  for (auto v : values) h.add(v);
  for (double q : {0.5, 0.95, 0.99}) {
    const double exact = exact_quantile(values, q);
    const double got = h.quantile(q);
    INFO("q=" << q << " exact=" << exact << " got=" << got);
    CHECK(std::abs(got - exact) <= 0.02 * exact + 0.5);
  }
}
}  // namespace

TEST_CASE("percentiles of a uniform distribution are within 2%", "[histogram]") {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 1; i <= 100000; ++i) v.push_back(i * 37);
  check_within_2pct(v);
}

TEST_CASE("percentiles of a log-normal distribution are within 2%", "[histogram]") {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> d(10.0, 1.5);
  std::vector<std::uint64_t> v;
  for (int i = 0; i < 200000; ++i) v.push_back(static_cast<std::uint64_t>(d(rng)) + 1);
  check_within_2pct(v);
}

TEST_CASE("small values are exact and merges add up", "[histogram]") {
  LogHistogram a, b;
  for (std::uint64_t i = 0; i < 100; ++i) a.add(i);
  for (std::uint64_t i = 0; i < 100; ++i) b.add(1'000'000'000ull + i);
  REQUIRE(a.quantile(0.5) == 49.0);
  a.merge(b);
  REQUIRE(a.count() == 200);
  CHECK(a.quantile(0.99) >= 0.98 * 1e9);
  CHECK(a.quantile(1.0) == 1'000'000'099.0);
  LogHistogram c = a;
  REQUIRE(c.count() == 200);
  c.clear();
  REQUIRE(c.quantile(0.5) == 0.0);
  // The largest values do not overflow the bucket table.
  c.add(UINT64_MAX);
  REQUIRE(c.count() == 1);
}

TEST_CASE("quantiles in one scan equal separate quantile calls", "[histogram]") {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> d(1e-4);
  LogHistogram h;
  for (int i = 0; i < 50000; ++i) h.add(static_cast<std::uint64_t>(d(rng)));
  const double qs[5] = {0.0, 0.5, 0.95, 0.99, 1.0};
  double out[5];
  h.quantiles(qs, out);
  for (int k = 0; k < 5; ++k) CHECK(out[k] == h.quantile(qs[k]));
  LogHistogram empty;
  empty.quantiles(qs, out);
  for (double v : out) CHECK(v == 0.0);
}
