"""Tiled screening (models/tiled) against the in-memory path: equal cell for cell, on synthetic DEMs whose
depressions and flow paths cross tile seams and on the real AHN sample; resume and cancel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from scipy import ndimage

from dtfl_plugin.models.local import bathtub_core, raster_io
from dtfl_plugin.models.local.depressions import CancelledError
from dtfl_plugin.models.tiled import engine

AHN = Path(__file__).resolve().parents[2] / "shared" / "data" / "3d" / "derived" / "ahn3_delft_dtm_1m.tif"


def _run_both(tmp_path, dem, tile, nodata=-9999.0, rain=70.0, loss=10.0, **kw):
    src = str(tmp_path / "dem.tif")
    if not (tmp_path / "dem.tif").exists():  # rewriting it would change its identity: no resume
        raster_io.write_geotiff(src, dem, (1000.0, 1.0, 0.0, 2000.0, 0.0, -1.0), "", nodata)
    ref = bathtub_core.run_bathtub(dem, 1.0, rain, loss, nodata=nodata)
    spec = engine.make_spec(src, str(tmp_path / "work"), rain, loss, tile=tile)
    res = engine.run_tiled(spec, str(tmp_path / "depth.tif"), str(tmp_path / "dep.tif"), **kw)
    return ref, res


def _assert_equal(ref, res):
    depth = gdal.Open(res.depth_path).ReadAsArray()
    expected = np.where(np.isnan(ref.depth), np.float32(-9999.0), ref.depth)
    assert np.abs(depth - expected).max() <= 0.001
    assert np.array_equal(gdal.Open(res.depressions_path).ReadAsArray(), ref.depressions)
    assert len(res.table) == len(ref.table)
    for a, b in zip(res.table, ref.table):
        assert a["cells"] == b["cells"] and a["id"] == b["id"]
        assert a["stored_m3"] == pytest.approx(b["stored_m3"], rel=1e-9, abs=1e-6)
    assert res.stored_m3 == pytest.approx(ref.stored_m3, rel=1e-9)
    assert res.spilled_out_m3 == pytest.approx(ref.spilled_out_m3, rel=1e-9, abs=1e-6)


def nested_basins() -> np.ndarray:
    """A plain draining west, with a lake of three nested pits (two sub-pits, one inside the other's rim) that
    spans three 20-cell tiles and spills east over a pass into a second lake; terraces make flat pits on seams."""
    z = np.full((40, 90), 5.0, dtype=np.float32)
    z += np.linspace(0, 1, 90, dtype=np.float32)[None, :]
    z[5:35, 8:62] = 6.5  # rim of lake A (cols 8..61: three tiles of 20)
    z[7:33, 10:60] = 3.0
    z[10:30, 12:30] = 1.0  # sub-pit A1 ...
    z[14:26, 16:24] = 0.5  # ... with a deeper pit inside
    z[10:30, 34:58] = 2.0  # sub-pit A2, behind the sill at 3.0 (cols 30..33)
    z[18:22, 62:66] = 6.0  # pass from A east into B
    z[5:35, 66:86] = 6.8
    z[7:33, 68:84] = 4.0  # lake B
    return z


@pytest.mark.parametrize("tile", [20, 23, 64])
def test_nested_basins_across_three_tiles(tmp_path, tile):
    dem = nested_basins()
    for rain, loss in ((70.0, 0.0), (400.0, 0.0), (2000.0, 0.0)):
        ref, res = _run_both(tmp_path / f"{rain}", dem, tile, rain=rain, loss=loss)
        _assert_equal(ref, res)
    assert res.tiles == (-(-40 // tile)) * (-(-90 // tile))


def test_partly_filled_lake_over_tiles(tmp_path):
    ref, res = _run_both(tmp_path, nested_basins(), 20, rain=900.0, loss=0.0)
    _assert_equal(ref, res)
    lake = max(res.table, key=lambda row: row["cells"])
    assert 0 < lake["fill_fraction"] < 1  # sub-pits fill and spill inside a lake that spans three tiles


@pytest.mark.parametrize("tile", [17, 50])
def test_random_terrain_with_flats_and_nodata(tmp_path, tile):
    rng = np.random.default_rng(7)
    dem = (ndimage.gaussian_filter(rng.normal(0, 1, (150, 130)), 4) * 10).astype(np.float32)
    dem = np.round(dem * 2) / 2  # terraces: flat pit regions that cross seams
    dem[60:75, 20:70] = -9999.0
    dem[0:3, 0:3] = np.nan
    ref, res = _run_both(tmp_path, dem.astype(np.float32), tile, rain=150.0, loss=5.0)
    _assert_equal(ref, res)


@pytest.mark.skipif(not AHN.is_file(), reason="the AHN sample (../shared/data/3d/derived) is absent")
@pytest.mark.parametrize("tile", [64, 100])
def test_real_ahn_sample(tmp_path, tile):
    ds = gdal.Open(str(AHN))
    dem = ds.ReadAsArray().astype(np.float32)
    nodata = ds.GetRasterBand(1).GetNoDataValue()
    ref, res = _run_both(tmp_path, dem, tile, nodata=nodata, rain=70.0, loss=10.0)
    _assert_equal(ref, res)


def test_cancel_then_resume_from_finished_tiles(tmp_path):
    dem = nested_basins()
    state = {"percent": 0.0}

    def progress(percent):
        state["percent"] = percent

    def cancel_in_output_phase():
        return state["percent"] > 90  # some output tiles are finished, others not

    with pytest.raises(CancelledError):
        _run_both(tmp_path, dem, 20, rain=900.0, loss=0.0, progress=progress, is_cancelled=cancel_in_output_phase)
    assert not (tmp_path / "depth.tif").exists()
    ref, res = _run_both(tmp_path, dem, 20, rain=900.0, loss=0.0)
    _assert_equal(ref, res)
    assert 0 < res.resumed_tiles < res.tiles


def test_dask_local_cluster_gives_the_same_result(tmp_path):
    pytest.importorskip("dask.distributed", reason="dask is a server/tooling dependency (requirements/test.txt)")
    from dtfl_plugin.models.tiled.executors import DaskExecutor

    with DaskExecutor(workers=2) as executor:
        ref, res = _run_both(tmp_path, nested_basins(), 20, rain=900.0, loss=0.0, executor=executor)
    _assert_equal(ref, res)


@pytest.mark.skipif(not AHN.is_file(), reason="the AHN sample (../shared/data/3d/derived) is absent")
def test_vrt_mosaic_of_ahn_tiles_with_nodata(tmp_path):
    """Four GeoTIFF sheets (as AHN is delivered) in one VRT, read in tiles that do not follow the sheets."""
    ds = gdal.Open(str(AHN))
    dem = ds.ReadAsArray().astype(np.float32)
    nodata = ds.GetRasterBand(1).GetNoDataValue()
    gt = ds.GetGeoTransform()
    sheets = []
    for r0, r1 in ((0, 120), (120, dem.shape[0])):
        for c0, c1 in ((0, 140), (140, dem.shape[1])):
            path = str(tmp_path / f"sheet_{r0}_{c0}.tif")
            sheet_gt = (gt[0] + c0 * gt[1], gt[1], 0.0, gt[3] + r0 * gt[5], 0.0, gt[5])
            raster_io.write_geotiff(path, dem[r0:r1, c0:c1], sheet_gt, ds.GetProjection(), nodata)
            sheets.append(path)
    vrt = str(tmp_path / "mosaic.vrt")
    gdal.BuildVRT(vrt, sheets)
    ref = bathtub_core.run_bathtub(dem, 1.0, 90.0, 10.0, nodata=nodata)
    spec = engine.make_spec(vrt, str(tmp_path / "work"), 90.0, 10.0, tile=96)
    res = engine.run_tiled(spec, str(tmp_path / "depth.tif"), str(tmp_path / "dep.tif"))
    assert res.tiles == 9
    _assert_equal(ref, res)


@pytest.mark.sandbox
def test_cog_over_http_range_reads(sandbox, tmp_path):
    """The catalogue's COG read in place through /vsicurl/ (GDAL range reads), as the algorithm does."""
    url = f"/vsicurl/{sandbox['files']}/ahn/ahn3_delft_dtm_1m.cog.tif"
    ds = gdal.Open(url)
    band = ds.GetRasterBand(1)
    ref = bathtub_core.run_bathtub(band.ReadAsArray().astype(np.float32), 1.0, 70.0, 10.0, nodata=band.GetNoDataValue())
    ds = None
    spec = engine.make_spec(url, str(tmp_path / "work"), 70.0, 10.0, tile=100)
    res = engine.run_tiled(spec, str(tmp_path / "depth.tif"), str(tmp_path / "dep.tif"))
    _assert_equal(ref, res)
