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
