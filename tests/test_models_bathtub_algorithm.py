"""dtfl:bathtub_flooding through Processing on the Delft sample (AHN3 DTM + BGT), and through qgis_process."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dtfl_plugin.models.local.landcover import classify
from dtfl_plugin.provenance.record import sha256_file

ALG = "dtfl:bathtub_flooding"


@pytest.fixture(scope="module")
def delft(shared_data):
    base = shared_data / "3d"
    gpkg = str(base / "bgt" / "bgt_delft.gpkg")
    return {
        "dtm": str(base / "derived" / "ahn3_delft_dtm_1m.tif"),
        "dtm_filled": str(base / "derived" / "ahn3_delft_dtm_1m_filled.tif"),
        "landcover": [f"{gpkg}|layername=bgt_{name}" for name in ("wegdeel", "begroeidterreindeel", "waterdeel")],
        "buildings": f"{gpkg}|layername=bgt_pand",
    }


def _read(path):
    from osgeo import gdal

    ds = gdal.Open(path)
    band = ds.GetRasterBand(1)
    array, nodata, gt = band.ReadAsArray(), band.GetNoDataValue(), ds.GetGeoTransform()
    band = ds = None
    return array, nodata, gt


def test_delft_with_bgt_landcover_and_buildings(processing_ready, delft, tmp_path):
    import processing
    from qgis.core import QgsProject, QgsVectorLayer

    from dtfl_plugin.provenance.store import load_runs

    before = len(load_runs(QgsProject.instance()))
    params = {
        "DEM": delft["dtm"],
        "EVENT": 2,  # 160 mm in 2 hours
        "LOSS_MM": 20.0,
        "LANDCOVER": delft["landcover"] + [delft["buildings"]],
        "BUILDINGS": delft["buildings"],
        "OUTPUT_DEPTH": str(tmp_path / "depth.tif"),
        "OUTPUT_DEPRESSIONS": str(tmp_path / "depressions.gpkg"),
        "OUTPUT_BUILDINGS": str(tmp_path / "buildings.gpkg"),
    }
    result = processing.run(ALG, params)

    depth, nodata, gt = _read(result["OUTPUT_DEPTH"])
    wet = depth[(depth != nodata)]
    assert wet.size > 0 and ((wet == 0) | (wet >= 0.05 - 1e-6)).all()
    assert np.count_nonzero(wet >= 0.05) > 50
    total, stored, out = result["TOTAL_RUNOFF_M3"], result["STORED_M3"], result["SPILLED_OUT_M3"]
    assert total > 0 and stored > 0
    assert stored + out == pytest.approx(total, rel=1e-9)
    cell_area = abs(gt[1] * gt[5])
    assert float(wet.sum()) * cell_area <= stored * (1 + 1e-5)  # the rest is water under 5 cm, left dry

    depressions = QgsVectorLayer(result["OUTPUT_DEPRESSIONS"], "d", "ogr")
    assert depressions.isValid() and depressions.featureCount() > 0
    rows = list(depressions.getFeatures())
    for f in rows:
        assert f["capacity_m3"] > 0 and 0.0 <= f["fill_frac"] <= 1.0 + 1e-9
        assert f["stored_m3"] <= f["capacity_m3"] * (1 + 1e-9)
        assert f["max_depth_m"] >= 0.05 and f.geometry().area() > 0
    assert sum(f["stored_m3"] for f in rows) <= stored * (1 + 1e-9)
    assert any(f["fill_frac"] == pytest.approx(1.0) for f in rows)

    buildings = QgsVectorLayer(result["OUTPUT_BUILDINGS"], "b", "ogr")
    assert buildings.featureCount() == 160
    facade = [f["facade_depth_m"] for f in buildings.getFeatures()]
    assert all(d >= 0 for d in facade) and sum(d >= 0.05 for d in facade) >= 1
    assert {f["wet"] for f in buildings.getFeatures()} <= {0, 1}
    assert "identificatiebagpnd" in buildings.fields().names()

    runs = load_runs(QgsProject.instance())
    assert len(runs) == before + 1
    run = runs[-1]
    assert run.algorithm_id == ALG and run.status == "completed"
    assert run.parameters["EVENT"] == 2 and run.parameters["LOSS_MM"] == 20.0
    dem_input = next(i for i in run.inputs if i.role == "DEM")
    assert dem_input.sha256 == sha256_file(delft["dtm"])
    assert {i.role for i in run.inputs} == {"DEM", "LANDCOVER", "BUILDINGS"}
    outputs = {o.name: o for o in run.outputs}
    assert outputs["OUTPUT_DEPTH"].sha256 == sha256_file(result["OUTPUT_DEPTH"])
    assert outputs["OUTPUT_DEPRESSIONS"].sha256 and outputs["OUTPUT_BUILDINGS"].sha256
    assert run.area["crs"] == "EPSG:28992" and run.area["bbox"] == [84808.0, 447412.0, 85073.0, 447642.0]


def test_landcover_lowers_runoff_and_water_is_an_outlet(processing_ready, delft, tmp_path):
    import processing

    common = {"DEM": delft["dtm_filled"], "EVENT": 0, "LOSS_MM": 0.0, "OUTPUT_DEPRESSIONS": "TEMPORARY_OUTPUT"}
    bare = processing.run(ALG, dict(common, OUTPUT_DEPTH=str(tmp_path / "bare.tif")))
    covered = processing.run(ALG, dict(common, LANDCOVER=delft["landcover"], OUTPUT_DEPTH=str(tmp_path / "c.tif")))
    # The gap-filled DTM has no nodata: bare runoff is exactly 70 mm over the whole grid
    depth, _, gt = _read(str(tmp_path / "bare.tif"))
    assert bare["TOTAL_RUNOFF_M3"] == pytest.approx(depth.size * abs(gt[1] * gt[5]) * 0.070)
    # Green (0.3) and open paving (0.8) lower the runoff; canals (waterdeel) swallow rain and become nodata
    assert covered["TOTAL_RUNOFF_M3"] < 0.95 * bare["TOTAL_RUNOFF_M3"]
    covered_depth, nodata, _ = _read(str(tmp_path / "c.tif"))
    assert np.count_nonzero(covered_depth == nodata) > 100
    assert covered["STORED_M3"] + covered["SPILLED_OUT_M3"] == pytest.approx(covered["TOTAL_RUNOFF_M3"])


def test_small_nodata_gaps_can_be_interpolated(processing_ready, delft, tmp_path):
    import processing

    from dtfl_plugin.models.local.raster_io import fill_small_gaps

    z = np.zeros((12, 12), np.float32)
    z[4:6, 4:6] = -9999.0  # an enclosed 4-cell gap: interpolated
    z[0:2, 8:10] = -9999.0  # a gap on the edge: stays
    z[7:11, 1:11] = -9999.0  # a 40-cell patch (a canal): stays
    out, filled = fill_small_gaps(z, -9999.0, 10)
    assert filled == 4 and (out[4:6, 4:6] == 0.0).all()
    assert (out[0:2, 8:10] == -9999.0).all() and (out[7:11, 1:11] == -9999.0).all()

    common = {"DEM": delft["dtm"], "EVENT": 2, "BUILDINGS": delft["buildings"], "OUTPUT_DEPRESSIONS": "memory:"}
    drains = processing.run(ALG, dict(common, OUTPUT_DEPTH=str(tmp_path / "a.tif")))
    ponds = processing.run(ALG, dict(common, FILL_GAPS_M2=50, OUTPUT_DEPTH=str(tmp_path / "b.tif")))
    assert ponds["TOTAL_RUNOFF_M3"] > drains["TOTAL_RUNOFF_M3"]  # rain on the filled gaps counts now
    assert ponds["STORED_M3"] > drains["STORED_M3"]


def test_errors_are_clear(processing_ready, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    from dtfl_plugin.models.local.raster_io import write_geotiff

    wgs84 = 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]'
    path = write_geotiff(str(tmp_path / "deg.tif"), np.zeros((5, 5), np.float32), (4.3, 1e-5, 0, 52.0, 0, -1e-5), wgs84)
    with pytest.raises(QgsProcessingException, match="degrees"):
        processing.run(ALG, {"DEM": path, "OUTPUT_DEPTH": str(tmp_path / "x.tif"), "OUTPUT_DEPRESSIONS": "memory:"})
    assert not (tmp_path / "x.tif").exists()


def test_cancel_leaves_no_depth_file(processing_ready, delft, tmp_path):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    feedback.cancel()
    target = tmp_path / "cancelled.tif"
    params = {"DEM": delft["dtm"], "OUTPUT_DEPTH": str(target), "OUTPUT_DEPRESSIONS": "memory:"}
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(ALG, params, feedback=feedback)
    assert not target.exists() and not list(tmp_path.glob(".dtfl-*"))


def test_help_says_screening(processing_ready):
    alg = processing_ready.algorithmById(ALG)
    text = alg.shortHelpString()
    assert "screening" in text and "not a hydrodynamic simulation" in text
    assert [p.name() for p in alg.parameterDefinitions()][:7] == [
        "DEM", "EVENT", "RAIN_MM", "LOSS_MM", "LANDCOVER", "BUILDINGS", "MIN_DEPTH",
    ]  # fmt: skip
    assert len(alg.parameterDefinition("EVENT").options()) == 4


@pytest.mark.parametrize(
    "attributes, layer, expected",
    [
        ({"surfacematerial": "gesloten verharding"}, "bgt_wegdeel", ("paved", 1.0)),
        ({"surfacematerial": "open verharding"}, "bgt_wegdeel", ("open_paved", 0.8)),
        ({"class": "groenvoorziening"}, "bgt_begroeidterreindeel", ("green", 0.3)),
        ({"class": "waterloop"}, "bgt_waterdeel", ("water", 0.0)),
        ({"identificatiebagpnd": 503100000018603}, "x", ("roof", 1.0)),
        ({"runoff_coeff": 0.42, "class": "waterloop"}, "x", ("custom", 0.42)),
        ({"class": "bos: loofbos"}, "begroeid", ("green", 0.3)),
        ({"surfacematerial": "open verharding", "relatievehoogteligging": 1}, "bgt_wegdeel", None),
        ({"foo": "bar"}, "roads", None),
    ],
)
def test_bgt_classification(attributes, layer, expected):
    assert classify(attributes, layer) == expected


@pytest.mark.slow
def test_qgis_process_with_string_values(delft, tmp_path, request):
    """qgis_process passes every value as a string; the packaged plugin runs in an isolated profile."""
    runner = _qgis_process_runner(tmp_path, request)
    args = [
        "--json", "run", ALG, "--",
        f"DEM={delft['dtm']}", "EVENT=3", "RAIN_MM=45.5", "LOSS_MM=5",
        f"LANDCOVER={delft['landcover'][0]}", f"LANDCOVER={delft['landcover'][2]}",
        f"BUILDINGS={delft['buildings']}", "MIN_DEPTH=0.05",
        f"OUTPUT_DEPTH={tmp_path / 'qp_depth.tif'}", f"OUTPUT_DEPRESSIONS={tmp_path / 'qp_dep.gpkg'}",
        f"OUTPUT_BUILDINGS={tmp_path / 'qp_bld.gpkg'}",
    ]  # fmt: skip
    proc = runner(*args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results = json.loads(proc.stdout)["results"]
    assert results["STORED_M3"] + results["SPILLED_OUT_M3"] == pytest.approx(results["TOTAL_RUNOFF_M3"])
    assert (tmp_path / "qp_depth.tif").is_file() and (tmp_path / "qp_bld.gpkg").is_file()
    assert json.loads(proc.stdout)["inputs"]["RAIN_MM"] in ("45.5", 45.5)


def _qgis_process_runner(tmp_path, request):
    import subprocess
    from pathlib import Path

    from tests.qgis_process import find_qgis_process, profile_runner

    if find_qgis_process() is None:
        pytest.skip("qgis_process is not installed (Debian package qgis); make setup installs it")
    try:
        zip_path = request.getfixturevalue("packaged_zip")  # the session's package, when the foundation offers it
    except pytest.FixtureLookupError:
        zip_path = tmp_path / "dtfl_plugin.zip"
        root = Path(__file__).resolve().parent.parent
        packed = subprocess.run(
            [str(root / "scripts" / "package.sh"), str(zip_path)], capture_output=True, text=True, check=False
        )
        assert packed.returncode == 0, packed.stdout + packed.stderr
    return profile_runner(tmp_path, zip_path)
