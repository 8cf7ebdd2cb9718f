#!/usr/bin/env python3
"""Memory and /health latency of the render-loop demo under a hostile local client.

    benchmarks/hostile_client.py RENDER_LOOP [--assets N] [--marks N] [--stalled N]

Starts RENDER_LOOP (the demo binary) with its adapter on an ephemeral loopback
port and the flags on, then:
  1. registers N assets carrying 64 KiB of metadata each (stops counting at the
     first refusal: 429 once a cap is reached), and reports the demo's RSS;
  2. reads GET /budgets once: status, body size, seconds;
  3. emits N marks carrying 64 KiB of metadata and reads the dashboard: body
     size;
  4. opens N connections that each ask for /budgets and never read, then
     measures /health latency (worst of 5) while they stay open;
and prints one JSON line with the figures. Talks to 127.0.0.1 only; stops the
demo it started by its PID.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

# About 64 KiB of metadata per request, under the adapter's per-string bound.
META = {"blob": "x" * 60000, "tags": ["t" * 1000] * 4}


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def request(conn, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    conn.request(method, "/api/perf" + path, body=data, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("render_loop")
    ap.add_argument("--assets", type=int, default=20000)
    ap.add_argument("--marks", type=int, default=300)
    ap.add_argument("--stalled", type=int, default=50)
    args = ap.parse_args()

    demo = subprocess.Popen(
        [args.render_loop, "--port", "0", "--enable-perf", "--duration", "600", "--idle"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = None
    try:
        deadline = time.time() + 30
        while port is None and time.time() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            if "listening on http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1])
        if port is None:
            print("the demo did not report its port", file=sys.stderr)
            return 1
        out = {"binary": args.render_loop, "rss_start_mb": round(rss_mb(demo.pid), 1)}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        stored = 0
        first_refusal = None
        t0 = time.time()
        for i in range(args.assets):
            status, _ = request(conn, "POST", "/budgets/assets/register",
                                {"asset_id": f"hostile-{i}", "size_mb": 0.001, "metadata": META})
            if status == 200:
                stored += 1
            elif first_refusal is None:
                first_refusal = status
        out["assets_sent"] = args.assets
        out["assets_stored"] = stored
        out["asset_refusal_status"] = first_refusal
        out["register_seconds"] = round(time.time() - t0, 1)
        out["rss_after_assets_mb"] = round(rss_mb(demo.pid), 1)

        def timed_get(key, path):
            nonlocal conn
            t0 = time.time()
            try:
                status, body = request(conn, "GET", path)
                out[key + "_status"] = status
                out[key + "_body_bytes"] = len(body)
            except (OSError, http.client.HTTPException) as e:
                out[key + "_error"] = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            out[key + "_seconds"] = round(time.time() - t0, 2)
            out["rss_after_" + key + "_mb"] = round(rss_mb(demo.pid), 1)

        timed_get("budgets", "/budgets")
        for i in range(args.marks):
            request(conn, "POST", "/profiler/mark",
                    {"name": f"hostile-{i}", "category": "attack", "metadata": META})
        timed_get("dashboard", "/profiler/dashboard")

        stalled = []
        for _ in range(args.stalled):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /api/perf/budgets?limit=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            stalled.append(s)
        time.sleep(1.0)
        worst = 0.0
        for _ in range(5):
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t0 = time.time()
            try:
                status, _ = request(probe, "GET", "/health")
            except OSError:
                status = None
            worst = max(worst, time.time() - t0)
            probe.close()
            time.sleep(0.2)
        out["health_worst_seconds_with_stalled_clients"] = round(worst, 3)
        out["health_status"] = status
        out["rss_end_mb"] = round(rss_mb(demo.pid), 1)
        for s in stalled:
            s.close()
        print(json.dumps(out))
        return 0
    finally:
        if demo.poll() is None:
            os.kill(demo.pid, signal.SIGTERM)
            try:
                demo.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(demo.pid, signal.SIGKILL)
                demo.wait()


if __name__ == "__main__":
    sys.exit(main())
