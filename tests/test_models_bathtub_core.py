"""Bathtub screening core: known answers computed by hand, against a reference priority-flood and against SAGA."""

from __future__ import annotations

import heapq
import shutil
import subprocess

import numpy as np
import pytest

from dtfl_plugin.models.local.bathtub_core import (
    CancelledError,
    analyse_depressions,
    facade_max_depth,
    fill_depressions,
    run_bathtub,
)
from dtfl_plugin.models.local.events import EVENTS, event_by_key, rain_depth


def priority_flood(z: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Textbook priority-flood (Barnes et al. 2014), 8 neighbours; seeds: grid edge and cells next to nodata."""
    rows, cols = z.shape
    out = z.astype(np.float64).copy()
    closed = ~valid
    heap = []
    for i in range(rows):
        for j in range(cols):
            if not valid[i, j]:
                continue
            seed = i in (0, rows - 1) or j in (0, cols - 1)
            seed = seed or not valid[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].all()
            if seed:
                heapq.heappush(heap, (out[i, j], i, j))
                closed[i, j] = True
    while heap:
        level, i, j = heapq.heappop(heap)
        for a in range(max(i - 1, 0), min(i + 2, rows)):
            for b in range(max(j - 1, 0), min(j + 2, cols)):
                if not closed[a, b]:
                    closed[a, b] = True
                    out[a, b] = max(out[a, b], level)
                    heapq.heappush(heap, (out[a, b], a, b))
    out[~valid] = np.nan
    return out


def bowl() -> np.ndarray:
    """A 6 x 6 pit (floor 0.0) inside a 1-cell rim at 1.0, in a plain at 0.5 that drains to the grid edge."""
    z = np.full((12, 12), 0.5, dtype=np.float32)
    z[2:10, 2:10] = 1.0  # rim (8 x 8 block) ...
    z[3:9, 3:9] = 0.0  # ... with the pit inside
    return z


# The pit's catchment is the 8 x 8 block: rim cells drain inwards (drop 1.0) rather than out (drop 0.5).
# Capacity: 36 cells x 1 m^2 x 1.0 m = 36 m^3; runoff of the catchment: 64 m^2 x rain.


@pytest.mark.parametrize(
    "rain_mm, level, stored, spilled_from_pit",
    [
        (281.25, 0.5, 18.0, 0.0),  # 64 m2 x 0.28125 m = 18 m3: half full
        (562.5, 1.0, 36.0, 0.0),  # exactly full, nothing spills
        (1000.0, 1.0, 36.0, 28.0),  # 64 m3 in, 36 stored, 28 over the rim and out over the plain
    ],
)
def test_bowl_known_volume(rain_mm, level, stored, spilled_from_pit):
    z = bowl()
    result = run_bathtub(z, 1.0, rain_mm, 0.0, min_depth=0.0)
    assert len(result.table) == 1
    row = result.table[0]
    assert row["volume_capacity_m3"] == pytest.approx(36.0)
    assert row["inflow_m3"] == pytest.approx(64 * rain_mm / 1000)
    assert row["stored_m3"] == pytest.approx(stored)
    assert row["spilled_m3"] == pytest.approx(spilled_from_pit)
    assert row["water_level"] == pytest.approx(level)
    assert row["fill_fraction"] == pytest.approx(stored / 36.0)
    assert row["max_depth"] == pytest.approx(1.0)
    np.testing.assert_allclose(result.depth[3:9, 3:9], level, atol=1e-6)
    assert (result.depth[z > 0] == 0).all()  # rim and plain stay dry
    total = 144 * rain_mm / 1000
    assert result.total_runoff_m3 == pytest.approx(total)
    assert result.stored_m3 + result.spilled_out_m3 == pytest.approx(total)
    assert result.depressions[3:9, 3:9].tolist() == [[1] * 6] * 6
    assert result.depressions[z > 0].max() == 0


def test_bowl_loss_coefficient_and_min_depth():
    z = bowl()
    # 600 mm rain - 100 mm loss = 500 mm; coefficient 0.5 on the rim -> 36 x 0.5 + 28 x 0.25 = 25 m3 -> 25/36 m
    coeff = np.ones_like(z)
    coeff[2:10, 2:10] = 0.5
    coeff[3:9, 3:9] = 1.0
    result = run_bathtub(z, 1.0, 600.0, 100.0, runoff_coeff=coeff, min_depth=0.0)
    assert result.table[0]["stored_m3"] == pytest.approx(25.0)
    np.testing.assert_allclose(result.depth[3:9, 3:9], 25 / 36, atol=1e-6)
    # 2 m cells: volumes x 4, depths unchanged; 20 mm of water is under min_depth 5 cm: dry, but still stored
    thin = run_bathtub(z, 2.0, 20 * 36 / 64, 0.0)
    assert thin.stored_m3 == pytest.approx(4 * 36 * 0.02)
    assert np.nanmax(thin.depth) == 0.0
    assert thin.table[0]["water_depth"] == pytest.approx(0.02, abs=1e-6)


def test_bowl_with_stepped_floor_fills_low_part_first():
    z = bowl()
    z[3:9, 6:9] = 0.5  # right half of the floor 0.5 m higher: 18 cells at 0.0, 18 at 0.5
    coeff = np.zeros_like(z)
    coeff[3:9, 3:9] = 1.0  # rain on the 36 floor cells only
    result = run_bathtub(z, 1.0, 6.0 / 36 * 1000, 0.0, runoff_coeff=coeff, min_depth=0.0)  # 6 m3: 6/18 m
    assert result.table[0]["water_level"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(result.depth[3:9, 3:6], 1 / 3, atol=1e-6)
    assert (result.depth[3:9, 6:9] == 0).all()
    # 18 m3: 9 fill the low half to 0.5, 9 more over all 36 cells: level 0.75
    result = run_bathtub(z, 1.0, 500.0, 0.0, runoff_coeff=coeff, min_depth=0.0)
    assert result.table[0]["water_level"] == pytest.approx(0.75)


def terrace() -> tuple[np.ndarray, np.ndarray]:
    """Upper basin A (floor 2.0, sill 2.5 into B) above lower basin B (floor 0.0, outlet 1.0 to a channel out)."""
    z = np.full((10, 20), 3.0, dtype=np.float32)
    z[1:9, 1:7] = 2.0  # A: 48 cells
    z[4, 7] = 2.5  # A's sill, into B
    z[1:9, 8:14] = 0.0  # B: 48 cells
    z[4, 14] = 1.0  # B's outlet ...
    z[4, 15:20] = [0.9, 0.8, 0.7, 0.6, 0.5]  # ... down a channel to the grid edge
    coeff = np.zeros_like(z)
    coeff[z <= 2.0] = 1.0
    coeff[4, 14:] = 0.0  # rain only on the two floors: 48 m2 each
    return z, coeff


@pytest.mark.parametrize(
    "rain_m, stored_a, stored_b, spill_a, out",
    [
        (0.25, 12.0, 12.0, 0.0, 0.0),  # both partly filled, nothing moves
        (0.75, 24.0, 48.0, 12.0, 0.0),  # A full (36 in, 24 held), 12 spill into B: 36 + 12 = B's 48 exactly
        (1.0, 24.0, 48.0, 24.0, 24.0),  # A spills 24 into B, B gets 72, holds 48, 24 leave the area
    ],
)
def test_terrace_spills_into_lower_basin(rain_m, stored_a, stored_b, spill_a, out):
    z, coeff = terrace()
    result = run_bathtub(z, 1.0, rain_m * 1000, 0.0, runoff_coeff=coeff, min_depth=0.0)
    rows = {round(r["spill_level"], 3): r for r in result.table}
    a, b = rows[2.5], rows[1.0]
    assert a["volume_capacity_m3"] == pytest.approx(24.0)
    assert b["volume_capacity_m3"] == pytest.approx(48.0)
    assert a["stored_m3"] == pytest.approx(stored_a)
    assert b["stored_m3"] == pytest.approx(stored_b)
    assert a["spilled_m3"] == pytest.approx(spill_a)
    assert b["inflow_m3"] == pytest.approx(48 * rain_m + spill_a)
    assert result.spilled_out_m3 == pytest.approx(out)
    assert result.total_runoff_m3 == pytest.approx(96 * rain_m)
    assert result.stored_m3 + result.spilled_out_m3 == pytest.approx(result.total_runoff_m3)
    np.testing.assert_allclose(result.depth[1:9, 1:7], stored_a / 48, atol=1e-6)
    np.testing.assert_allclose(result.depth[1:9, 8:14], stored_b / 48, atol=1e-6)


def test_nested_pits_fill_spill_merge():
    """Two pits in one bowl: rain on the left pit fills it, spills over the sill into the right one, then merges."""
    z = np.full((9, 13), 2.0, dtype=np.float32)
    z[1:8, 1:12] = 1.0  # a wide bowl floor at 1.0 inside a rim at 2.0 ...
    z[2:7, 2:6] = 0.0  # ... with two pits of 20 cells each, 1 m deep below the floor (the sill)
    z[2:7, 7:11] = 0.0
    coeff = np.zeros_like(z)
    coeff[2:7, 2:6] = 1.0  # rain on the left pit only: 20 m2
    left, right = (slice(2, 7), slice(2, 6)), (slice(2, 7), slice(7, 11))

    result = run_bathtub(z, 1.0, 500.0, 0.0, runoff_coeff=coeff, min_depth=0.0)  # 10 m3
    assert len(result.table) == 1  # one depression (spill level 2.0) holding both pits
    np.testing.assert_allclose(result.depth[left], 0.5, atol=1e-6)  # stays in the left pit
    assert (result.depth[right] == 0).all()
    assert result.table[0]["water_level"] == pytest.approx(0.5)

    result = run_bathtub(z, 1.0, 1500.0, 0.0, runoff_coeff=coeff, min_depth=0.0)  # 30 m3
    np.testing.assert_allclose(result.depth[left], 1.0, atol=1e-6)  # full to the sill (20 m3) ...
    np.testing.assert_allclose(result.depth[right], 0.5, atol=1e-6)  # ... 10 m3 spilled into the right pit
    assert (result.depth[z == 1.0] == 0).all()
    assert result.table[0]["water_level"] == pytest.approx(1.0)

    # Above the sill (1.0) the pits have merged: 40 m3 fill both, the rest spreads over the 77-cell floor
    result = run_bathtub(z, 1.0, 3925.0, 0.0, runoff_coeff=coeff, min_depth=0.0)  # 78.5 m3
    level = 1.0 + (78.5 - 40.0) / 77
    assert result.table[0]["water_level"] == pytest.approx(level)
    np.testing.assert_allclose(result.depth[right], level, atol=1e-6)
    assert result.stored_m3 == pytest.approx(78.5)


def cascade() -> np.ndarray:
    """Three pits in one bowl (rim 5.0): P1 | sill 3.0 | P2 | sill 2.0 | P3, each pit 2 x 5 cells at 0.0."""
    z = np.full((4, 19), 5.0, dtype=np.float32)
    z[1:3, 1:6] = 0.0  # P1
    z[1:3, 6] = 3.0  # sill P1 -> P2
    z[1:3, 7:12] = 0.0  # P2
    z[1:3, 12] = 2.0  # sill P2 -> P3
    z[1:3, 13:18] = 0.0  # P3
    return z


@pytest.mark.parametrize(
    "volume, p1, p2, p3",
    [
        (15.0, 1.5, 0.0, 0.0),  # stays in P1
        (40.0, 3.0, 1.0, 0.0),  # P1 full to its sill (30 m3); 10 m3 run into P2
        (55.0, 3.0, 2.0, 0.5),  # P2 full to its sill (20 m3) too; 5 m3 run on into P3
        (75.0, 3.0, 2.0 + 5 / 22, 2.0 + 5 / 22),  # P2 and P3 merged: 5 m3 over their 22 cells above 2.0
        (100.0, 3.0 + 8 / 34, 3.0 + 8 / 34, 3.0 + 8 / 34),  # all merged above 3.0: 8 m3 over 34 cells
    ],
)
def test_cascade_of_sub_depressions(volume, p1, p2, p3):
    z = cascade()
    coeff = np.zeros_like(z)
    coeff[1:3, 1:6] = 1.0  # rain on P1 only: 10 m2
    result = run_bathtub(z, 1.0, volume / 10 * 1000, 0.0, runoff_coeff=coeff, min_depth=0.0)
    assert len(result.table) == 1 and result.table[0]["volume_capacity_m3"] == pytest.approx(160.0)
    assert result.stored_m3 == pytest.approx(volume) and result.spilled_out_m3 == pytest.approx(0.0)
    np.testing.assert_allclose(result.depth[1:3, 1:6], p1, atol=1e-5)
    np.testing.assert_allclose(result.depth[1:3, 7:12], p2, atol=1e-5)
    np.testing.assert_allclose(result.depth[1:3, 13:18], p3, atol=1e-5)
    assert result.table[0]["water_level"] == pytest.approx(max(p1, p2, p3), abs=1e-6)


def test_deep_nesting_conserves_and_matches_volumes():
    """Random terrain: every pool's water equals what the depth grid holds; stored + spilled = runoff."""
    rng = np.random.default_rng(3)
    z = ndimage_smooth(rng.random((60, 70)).astype(np.float32))
    for rain in (5.0, 40.0, 400.0):
        result = run_bathtub(z, 1.0, rain, 0.0, min_depth=0.0)
        assert result.stored_m3 + result.spilled_out_m3 == pytest.approx(result.total_runoff_m3)
        assert float(np.nansum(result.depth)) == pytest.approx(result.stored_m3, rel=1e-4)
        for row in result.table:
            assert row["stored_m3"] <= row["volume_capacity_m3"] * (1 + 1e-9)


def ndimage_smooth(a: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.uniform_filter(a, 5).astype(np.float32)


def test_nodata_and_outlets_drain_out():
    z = bowl()
    z[5, 3] = -9999.0  # a nodata cell in the pit floor: the pit drains into it
    result = run_bathtub(z, 1.0, 300.0, 0.0, nodata=-9999.0, min_depth=0.0)
    assert result.stored_m3 == pytest.approx(0.0)
    assert np.isnan(result.depth[5, 3])
    assert result.total_runoff_m3 == pytest.approx(143 * 0.3)
    assert result.spilled_out_m3 == pytest.approx(result.total_runoff_m3)
    outlets = np.zeros(z.shape, dtype=bool)
    outlets[5, 3] = True
    z[5, 3] = 0.0
    same = run_bathtub(z, 1.0, 300.0, 0.0, outlets=outlets, min_depth=0.0)
    assert same.stored_m3 == pytest.approx(0.0)
    assert same.spilled_out_m3 == pytest.approx(result.spilled_out_m3)


def test_walls_raise_buildings_and_facade_depth():
    z = np.zeros((9, 9), dtype=np.float32)
    z[1:8, 1:8] = -1.0  # a square pit, rim = grid edge at 0.0
    walls = np.zeros(z.shape, dtype=bool)
    walls[3:6, 3:6] = True  # a building in the middle of the pit (nodata in AHN)
    z[walls] = -9999.0
    result = run_bathtub(z, 1.0, 1000.0, 0.0, nodata=-9999.0, walls=walls, min_depth=0.0)
    # 81 m2 x 1 m = 81 m3 of rain; capacity (49 - 9) cells x 1 m = 40 m3 -> full at 0.0, depth 1 m at the facade
    assert result.stored_m3 == pytest.approx(40.0)
    assert (result.depth[walls] == 0).all()
    footprints = np.where(walls, 1, 0).astype(np.int32)
    facade = facade_max_depth(result.depth, footprints, 1)
    assert facade[1] == pytest.approx(1.0)
    dry = facade_max_depth(np.zeros_like(result.depth), footprints, 1)
    assert dry[1] == 0.0


def test_cancel_and_progress():
    z = bowl()
    seen = []
    run_bathtub(z, 1.0, 70.0, progress=seen.append)
    assert seen[-1] == 100 and seen == sorted(seen)
    with pytest.raises(CancelledError):
        run_bathtub(z, 1.0, 70.0, is_cancelled=lambda: True)
    with pytest.raises(ValueError):
        run_bathtub(z, 0.0, 70.0)
    with pytest.raises(ValueError):
        run_bathtub(z, 1.0, 70.0, runoff_coeff=np.ones((2, 2)))


def test_analysis_reused_for_several_events():
    z, coeff = terrace()
    analysis = analyse_depressions(z)
    for rain in (100.0, 500.0, 2000.0):
        again = run_bathtub(z, 1.0, rain, runoff_coeff=coeff, analysis=analysis, min_depth=0.0)
        fresh = run_bathtub(z, 1.0, rain, runoff_coeff=coeff, min_depth=0.0)
        np.testing.assert_array_equal(again.depth, fresh.depth)


@pytest.mark.parametrize("seed", range(12))
def test_fill_equals_reference_priority_flood(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 30, size=2))
    z = rng.random(shape).astype(np.float32)
    if seed % 3 == 0:
        z = np.round(z * 4) / 4  # many flats
    valid = rng.random(shape) > 0.1 if seed % 2 else np.ones(shape, dtype=bool)
    dem = np.where(valid, z, -9999.0).astype(np.float32)
    ours = fill_depressions(dem, nodata=-9999.0)
    reference = priority_flood(z, valid)
    np.testing.assert_array_equal(np.isnan(ours), ~valid)
    np.testing.assert_array_equal(ours[valid], reference[valid].astype(np.float32))
    result = run_bathtub(dem, 1.0, 50.0, nodata=-9999.0, min_depth=0.0)
    assert result.stored_m3 + result.spilled_out_m3 == pytest.approx(result.total_runoff_m3)
    assert float(np.nansum(result.depth)) == pytest.approx(result.stored_m3, rel=1e-4, abs=1e-6)


def test_fill_equals_saga_wang_liu(shared_data, tmp_path):
    """Our filled surface against SAGA's Fill Sinks (Wang & Liu) with MINSLOPE 0, on the Delft DTM (with nodata)."""
    saga = shutil.which("saga_cmd")
    if saga is None:
        pytest.skip("saga_cmd not installed (Debian package 'saga'); bench/bench_bathtub.py installs it")
    from osgeo import gdal

    from dtfl_plugin.models.local.raster_io import read_grid, write_geotiff

    grid = read_grid(str(shared_data / "3d" / "derived" / "ahn3_delft_dtm_1m.tif"))
    noisy = grid.array + np.random.default_rng(7).uniform(-0.02, 0.02, grid.array.shape).astype(np.float32)
    noisy[grid.array == grid.nodata] = grid.nodata
    for name, dem in (("delft", grid.array), ("noisy", noisy)):
        src = write_geotiff(str(tmp_path / f"{name}.tif"), dem, grid.geotransform, grid.wkt, grid.nodata)
        out = tmp_path / f"{name}_saga.sdat"
        cmd = [saga, "ta_preprocessor", "4", "-ELEV", src, "-FILLED", str(out), "-MINSLOPE", "0"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        ds = gdal.Open(str(out))  # keep the dataset alive while its band is used
        band = ds.GetRasterBand(1)
        theirs = band.ReadAsArray().astype(np.float32)
        theirs_valid = theirs != band.GetNoDataValue()
        band = ds = None
        ours = fill_depressions(dem, nodata=grid.nodata)
        np.testing.assert_array_equal(theirs_valid, ~np.isnan(ours))
        assert np.abs(ours[theirs_valid] - theirs[theirs_valid]).max() == 0.0
        assert np.count_nonzero(ours[theirs_valid] > dem[theirs_valid]) > 100  # something was filled


def test_events_table():
    assert [e.rain_mm for e in EVENTS[:3]] == [70.0, 90.0, 160.0]
    assert [e.duration_h for e in EVENTS[:3]] == [1.0, 1.0, 2.0]
    assert event_by_key("t1000").return_period_years == 1000
    assert rain_depth(1, None) == 90.0
    assert rain_depth(3, 42.0) == 42.0
    with pytest.raises(ValueError):
        rain_depth(3, None)


def test_geotiff_written_atomically_with_normal_permissions(tmp_path):
    import os

    from dtfl_plugin.models.local.raster_io import polygonize, rasterize, read_grid, write_geotiff

    gt, array = (1000.0, 2.0, 0.0, 2000.0, 0.0, -2.0), np.arange(12, dtype=np.float32).reshape(3, 4)
    path = write_geotiff(str(tmp_path / "sub" / "a.tif"), array, gt, "", -9999.0)
    grid = read_grid(path)
    np.testing.assert_array_equal(grid.array, array)
    assert grid.cell_size == 2.0 and grid.square and grid.bbox == (1000.0, 1994.0, 1008.0, 2000.0)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(TypeError):  # fails after GDAL created the file: the temporary file is removed
        write_geotiff(str(tmp_path / "sub" / "b.tif"), array, (1.0, 2.0), "")
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["a.tif"]
    # rasterize -> polygonize round trip: a 2 x 2 cell square keeps its area (4 cells of 4 m2)
    labels = np.zeros((3, 4), np.int32)
    labels[0:2, 1:3] = 7
    shapes = polygonize(labels, gt, "")
    assert [label for label, _ in shapes] == [7]
    back = rasterize([(shapes[0][1], 7)], labels.shape, gt, "", dtype=5)  # 5 = GDT_Int32
    np.testing.assert_array_equal(back, labels)
