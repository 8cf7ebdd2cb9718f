#!/usr/bin/env bash
# run_and_grep.sh PATTERN... -- COMMAND ARGS...
# Runs COMMAND; passes when it exits 0 and its output matches every
# extended regular expression PATTERN. A COMMAND that exits 77 (no usable
# device, say) is skipped (77 for meson), except under COMFYVN_PERF_REQUIRE_GPU=1.
set -uo pipefail
patterns=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do patterns+=("$1"); shift; done
[ "${1:-}" = "--" ] || { echo "usage: run_and_grep.sh PATTERN... -- COMMAND..." >&2; exit 64; }
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -eq 77 ] && [ "${COMFYVN_PERF_REQUIRE_GPU:-0}" != 1 ]; then
  echo "SKIP: exit code 77"
  exit 77
fi
[ $rc -eq 0 ] || { echo "FAIL: exit code $rc" >&2; exit 1; }
for p in "${patterns[@]}"; do
  grep -Eq -- "$p" <<<"$out" || { echo "FAIL: output lacks /$p/" >&2; exit 1; }
done
echo "ok: exit 0 and ${#patterns[@]} pattern(s) matched"
