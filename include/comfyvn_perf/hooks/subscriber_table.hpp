// comfyvn_perf — per-event subscriber counts that emitters read without a lock.
//
// The bus knows no event name in advance: every emitter owns its own. An
// emitter asks "does anyone listen to my event?" before it builds a payload,
// often on a busy thread, so the answer must cost no lock and no allocation.
// This table maps a name to a counter whose address never changes; an emitter
// that keeps the counter (Hooks::topic) pays one relaxed load per check.
#pragma once

#include <atomic>       // counts and published names, read without a lock
#include <cstddef>      // size_t
#include <cstdint>      // uint32_t, uint64_t
#include <string>       // owned copies of the names
#include <string_view>  // lookups

namespace comfyvn::perf::detail {

// Open addressing with linear probing over a fixed array. A slot, once
// claimed, is never freed or moved: that keeps counter addresses stable and
// lets a lock-free lookup stop at the first empty slot. Claims happen under
// the bus's lock (one writer at a time); lookups may run on any thread.
class SubscriberTable {
 public:
  using Count = std::atomic<std::uint32_t>;

  // Power of two. Names beyond kMaxNames are not given a slot: the bus then
  // counts their subscribers together and checks them under its lock.
  static constexpr std::size_t kSlots = 128;
  static constexpr std::size_t kMaxNames = kSlots * 3 / 4;  // keeps probe runs short

  SubscriberTable() = default;
  SubscriberTable(const SubscriberTable&) = delete;
  SubscriberTable& operator=(const SubscriberTable&) = delete;
  ~SubscriberTable();

  // The counter of `name`, or nullptr when it has none. Lock-free.
  const Count* find(std::string_view name) const noexcept;

  // The counter of `name`, claiming a slot for it on first use; nullptr when
  // the table is full. Callers serialise claims (the bus holds its lock).
  Count* claim(std::string_view name);

 private:
  static constexpr std::size_t kMask = kSlots - 1;

  struct Slot {
    std::atomic<const std::string*> name{nullptr};
    Count count{0};
  };

  // FNV-1a: event names are short and few, so any even spread will do.
  static std::size_t hash(std::string_view s) noexcept;

  Slot slots_[kSlots];
  std::size_t used_ = 0;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----

namespace comfyvn::perf::detail {

SubscriberTable::~SubscriberTable() {
  for (Slot& s : slots_) delete s.name.load(std::memory_order_relaxed);
}

auto SubscriberTable::find(std::string_view name) const noexcept -> const Count* {
  for (std::size_t i = hash(name) & kMask, n = 0; n < kSlots; i = (i + 1) & kMask, ++n) {
    const std::string* s = slots_[i].name.load(std::memory_order_acquire);
    if (s == nullptr) return nullptr;
    if (*s == name) return &slots_[i].count;
  }
  return nullptr;
}

auto SubscriberTable::claim(std::string_view name) -> Count* {
  std::size_t i = hash(name) & kMask;
  for (std::size_t n = 0; n < kSlots; i = (i + 1) & kMask, ++n) {
    const std::string* s = slots_[i].name.load(std::memory_order_relaxed);
    if (s == nullptr) break;
    if (*s == name) return &slots_[i].count;
  }
  if (used_ >= kMaxNames) return nullptr;
  // The string is complete before a reader can see its pointer.
  slots_[i].name.store(new std::string(name), std::memory_order_release);
  ++used_;
  return &slots_[i].count;
}

std::size_t SubscriberTable::hash(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return static_cast<std::size_t>(h ^ (h >> 32));
}

}  // namespace comfyvn::perf::detail
#endif
