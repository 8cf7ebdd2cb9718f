// comfyvn_perf — GPU scopes for OpenGL: timer queries (GL_TIMESTAMP) around
// a block of GL commands, read back a frame or more later without waiting.
//
//   GlContextInfo info;
//   info.get_proc_address = [](const char* n) -> void* {
//     return reinterpret_cast<void*>(eglGetProcAddress(n));
//   };
//   comfyvn::perf::gpu::GlContext gpu(info);   // with the GL context current
//   for (;;) {
//     { PERF_GL_SCOPE(gpu, "shadow pass"); draw_shadows(); }
//     PERF_GPU_FRAME(gpu);
//     swap_buffers();
//     gpu.collect();                            // never waits
//   }
//
// Needs OpenGL 3.3 or ARB_timer_query. Every GL function comes through
// `get_proc_address` (eglGetProcAddress, glXGetProcAddress, SDL_GL_GetProcAddress,
// ...): this header includes no GL header and the SDK never links GL. A
// GlContext is built, used (scopes, collect, recalibrate) and destroyed on
// the thread where its GL context is current; stats() may be read anywhere.
#pragma once

#include <algorithm>  // max
#include <chrono>     // recheck and stale intervals
#include <cmath>      // fabs
#include <cstdint>    // uint32_t, int64_t
#include <cstdio>     // snprintf
#include <memory>     // the track
#include <mutex>      // stats
#include <string>     // problem, name
#include <utility>    // move
#include <vector>     // query names

#include "../config.hpp"
#include "track.hpp"  // GpuTrack, ClockMap, GpuStats

namespace comfyvn::perf::gpu {

// The few OpenGL types and values used here, declared in our own namespace
// so that the header works whether or not (and whichever) GL header the
// user includes.
namespace gl {
using GLenum = unsigned int;
using GLuint = unsigned int;
using GLint = int;
using GLsizei = int;
using GLint64 = std::int64_t;
using GLuint64 = std::uint64_t;
inline constexpr GLenum kNoError = 0;
inline constexpr GLenum kTimestamp = 0x8E28;             // GL_TIMESTAMP
inline constexpr GLenum kQueryResult = 0x8866;           // GL_QUERY_RESULT
inline constexpr GLenum kQueryResultAvailable = 0x8867;  // GL_QUERY_RESULT_AVAILABLE
inline constexpr GLenum kQueryCounterBits = 0x8864;      // GL_QUERY_COUNTER_BITS
}  // namespace gl

#if defined(_WIN32) && !defined(_WIN64)
#define COMFYVN_PERF_GL_APIENTRY __stdcall
#else
#define COMFYVN_PERF_GL_APIENTRY
#endif

struct GlContextInfo {
  // Returns a GL function's address, or null: eglGetProcAddress and the like.
  void* (*get_proc_address)(const char* name) = nullptr;
  // The track's thread name in traces and call trees is "gpu: NAME".
  std::string name = "opengl";
  // Scopes in flight at most (one pair of timestamp queries each); a scope
  // begun while all are in flight is counted as dropped.
  std::uint32_t max_scopes = 1024;
  // How often collect() measures the GPU clock against the CPU's again.
  std::chrono::milliseconds recheck_interval{1000};
  // A pair whose results are not available this long after its scope ended
  // is counted as lost and skipped.
  std::chrono::milliseconds stale_after{5000};
};

class GlContext {
 public:
  explicit GlContext(GlContextInfo info);
  ~GlContext();
  GlContext(const GlContext&) = delete;
  GlContext& operator=(const GlContext&) = delete;

  // False when a GL function is missing or the GL has no timestamp queries:
  // then every scope is a no-op and problem() says why in one line.
  bool usable() const noexcept { return track_ != nullptr; }
  const std::string& problem() const noexcept { return problem_; }
  const std::string& name() const noexcept { return info_.name; }

  // Once a frame: records the finished pairs as spans, in order, without
  // waiting (the first pair not yet available stops it until the next
  // call), and measures the clocks again every recheck_interval.
  void collect();

  // Measures the GPU clock against the CPU's now.
  void recalibrate();

  GpuStats stats() const;

  // PERF_GPU_FRAME: scopes begun from now on belong to the next GPU frame.
  void frame_boundary() noexcept {
    if (track_ != nullptr) track_->frame_boundary();
  }

  // The scope's halves (GlScope): a slot and its begin timestamp, or kNoSlot.
  std::uint32_t begin_scope(std::uint32_t site_id) noexcept {
    if (track_ == nullptr) return detail::GpuTrack::kNoSlot;
    const std::uint32_t slot = track_->reserve(site_id);
    if (slot != detail::GpuTrack::kNoSlot) fn_.query_counter(queries_[2 * slot], gl::kTimestamp);
    return slot;
  }
  void end_scope(std::uint32_t slot) noexcept {
    fn_.query_counter(queries_[2 * slot + 1], gl::kTimestamp);
    track_->ended(slot);
  }

 private:
  struct Functions {
    void(COMFYVN_PERF_GL_APIENTRY* gen_queries)(gl::GLsizei, gl::GLuint*) = nullptr;
    void(COMFYVN_PERF_GL_APIENTRY* delete_queries)(gl::GLsizei, const gl::GLuint*) = nullptr;
    void(COMFYVN_PERF_GL_APIENTRY* query_counter)(gl::GLuint, gl::GLenum) = nullptr;
    void(COMFYVN_PERF_GL_APIENTRY* get_query_objectiv)(gl::GLuint, gl::GLenum,
                                                       gl::GLint*) = nullptr;
    void(COMFYVN_PERF_GL_APIENTRY* get_query_objectui64v)(gl::GLuint, gl::GLenum,
                                                          gl::GLuint64*) = nullptr;
    void(COMFYVN_PERF_GL_APIENTRY* get_integer64v)(gl::GLenum, gl::GLint64*) = nullptr;
    void(COMFYVN_PERF_GL_APIENTRY* get_queryiv)(gl::GLenum, gl::GLenum, gl::GLint*) = nullptr;
    gl::GLenum(COMFYVN_PERF_GL_APIENTRY* get_error)() = nullptr;
  };

  // Loads every function; "" or the first one missing.
  std::string load();
  bool read(std::uint32_t slot, std::uint64_t* begin_ns, std::uint64_t* end_ns);

  GlContextInfo info_;
  std::string problem_;
  Functions fn_;
  std::vector<gl::GLuint> queries_;          // 2 per slot: begin, end
  std::unique_ptr<detail::GpuTrack> track_;  // null when unusable
  std::uint64_t stale_ticks_ = 0;
  std::uint64_t recheck_ns_ = 0;
  std::uint64_t last_check_steady_ = 0;  // SteadyClock ns of the latest calibration
  mutable std::mutex stats_mu_;
  detail::CalibrationLog calibration_;  // under stats_mu_
};

// The RAII scope behind PERF_GL_SCOPE: while the profiler is off, one
// relaxed load and a branch.
class GlScope {
 public:
  COMFYVN_PERF_ALWAYS_INLINE GlScope(GlContext& ctx, const Site& site) noexcept {
    if (!perf::detail::g_enabled.load(perf::detail::kRelaxed)) return;
    slot_ = ctx.begin_scope(perf::detail::site_id(site));
    if (slot_ != detail::GpuTrack::kNoSlot) ctx_ = &ctx;
  }
  COMFYVN_PERF_ALWAYS_INLINE ~GlScope() {
    if (ctx_ != nullptr) ctx_->end_scope(slot_);
  }
  GlScope(const GlScope&) = delete;
  GlScope& operator=(const GlScope&) = delete;
  GlScope(GlScope&&) = delete;
  GlScope& operator=(GlScope&&) = delete;

 private:
  GlContext* ctx_ = nullptr;
  std::uint32_t slot_ = detail::GpuTrack::kNoSlot;
};

}  // namespace comfyvn::perf::gpu

#if COMFYVN_PERF_ENABLED
#define COMFYVN_PERF_GL_CAT2(a, b) a##b
#define COMFYVN_PERF_GL_CAT(a, b) COMFYVN_PERF_GL_CAT2(a, b)
#define COMFYVN_PERF_GL_SCOPE_IMPL(ctx, name, n)                                 \
  static ::comfyvn::perf::Site COMFYVN_PERF_GL_CAT(comfyvn_perf_gl_site_, n){    \
      name, "gpu", __FILE__, __func__, static_cast<std::uint32_t>(__LINE__)};    \
  ::comfyvn::perf::gpu::GlScope COMFYVN_PERF_GL_CAT(comfyvn_perf_gl_scope_, n) { \
    ctx, COMFYVN_PERF_GL_CAT(comfyvn_perf_gl_site_, n)                           \
  }
// GPU time of the GL commands issued in the enclosing block; `name` is a
// string literal. The span lands on the context's track once collect() reads it.
#define PERF_GL_SCOPE(ctx, name) COMFYVN_PERF_GL_SCOPE_IMPL(ctx, name, __COUNTER__)
#else
// Named inside sizeof (unevaluated), so that nothing is "unused".
#define PERF_GL_SCOPE(ctx, name) (static_cast<void>(sizeof(ctx)), static_cast<void>(sizeof(name)))
#endif

// ---- definitions: inline, as gpu/track.hpp's (a program that includes this
// header pays for them; no implementation file needs to include it) ----

namespace comfyvn::perf::gpu {

namespace detail {
template <class F>
inline bool load_gl_function(void* (*get)(const char*), const char* name, F& out) {
  void* p = get(name);
  if (p == nullptr) return false;
  // A data pointer to a function pointer: what every GL loader does
  // (conditionally-supported, defined on every platform with dlsym).
  static_assert(sizeof(F) == sizeof(p), "function and data pointers differ in size");
  __builtin_memcpy(&out, &p, sizeof out);
  return true;
}
}  // namespace detail

inline std::string GlContext::load() {
  if (info_.get_proc_address == nullptr) return "no get_proc_address given";
  std::string missing;
  const auto need = [&](const char* name, auto& out) {
    if (missing.empty() && !detail::load_gl_function(info_.get_proc_address, name, out))
      missing = name;
  };
  need("glGenQueries", fn_.gen_queries);
  need("glDeleteQueries", fn_.delete_queries);
  need("glQueryCounter", fn_.query_counter);
  need("glGetQueryObjectiv", fn_.get_query_objectiv);
  need("glGetQueryObjectui64v", fn_.get_query_objectui64v);
  need("glGetInteger64v", fn_.get_integer64v);
  need("glGetQueryiv", fn_.get_queryiv);
  need("glGetError", fn_.get_error);
  if (!missing.empty()) return missing + " is missing (OpenGL 3.3 or ARB_timer_query needed)";
  return {};
}

inline GlContext::GlContext(GlContextInfo info) : info_(std::move(info)) {
  problem_ = load();
  if (!problem_.empty()) return;
  // Errors pending from before are not ours; clear them so that ours show.
  for (int i = 0; i < 16 && fn_.get_error() != gl::kNoError; ++i) {
  }
  gl::GLint bits = 0;
  fn_.get_queryiv(gl::kTimestamp, gl::kQueryCounterBits, &bits);
  if (gl::GLenum err = fn_.get_error(); err != gl::kNoError) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "glGetQueryiv(GL_TIMESTAMP) failed: GL error 0x%04x", err);
    problem_ = buf;
    return;
  }
  if (bits <= 0) {
    problem_ = "timestamp queries have 0 counter bits (GL_QUERY_COUNTER_BITS)";
    return;
  }
  const std::uint32_t slots = info_.max_scopes == 0 ? 1 : info_.max_scopes;
  queries_.assign(std::size_t{2} * slots, 0);
  fn_.gen_queries(static_cast<gl::GLsizei>(queries_.size()), queries_.data());
  if (gl::GLenum err = fn_.get_error(); err != gl::kNoError || queries_.back() == 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "glGenQueries(%zu) failed: GL error 0x%04x", queries_.size(),
                  err);
    problem_ = buf;
    fn_.delete_queries(static_cast<gl::GLsizei>(queries_.size()), queries_.data());
    queries_.clear();
    return;
  }
  track_ = std::make_unique<detail::GpuTrack>(info_.name, slots);
  const double ns_per_tick = track_->ns_per_tick();
  const auto ms_to_ticks = [&](std::chrono::milliseconds d) {
    const double ns = static_cast<double>(d.count() < 0 ? 0 : d.count()) * 1e6;
    return static_cast<std::uint64_t>(ns / ns_per_tick);
  };
  stale_ticks_ = ms_to_ticks(info_.stale_after);
  recheck_ns_ = static_cast<std::uint64_t>(
                    info_.recheck_interval.count() < 0 ? 0 : info_.recheck_interval.count()) *
                1000000u;
  recalibrate();
}

inline GlContext::~GlContext() {
  if (track_ == nullptr) return;
  // What is ready now still becomes spans; pairs in flight are dropped (GL
  // allows deleting queries whose results are pending).
  collect();
  fn_.delete_queries(static_cast<gl::GLsizei>(queries_.size()), queries_.data());
  track_.reset();  // hands the track's spans to the profiler
}

inline bool GlContext::read(std::uint32_t slot, std::uint64_t* begin_ns, std::uint64_t* end_ns) {
  const gl::GLuint b = queries_[2 * slot], e = queries_[2 * slot + 1];
  gl::GLint ready = 0;
  fn_.get_query_objectiv(e, gl::kQueryResultAvailable, &ready);
  if (ready == 0) return false;
  fn_.get_query_objectiv(b, gl::kQueryResultAvailable, &ready);
  if (ready == 0) return false;
  gl::GLuint64 v = 0;
  fn_.get_query_objectui64v(b, gl::kQueryResult, &v);
  *begin_ns = v;
  fn_.get_query_objectui64v(e, gl::kQueryResult, &v);
  *end_ns = v;
  return true;
}

inline void GlContext::collect() {
  if (track_ == nullptr) return;
  if (SteadyClock::now() - last_check_steady_ >= recheck_ns_) recalibrate();
  // Nothing to release: the next glQueryCounter on a query overwrites it.
  track_->collect_slots(
      [this](std::uint32_t slot, std::uint64_t* b, std::uint64_t* e) { return read(slot, b, e); },
      [](std::uint32_t, std::uint32_t) {}, stale_ticks_);
}

inline void GlContext::recalibrate() {
  if (track_ == nullptr) return;
  // The GPU clock read between two CPU clock reads, five times: the
  // narrowest window bounds the error (half of it, around its middle).
  std::uint64_t best_window = ~std::uint64_t{0}, gpu_ns = 0, mid = 0;
  for (int i = 0; i < 5; ++i) {
    gl::GLint64 g = 0;
    const std::uint64_t a = SteadyClock::now();
    fn_.get_integer64v(gl::kTimestamp, &g);
    const std::uint64_t b = SteadyClock::now();
    if (b - a < best_window) {
      best_window = b - a;
      gpu_ns = static_cast<std::uint64_t>(g);
      mid = a + (b - a) / 2;
    }
  }
  const std::uint64_t now_ticks = DefaultClock::now();
  const std::uint64_t now_steady = SteadyClock::now();
  const double error_ns = static_cast<double>(best_window) / 2;
  const double correction = track_->clock().set(gpu_ns, mid, error_ns, now_ticks, now_steady,
                                                track_->current_ns_per_tick());
  last_check_steady_ = mid;
  std::lock_guard<std::mutex> lock(stats_mu_);
  calibration_.note(correction, mid, error_ns);
}

inline GpuStats GlContext::stats() const {
  GpuStats out;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    calibration_.fill(out);
  }
  out.time_source = "measured";
  if (track_ != nullptr) track_->fill(out);
  return out;
}

}  // namespace comfyvn::perf::gpu
