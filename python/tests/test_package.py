"""The package: contract names, docstrings, stubs, standalone SDK, clean exit."""

import importlib.resources
import inspect
import os
import subprocess
import sys
import textwrap

import comfyvn.perf as cp

CONTRACT = {
    "perf_profiler": ["profile", "mark", "dashboard", "health", "top_offenders", "reset",
                      "set_enabled", "capture_trace", "write_trace", "set_thread_name"],
    "budget_manager": ["register_job", "start_job", "finish_job", "refresh_queue", "apply",
                       "snapshot", "health", "register_asset", "touch_asset",
                       "evict_lazy_assets", "unregister_asset"],
    "hooks": ["subscribe", "flush"],
    "feature_flags": ["perf_enabled", "budgets_enabled", "profiler_enabled", "set_perf_enabled"],
}


def test_contract_names_and_docstrings():
    from comfyvn.perf import budget_manager, feature_flags, hooks, perf_profiler  # noqa: F401
    for obj_name, methods in CONTRACT.items():
        obj = getattr(cp, obj_name)
        for method in methods:
            assert callable(getattr(obj, method)), f"{obj_name}.{method}"
            assert (getattr(obj, method).__doc__ or "").strip(), f"{obj_name}.{method} has no doc"
    assert callable(cp.http.serve) and cp.http.serve.__doc__
    assert cp.__version__.count(".") == 2
    assert set(cp.__all__) <= set(dir(cp))
    signature = inspect.signature(cp.perf_profiler.profile)
    assert str(signature) == "(name, category='general', metadata=None)"


def test_stubs_ship_with_the_package():
    files = importlib.resources.files("comfyvn.perf")
    assert files.joinpath("py.typed").is_file()
    stub = files.joinpath("_perf.pyi").read_text()
    for methods in CONTRACT.values():
        for method in methods:
            assert f"def {method}(" in stub, method
    assert "def serve(port: int = 0, token: Optional[str] = None) -> Server" in stub


def test_standalone_python_owns_the_sdk():
    info = cp._perf._sdk_info()
    assert info["shared_with_host"] is False
    assert info["origin"] == info["module"] and info["module"].endswith(".so")


def test_exit_with_live_callbacks_adapter_and_threads():
    """Subscriptions, a server and recording threads alive at exit: a clean exit."""
    script = textwrap.dedent("""
        import threading
        import comfyvn.perf as cp
        from comfyvn.perf import http
        cp.perf_profiler.set_enabled(True)
        seen = []
        cp.hooks.subscribe(cp.PROFILER_EVENT, seen.append)
        cp.hooks.subscribe(cp.BUDGET_EVENT, lambda env: seen.append(env))
        server = http.serve()
        cp.budget_manager.register_asset("exit-asset", 1, unload=lambda *a: seen.append(a))
        def spin():
            while True:
                with cp.perf_profiler.profile("daemon.spin"):
                    cp.perf_profiler.mark("spin")
        threading.Thread(target=spin, daemon=True).start()
        for i in range(100):
            cp.budget_manager.register_job(f"exit-{i}")
        print("bye", flush=True)
    """)
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "bye"
