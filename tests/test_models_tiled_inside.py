"""Partly filled depressions wholly inside one tile are solved in that tile's task (models/tiled/inside.py):
the result stays the in-memory one, for bowls inside tiles, nested sub-pits with equal sills (ties), and a lake
over three tiles whose sub-pits meet at the seams (it stays in the global merge tree)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import ndimage

from dtfl_plugin.models.tiled import inside
from dtfl_plugin.models.tiled.merge import Graph
from tests.test_models_tiled import _assert_equal, _run_both


def bowls_and_lake() -> np.ndarray:
    """60 x 90 cells, tiles of 30: a plain draining west; bowl A in tile 0 (sub-pits at 2.0 and 2.5 behind a
    4.0 sill, a 1.0 pit inside the first; spills west at 6.9); bowl B in tile 4 with three sub-pits behind two sills of the same
    height (4.0: a tie); lake C over tiles 0-2 (cols 20..85) whose sub-pits meet at 3.5 sills on both seams."""
    z = np.full((60, 90), 8.0, dtype=np.float32)
    z += np.linspace(0, 1, 90, dtype=np.float32)[None, :]
    z[3:27, 3:19] = 7.0  # bowl A, tile 0 only
    z[5:25, 5:10] = 2.0
    z[8:14, 6:9] = 1.0
    z[5:25, 10:11] = 4.0
    z[5:25, 11:17] = 2.5
    z[33:57, 33:57] = 7.5  # bowl B, tile 4 only
    z[35:55, 35:41] = 2.0
    z[35:55, 41:42] = 4.0
    z[35:55, 42:48] = 2.0
    z[35:55, 48:49] = 4.0
    z[35:55, 49:55] = 3.0
    z[2:28, 20:86] = 7.8  # lake C, tiles 0, 1 and 2
    z[4:26, 22:84] = 3.5  # sills on the seams (cols 29/30 and 59/60) stay at 3.5
    z[6:24, 22:29] = 1.5
    z[6:24, 31:59] = 2.0
    z[6:24, 61:84] = 1.5  # same floor as the westmost sub-pit: equal pits across two seams
    for r0, r1, c0, c1 in ((2, 28, 2, 20), (32, 58, 32, 58)):  # rings above the plain: A and B catch their own rain
        z[r0:r1, c0], z[r0:r1, c1 - 1], z[r0, c0:c1], z[r1 - 1, c0:c1] = 10.0, 10.0, 10.0, 10.0
    z[15, 2] = 6.9  # A's outlet, west into the plain (inside tile 0)
    return z


def _inside_count(messages: list[str]) -> int:
    found = [int(m.group(1)) for m in map(re.compile(r"(\d+) partly filled depressions inside a tile").search, messages) if m]  # fmt: skip
    return found[-1]


@pytest.mark.parametrize("rain", [120.0, 600.0, 1500.0, 4000.0])
def test_bowls_inside_tiles_and_lake_over_three(tmp_path, rain):
    messages: list[str] = []
    ref, res = _run_both(tmp_path, bowls_and_lake(), 30, rain=rain, loss=0.0, log=messages.append)
    _assert_equal(ref, res)
    assert res.tiles == 6
    assert _inside_count(messages) == (2 if rain < 4000.0 else 1)  # A and B in their tile (A full at 4000 mm)
    assert any("merge tree of 1 partly filled" in m for m in messages)  # C, over three tiles: global


def test_many_small_depressions_inside_small_tiles(tmp_path):
    rng = np.random.default_rng(11)
    dem = (ndimage.gaussian_filter(rng.normal(0, 1, (120, 120)), 2) * 10).astype(np.float32)
    dem = np.round(dem * 4) / 4  # terraces: equal pits and equal sills, also across seams
    messages: list[str] = []
    ref, res = _run_both(tmp_path, dem, 24, rain=40.0, loss=0.0, log=messages.append)
    _assert_equal(ref, res)
    assert _inside_count(messages) >= 5


def test_home_tiles_and_split_by_hand():
    # basins 1..5; tile 0 sees 1, 2, 3; tile 1 sees 3, 4, 5: basin 3 lies over the seam
    home = inside.home_tiles([np.array([1, 2, 3]), np.array([3, 4, 5])], np.full(6, -2, dtype=np.int32))
    assert home.tolist() == [-1, 0, 0, -1, 1, 1]
    # depressions: {1, 2} (top 1) inside tile 0; {3, 4} (top 4) over the seam; {5} inside tile 1
    g = Graph({"level": np.zeros(6), "top": np.array([0, 1, 1, 4, 4, 5])})
    seam_deps, own, own_home = inside.split_partial(g, np.array([5, 4, 1]), home)
    assert seam_deps.tolist() == [4]
    assert own.tolist() == [1, 5] and own_home.tolist() == [0, 1]


@pytest.mark.parametrize("tile", [5, 8])
def test_flat_pits_over_tile_corners_and_long_exit_chains(tmp_path, tile):
    """Tiny tiles: flat pit regions over two and four tiles (corners), flow crossing many tiles before its pit;
    the resolve joins only the seams' pits and follows only the exits, numbering the rest a row at a time."""
    rng = np.random.default_rng(5)
    dem = (ndimage.gaussian_filter(rng.normal(0, 1, (46, 53)), 3) * 6).astype(np.float32)
    dem = np.round(dem)  # wide terraces: flat pits much larger than a tile
    dem[10:12, 30:36] = -9999.0
    ref, res = _run_both(tmp_path, dem, tile, rain=90.0, loss=0.0)
    _assert_equal(ref, res)
