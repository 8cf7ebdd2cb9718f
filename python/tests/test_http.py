"""comfyvn.perf.http.serve(): the adapter in process."""

import json
import socket
import threading
import urllib.error
import urllib.request

import pytest

import comfyvn.perf as cp
from comfyvn.perf import http


def fetch(url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_serve_and_stop():
    server = http.serve()
    try:
        assert server.running and 0 < server.port < 65536
        assert server.url == f"http://127.0.0.1:{server.port}"
        status, body = fetch(server.url + "/api/perf/health")
        assert status == 200 and body["ok"] is True and "feature_flag" in body
    finally:
        server.stop()
    assert not server.running
    server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url + "/api/perf/health", timeout=5)


def test_token_and_arguments():
    with http.serve(port=0, token="py-secret") as server:
        assert fetch(server.url + "/api/perf/budgets")[0] == 401
        assert fetch(server.url + "/api/perf/budgets", token="py-secret")[0] in (200, 403)
    assert not server.running
    with pytest.raises(ValueError, match="port"):
        http.serve(port=70000)
    with pytest.raises(ValueError, match="token"):
        http.serve(token="")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(OSError):
            http.serve(port=taken.getsockname()[1])
    finally:
        taken.close()


def test_route_runs_a_python_unload_handler(budgets, uid):
    """An adapter thread calls Python (with the GIL) while this thread waits on the socket."""
    calls = []
    budgets.register_asset(uid, 3, unload=lambda *a: calls.append((threading.get_ident(), a)))
    budgets.set_enabled(True)
    try:
        with http.serve() as server:
            status, body = fetch(server.url + "/api/perf/budgets/assets/evict", {"asset_id": uid})
    finally:
        budgets.set_enabled(False)
    assert status == 200 and [e["asset_id"] for e in body["evicted"]] == [uid]
    assert len(calls) == 1 and calls[0][0] != threading.get_ident()
    assert calls[0][1] == (uid, {}, "explicit")
    budgets.unregister_asset(uid)
