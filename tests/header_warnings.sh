#!/usr/bin/env bash
# Every public header compiles without a warning under the flags that
# docs/integration.md promises, implementation sections included: one file
# that includes every header under include/comfyvn_perf/ (found here, so a new
# header is checked without a list to update) with COMFYVN_PERF_IMPLEMENTATION
# defined, plus the PERF_* macros as a user's file writes them, compiled with
# -Werror. The headers are found with -I, not -isystem, as pkg-config and
# Meson consumers find them: a system include directory would hide their
# warnings. A real compile (-c), not -fsyntax-only: g++'s flow warnings
# (-Wmismatched-new-delete, -Wmaybe-uninitialized, ...) come from the
# optimiser and differ between -O2 and -O3.
# usage: header_warnings.sh CXX OPT INCLUDE_DIR   e.g. g++ -O3 include
# Exits 77 (a skip for meson test) when CXX is not installed.
set -euo pipefail
cxx=$1
opt=$2
inc=$3
warnings=(-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow)

if ! command -v "$cxx" >/dev/null; then
  echo "SKIP $cxx is not installed"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

{
  echo '#define COMFYVN_PERF_IMPLEMENTATION'
  (cd "$inc" && find comfyvn_perf -name '*.hpp' | LC_ALL=C sort) | while read -r h; do
    if [ "$h" = comfyvn_perf/gpu/vulkan.hpp ] || [ "$h" = comfyvn_perf/gpu/vulkan_functions.hpp ]; then
      # Vulkan's scopes, where Vulkan's headers are installed.
      echo '#if __has_include(<vulkan/vulkan.h>)'
      echo "#include <$h>"
      echo '#endif'
    elif [ "$h" = comfyvn_perf/export/prometheus_cpp.hpp ]; then
      # The prometheus-cpp bridge, where prometheus-cpp is installed.
      echo '#if __has_include(<prometheus/collectable.h>)'
      echo "#include <$h>"
      echo '#endif'
    else
      echo "#include <$h>"
    fi
  done
  cat <<'CPP'

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The macros expand in the user's file: their warnings are the user's.
int comfyvn_perf_header_warnings(int frames, std::size_t bytes, std::int64_t delta, float load,
                                 const std::string& name, std::string_view category) {
  PERF_SCOPE("frame", "render");
  PERF_SCOPE_DYN(name, category);
  PERF_SCOPE_DYN(std::string_view("dyn"), "render");
  PERF_COUNTER("frames", frames);
  PERF_COUNTER("bytes", bytes);
  PERF_COUNTER("delta", delta);
  PERF_COUNTER("load", load);
  PERF_COUNTER_DYN(name, 0.5);
  PERF_MARK("loaded", "assets");
  PERF_MARK(name, category);
  PERF_FRAME();
  return PERF_IS_COMPILED_IN ? frames : 0;
}

void comfyvn_perf_header_warnings_gpu(comfyvn::perf::gpu::GlContext& gl) {
  PERF_GL_SCOPE(gl, "gl pass");
  PERF_GPU_FRAME(gl);
}
#if __has_include(<vulkan/vulkan.h>)
void comfyvn_perf_header_warnings_vk(comfyvn::perf::gpu::VulkanContext& vk, VkCommandBuffer cb,
                                     VkFence fence) {
  PERF_VK_SCOPE(vk, cb, "vk pass");
  PERF_GPU_FRAME(vk);
  PERF_GPU_FRAME(vk, fence);
}
#endif
CPP
} >"$work/all_headers.cpp"

echo "$(grep -c '^#include <comfyvn_perf/' "$work/all_headers.cpp") headers, $("$cxx" --version | head -n1)"
cmd=("$cxx" -std=c++17 "$opt" "${warnings[@]}" -Werror -pthread -I "$inc"
     -c "$work/all_headers.cpp" -o "$work/all_headers.o")
echo "${cmd[*]}"
t0=$SECONDS
"${cmd[@]}"
echo "clean in $((SECONDS - t0)) s"
