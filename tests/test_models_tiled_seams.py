"""Partly filled depressions over seams (models/tiled/seams.py): per tile, the interior sub-trees are collapsed to
super-leaves, only those and the seam basins go into the global merge tree, and the distribution continues per tile
inside the partly filled super-leaves. The result stays the in-memory one (<= 1 mm, labels, tables)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import ndimage

from dtfl_plugin.models.tiled import seams
from tests.test_models_tiled import _assert_equal, _run_both


def _leaves(messages: list[str]) -> int:
    found = [int(m.group(1)) for m in map(re.compile(r"over seams \((\d+) leaves\)").search, messages) if m]
    return found[-1]


def big_lake(terraced: bool) -> np.ndarray:
    """150 x 150 cells: rough terrain in a wide bowl spanning all 3 x 3 tiles of 50: many nested sub-basins inside
    each tile (interior) below sills that run over the seams; terraces give equal pits and equal sills (ties)."""
    rng = np.random.default_rng(3)
    rough = ndimage.gaussian_filter(rng.normal(0, 1, (150, 150)), 2.5) * 8
    r, c = np.mgrid[0:150, 0:150]
    bowl = ((r - 75) ** 2 + (c - 70) ** 2) / 600.0
    dem = (rough + bowl).astype(np.float32)
    return np.round(dem * 2) / 2 if terraced else dem


@pytest.mark.parametrize("terraced", [False, True])
@pytest.mark.parametrize("rain", [30.0, 150.0, 600.0])
def test_big_lake_over_nine_tiles(tmp_path, terraced, rain):
    messages: list[str] = []
    ref, res = _run_both(tmp_path, big_lake(terraced), 50, rain=rain, loss=0.0, log=messages.append)
    _assert_equal(ref, res)
    assert any("over seams" in m for m in messages)
    assert any(m.startswith("open:") for m in messages)


def test_collapse_leaves_fewer_global_leaves(tmp_path):
    """The global tree holds fewer leaves than the basins of the depressions over seams."""
    messages: list[str] = []
    dem = big_lake(False)
    ref, res = _run_both(tmp_path, dem, 50, rain=150.0, loss=0.0, log=messages.append)
    _assert_equal(ref, res)
    from dtfl_plugin.models.local.depressions import analyse_depressions

    fr = analyse_depressions(dem)
    assert _leaves(messages) < 0.6 * (fr.level.size - 1)


def test_join_freezes_at_the_first_edge_out():
    """Local Kruskal with freezing, by hand: interior basins 0..3 of a tile; edges in order
    (0-1 inside), (1-out: freezes {0, 1} at 2.0), (2-1: {2} meets a frozen component: frozen at 3.0, not joined),
    (3-2: {3} meets a frozen one at 4.0)."""
    ci = np.array([0, 1, 2, 3])
    pi = np.array([1, -1, 1, 2])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    joined, root, freeze_w = seams._join(ci, pi, w, 4)
    assert joined.tolist() == [True, False, False, False]
    assert root[0] == root[1] and len({int(root[0]), int(root[2]), int(root[3])}) == 3
    assert freeze_w[root[0]] == 2.0 and freeze_w[root[2]] == 3.0 and freeze_w[root[3]] == 4.0


def test_join_raises_when_a_component_never_meets_the_rest():
    with pytest.raises(RuntimeError):
        seams._join(np.array([0]), np.array([1]), np.array([1.0]), 2)


@pytest.mark.parametrize("tile", [24, 40])
def test_bench_terrain_small(tmp_path, tile):
    """The bench's recipe in small: rough terrain with ~cm noise, tiles of 24 and 40 cells."""
    dem = _bench_like()
    for rain in (10.0, 20.0, 60.0):
        ref, res = _run_both(tmp_path / f"r{int(rain)}", dem, tile, rain=rain, loss=0.0)
        _assert_equal(ref, res)


def _bench_like() -> np.ndarray:
    rng = np.random.default_rng(20181)
    base = ndimage.gaussian_filter(rng.normal(0, 1, (120, 120)), 4) * 3
    return (base + rng.uniform(-0.3, 0.3, base.shape)).astype(np.float32)
