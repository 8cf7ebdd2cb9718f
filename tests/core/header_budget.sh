#!/usr/bin/env bash
# The hot-path header stays light: <comfyvn_perf/scope.hpp> with one PERF_SCOPE
# preprocesses to at most 15,000 lines (C++17) and at most 1,500 lines with
# COMFYVN_PERF_ENABLED=0, reads no Boost or fmt header, and compiles with only
# the SDK's include directory on the path.
# usage: header_budget.sh CXX INCLUDE_DIR
set -euo pipefail
cxx=$1
inc=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/one_scope.cpp" <<'CPP'
#include <comfyvn_perf/scope.hpp>
int step(int x) {
  PERF_SCOPE("step", "render");
  return x + 1;
}
int main() { return step(0) == 1 ? 0 : 1; }
CPP
# Compiled out, a variable used only in the macros must not be "unused".
cat >"$work/only_in_macros.cpp" <<'CPP'
#include <comfyvn_perf/scope.hpp>
#include <string>
int main() {
  const char* name = "step";
  std::string dynamic = "dyn";
  const char* category = "render";
  PERF_SCOPE("literal", "render");
  PERF_SCOPE_DYN(dynamic, category);
  PERF_MARK(name, category);
  const int draw_calls = 3;
  PERF_COUNTER("draw_calls", draw_calls);
  PERF_COUNTER_DYN(dynamic, draw_calls);
  PERF_FRAME();
  return 0;
}
CPP
cat >"$work/baseline.cpp" <<'CPP'
#include <atomic>
#include <cstdint>
#include <string_view>
int main() { return 0; }
CPP

fail=0
check() {  # name value limit
  if [ "$2" -le "$3" ]; then
    printf 'ok   %-40s %7d <= %d\n' "$1" "$2" "$3"
  else
    printf 'FAIL %-40s %7d >  %d\n' "$1" "$2" "$3"
    fail=1
  fi
}
lines() { "$cxx" "$@" -E -o - | wc -l; }

for std in c++17 c++20; do
  on=$(lines -std=$std -I "$inc" "$work/one_scope.cpp")
  off=$(lines -std=$std -DCOMFYVN_PERF_ENABLED=0 -I "$inc" "$work/one_scope.cpp")
  base=$(lines -std=$std "$work/baseline.cpp")
  echo "== $std: baseline <atomic> <cstdint> <string_view> = $base lines"
  [ "$std" = c++17 ] && check "scope.hpp, instrumentation on ($std)" "$on" 15000
  check "scope.hpp, not above the baseline ($std)" "$on" "$base"
  check "scope.hpp, COMFYVN_PERF_ENABLED=0 ($std)" "$off" 1500

  # Which files are read: nothing from Boost or fmt, nothing of the cold path.
  deps=$("$cxx" -std=$std -I "$inc" -M "$work/one_scope.cpp" | tr ' \\' '\n\n' | grep -v '^$')
  if grep -E '/boost/|/fmt/' <<<"$deps"; then
    echo "FAIL scope.hpp reads Boost or fmt headers ($std)"
    fail=1
  fi
  if grep -E 'comfyvn_perf/(profiler|budget|flags|hooks|http|json|runtime|metrics)/' <<<"$deps"; then
    echo "FAIL scope.hpp reads a cold-path header ($std)"
    fail=1
  fi
  for banned in x86intrin.h functional unordered_map condition_variable thread mutex chrono; do
    if grep -qE "/$banned\$" <<<"$deps"; then
      echo "FAIL scope.hpp pulls in <$banned> ($std)"
      fail=1
    fi
  done

  # It builds with only the SDK's include directory: compile and link a
  # program that records (no full header anywhere, so spans are dropped).
  "$cxx" -std=$std -O2 -Wall -Wextra -Werror -I "$inc" "$work/one_scope.cpp" -o "$work/one_scope"
  "$work/one_scope"
  "$cxx" -std=$std -O2 -Wall -Wextra -Werror -DCOMFYVN_PERF_ENABLED=0 -I "$inc" \
    "$work/one_scope.cpp" -o "$work/one_scope_off"
  "$work/one_scope_off"
  "$cxx" -std=$std -Wall -Wextra -Wunused -Werror -DCOMFYVN_PERF_ENABLED=0 -I "$inc" \
    -c "$work/only_in_macros.cpp" -o "$work/only_in_macros.o"
done
exit $fail
