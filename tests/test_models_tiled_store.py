"""The tiled run's global arrays in the work folder (models/tiled/store.py): mapped, handed back, never lost."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from dtfl_plugin.models.tiled import store
from dtfl_plugin.models.tiled.layout import Layout


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(float(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


@pytest.fixture
def spec(tmp_path):
    s = SimpleNamespace(layout=Layout(10, 10, 5, str(tmp_path)))
    yield s
    store.forget(s)


def test_published_arrays_are_mapped_and_small_ones_read(spec):
    big = np.arange(1 << 19, dtype=np.int64)  # 4 MB: mapped
    small = np.arange(10, dtype=np.float32)
    got = store.publish(spec, "graph", big=big, small=small)
    assert isinstance(got["big"], np.memmap) and not isinstance(got["small"], np.memmap)
    assert np.array_equal(got["big"], big) and np.array_equal(got["small"], small)
    assert store.shared(spec, "graph") is got  # once per process
    assert store.saved(spec.layout, "graph") and not store.saved(spec.layout, "other")


def test_an_unfinished_save_is_not_taken_for_a_saved_one(spec):
    store.save(spec.layout, "nodes", a=np.zeros(3))
    os.remove(os.path.join(spec.layout.path("nodes", None, "arrays"), "index.json"))
    assert not store.saved(spec.layout, "nodes")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the resident set from /proc")
def test_release_hands_pages_back_and_keeps_the_data(spec):
    a = store.scratch(spec, "level", 50_000_000, np.float64, fill=-np.inf)  # 400 MB in the work folder
    before = _rss_mb()
    a[::1000] = np.arange(a[::1000].size)  # touches every page
    a[1:1000] = 7.0
    touched = _rss_mb()
    store.release()
    after = _rss_mb()
    assert touched - before > 300 and after - before < 50, (before, touched, after)
    assert a[5000] == 5.0 and a[1] == 7.0 and a[1001] == -np.inf  # written values survive the hand-back
    published = store.publish(spec, "final", adopt=True, level=a)
    assert not os.path.exists(spec.layout.path("scratch_level"))  # renamed, not copied
    assert published["level"][49_999_000] == 49_999.0


def test_released_calls_through_and_releases_on_error(spec, monkeypatch):
    calls = []
    monkeypatch.setattr(store, "release", lambda: calls.append(1))
    assert store.released(lambda sp, t, x: t + x, spec, 2, 3) == 5
    with pytest.raises(ZeroDivisionError):
        store.released(lambda sp, t: 1 / 0, spec, 0)
    assert calls == [1, 1]


def test_chunks_cover_the_array_once():
    spans = list(store.chunks(3 * store._CHUNK + 5))
    assert spans[0] == (0, store._CHUNK) and spans[-1][1] == 3 * store._CHUNK + 5
    assert sum(e - s for s, e in spans) == 3 * store._CHUNK + 5


def test_routing_in_blocks_gives_the_very_same_numbers(monkeypatch):
    """Per-basin arrays walked in blocks (mapped ones need a block at a time): inflow, storage, spills and the
    per-depression maxima are bit for bit those of one pass over the whole arrays."""
    from dtfl_plugin.models.local import routing

    rng = np.random.default_rng(7)
    n = 2000
    parent = np.concatenate([[0], rng.integers(0, np.arange(1, n))])  # a random forest towards basin 0
    top = np.arange(n)
    for v in range(1, n):  # a depression is a parent's depression unless the basin is a root of one
        if rng.random() < 0.7 and parent[v] != 0:
            top[v] = top[parent[v]]
    graph = SimpleNamespace(
        top=top.astype(np.int32),
        parent=parent.astype(np.int32),
        level=rng.random(n),
        pit_z=rng.random(n) * 0.1,
        dep_bottom=np.zeros(n),
    )
    runoff, capacity = rng.random(n) * 3.0, np.where(top == np.arange(n), rng.random(n) * 5.0, 0.0)
    leaf_level = np.where(rng.random(n) < 0.5, rng.random(n), -np.inf)
    whole = routing.route(graph, runoff.copy(), capacity)
    tops = np.flatnonzero((top == np.arange(n)) & (np.arange(n) > 0))
    maxima = routing.per_depression(graph, leaf_level, tops)
    monkeypatch.setattr(routing, "_BLOCK", 7)
    blocks = routing.route(graph, runoff.copy(), capacity)
    for name in ("order", "inflow", "stored", "spilled", "leaf_water", "full"):
        assert np.array_equal(getattr(whole, name), getattr(blocks, name)), name
    assert whole.spilled_out == blocks.spilled_out
    for a, b in zip(maxima, routing.per_depression(graph, leaf_level, tops)):
        assert np.array_equal(a, b)


def test_a_run_leaves_nothing_mapped(tmp_path):
    """After a run (finished or stopped) no array of its work folder stays mapped: the folder can be removed and
    its disk space is freed (a mapped file keeps it), on Windows too."""
    from dtfl_plugin.models.local import raster_io
    from dtfl_plugin.models.local.depressions import CancelledError
    from dtfl_plugin.models.tiled import engine, phases

    rng = np.random.default_rng(3)
    dem = rng.uniform(0, 2, (60, 60)).astype(np.float32)
    src = str(tmp_path / "dem.tif")
    raster_io.write_geotiff(src, dem, (0.0, 1.0, 0.0, 60.0, 0.0, -1.0), "", -9999.0)
    spec = engine.make_spec(src, str(tmp_path / "work"), 50.0, 0.0, tile=20)
    engine.run_tiled(spec, str(tmp_path / "d.tif"), str(tmp_path / "p.tif"))

    def mapped() -> list:
        return [
            k for cache in (store._CACHE, store._SCRATCH, phases._CACHE) for k in cache if k[0] == spec.layout.folder
        ]

    assert not mapped()
    calls = iter(range(10**6))
    with pytest.raises(CancelledError):  # stopped in the middle: the same
        engine.run_tiled(
            spec, str(tmp_path / "d2.tif"), str(tmp_path / "p2.tif"), is_cancelled=lambda: next(calls) > 40
        )
    assert not store._CACHE and not store._SCRATCH and not phases._CACHE
