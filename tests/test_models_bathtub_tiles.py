"""dtfl:bathtub_flooding runs tiled: with many small tiles it gives what the in-memory core gives on the whole grid
(BGT land cover, open water as outlets, buildings as walls, facade depths), and its outputs are styled to be read."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

ALG = "dtfl:bathtub_flooding"


@pytest.fixture()
def small_tiles():
    from dtfl_plugin.models.algorithms.bathtub_flooding import TILE_KEY
    from dtfl_plugin.settings import get_str, set_str

    before = get_str(TILE_KEY, "")
    set_str(TILE_KEY, "64")  # the sample is 230 x 265 cells: 20 tiles
    yield
    set_str(TILE_KEY, before)


def _in_memory(dem_path, landcover, buildings, rain, loss):
    """The whole-grid reference, rasterised as the algorithm did before it was tiled."""
    from qgis.core import QgsVectorLayer

    from dtfl_plugin.models.local import bathtub_core, raster_io, walls
    from dtfl_plugin.models.local import landcover as cover

    grid = raster_io.read_grid(dem_path)
    args = (grid.array.shape, grid.geotransform, grid.wkt)
    by_class = defaultdict(list)
    for uri in landcover:
        layer = QgsVectorLayer(uri, uri.split("=")[-1], "ogr")
        names = layer.fields().names()
        for f in layer.getFeatures():
            found = cover.classify(dict(zip(names, f.attributes())), f"{layer.name()} {layer.source()}")
            if found is not None and not f.geometry().isEmpty():
                by_class[found[0]].append((bytes(f.geometry().asWkb()), found[1]))
    shapes = [s for c in cover.PRIORITY if c != cover.WATER for s in by_class.get(c, [])]
    coeff = raster_io.rasterize(shapes, *args, fill=cover.DEFAULT_COEFFICIENT).astype(np.float32)
    water = [(w, 1.0) for w, _ in by_class[cover.WATER]]
    outlets = raster_io.rasterize(water, *args, fill=0.0) > 0.5 if water else None
    layer = QgsVectorLayer(buildings, "b", "ogr")
    feats = list(layer.getFeatures())
    shapes = [(bytes(f.geometry().asWkb()), i + 1) for i, f in enumerate(feats) if f.hasGeometry()]
    foot = raster_io.rasterize(shapes, *args, dtype=raster_io.gdal.GDT_Int32).astype(np.int32)
    present = np.zeros(len(feats) + 1, dtype=bool)
    present[np.unique(foot)] = True
    small = [(w, i) for w, i in shapes if not present[int(i)]]
    if small:
        touched = raster_io.rasterize(small, *args, dtype=raster_io.gdal.GDT_Int32, all_touched=True)
        foot = np.where(foot == 0, touched, foot).astype(np.int32)
    valid = np.isfinite(grid.array) & (grid.array != grid.nodata)
    if outlets is not None:
        valid &= ~outlets
    foot = walls.close_pockets(foot, valid, walls.pocket_cells(grid.cell_size))
    result = bathtub_core.run_bathtub(
        grid.array, grid.cell_size, rain, loss, runoff_coeff=coeff, nodata=grid.nodata, outlets=outlets, walls=foot > 0
    )
    return result, bathtub_core.facade_max_depth(result.depth, foot, len(feats))


def test_tiled_algorithm_equals_the_whole_grid(processing_ready, shared_data, small_tiles, tmp_path):
    import processing
    from osgeo import gdal
    from qgis.core import QgsVectorLayer

    base = shared_data / "3d"
    gpkg = str(base / "bgt" / "bgt_delft.gpkg")
    landcover = [f"{gpkg}|layername=bgt_{n}" for n in ("wegdeel", "begroeidterreindeel", "waterdeel", "pand")]
    params = {
        "DEM": str(base / "derived" / "ahn3_delft_dtm_1m.tif"),
        "EVENT": 1,
        "LOSS_MM": 10.0,
        "LANDCOVER": landcover,
        "BUILDINGS": f"{gpkg}|layername=bgt_pand",
        "OUTPUT_DEPTH": str(tmp_path / "depth.tif"),
        "OUTPUT_DEPRESSIONS": str(tmp_path / "dep.gpkg"),
        "OUTPUT_BUILDINGS": str(tmp_path / "b.gpkg"),
    }
    result = processing.run(ALG, params)
    ref, facade = _in_memory(params["DEM"], landcover, params["BUILDINGS"], 90.0, 10.0)
    depth = gdal.Open(result["OUTPUT_DEPTH"]).ReadAsArray()
    expected = np.where(np.isnan(ref.depth), np.float32(-9999.0), ref.depth)
    assert np.abs(depth - expected).max() <= 0.001 and (depth > 0.05).sum() > 50
    assert result["STORED_M3"] == pytest.approx(ref.stored_m3, rel=1e-9)
    got = [f["facade_depth_m"] for f in QgsVectorLayer(result["OUTPUT_BUILDINGS"], "b", "ogr").getFeatures()]
    assert np.allclose(got, facade[1:], atol=0.001) and sum(d >= 0.05 for d in got) > 0
    assert QgsVectorLayer(result["OUTPUT_DEPRESSIONS"], "d", "ogr").featureCount() == len(ref.table)


def test_outputs_are_styled_in_depth_classes(processing_ready, shared_data, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    from dtfl_plugin.models import styles

    base = shared_data / "3d"
    gpkg = str(base / "bgt" / "bgt_delft.gpkg")
    out = {"OUTPUT_DEPTH": str(tmp_path / "d.tif"), "OUTPUT_DEPRESSIONS": str(tmp_path / "p.gpkg"), "OUTPUT_BUILDINGS": str(tmp_path / "b.gpkg")}  # fmt: skip
    processing.run(
        ALG, {"DEM": str(base / "derived" / "ahn3_delft_dtm_1m.tif"), "BUILDINGS": f"{gpkg}|layername=bgt_pand", **out}
    )
    depth = QgsRasterLayer(out["OUTPUT_DEPTH"], "depth")
    styles.style_water_depth(depth)
    items = depth.renderer().shader().rasterShaderFunction().colorRampItemList()
    assert items[0].color.alpha() == 0 and items[0].value == pytest.approx(0.05)  # nothing under 5 cm
    assert [round(i.value, 2) for i in items[1:-1]] == [0.10, 0.15, 0.20, 0.30]
    assert all(" m" in i.label for i in items)
    legend = [label for label, _ in depth.renderer().legendSymbologyItems()]
    assert "0.05 – 0.10 m" in legend and not any("Band" in text for text in legend)
    buildings = QgsVectorLayer(out["OUTPUT_BUILDINGS"], "b", "ogr")
    styles.style_buildings(buildings)
    ranges = buildings.renderer().ranges()
    assert ranges[0].symbol().color().name() == styles.DRY_GREY and len(ranges) == 6
    wet = [f for f in buildings.getFeatures() if f["facade_depth_m"] >= 0.05]
    dry = [f for f in buildings.getFeatures() if f["facade_depth_m"] < 0.05]
    assert wet and dry
    depressions = QgsVectorLayer(out["OUTPUT_DEPRESSIONS"], "p", "ogr")
    styles.style_depressions(depressions)
    assert depressions.renderer().symbol().symbolLayer(0).brushStyle() == 0  # Qt.NoBrush: outlines only


def test_slivers_between_buildings_hold_no_water(processing_ready, shared_data, tmp_path):
    """On the gap-filled DTM, cells between touching footprints used to collect the runoff of the roofs around
    them (13.7 m against a facade from one cell); closed, deep water only stands in areas larger than a sliver."""
    import processing
    from osgeo import gdal
    from scipy import ndimage

    base = shared_data / "3d"
    out = {"OUTPUT_DEPTH": str(tmp_path / "d.tif"), "OUTPUT_DEPRESSIONS": str(tmp_path / "p.gpkg"), "OUTPUT_BUILDINGS": str(tmp_path / "b.gpkg")}  # fmt: skip
    params = {"DEM": str(base / "derived" / "ahn3_delft_dtm_1m_filled.tif"), "EVENT": 0, "LOSS_MM": 5.0}
    processing.run(ALG, {**params, "BUILDINGS": f"{base / 'bgt' / 'bgt_delft.gpkg'}|layername=bgt_pand", **out})
    depth = gdal.Open(out["OUTPUT_DEPTH"]).ReadAsArray()
    labels, n = ndimage.label(depth > 0.05, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())
    deep = np.unique(labels[depth > 1.0])
    assert n > 10 and all(sizes[d] > 5 for d in deep if d > 0)


def test_close_pockets_keeps_courtyards_and_open_gaps():
    from dtfl_plugin.models.local.walls import close_pockets

    foot = np.zeros((12, 14), dtype=np.int32)
    foot[2:10, 2:6], foot[2:10, 7:12] = 1, 2  # two buildings with a 1-cell sliver (col 6) between them ...
    foot[2, 6] = foot[9, 6] = 1  # ... closed at both ends: a pocket
    foot[4:7, 8:11] = 0  # a 3 x 3 courtyard (9 cells) inside building 2
    valid = np.ones(foot.shape, dtype=bool)
    closed = close_pockets(foot, valid, max_cells=8)
    assert (closed[3:9, 6] > 0).all()  # the sliver joined a building
    assert (closed[4:7, 8:11] == 0).all()  # the courtyard stays
    valid[5, 6] = False  # a sliver with nodata drains there: left open
    assert (close_pockets(foot, valid, max_cells=8)[3:9, 6] == 0).all()
