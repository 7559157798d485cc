"""Spill tree by perimeter (models/tiled/hanging.py): only the tiles' Steiner edges go into the global Kruskal; the
basins hanging off a tile's boundary basins get their parent, pass, level and top in their tile. The spill tree
stays the in-memory one, array for array."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import ndimage

from dtfl_plugin.models.local.depressions import _tree_levels, analyse_depressions
from dtfl_plugin.models.tiled import hanging
from tests.test_models_tiled import _assert_equal, _run_both


def _rough(seed: int, size: int = 120, noise: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 4) * 3
    return (base + rng.uniform(-noise, noise, base.shape)).astype(np.float32)


@pytest.mark.parametrize("tile", [12, 24, 40])
@pytest.mark.parametrize("terraced", [False, True])
def test_spill_tree_equals_in_memory(tmp_path, tile, terraced):
    dem = _rough(7)
    if terraced:
        dem = np.round(dem * 2) / 2  # equal passes and flat pits: ties everywhere
    messages: list[str] = []
    ref, res = _run_both(tmp_path, dem, tile, rain=20.0, loss=0.0, log=messages.append)
    _assert_equal(ref, res)
    fr = analyse_depressions(dem)
    (path,) = (tmp_path / "work").glob("*/graph.arrays")
    g = {k: np.load(path / f"{k}.npy") for k in ("parent", "top", "level", "edge_w")}
    assert np.array_equal(g["parent"], fr.parent) and np.array_equal(g["top"], fr.top)
    assert np.array_equal(g["level"], fr.level) and np.array_equal(g["edge_w"].astype(np.float64), fr.edge_w)
    spine = [int(m.group(1)) for m in map(re.compile(r"spill tree of (\d+) basins").search, messages) if m]
    if tile >= 24:  # tiles with an inside: most basins hang off the boundary basins
        assert spine[0] < 0.7 * fr.level.size


def test_peel_by_hand():
    """Forest 0-1-2-3 with 2-4 and 4-5; boundary basins 0 and 3: 4 and 5 hang off 2, the path 0..3 is Steiner."""
    lo, hi = np.array([0, 1, 2, 2, 4]), np.array([1, 2, 3, 4, 5])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float32)
    (child, parent, hw), steiner = hanging.peel(lo, hi, w, np.array([0, 3]))
    assert steiner.tolist() == [True, True, True, False, False]
    assert sorted(zip(child.tolist(), parent.tolist(), hw.tolist())) == [(4, 2, 4.0), (5, 4, 5.0)]


def test_hang_levels_match_the_whole_tree():
    """Random trees: the hanging basins' answer from the anchors' global answer = the whole tree's answer."""
    rng = np.random.default_rng(4)
    for _ in range(30):
        n = int(rng.integers(3, 300))
        par = np.array([0] + [int(rng.integers(0, v)) for v in range(1, n)])
        w = (np.round(rng.random(n - 1) * 3) / 2).astype(np.float32)  # ties
        lo, hi = np.minimum(np.arange(1, n), par[1:]), np.maximum(np.arange(1, n), par[1:])
        parent, level, top, edge_w = _tree_levels(lo, hi, w, n - 1)
        boundary = np.union1d(rng.choice(n, size=max(1, n // 10), replace=False), [0])
        (child, hp, hw), steiner = hanging.peel(lo, hi, w, boundary)
        out = hanging.hang_levels(child, hp, hw, level, top)
        assert np.array_equal(out["parent"], parent[child])
        assert np.array_equal(out["level"], level[child]) and np.array_equal(out["top"], top[child])
        assert np.array_equal(out["edge_w"].astype(np.float64), edge_w[child])


def test_boundary_basins_of_a_window():
    bw = np.arange(100).reshape(10, 10)
    inner = hanging.boundary_basins(bw, band=4)
    assert 44 not in inner and 45 not in inner and 0 in inner and 33 in inner
