"""Shared set-up of the comfyvn.perf tests.

The package is imported from the build tree (PYTHONPATH, set by `meson test`). Before it is
imported, COMFYVN_CONFIG points at a private copy of the shipped config (every flag off), so
that the settings toggle writes there and never into the source tree.
"""

import os
import pathlib
import shutil
import tempfile
import uuid

import pytest

_CONFIG_DIR = pathlib.Path(tempfile.mkdtemp(prefix="comfyvn-perf-pytest-"))
_SHIPPED = pathlib.Path(__file__).resolve().parents[2] / "config" / "comfyvn.json"
shutil.copy(_SHIPPED, _CONFIG_DIR / "comfyvn.json")
os.environ["COMFYVN_CONFIG"] = str(_CONFIG_DIR / "comfyvn.json")
os.environ.pop("COMFYVN_ENABLE_PERF", None)
os.environ.pop("COMFYVN_PERF_TOKEN", None)

import comfyvn.perf as cp  # noqa: E402  (after the environment is set)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CONFIG_DIR, ignore_errors=True)


@pytest.fixture
def profiler():
    """perf_profiler, recording, with nothing recorded yet."""
    cp.perf_profiler.set_enabled(True)
    cp.perf_profiler.reset()
    yield cp.perf_profiler
    cp.perf_profiler.set_enabled(False)
    cp.perf_profiler.reset()


@pytest.fixture
def budgets():
    """budget_manager with limits that admit jobs whatever the machine's load."""
    b = cp.budget_manager
    before = b.limits()
    b.apply(max_cpu_percent=0, max_mem_mb=0, max_vram_mb=0, max_running_jobs=3,
            max_queue_depth=128, lazy_asset_target_mb=512)
    yield b
    b.apply(**before)


@pytest.fixture
def uid():
    """A fresh id prefix: jobs and assets outlive a test in the process's manager."""
    return "t-" + uuid.uuid4().hex[:8]


def counts(dashboard):
    """{name: count} of a dashboard's aggregates."""
    return {row["name"]: row["count"] for row in dashboard["aggregates"]}
