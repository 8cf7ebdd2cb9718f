#!/usr/bin/env python3
"""A real Prometheus server scrapes the demo's /api/perf/metrics (contract §7).

    check_prometheus.py DEMO

Starts `DEMO --port 0 --enable-perf --duration 0` and a Prometheus server (a
child of this script, on a free loopback port, storage in a temporary folder,
scrape interval 1 s), then polls Prometheus's HTTP API until `up` is 1 for the
demo and `comfyvn_perf_frame_duration_seconds_count` is above 0 (at most
40 s). Prints the query results; stops both by PID; the demo must exit 0.
prometheus comes from $COMFYVN_TOOLS_DIR/prometheus (./dev test installs it).
"""

import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

DEADLINE_S = 40.0


def main():
    if len(sys.argv) != 2:
        toolslib.fail("usage: check_prometheus.py DEMO")
    demo_exe = sys.argv[1]
    prometheus = toolslib.prometheus_tool("prometheus")

    tmp = tempfile.mkdtemp(prefix="comfyvn-prometheus-")
    demo = prom = None
    problems = []
    finished = False
    try:
        demo = toolslib.Demo(demo_exe).start()
        prom = toolslib.Prometheus(prometheus, tmp, f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: comfyvn_perf
    metrics_path: /api/perf/metrics
    static_configs:
      - targets: ['127.0.0.1:{demo.port}']
""").start()
        print(f"scraping 127.0.0.1:{demo.port}", flush=True)

        t0 = time.monotonic()
        up = frames = None
        while time.monotonic() - t0 < DEADLINE_S and prom.running():
            up = prom.query('up{job="comfyvn_perf"}')
            frames = prom.query("comfyvn_perf_frame_duration_seconds_count")
            if toolslib.first_value(up) == 1 and (toolslib.first_value(frames) or 0) > 0:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - t0

        print(f"up: {json.dumps(up)}")
        print(f"comfyvn_perf_frame_duration_seconds_count: {json.dumps(frames)}")
        scraped = toolslib.first_value(up) == 1 and (toolslib.first_value(frames) or 0) > 0
        if scraped:
            for expr in ("comfyvn_perf_feature_flag", "comfyvn_perf_build_info",
                         'count({__name__=~"comfyvn_perf_.+"})'):
                print(f"{expr}: {json.dumps(prom.query(expr))}")
        if not prom.running():
            problems.append(f"prometheus exited {prom.proc.returncode} early")
        elif not scraped:
            problems.append(f"after {elapsed:.0f} s: up={toolslib.first_value(up)}, "
                            f"frame count={toolslib.first_value(frames)}; targets: {prom.targets()}")
        else:
            print(f"scraped and queried after {elapsed:.1f} s")
        finished = True
    finally:
        toolslib.stop_all(prom, {"render_loop": demo} if demo else {}, problems,
                          show_log=not finished)
        shutil.rmtree(tmp, ignore_errors=True)

    if problems:
        toolslib.fail("; ".join(problems))
    print("PASS: Prometheus scrapes /api/perf/metrics (up 1, frame histogram count > 0)")
    return 0


if __name__ == "__main__":
    toolslib.timed(main)
