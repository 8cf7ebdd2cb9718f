#!/bin/sh
# Runs the fuzz target for a fixed time on a copy of the seed corpus, so that
# the inputs libFuzzer adds never land in the source tree.
#   run_fuzz.sh FUZZER CORPUS_DIR SECONDS
set -eu
fuzzer=$1
seeds=$2
seconds=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz_http.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp "$seeds"/* "$work"/
# Crash reproducers go to the working directory of the test (the build dir).
exec_status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  "$work" || exec_status=$?
exit "$exec_status"
