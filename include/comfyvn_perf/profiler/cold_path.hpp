// comfyvn_perf — the one registry of the process, and the cold path behind
// the hot header's function table (core/thread_buffer.hpp: ColdPath):
// registering a thread, a site, a dynamic name, recording a mark, and
// handing a thread's buffer back when the thread exits.
#pragma once

#include <atomic>       // g_registry
#include <cstdint>      // uint32_t
#include <string_view>  // names

#include "../core/site.hpp"           // Site
#include "../core/thread_buffer.hpp"  // ColdPath, ThreadBuffer
#include "registry.hpp"               // Registry

namespace comfyvn::perf::detail {

// Set once the registry exists, so that the runtime's fork handler can lock
// it without ever creating it.
COMFYVN_PERF_VISIBLE extern std::atomic<Registry*> g_registry;

// The one registry of the process. Never destroyed, so spans recorded during
// static destruction or by threads outliving main() stay safe.
COMFYVN_PERF_VISIBLE Registry& registry();

// Hands the thread's buffer back when the thread exits.
struct ThreadReaper {
  ThreadState* tb = nullptr;
  ~ThreadReaper();
};
COMFYVN_PERF_VISIBLE extern thread_local ThreadReaper t_reaper;

namespace cold {

ThreadBuffer* register_thread() noexcept;

std::uint32_t register_site(const Site& site) noexcept;

std::uint32_t dynamic_site(ThreadBuffer* buffer, std::string_view name,
                           std::string_view category) noexcept;

void mark(std::string_view name, std::string_view category, std::uint64_t ticks) noexcept;

inline constexpr ColdPath kTable{&register_thread, &register_site, &dynamic_site, &mark};

// Installs the table unless a module loaded earlier did, and applies
// COMFYVN_ENABLE_PERF=1 from the first scope on. Reads the environment and
// stores two pointers; starts no thread.
bool install() noexcept;

}  // namespace cold

COMFYVN_PERF_VISIBLE extern const bool g_cold_installed;

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cstdlib>  // getenv
#include <string>   // mark names

#include "../os/env.hpp"  // env_flag_true

namespace comfyvn::perf::detail {

// ---- the one registry, and thread exit ----

std::atomic<Registry*> g_registry{nullptr};

Registry& registry() {
  static Registry* r = [] {
    auto* created = new Registry();
    g_registry.store(created, std::memory_order_release);
    return created;
  }();
  return *r;
}

ThreadReaper::~ThreadReaper() {
  t_retired = true;
  ThreadState* b = tb;
  tb = nullptr;
  t_buffer = nullptr;
  if (b) registry().retire(b);
}

thread_local ThreadReaper t_reaper;

namespace cold {

ThreadBuffer* register_thread() noexcept {
  try {
    ThreadState* tb = registry().register_thread();
    if (tb == nullptr) return nullptr;
    t_reaper.tb = tb;
    t_buffer = tb;
    registry().ensure_collector();
    return tb;
  } catch (...) {
    return nullptr;
  }
}

std::uint32_t register_site(const Site& site) noexcept {
  try {
    const std::uint32_t id =
        registry().intern(site.name, site.category, false, site.file, site.function, site.line);
    site.id.store(id, kRelease);
    return id;
  } catch (...) {
    return kOtherSiteId;
  }
}

std::uint32_t dynamic_site(ThreadBuffer* buffer, std::string_view name,
                           std::string_view category) noexcept {
  auto* tb = static_cast<ThreadState*>(buffer);
  const std::uint64_t h = DynNameCache::hash(name, category);
  if (const std::uint32_t id = tb->dyn.find(h, name, category); id != 0) return id;
  try {
    const std::uint32_t id = registry().intern(name, category, true);
    // Folded names are cached too, up to a bound, so a flood of distinct
    // names cannot grow a thread's cache without limit.
    if (id != kOtherSiteId || tb->dyn.size() < 2 * COMFYVN_PERF_MAX_DYNAMIC_NAMES) {
      tb->dyn.insert(h, name, category, id);
    }
    return id;
  } catch (...) {
    return kOtherSiteId;
  }
}

void mark(std::string_view name, std::string_view category, std::uint64_t ticks) noexcept {
  try {
    registry().marks().add(MarkRecord{std::string(name), std::string(category), "", ticks});
  } catch (...) {
  }
}

bool install() noexcept {
  const ColdPath* none = nullptr;
  g_cold.compare_exchange_strong(none, &kTable, kAcqRel);
  if (os::env_flag_true(std::getenv("COMFYVN_ENABLE_PERF"))) g_enabled.store(true, kRelaxed);
  return true;
}

}  // namespace cold

const bool g_cold_installed = cold::install();

#if defined(__GNUC__) || defined(__clang__)
// Before every ordinary static initialiser of the program, whatever the link
// order: a span recorded during another file's static initialisation (before
// main()) must find the cold path. install() may run twice.
__attribute__((constructor(101))) static void install_cold_path_early() noexcept { cold::install(); }
#endif

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
