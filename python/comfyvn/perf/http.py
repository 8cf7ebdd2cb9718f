"""comfyvn.perf.http: the SDK's HTTP adapter, served from this process.

    from comfyvn.perf import http

    server = http.serve(port=0)          # 127.0.0.1, a free port
    print(server.url)                    # http://127.0.0.1:PORT/api/perf/health ...
    server.stop()

The adapter answers every /api/perf/* route (docs/http_api.md) from its own threads, over
the process's singletons: the same data as ``comfyvn.perf.perf_profiler`` and
``budget_manager``.
"""

from ._perf import Server, serve

__all__ = ["Server", "serve"]
