// Compiled with -DCOMFYVN_PERF_ENABLED=0: every macro is empty and does not
// evaluate its arguments; the program compiles unchanged.
#include <comfyvn_perf/gpu/opengl.hpp>  // PERF_GL_SCOPE, PERF_GPU_FRAME: no GL needed
#include <comfyvn_perf/perf.hpp>

#include <catch2/catch.hpp>

#include <string>

static_assert(COMFYVN_PERF_ENABLED == 0, "this test must be built with instrumentation off");
static_assert(PERF_IS_COMPILED_IN == 0, "macros must report that they are compiled out");

namespace {
int evaluated = 0;
// Referenced only inside macro arguments that must never be evaluated.
[[maybe_unused]] const char* touch() {
  ++evaluated;
  return "x";
}
[[maybe_unused]] std::string touch_string() {
  ++evaluated;
  return "y";
}
struct FakeGpuContext {
  void frame_boundary() { ++evaluated; }
};
[[maybe_unused]] FakeGpuContext& touch_context() {
  ++evaluated;
  static FakeGpuContext c;
  return c;
}
}  // namespace

TEST_CASE("disabled macros do not evaluate their arguments", "[disabled]") {
  evaluated = 0;
  {
    PERF_SCOPE(touch(), touch());
    PERF_SCOPE(touch(), "render");
    PERF_SCOPE_DYN(touch_string(), touch_string());
    PERF_MARK(touch(), touch());
    PERF_COUNTER(touch(), evaluated++);
    PERF_COUNTER_DYN(touch_string(), evaluated++);
    PERF_FRAME();
    PERF_GPU_FRAME(touch_context());
  }
  REQUIRE(evaluated == 0);
}

TEST_CASE("disabled macros record nothing even when the profiler is on", "[disabled]") {
  auto& p = comfyvn::perf::perf_profiler();
  p.set_enabled(true);
  p.reset();
  for (int i = 0; i < 100; ++i) {
    PERF_SCOPE("never", "disabled");
  }
  REQUIRE(p.aggregates().empty());
  p.set_enabled(false);
}

TEST_CASE("disabled GPU macros do not evaluate their arguments", "[disabled]") {
  comfyvn::perf::gpu::GlContext ctx(comfyvn::perf::gpu::GlContextInfo{});  // unusable: no GL
  const auto context = [&]() -> comfyvn::perf::gpu::GlContext& {
    ++evaluated;
    return ctx;
  };
  evaluated = 0;
  {
    PERF_GL_SCOPE(context(), touch());
    PERF_GPU_FRAME(context());
  }
  REQUIRE(evaluated == 0);
}
