"""Issue 7 point 5, the proof: a flood-screening twin of the west half of the Delft sample (DEM clip, building
clip, dtfl:bathtub_flooding) packaged, re-cooked on the east half with dtfl:recipe_cook, and compared with
running the same steps by hand there."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.recipe import AREA_A, AREA_B, bathtub_steps, build_twin, extent_string


def _read_raster(path: Path):
    from osgeo import gdal

    ds = gdal.Open(str(path))
    return ds.GetRasterBand(1).ReadAsArray(), ds.GetGeoTransform()


def _features(path: Path) -> list[tuple]:
    from osgeo import ogr

    ds = ogr.Open(str(path))
    layer = ds.GetLayer(0)
    rows = []
    for feature in layer:
        items = feature.items()
        rows.append(
            (
                round(feature.GetGeometryRef().GetArea(), 3),
                tuple(sorted((k, v) for k, v in items.items() if k != "fid")),
            )
        )
    return sorted(rows)


@pytest.fixture(scope="module")
def flood_recipe(tmp_path_factory, shared_data, processing_ready, recipe_key):
    from qgis.core import QgsApplication

    if QgsApplication.processingRegistry().algorithmById("dtfl:bathtub_flooding") is None:
        pytest.fail("dtfl:bathtub_flooding is not registered by the DTFL provider")
    from dtfl_plugin.recipe.pack import PackOptions, pack

    folder = tmp_path_factory.mktemp("flood-twin")
    project = build_twin(folder, shared_data, bathtub_steps(AREA_A, shared_data, folder))
    out = folder / "flood-west.dtfl.zip"
    result = pack(PackOptions(project=project, output=out, secret_key=recipe_key, name="Delft flood screening west"))
    return result


def test_recook_on_east_half_equals_steps_by_hand(
    flood_recipe, trust, recipe_key, shared_data, tmp_path, processing_ready
):
    import processing

    from dtfl_plugin.recipe import sign
    from dtfl_plugin.recipe.verify import verify_recipe

    key_file = tmp_path / "k.key"
    key_file.write_text(sign.secret_key_to_text(recipe_key, "pw", opslimit=1 << 20, memlimit=1 << 24))
    cooked = tmp_path / "flood-east.dtfl.zip"
    result = processing.run(
        "dtfl:recipe_cook",
        {
            "RECIPE": str(flood_recipe.output),
            "EXTENT": extent_string(AREA_B),
            "OUTPUT": str(cooked),
            "SIGNING_KEY": str(key_file),
            "PASSPHRASE": "pw",
        },
    )
    assert result["BASED_ON"] == flood_recipe.recipe_id and result["RECIPE_ID"] != flood_recipe.recipe_id

    # the same steps by hand on the east half
    by_hand = tmp_path / "by-hand"
    by_hand.mkdir()
    for alg_id, params in bathtub_steps(AREA_B, shared_data, by_hand):
        processing.run(alg_id, params)

    report = verify_recipe(cooked, [("t", recipe_key.public)])
    assert report.valid, report.problems
    unpacked = tmp_path / "cooked"
    with zipfile.ZipFile(cooked) as zf:
        zf.extractall(unpacked)
    graph = {e["@id"]: e for e in json.loads((unpacked / "ro-crate-metadata.json").read_text())["@graph"]}
    root = graph["./"]
    assert root["isBasedOn"] == {"@id": flood_recipe.recipe_id}
    actions = [graph[m["@id"]] for m in root["mentions"]]
    assert [graph[a["instrument"]["@id"]]["identifier"] for a in actions] == [
        "gdal:cliprasterbyextent",
        "native:extractbyextent",
        "dtfl:bathtub_flooding",
    ]
    assert all(a["isBasedOn"] == {"@id": flood_recipe.recipe_id} for a in actions)
    first_step = json.loads((unpacked / "steps/001-gdal-cliprasterbyextent.json").read_text())
    assert first_step["inputs"]["PROJWIN"] == extent_string(AREA_B)

    # results: the cooked recipe's data equals the hand-made results
    runs = json.loads(_project_runs((unpacked / "project/recipe.qgs").read_text()))
    outputs = {o["name"]: o["location"] for o in runs[2]["outputs"]}
    cooked_depth, cooked_gt = _read_raster(unpacked / outputs["OUTPUT_DEPTH"])
    hand_depth, hand_gt = _read_raster(by_hand / "depth.tif")
    assert cooked_gt == hand_gt and cooked_gt[0] == pytest.approx(AREA_B[0][0], abs=1.0)
    assert np.array_equal(cooked_depth, hand_depth)
    assert (hand_depth > 0).sum() > 0, "the east half floods nowhere: the comparison would prove nothing"
    assert _features(unpacked / outputs["OUTPUT_DEPRESSIONS"]) == _features(by_hand / "depressions.gpkg")
    assert _features(unpacked / outputs["OUTPUT_BUILDINGS"]) == _features(by_hand / "buildings_wet.gpkg")
    # and it differs from the west half it was cooked from
    with zipfile.ZipFile(flood_recipe.output) as zf:
        west_runs = json.loads(_project_runs(zf.read("project/recipe.qgs").decode()))
        west_depth = {o["name"]: o["sha256"] for o in west_runs[2]["outputs"]}["OUTPUT_DEPTH"]
    assert west_depth != {o["name"]: o["sha256"] for o in runs[2]["outputs"]}["OUTPUT_DEPTH"]


def _project_runs(project_xml: str) -> str:
    from dtfl_plugin.recipe import qgsxml

    return qgsxml.read_entry(qgsxml.parse_project_bytes(project_xml.encode()), "DTFL", "runs")


def test_cooked_project_keeps_styles(flood_recipe, trust, tmp_path, processing_ready, qgis_app):
    from qgis.core import QgsProject

    from dtfl_plugin.recipe.cook import cook
    from dtfl_plugin.recipe.open import unpack

    result = cook(
        flood_recipe.output, AREA_B, tmp_path / "east.dtfl.zip", tmp_path / "work", trusted=[("t", trust.public)]
    )
    opened = unpack(result.output, tmp_path / "east", allow_untrusted=True)  # cooked without a signing key: unsigned
    assert opened.report.signature == "missing"
    original = unpack(flood_recipe.output, tmp_path / "west", trusted=[("t", trust.public)])

    def renderers(path: Path) -> dict:
        project = QgsProject()
        assert project.read(str(path))
        out = {}
        for layer in project.mapLayers().values():
            assert layer.isValid(), layer.name()
            renderer = layer.renderer()
            out[layer.name()] = renderer.type() if renderer is not None else ""
        project.clear()
        return out

    assert renderers(opened.project) == renderers(original.project)
