#!/usr/bin/env python3
"""A stand-in for build/examples/render_loop, to work on the tool checks
without building the SDK. Not run by meson test.

    standin_demo.py [--port N] [--enable-perf] [--duration S] [--trace PATH] ...

With --port it serves a hand-written Prometheus exposition (format 0.0.4, the
metric names of contract §7, the frame counter growing at 60 Hz) on
/api/perf/metrics and prints `listening on http://127.0.0.1:PORT`; at exit it
copies fixtures/standin_trace.json to --trace. SIGTERM/SIGINT: exit 0.

    COMFYVN_TOOLS_DIR=build/third_party tests/tools/check_promtool.py tests/tools/standin_demo.py
"""

import argparse
import http.server
import os
import shutil
import signal
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
START = time.monotonic()


def exposition():
    frames = int((time.monotonic() - START) * 60)
    buckets = [(0.001, 0), (0.004, 0), (0.016, int(frames * 0.9)), (0.033, frames), (0.1, frames)]
    out = [
        "# HELP comfyvn_perf_feature_flag Whether features.enable_perf is on (0/1).",
        "# TYPE comfyvn_perf_feature_flag gauge",
        "comfyvn_perf_feature_flag 1",
        "# HELP comfyvn_perf_build_info The SDK version.",
        "# TYPE comfyvn_perf_build_info gauge",
        'comfyvn_perf_build_info{version="0.0.0-standin"} 1',
        "# HELP comfyvn_perf_span_calls_total Spans recorded per site.",
        "# TYPE comfyvn_perf_span_calls_total counter",
        f'comfyvn_perf_span_calls_total{{name="draw_batch",category="render"}} {frames * 4}',
        f'comfyvn_perf_span_calls_total{{name="say \\"hi\\"\\\\n",category="ui"}} {frames}',
        "# HELP comfyvn_perf_frame_duration_seconds Time between PERF_FRAME() markers.",
        "# TYPE comfyvn_perf_frame_duration_seconds histogram",
    ]
    out += [f'comfyvn_perf_frame_duration_seconds_bucket{{le="{le}"}} {n}' for le, n in buckets]
    out += [
        f'comfyvn_perf_frame_duration_seconds_bucket{{le="+Inf"}} {frames}',
        f"comfyvn_perf_frame_duration_seconds_sum {frames / 60:.6f}",
        f"comfyvn_perf_frame_duration_seconds_count {frames}",
        "# HELP comfyvn_perf_jobs Jobs per queue state.",
        "# TYPE comfyvn_perf_jobs gauge",
        'comfyvn_perf_jobs{state="queued"} 1',
        'comfyvn_perf_jobs{state="delayed"} 0',
        'comfyvn_perf_jobs{state="running"} 2',
    ]
    return ("\n".join(out) + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/api/perf/metrics":
            self.send_error(404)
            return
        body = exposition()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--enable-perf", action="store_true")
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--trace")
    ap.add_argument("--config")
    ap.add_argument("--idle", action="store_true")
    a = ap.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = None
    if a.port is not None:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    stop.wait(a.duration if a.duration > 0 else None)
    if server:
        server.shutdown()
    if a.trace:
        shutil.copyfile(os.path.join(HERE, "fixtures", "standin_trace.json"), a.trace)
    print(f"frames {int((time.monotonic() - START) * 60)} (stand-in)", flush=True)


if __name__ == "__main__":
    main()
