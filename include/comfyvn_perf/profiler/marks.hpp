// comfyvn_perf — the marks: instant events (PERF_MARK, PerfProfiler::mark).
//
// Marks do not travel through the rings: they arrive through add(). The
// store joins the pipeline so that reset and fork reach it like every other
// consumer; it takes nothing from the drain.
#pragma once

#include <cstddef>  // size_t
#include <cstdint>  // uint64_t
#include <deque>    // oldest dropped first
#include <string>   // texts
#include <vector>   // marks()

#include "../config.hpp"  // COMFYVN_PERF_MAX_MARKS, COMFYVN_PERF_MAX_MARK_BYTES
#include "consumer.hpp"   // LockedConsumer

namespace comfyvn::perf::detail {

struct MarkRecord {
  std::string name;
  std::string category;
  std::string metadata_json;  // serialised object, "" when none
  std::uint64_t ticks = 0;
};

class MarkStore final : public LockedConsumer {
 public:
  void consume(const SpanBatch&) override {}
  void reset() override;

  // Keeps the newest marks within both bounds: a count and the bytes of
  // their text (metadata included), so large metadata cannot grow memory or
  // the dashboard without limit. A mark larger than the byte bound on its
  // own keeps its name but loses its metadata. Names and categories are
  // cleaned as sites' are (profiler/site_table.hpp).
  void add(MarkRecord m);

  // The newest `limit` marks, oldest first.
  std::vector<MarkRecord> list(std::size_t limit = static_cast<std::size_t>(-1)) const;

  // Marks added since the last reset (kept or not).
  std::uint64_t recorded() const;

  void set_max_marks(std::size_t n);

  // Bytes of name, category and metadata text kept over all marks.
  void set_max_bytes(std::size_t n);

 private:
  static constexpr const char* kMetadataDropped = "{\"metadata_dropped\":true}";
  static constexpr std::size_t kMinMarkBytes = 4096;

  static std::size_t bytes_of(const MarkRecord& m);
  void trim_locked();

  std::deque<MarkRecord> marks_;
  std::size_t max_marks_ = COMFYVN_PERF_MAX_MARKS;
  std::size_t max_bytes_ = COMFYVN_PERF_MAX_MARK_BYTES;
  std::size_t bytes_ = 0;
  std::uint64_t recorded_ = 0;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min
#include <utility>    // move

#include "../os/text.hpp"  // clean_name

namespace comfyvn::perf::detail {

void MarkStore::reset() {
  std::lock_guard<std::mutex> lock(mu_);
  marks_.clear();
  bytes_ = 0;
  recorded_ = 0;
}

void MarkStore::add(MarkRecord m) {
  m.name = os::clean_name(m.name, kMaxNameBytes);
  m.category = os::clean_name(m.category, kMaxNameBytes);
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes_of(m) > max_bytes_) m.metadata_json = kMetadataDropped;
  ++recorded_;
  bytes_ += bytes_of(m);
  marks_.push_back(std::move(m));
  trim_locked();
}

std::vector<MarkRecord> MarkStore::list(std::size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t n = std::min(limit, marks_.size());
  return std::vector<MarkRecord>(marks_.end() - static_cast<std::ptrdiff_t>(n), marks_.end());
}

std::uint64_t MarkStore::recorded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_;
}

void MarkStore::set_max_marks(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  max_marks_ = n == 0 ? 1 : n;
  trim_locked();
}

void MarkStore::set_max_bytes(std::size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  max_bytes_ = n < kMinMarkBytes ? kMinMarkBytes : n;
  trim_locked();
}

std::size_t MarkStore::bytes_of(const MarkRecord& m) {
  return m.name.size() + m.category.size() + m.metadata_json.size();
}

void MarkStore::trim_locked() {
  while (!marks_.empty() && (marks_.size() > max_marks_ || bytes_ > max_bytes_)) {
    bytes_ -= bytes_of(marks_.front());
    marks_.pop_front();
  }
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
