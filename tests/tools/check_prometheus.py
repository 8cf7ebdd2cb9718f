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
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toolslib  # noqa: E402

DEADLINE_S = 40.0


def query(prom, expr):
    status, _, body = toolslib.http_get(f"{prom}/api/v1/query?query={urllib.parse.quote(expr)}")
    if status != 200:
        return None
    doc = json.loads(body)
    return doc if doc.get("status") == "success" else None


def first_value(doc):
    try:
        return float(doc["data"]["result"][0]["value"][1])
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def main():
    if len(sys.argv) != 2:
        toolslib.fail("usage: check_prometheus.py DEMO")
    demo_exe = sys.argv[1]
    prometheus = toolslib.require_file(
        os.path.join(toolslib.tools_dir(), "prometheus", "usr", "bin", "prometheus"), "prometheus")

    tmp = tempfile.mkdtemp(prefix="comfyvn-prometheus-")
    demo = prom_proc = None
    log_path = os.path.join(tmp, "prometheus.log")
    problems = []
    finished = False
    try:
        demo = toolslib.Demo(demo_exe).start()
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: comfyvn_perf
    metrics_path: /api/perf/metrics
    static_configs:
      - targets: ['127.0.0.1:{demo.port}']
""")
        port = toolslib.free_port()
        prom = f"http://127.0.0.1:{port}"
        with open(log_path, "w") as log:
            prom_proc = subprocess.Popen(
                [prometheus, f"--config.file={config}", f"--storage.tsdb.path={os.path.join(tmp, 'data')}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp)
        print(f"prometheus pid {prom_proc.pid} on 127.0.0.1:{port}, scraping 127.0.0.1:{demo.port}", flush=True)

        t0 = time.monotonic()
        up = frames = None
        while time.monotonic() - t0 < DEADLINE_S:
            if prom_proc.poll() is not None:
                break
            try:
                up = query(prom, 'up{job="comfyvn_perf"}')
                frames = query(prom, "comfyvn_perf_frame_duration_seconds_count")
            except OSError:
                up = frames = None  # not listening yet
            if first_value(up) == 1 and (first_value(frames) or 0) > 0:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - t0

        print(f"up: {json.dumps(up)}")
        print(f"comfyvn_perf_frame_duration_seconds_count: {json.dumps(frames)}")
        if first_value(up) == 1 and (first_value(frames) or 0) > 0:
            for expr in ("comfyvn_perf_feature_flag", "comfyvn_perf_build_info",
                         'count({__name__=~"comfyvn_perf_.+"})'):
                print(f"{expr}: {json.dumps((query(prom, expr) or {}).get('data', {}).get('result'))}")
        if prom_proc.poll() is not None:
            problems.append(f"prometheus exited {prom_proc.returncode} early")
        elif first_value(up) != 1 or not (first_value(frames) or 0) > 0:
            try:
                _, _, body = toolslib.http_get(f"{prom}/api/v1/targets")
                targets = json.loads(body)["data"]["activeTargets"]
                detail = [{k: t.get(k) for k in ("scrapeUrl", "health", "lastError")} for t in targets]
            except (OSError, ValueError, KeyError) as e:
                detail = f"targets unavailable: {e}"
            problems.append(f"after {elapsed:.0f} s: up={first_value(up)}, "
                            f"frame count={first_value(frames)}; targets: {detail}")
        else:
            print(f"scraped and queried after {elapsed:.1f} s")
        finished = True
    finally:
        prom_running = prom_proc is not None and prom_proc.poll() is None
        prom_rc = toolslib.stop_pid(prom_proc, "prometheus") if prom_proc else None
        demo_rc = demo.stop() if demo else None
        if prom_running and prom_rc != 0:
            problems.append(f"prometheus exited {prom_rc} on SIGTERM")
        if demo is not None and demo_rc != 0:
            problems.append(f"the demo exited {demo_rc} on SIGTERM, expected 0")
        if (problems or not finished) and os.path.exists(log_path):
            with open(log_path, errors="replace") as f:
                tail = f.read().splitlines()[-15:]
            print("prometheus log (tail):\n  " + "\n  ".join(tail), flush=True)
        shutil.rmtree(tmp, ignore_errors=True)

    if problems:
        toolslib.fail("; ".join(problems))
    print("PASS: Prometheus scrapes /api/perf/metrics (up 1, frame histogram count > 0)")
    return 0


if __name__ == "__main__":
    toolslib.timed(main)
