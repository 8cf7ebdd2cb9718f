#!/usr/bin/env bash
# `meson install` + pkg-config, and `meson install` + the CMake package, are
# each enough to build an outside program that uses the whole SDK (the HTTP
# adapter included when it was built). -rdynamic comes only with the host
# variants (comfyvn_perf-host.pc, comfyvn_perf::host) unless the SDK was
# configured with -Dexport_dynamic=true.
set -euo pipefail
build_dir=$1
src_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
DESTDIR="$work/root" meson install -C "$build_dir" --quiet --no-rebuild >/dev/null
prefix=$(meson introspect "$build_dir" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
pcdir=$(find "$work/root" -name comfyvn_perf.pc -printf '%h\n' | head -n1)
test -n "$pcdir" || { echo "comfyvn_perf.pc was not installed"; exit 1; }
test -f "$work/root$prefix/include/comfyvn_perf/perf.hpp" || { echo "headers not installed"; exit 1; }
# The docs the installed smoke check reads when run outside a source tree.
test -f "$work/root$prefix/share/doc/comfyvn_perf/http_api.md" || { echo "docs not installed"; exit 1; }
# Point pkg-config at the staged tree (the .pc names the final prefix).
export PKG_CONFIG_PATH="$pcdir"
export PKG_CONFIG_SYSROOT_DIR="$work/root"
# Two files, as in a real program: impl.cpp compiles the SDK's definitions
# (COMFYVN_PERF_IMPLEMENTATION), consumer.cpp sees only declarations.
cat > "$work/impl.cpp" <<'CPP'
#define COMFYVN_PERF_IMPLEMENTATION
#include <comfyvn_perf/perf.hpp>
#if __has_include(<comfyvn_perf/http.hpp>)
#include <comfyvn_perf/http.hpp>
#endif
CPP
cat > "$work/consumer.cpp" <<'CPP'
#include <comfyvn_perf/perf.hpp>
#if __has_include(<comfyvn_perf/http.hpp>)
#include <comfyvn_perf/http.hpp>
#endif
#include <cstdio>
int main() {
  auto& p = comfyvn::perf::perf_profiler();
  p.set_enabled(true);
  for (int i = 0; i < 10; ++i) { PERF_SCOPE("consumer", "install"); }
  const auto rows = p.aggregates();
  std::printf("%s\n", boost::json::serialize(p.health()).c_str());
  return rows.size() == 1 && rows[0].count == 10 ? 0 : 1;
}
CPP
# shellcheck disable=SC2046
c++ -std=c++17 "$work/consumer.cpp" "$work/impl.cpp" -o "$work/consumer" \
  $(pkg-config --cflags --libs comfyvn_perf)
"$work/consumer" >/dev/null
echo "installed headers + comfyvn_perf.pc build and run a consumer"

export_dynamic=$(meson introspect "$build_dir" --buildoptions | python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="export_dynamic"))')
if [ "$export_dynamic" = False ] && pkg-config --libs comfyvn_perf | grep -q -- -rdynamic; then
  echo "comfyvn_perf.pc forces -rdynamic"; exit 1
fi
pkg-config --libs comfyvn_perf-host | grep -q -- -rdynamic ||
  { echo "comfyvn_perf-host.pc lacks -rdynamic"; exit 1; }

# CMake: find_package(comfyvn_perf CONFIG) from the staged prefix.
if ! command -v cmake >/dev/null; then
  echo "cmake is not installed: CMake package not checked"
  exit 0
fi
cfg=$(find "$work/root" -name comfyvn_perfConfig.cmake -printf '%h\n' | head -n1)
test -n "$cfg" || { echo "comfyvn_perfConfig.cmake was not installed"; exit 1; }
test -f "$cfg/comfyvn_perfConfigVersion.cmake" || { echo "no comfyvn_perfConfigVersion.cmake"; exit 1; }
mkdir "$work/cmake-consumer"
cp "$work/consumer.cpp" "$work/impl.cpp" "$work/cmake-consumer/"
cat > "$work/cmake-consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(consumer CXX)
find_package(comfyvn_perf 0.2 CONFIG REQUIRED)
# The host differs from the game only in how it links: one object file for
# both, rather than compiling the SDK's headers a third time.
add_library(consumer OBJECT consumer.cpp impl.cpp)
target_link_libraries(consumer PRIVATE comfyvn_perf::comfyvn_perf)
add_executable(game $<TARGET_OBJECTS:consumer>)
target_link_libraries(game PRIVATE comfyvn_perf::comfyvn_perf)
add_executable(mod_host $<TARGET_OBJECTS:consumer>)
target_link_libraries(mod_host PRIVATE comfyvn_perf::host)
CMAKE
cmake -S "$work/cmake-consumer" -B "$work/cmake-build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/root$prefix" >"$work/cmake.log" 2>&1 ||
  { cat "$work/cmake.log"; echo "find_package(comfyvn_perf) failed"; exit 1; }
cmake --build "$work/cmake-build" >>"$work/cmake.log" 2>&1 ||
  { cat "$work/cmake.log"; echo "the CMake consumer did not build"; exit 1; }
"$work/cmake-build/game" >/dev/null
"$work/cmake-build/mod_host" >/dev/null
# The host exports the SDK's singletons for mods to bind to; the game does not.
exported() { nm -D --defined-only "$1" | grep -c 'comfyvn4perf' || true; }
[ "$(exported "$work/cmake-build/mod_host")" -gt 0 ] ||
  { echo "comfyvn_perf::host does not export the singletons"; exit 1; }
if [ "$export_dynamic" = False ] && [ "$(exported "$work/cmake-build/game")" -gt 0 ]; then
  echo "comfyvn_perf::comfyvn_perf exports symbols (-rdynamic is forced)"; exit 1
fi
echo "installed CMake package builds and runs a consumer (comfyvn_perf::comfyvn_perf and ::host)"
