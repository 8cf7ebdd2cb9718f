#!/usr/bin/env python3
"""`promtool check metrics` over the demo's /api/perf/metrics (contract §7).

    check_promtool.py DEMO

Starts `DEMO --port 0 --enable-perf --duration 0`, lets it render about two
seconds of frames, fetches /api/perf/metrics and pipes it to promtool. Passes
only when the response is 200 with `Content-Type: text/plain; version=0.0.4;
charset=utf-8`, promtool exits 0 and prints nothing, and the demo exits 0 on
SIGTERM. First, promtool must reject a known-bad exposition, so that a
promtool that accepts anything cannot pass the check.
promtool comes from $COMFYVN_TOOLS_DIR/prometheus (./dev test installs it).
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# A counter without the _total suffix and a histogram without +Inf bucket.
BAD_EXPOSITION = b"""# HELP bad_counter A counter named without _total.
# TYPE bad_counter counter
bad_counter 1
# HELP bad_histogram A histogram without its +Inf bucket.
# TYPE bad_histogram histogram
bad_histogram_bucket{le="1"} 1
bad_histogram_sum 1
bad_histogram_count 1
"""


def promtool_check(promtool, text):
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def main():
    if len(sys.argv) != 2:
        toolslib.fail("usage: check_promtool.py DEMO")
    demo_exe = sys.argv[1]
    promtool = toolslib.prometheus_tool("promtool")

    rc, out = promtool_check(promtool, BAD_EXPOSITION)
    if rc == 0 and not out.strip():
        toolslib.fail("promtool accepted a known-bad exposition: the check could not fail")
    print(f"self-test: promtool rejects a bad exposition (exit {rc}, {len(out.splitlines())} line(s))")

    demo = toolslib.Demo(demo_exe).start()
    try:
        time.sleep(2.0)  # about 120 frames, some jobs and assets
        status, headers, body = toolslib.http_get(demo.base + "/api/perf/metrics")
    finally:
        demo_rc = demo.stop()

    problems = []
    ctype = headers.get("Content-Type", "")
    if status != 200:
        problems.append(f"GET /api/perf/metrics -> {status}: {body[:200]!r}")
    if ctype != CONTENT_TYPE:
        problems.append(f"Content-Type {ctype!r}, expected {CONTENT_TYPE!r}")
    lines = body.decode("utf-8", "replace").splitlines()
    families = sorted({ln.split()[2] for ln in lines if ln.startswith("# TYPE ")})
    samples = [ln for ln in lines if ln and not ln.startswith("#")]
    print(f"/api/perf/metrics: {status}, {ctype!r}, {len(body)} bytes, {len(families)} families, "
          f"{len(samples)} samples")
    for name in ("comfyvn_perf_feature_flag", "comfyvn_perf_build_info",
                 "comfyvn_perf_frame_duration_seconds_count"):
        hit = [s for s in samples if s.startswith(name)]
        print(f"  {hit[0] if hit else name + ': (absent)'}")

    rc, out = promtool_check(promtool, body)
    print(f"promtool check metrics: exit {rc}, output {len(out)} bytes")
    if out:
        print(out.rstrip())
    if rc != 0 or out:
        problems.append(f"promtool check metrics exited {rc} and printed {len(out.splitlines())} line(s)")
    if demo_rc != 0:
        problems.append(f"the demo exited {demo_rc} on SIGTERM, expected 0")
    if problems:
        toolslib.fail("; ".join(problems))
    print("PASS: promtool check metrics prints nothing on the demo's /api/perf/metrics")
    return 0


if __name__ == "__main__":
    toolslib.timed(main)
