"""A twin the publish room was not built around: a geographic project CRS, one model run (no switch), building
footprints without any height, no CityJSON, no recipe. The site still has a map, a 3D view with the footprints
(drawn low, coloured by the run's facade values) and a provenance panel, and loads cleanly in Chromium."""

from __future__ import annotations

import json

import pytest

from tests.publish_support.browser import chromium, chromium_path, serve


@pytest.fixture(scope="module")
def plain_twin(processing_ready, shared_data, tmp_path_factory):
    from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRasterLayer, QgsVectorLayer

    from dtfl_plugin.models.styles import style_water_depth
    from dtfl_plugin.provenance.store import append_run
    from dtfl_plugin.recipe.runner import run_and_record

    folder = tmp_path_factory.mktemp("plain-twin")
    base = shared_data / "3d"
    project = QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    dem = QgsRasterLayer(str(base / "derived/ahn3_delft_dtm_1m.tif"), "dtm", "gdal")
    project.addMapLayer(dem)
    pand = str(base / "bgt/bgt_pand_delft.geojson")
    params = {"DEM": dem.source(), "EVENT": 3, "RAIN_MM": 40.0, "LOSS_MM": 0.0, "BUILDINGS": pand,
              "OUTPUT_DEPTH": str(folder / "depth.tif"), "OUTPUT_BUILDINGS": str(folder / "wet.gpkg"),
              "OUTPUT_DEPRESSIONS": str(folder / "sinks.gpkg")}  # fmt: skip
    results, record = run_and_record("dtfl:bathtub_flooding", params)
    append_run(project, record)
    depth = QgsRasterLayer(results["OUTPUT_DEPTH"], "depth", "gdal")
    style_water_depth(depth)  # as Processing styles it when it loads the output
    project.addMapLayer(depth)
    project.addMapLayer(QgsVectorLayer(results["OUTPUT_BUILDINGS"], "wet", "ogr"))
    path = folder / "plain.qgs"
    assert project.write(str(path))
    return path


def test_plain_twin_publishes_and_loads(plain_twin, tmp_path):
    import processing

    site = tmp_path / "site"
    result = processing.run("dtfl:publish_web", {"PROJECT": str(plain_twin), "LANGUAGE": 1, "OUTPUT": str(site)})
    data = json.loads((site / "data/site.json").read_text(encoding="utf-8"))
    assert result["SCENARIOS"] == 1 and len(data["scenarios"]) == 1
    assert data["scenarios"][0]["label"] == "Scenario 1"  # nothing to tell it apart from: a plain name
    html = (site / "index.html").read_text(encoding="utf-8")
    assert 'id="scenario-switch"' not in html and "not packaged as a recipe" in html
    buildings = json.loads((site / "data" / data["scene"]["buildings"]).read_text(encoding="utf-8"))["items"]
    assert len(buildings) == result["BUILDINGS"] > 50 and all("p" in b and b["t"] > b["b"] for b in buildings)
    assert any(b.get("d", {}).get("s1", [0])[0] > 0 for b in buildings)  # the run's facade values reached 3D
    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    with serve(site) as base, chromium() as browser:
        page = browser.open(base + "index.html#3d")
        page.page.wait_for_selector("body[data-scene=ready]", state="attached", timeout=90000)
        shots = __import__("pathlib").Path(__file__).resolve().parent.parent / "test-output" / "publish"
        shots.mkdir(parents=True, exist_ok=True)
        page.page.screenshot(path=str(shots / "plain-3d.png"))
        assert page.errors == []
        assert {u.split("/")[2] for u in page.requests if u.startswith("http")} == {base.split("/")[2]}
