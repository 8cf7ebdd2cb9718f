// comfyvn_perf — a sparse log-linear histogram for percentiles.
//
// Values below 128 are counted exactly; above, every power of two is split
// into 64 equal buckets, so a bucket is at most 1/64 of its value wide and the
// midpoint reported for a quantile is within 0.8% of any value in it. Buckets
// are allocated 64 at a time, only for the octaves that actually occur, so a
// site whose spans cluster within a few octaves costs a few KiB.
#pragma once

#include <cmath>    // ceil, ldexp
#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <memory>   // unique_ptr

namespace comfyvn::perf {

class LogHistogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr std::uint64_t kSub = 1u << kSubBits;  // buckets per octave
  static constexpr std::uint64_t kExact = kSub * 2;      // values counted exactly
  static constexpr std::size_t kChunks = 2 + (64 - 7);   // covers every uint64_t

  LogHistogram() = default;
  LogHistogram(const LogHistogram& o) { *this = o; }
  LogHistogram& operator=(const LogHistogram& o) {
    if (this == &o) return *this;
    clear();
    merge(o);
    return *this;
  }
  LogHistogram(LogHistogram&&) noexcept = default;
  LogHistogram& operator=(LogHistogram&&) noexcept = default;

  void add(std::uint64_t v, std::uint64_t n = 1) {
    const std::size_t idx = index_of(v);
    auto& chunk = chunks_[idx / kSub];
    if (!chunk) chunk.reset(new std::uint64_t[kSub]());
    chunk[idx % kSub] += n;
    count_ += n;
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
  }

  void merge(const LogHistogram& o) {
    for (std::size_t c = 0; c < kChunks; ++c) {
      if (!o.chunks_[c]) continue;
      if (!chunks_[c]) chunks_[c].reset(new std::uint64_t[kSub]());
      for (std::size_t i = 0; i < kSub; ++i) chunks_[c][i] += o.chunks_[c][i];
    }
    count_ += o.count_;
    if (o.min_ < min_) min_ = o.min_;
    if (o.max_ > max_) max_ = o.max_;
  }

  void clear() {
    for (auto& c : chunks_) c.reset();
    count_ = 0;
    min_ = UINT64_MAX;
    max_ = 0;
  }

  std::uint64_t count() const { return count_; }

  // Nearest-rank quantile, q in [0, 1]; 0 when empty. The result is the
  // bucket midpoint clamped to the exact observed minimum and maximum.
  double quantile(double q) const {
    const double qs[1] = {q};
    double out[1];
    quantiles(qs, out);
    return out[0];
  }

  // Several nearest-rank quantiles in one scan of the buckets; `qs` must be
  // ascending. Same results as calling quantile() for each.
  template <std::size_t N>
  void quantiles(const double (&qs)[N], double (&out)[N]) const {
    std::uint64_t ranks[N];
    std::size_t pending = 0;
    for (std::size_t k = 0; k < N; ++k) {
      out[k] = quantile_edge(qs[k]);
      if (out[k] < 0) {
        auto rank = static_cast<std::uint64_t>(std::ceil(qs[k] * static_cast<double>(count_)));
        ranks[k] = rank == 0 ? 1 : rank;
        ++pending;
      } else {
        ranks[k] = 0;  // answered without a scan
      }
    }
    std::size_t next = 0;
    while (next < N && ranks[next] == 0) ++next;
    std::uint64_t seen = 0;
    for (std::size_t c = 0; c < kChunks && pending > 0; ++c) {
      if (!chunks_[c]) continue;
      for (std::size_t i = 0; i < kSub && pending > 0; ++i) {
        seen += chunks_[c][i];
        while (next < N && seen >= ranks[next]) {
          out[next] = clamp_to_observed(midpoint(c * kSub + i));
          --pending;
          ++next;
          while (next < N && ranks[next] == 0) ++next;
        }
      }
    }
    for (std::size_t k = 0; k < N; ++k)
      if (out[k] < 0) out[k] = static_cast<double>(max_);
  }

  // Cumulative counts at ascending bounds: out[k] counts the values whose
  // bucket lies at or below the bucket holding bounds[k]. A value in the
  // same bucket as a bound counts as at or below it, so a count can include
  // values up to 1/64 (1.6%) above its bound (exact below 128).
  template <class Bounds>
  Bounds cumulative(const Bounds& bounds) const {
    Bounds out(bounds.size());
    std::uint64_t seen = 0;
    std::size_t next_idx = 0;  // first bucket not yet summed
    for (std::size_t k = 0; k < bounds.size(); ++k) {
      const std::size_t last = index_of(bounds[k]);
      for (; next_idx <= last; ++next_idx) {
        const std::size_t c = next_idx / kSub;
        if (!chunks_[c]) {  // skip the whole missing chunk, up to `last`
          next_idx = (c + 1) * kSub - 1 < last ? (c + 1) * kSub - 1 : last;
          continue;
        }
        seen += chunks_[c][next_idx % kSub];
      }
      out[k] = seen;
    }
    return out;
  }

  static std::size_t index_of(std::uint64_t v) {
    if (v < kExact) return static_cast<std::size_t>(v);
    const int e = 63 - __builtin_clzll(v);  // >= 7
    const int shift = e - kSubBits;
    const std::uint64_t top = v >> shift;  // in [64, 128)
    return static_cast<std::size_t>(kExact + static_cast<std::uint64_t>(e - 7) * kSub +
                                    (top - kSub));
  }

  static double midpoint(std::size_t idx) {
    if (idx < kExact) return static_cast<double>(idx);
    const std::size_t rel = idx - kExact;
    const int e = static_cast<int>(rel / kSub) + 7;
    const int shift = e - kSubBits;
    const double lower = static_cast<double>((kSub + rel % kSub)) * std::ldexp(1.0, shift);
    return lower + std::ldexp(1.0, shift) / 2.0 - 0.5;
  }

 private:
  // The answer when no scan is needed (empty, q <= 0, q >= 1), else -1.
  double quantile_edge(double q) const {
    if (count_ == 0) return 0.0;
    if (q <= 0.0) return static_cast<double>(min_);
    if (q >= 1.0) return static_cast<double>(max_);
    return -1.0;
  }

  double clamp_to_observed(double mid) const {
    if (mid < static_cast<double>(min_)) return static_cast<double>(min_);
    if (mid > static_cast<double>(max_)) return static_cast<double>(max_);
    return mid;
  }

  std::unique_ptr<std::uint64_t[]> chunks_[kChunks];
  std::uint64_t count_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace comfyvn::perf
