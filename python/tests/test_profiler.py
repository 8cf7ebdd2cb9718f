"""perf_profiler: profile() as context manager and decorator, marks, reads."""

import math

import pytest

import comfyvn.perf as cp
from conftest import counts

AGGREGATE_KEYS = {"name", "category", "count", "total_ms", "avg_ms", "max_ms", "p50_ms",
                  "p95_ms", "p99_ms", "total_kb", "max_kb", "avg_kb", "last_timestamp"}


def test_context_manager_counts_and_shapes(profiler):
    for _ in range(500):
        with profiler.profile("load", "assets"):
            pass
    with profiler.profile("load", "assets") as scope:
        assert scope.name == "load" and scope.category == "assets"
    d = profiler.dashboard(limit=3)
    assert {"top_time", "top_memory", "aggregates", "categories", "marks", "timestamp"} <= d.keys()
    row = next(r for r in d["aggregates"] if r["name"] == "load")
    assert row["count"] == 501 and row["category"] == "assets"
    assert AGGREGATE_KEYS <= row.keys()
    assert isinstance(row["total_ms"], float) and row["total_ms"] >= 0
    h = profiler.health()
    assert {"spans_recorded", "marks_recorded", "dropped", "top_time", "top_memory",
            "timestamp"} <= h.keys()
    assert h["spans_recorded"] >= 501
    assert profiler.top_offenders(1)[0]["name"] == "load"
    assert profiler.top_offenders(5, by="memory") is not None
    assert profiler.top_offenders(5, by="self")[0]["name"] == "load"


def test_decorator(profiler):
    @profiler.profile("step", "sim")
    def step(x, *, y=1):
        """Steps."""
        return x + y

    @profiler.profile
    def bare():
        raise KeyError("boom")

    class Body:
        @profiler.profile("body.update")
        def update(self, dt):
            return dt * 2

    assert [step(i, y=2) for i in range(300)][-1] == 301
    assert step.__name__ == "step" and step.__doc__ == "Steps." and step.__wrapped__(1) == 2
    assert Body().update(3) == 6
    with pytest.raises(KeyError):
        bare()
    c = counts(profiler.dashboard())
    assert c["step"] == 300  # __wrapped__ is not counted
    assert c["body.update"] == 1
    assert c["test_decorator.<locals>.bare"] == 1  # a span ends when its call raises


def test_exception_in_block_propagates_and_counts(profiler):
    with pytest.raises(ValueError):
        with profiler.profile("failing"):
            raise ValueError("x")
    assert counts(profiler.dashboard())["failing"] == 1


def test_scope_object_reuse_and_reentry(profiler):
    scope = profiler.profile("reused")
    with scope:
        with pytest.raises(RuntimeError, match="already entered"):
            scope.__enter__()
    with scope:
        pass
    assert counts(profiler.dashboard())["reused"] == 2


def test_metadata_and_marks(profiler):
    with profiler.profile("annotated", "io", metadata={"file": "a", "n": [1, 2.5, None, True]}):
        pass
    mark = profiler.mark("checkpoint", "game", {"level": 3})
    assert mark["name"] == "checkpoint" and mark["metadata"] == {"level": 3}
    assert math.isfinite(mark["timestamp"])
    d = profiler.dashboard()
    assert counts(d)["annotated"] == 1
    assert any(m["name"] == "checkpoint" for m in d["marks"])


def test_disabled_records_nothing(profiler):
    profiler.set_enabled(False)
    assert not profiler.enabled()
    with profiler.profile("off"):
        pass
    profiler.set_enabled(True)
    assert "off" not in counts(profiler.dashboard())


def test_reset(profiler):
    with profiler.profile("before.reset"):
        pass
    profiler.reset()
    assert "before.reset" not in counts(profiler.dashboard())


def test_bad_arguments(profiler):
    with pytest.raises(TypeError, match="name must be a str"):
        profiler.profile(42)
    with pytest.raises(TypeError, match=r"metadata\.tags holds a set"):
        profiler.profile("x", metadata={"tags": {1}})
    with pytest.raises(ValueError, match="finite"):
        profiler.mark("x", metadata={"v": float("nan")})
    with pytest.raises(TypeError, match="keys must be strings"):
        profiler.mark("x", metadata={1: 2})
    with pytest.raises(TypeError, match="coroutine"):
        @profiler.profile("co")
        async def co():
            pass
    with pytest.raises(ValueError, match="by must be"):
        profiler.top_offenders(5, by="speed")
    with pytest.raises(ValueError, match="limit"):
        profiler.dashboard(limit=-1)
    with pytest.raises(ValueError, match="seconds"):
        profiler.capture_trace(0)
    with pytest.raises(TypeError):
        cp.PerfProfiler()
