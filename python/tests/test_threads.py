"""Threads and the GIL: exact counts from 8 threads, names and traces."""

import json
import threading
import time

import pytest

import comfyvn.perf as cp
from conftest import counts

THREADS = 8
SPANS = 2000


def test_eight_threads_exact_counts_while_reading(profiler):
    start = threading.Barrier(THREADS + 1)
    done = threading.Event()
    reads = []

    def record(i):
        start.wait()
        for _ in range(SPANS):
            with profiler.profile("worker.step", "threads"):
                pass
        with profiler.profile(f"worker.{i}", "threads"):
            pass

    def read():
        while not done.is_set():
            reads.append(counts(profiler.dashboard(limit=100)).get("worker.step", 0))

    workers = [threading.Thread(target=record, args=(i,), name=f"rec-{i}") for i in range(THREADS)]
    reader = threading.Thread(target=read, name="reader")
    for t in workers:
        t.start()
    reader.start()
    start.wait()
    for t in workers:
        t.join()
    done.set()
    reader.join()

    c = counts(profiler.dashboard(limit=100))
    assert c["worker.step"] == THREADS * SPANS
    assert all(c[f"worker.{i}"] == 1 for i in range(THREADS))
    assert reads and reads == sorted(reads) and reads[-1] <= THREADS * SPANS


def test_capture_names_threads_and_releases_the_gil(profiler, tmp_path):
    stop = threading.Event()

    def work():
        while not stop.is_set():
            with profiler.profile("named.work"):
                time.sleep(0.001)

    workers = [threading.Thread(target=work, name=n) for n in ("alpha", "beta")]
    for t in workers:
        t.start()
    result = {}

    def capture_in_background():
        while not result:  # retried while one of the probes below runs
            try:
                result.update(profiler.capture_trace(0.6))
            except cp.TraceBusy:
                pass

    capture = threading.Thread(target=capture_in_background)
    capture.start()
    # While that capture runs (the workers keep recording: the GIL is free),
    # a second one is refused; a probe before it starts captures 1 ms.
    busy = False
    deadline = time.monotonic() + 5
    while not busy and capture.is_alive() and time.monotonic() < deadline:
        try:
            profiler.capture_trace(0.001)
        except cp.TraceBusy:
            busy = True
        time.sleep(0.01)
    capture.join()
    stop.set()
    for t in workers:
        t.join()
    assert busy

    events = result["traceEvents"]
    names = {e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert {"alpha", "beta"} <= names
    spans = [e for e in events if e.get("ph") == "X" and e["name"] == "named.work"]
    assert len(spans) >= 10

    path = tmp_path / "trace.json"
    profiler.write_trace(path, 0.05)
    assert "traceEvents" in json.loads(path.read_text())
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OSError):
        profiler.write_trace(tmp_path / "a-file" / "t.json", 0.01)


def test_explicit_thread_name_wins(profiler):
    result = {}

    def work():
        profiler.set_thread_name("renamed")
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            with profiler.profile("renamed.work"):
                time.sleep(0.001)

    t = threading.Thread(target=work, name="original")
    t.start()
    result.update(profiler.capture_trace(0.2))
    t.join()
    names = {e["args"]["name"] for e in result["traceEvents"] if e.get("name") == "thread_name"}
    assert "renamed" in names and "original" not in names
