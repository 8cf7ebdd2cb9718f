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
// static destruction or by threads outliving main() stay safe. Creating a
// second one in the process (a library with an implementation of its own
// that could not bind to the executable's) logs one warning: see
// warn_if_second_registry below.
COMFYVN_PERF_VISIBLE Registry& registry();

// Called on a thread's first registration, after it, outside every registry
// lock; null until installed. The runtime installs one that loads the feature
// flags when no singleton has yet (runtime/singletons.hpp).
using RegistrationHook = void (*)() noexcept;
COMFYVN_PERF_VISIBLE extern std::atomic<RegistrationHook> g_registration_hook;

// The environment variable through which the first registry of a process
// announces itself to the others: "<pid>:<address>".
inline constexpr const char* kRegistryEnv = "COMFYVN_PERF_REGISTRY";

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
#include <unistd.h>  // getpid

#include <cstdint>  // uintptr_t
#include <cstdio>   // snprintf
#include <cstdlib>  // getenv, setenv
#include <cstring>  // strncmp
#include <string>   // mark names, the announcement

#include "../os/env.hpp"  // env_flag_true
#include "../os/log.hpp"  // the second registry's warning

namespace comfyvn::perf::detail {

// ---- the one registry, and thread exit ----

std::atomic<Registry*> g_registry{nullptr};
std::atomic<RegistrationHook> g_registration_hook{nullptr};

namespace {

// A library that compiled its own implementation and cannot bind to the
// executable's definitions (an executable linked without -rdynamic exports
// none) creates a registry of its own, and its spans never reach the
// executable's dashboard. The two copies share no symbol, so the first
// registry of the process writes "<pid>:<address>" into the environment,
// the one thing every module of a process shares (Intel's OpenMP runtime
// detects a second copy of itself the same way). A registry created later in
// the same process finds another address there and warns.
//
// A value naming another pid is stale, and is replaced: inherited through
// exec, or from the parent of a forked child. A forked child keeps its
// parent's registry and creates none; a library with its own implementation
// first loaded in such a child replaces the parent's value and stays silent.
//
// setenv is not safe against a getenv running at the same moment in another
// thread. It runs once per process (the first registry; a stale value is
// replaced in place, which does not move the environment), when the
// registry is created: on the first span recorded with the profiler on, or
// the first perf_profiler() call. With glibc the risk is limited to a getenv
// in another thread at that instant while setenv moves an environment that
// an earlier setenv or putenv of the program had already grown.
void warn_if_second_registry(const Registry* mine) noexcept {
  try {
    char text[64];
    const long pid = static_cast<long>(::getpid());
    std::snprintf(text, sizeof text, "%ld:%#llx", pid,
                  static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(mine)));
    const auto pid_len = static_cast<std::size_t>(std::strchr(text, ':') - text + 1);  // "<pid>:"
    auto this_process = [&](const char* v) {
      return v != nullptr && std::strncmp(v, text, pid_len) == 0;
    };
    const char* seen = std::getenv(kRegistryEnv);
    if (!this_process(seen)) {
      // Absent: added unless another module's registry added it meanwhile.
      // Stale: replaced.
      ::setenv(kRegistryEnv, text, seen != nullptr ? 1 : 0);
      seen = std::getenv(kRegistryEnv);
    }
    if (!this_process(seen) || std::strcmp(seen, text) == 0) return;
    os::log(os::LogLevel::warning,
            std::string("a second profiler registry was created in this process (") +
                (text + pid_len) + "; the first is " + (seen + pid_len) +
                "): a shared library compiled its own implementation and could not bind to "
                "the executable's, so its spans never reach the executable's dashboard; link "
                "the executable with comfyvn_perf-host (-rdynamic) so that libraries bind to "
                "its singletons (docs/integration.md)");
  } catch (...) {
  }
}

}  // namespace

Registry& registry() {
  static Registry* r = [] {
    auto* created = new Registry();
    g_registry.store(created, std::memory_order_release);
    warn_if_second_registry(created);
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
    // Once per thread, after the buffer is set: a span the hook records on
    // this thread does not come back here.
    if (RegistrationHook hook = g_registration_hook.load(std::memory_order_acquire)) hook();
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
