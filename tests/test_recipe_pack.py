"""Packaging a real Delft twin (native/GDAL runs recorded) as a signed recipe; verifying it with our code,
Debian's minisign, sha256sum and rocrate-validator (offline)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.recipe import AREA_A, build_twin, native_steps


@pytest.fixture(scope="module")
def twin(tmp_path_factory, shared_data, processing_ready):
    folder = tmp_path_factory.mktemp("twin")
    return build_twin(folder, shared_data, native_steps(AREA_A, shared_data, folder))


@pytest.fixture(scope="module")
def packed(twin, recipe_key, tmp_path_factory):
    from dtfl_plugin.recipe.pack import PackOptions, pack

    before = hashlib.sha256(twin.read_bytes()).hexdigest()
    out = tmp_path_factory.mktemp("out") / "twin.dtfl.zip"
    result = pack(PackOptions(project=twin, output=out, secret_key=recipe_key, name="Delft twin"))
    assert hashlib.sha256(twin.read_bytes()).hexdigest() == before, "packaging changed the source project"
    extracted = out.parent / "extracted"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(extracted)
    return result, extracted


def test_layout_steps_and_relative_project(packed, twin):
    result, folder = packed
    names = set(result.members)
    assert {
        "ro-crate-metadata.json",
        "project/recipe.qgs",
        "manifest-sha256.txt",
        "manifest-sha256.txt.minisig",
        "provenance/prov.json",
    } <= names
    steps = sorted(n for n in names if n.startswith("steps/"))
    assert steps == [
        "steps/001-gdal-cliprasterbyextent.json",
        "steps/002-native-extractbyextent.json",
        "steps/003-native-buffer.json",
    ]
    third = json.loads((folder / steps[2]).read_text())
    assert third["algorithm"] == "native:buffer" and third["inputs"]["DISTANCE"] == 2.0
    assert third["dtfl"]["links"] == {"INPUT": {"step": 2, "output": "OUTPUT"}}
    assert third["inputs"]["INPUT"].startswith("data/"), third["inputs"]["INPUT"]
    first = json.loads((folder / steps[0]).read_text())
    assert first["dtfl"]["area_parameters"] == ["PROJWIN"]
    project = (folder / "project/recipe.qgs").read_text()
    assert str(twin.parent) not in project and "/work/shared" not in project, "absolute paths left in the project"
    assert "<datasource>../data/" in project
    # styles and data are there, one QML per layer
    assert sum(1 for n in names if n.startswith("styles/") and n.endswith(".qml")) == 5


def test_project_in_recipe_opens_in_qgis(packed, qgis_app):
    from qgis.core import QgsProject

    _, folder = packed
    project = QgsProject()
    assert project.read(str(folder / "project/recipe.qgs"))
    layers = list(project.mapLayers().values())
    assert len(layers) == 5 and all(layer.isValid() for layer in layers), [(x.name(), x.source()) for x in layers]
    for layer in layers:
        assert Path(layer.source().split("|")[0]).resolve().is_relative_to(folder.resolve())
    project.clear()


def test_crate_create_actions(packed):
    _, folder = packed
    graph = {e["@id"]: e for e in json.loads((folder / "ro-crate-metadata.json").read_text())["@graph"]}
    root = graph["./"]
    actions = [graph[m["@id"]] for m in root["mentions"]]
    assert [a["instrument"]["@id"].split("=")[-1] for a in actions] == [
        "gdal:cliprasterbyextent",
        "native:extractbyextent",
        "native:buffer",
    ]
    for action in actions:
        assert action["actionStatus"] == "http://schema.org/CompletedActionStatus"
        assert action["startTime"] and action["endTime"] and graph[action["agent"]["@id"]]["@type"] == "Person"
        assert graph[action["instrument"]["@id"]]["version"]
        kinds = {
            graph[o["@id"]]["@type"] if isinstance(graph[o["@id"]]["@type"], str) else "File" for o in action["object"]
        }
        assert {"File", "PropertyValue"} <= kinds
        assert action["result"], action
    for ident, entity in graph.items():
        if entity.get("@type") == "File" or "File" in entity.get("@type", []):
            assert len(entity["sha256"]) == 64 and int(entity["contentSize"]) == (folder / ident).stat().st_size
    pand = next(e for e in graph.values() if e.get("name") == "BGT pand")
    assert (
        graph[pand["license"]["@id"]]["name"] == "CC0-1.0"
        and graph[pand["copyrightHolder"]["@id"]]["name"] == "Kadaster"
    )


def test_verify_valid_and_tools_agree(packed, recipe_key):
    from dtfl_plugin.recipe.verify import verify_recipe

    result, folder = packed
    report = verify_recipe(result.output, [("test", recipe_key.public)])
    assert report.valid and report.signature == "valid" and report.problems == [], report.problems
    assert report.trusted_comment.startswith(f"recipe={result.recipe_id} time=")
    # Debian's minisign verifies our signature over the manifest, sha256sum checks every file of the manifest
    pub = folder.parent / "key.pub"
    pub.write_text(recipe_key.public.to_text())
    proc = subprocess.run(
        ["minisign", "-V", "-p", str(pub), "-m", str(folder / "manifest-sha256.txt")], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "recipe=" in proc.stdout, proc.stdout + proc.stderr
    proc = subprocess.run(
        ["sha256sum", "-c", "--strict", "manifest-sha256.txt"], cwd=folder, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("profile", ["ro-crate-1.1", "process-run-crate-0.5"])
def test_rocrate_validator_offline(packed, rocrate_validate, profile, tmp_path):
    _, folder = packed
    crate = tmp_path / "crate"
    shutil.copytree(folder, crate)
    report = rocrate_validate(crate, profile)
    issues = [(i.get("severity"), i.get("message", "")[:200]) for i in report.get("issues", [])]
    assert report["passed"] is True and report["_exit_code"] == 0, issues


def test_clip_to_area_and_cancel(twin, recipe_key, tmp_path):
    from osgeo import gdal

    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe.pack import PackOptions, Progress, pack

    area = ((84900.0, 447500.0, 84950.0, 447560.0), "EPSG:28992")
    out = tmp_path / "clipped.dtfl.zip"
    result = pack(PackOptions(project=twin, output=out, secret_key=recipe_key, area=area))
    with zipfile.ZipFile(out) as zf:
        dem = next(n for n in zf.namelist() if n.startswith("data/ahn3"))
        zf.extract(dem, tmp_path)
        meta = json.loads(zf.read("ro-crate-metadata.json"))
    ds = gdal.Open(str(tmp_path / dem))
    assert (ds.RasterXSize, ds.RasterYSize) == (50, 60)
    assert any(e.get("@id") == "#area" for e in meta["@graph"])
    assert result.signed
    # cancelled half-way: no recipe, no part file
    calls = []
    cancelled = tmp_path / "cancelled.dtfl.zip"
    with pytest.raises(RecipeError, match="cancelled"):
        pack(
            PackOptions(project=twin, output=cancelled),
            Progress(is_cancelled=lambda: calls.append(1) or len(calls) > 3),
        )
    assert not cancelled.exists() and not list(tmp_path.glob("cancelled*"))


def test_unsaved_project_is_refused(tmp_path):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe.pack import PackOptions, pack

    with pytest.raises(RecipeError, match="does not exist"):
        pack(PackOptions(project=tmp_path / "nope.qgs", output=tmp_path / "x.dtfl.zip"))
    assert not list(tmp_path.iterdir())


def test_processing_model_becomes_a_computational_workflow(tmp_path, shared_data, processing_ready, recipe_key):
    """A run of a .model3 model: the model file travels as ComputationalWorkflow with FormalParameters."""
    from processing.modeler.ModelerUtils import ModelerUtils
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelOutput,
        QgsProcessingModelParameter,
        QgsProcessingParameterExtent,
        QgsProcessingParameterRasterLayer,
    )

    from dtfl_plugin.recipe.pack import PackOptions, pack
    from tests.fixtures.recipe import AREA_A, extent_string

    model = QgsProcessingModelAlgorithm("dtfl recipe test clip", "dtfl")
    model.addModelParameter(QgsProcessingParameterRasterLayer("DEM", "DEM"), QgsProcessingModelParameter("DEM"))
    model.addModelParameter(QgsProcessingParameterExtent("AREA", "Area"), QgsProcessingModelParameter("AREA"))
    child = QgsProcessingModelChildAlgorithm("gdal:cliprasterbyextent")
    child.setChildId("clip")
    child.addParameterSources("INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter("DEM")])
    child.addParameterSources("PROJWIN", [QgsProcessingModelChildParameterSource.fromModelParameter("AREA")])
    output = QgsProcessingModelOutput("clipped")
    output.setChildOutputName("OUTPUT")
    output.setChildId("clip")
    child.setModelOutputs({"clipped": output})
    model.addChildAlgorithm(child)
    folder = Path(ModelerUtils.modelsFolders()[0])
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / "dtfl_recipe_test_clip.model3"
    assert model.toFile(str(model_path))
    provider = processing_ready.providerById("model")
    provider.refreshAlgorithms()
    alg = next(a for a in provider.algorithms() if a.displayName() == "dtfl recipe test clip")
    try:
        steps = [
            (
                alg.id(),
                {
                    "DEM": str(shared_data / "3d/derived/ahn3_delft_dtm_1m_filled.tif"),
                    "AREA": extent_string(AREA_A),
                    "clip:clipped": str(tmp_path / "clipped.tif"),
                },
            )
        ]
        project = build_twin(tmp_path / "twin", shared_data, steps)
        result = pack(PackOptions(project=project, output=tmp_path / "m.dtfl.zip", secret_key=recipe_key))
        with zipfile.ZipFile(result.output) as zf:
            graph = {e["@id"]: e for e in json.loads(zf.read("ro-crate-metadata.json"))["@graph"]}
            step = json.loads(zf.read(next(n for n in zf.namelist() if n.startswith("steps/"))))
        model_entity = graph["models/dtfl_recipe_test_clip.model3"]
        assert "ComputationalWorkflow" in model_entity["@type"]
        inputs = {graph[i["@id"]]["name"]: graph[i["@id"]] for i in model_entity["input"]}
        assert set(inputs) == {"DEM", "AREA"} and all(
            p["@type"] == "FormalParameter" and p["additionalType"] for p in inputs.values()
        )
        assert [graph[o["@id"]]["name"] for o in model_entity["output"]] == ["clip:clipped"]
        assert step["dtfl"]["area_parameters"] == ["AREA"]
    finally:
        model_path.unlink(missing_ok=True)
        provider.refreshAlgorithms()


def test_qgz_project_packs_like_qgs(twin, tmp_path):
    """A .qgz (zipped project) is read from inside its archive; the result is the same recipe layout."""
    from dtfl_plugin.recipe.pack import PackOptions, pack

    qgz = twin.with_name("twin-zipped.qgz")
    with zipfile.ZipFile(qgz, "w") as zf:
        zf.write(twin, "twin-zipped.qgs")
    try:
        result = pack(PackOptions(project=qgz, output=tmp_path / "z.dtfl.zip"))
    finally:
        qgz.unlink()
    plain = pack(PackOptions(project=twin, output=tmp_path / "q.dtfl.zip"))

    def layout(members):
        return sorted(m for m in members if m.startswith(("data/", "steps/")))

    assert "project/recipe.qgs" in result.members
    assert sum(1 for m in result.members if m.startswith("data/")) >= 5
    assert sum(1 for m in result.members if m.startswith("steps/")) == 3
    assert layout(result.members) == layout(plain.members)


def test_step_reruns_headless_with_qgis_process(packed, tmp_path, qgis_app):
    """steps/003-native-buffer.json fed to `qgis_process run native:buffer -` in the unpacked recipe gives the
    recorded result (JSON input on stdin exists since QGIS 3.24)."""
    import os

    from osgeo import ogr
    from qgis.core import Qgis

    from tests.qgis_process import find_qgis_process

    if Qgis.QGIS_VERSION_INT < 32400:
        pytest.skip(f"qgis_process reads JSON input from stdin since QGIS 3.24; this is {Qgis.QGIS_VERSION}")
    exe = find_qgis_process()
    if exe is None:
        pytest.skip("qgis_process is not installed (Debian package qgis)")
    _, folder = packed
    doc = json.loads((folder / "steps/003-native-buffer.json").read_text())
    doc["inputs"]["OUTPUT"] = str(tmp_path / "rerun.gpkg")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "profile"))
    proc = subprocess.run(
        [exe, "--json", "run", "native:buffer", "-"],
        input=json.dumps(doc),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rerun, recorded = ogr.Open(str(tmp_path / "rerun.gpkg")), ogr.Open(str(folder / doc["dtfl"]["outputs"]["OUTPUT"]))
    assert rerun.GetLayer(0).GetFeatureCount() == recorded.GetLayer(0).GetFeatureCount() > 0


def test_two_clipped_layers_of_one_geopackage_keep_their_steps_apart(tmp_path, shared_data, qgis_app, recipe_key):
    """Clipping splits one GeoPackage into a file per layer: a step that read the second layer must read the
    second file in the recipe (it used to be rewritten to the first)."""
    from qgis.core import QgsProject, QgsVectorLayer

    from dtfl_plugin.provenance.record import RunRecord, file_input
    from dtfl_plugin.recipe.pack import PackOptions, pack

    bgt = shared_data / "3d/bgt/bgt_delft.gpkg"
    project = QgsProject()
    for name in ("bgt_pand", "bgt_wegdeel"):
        project.addMapLayer(QgsVectorLayer(f"{bgt}|layername={name}", name, "ogr"))
    path = tmp_path / "two.qgs"
    assert project.write(str(path))
    project.clear()
    runs = [
        RunRecord(
            "native:buffer", "1", {"INPUT": f"{bgt}|layername={name}", "DISTANCE": 1.0}, [file_input("INPUT", bgt)]
        )
        for name in ("bgt_wegdeel", "bgt_pand")
    ]
    out = tmp_path / "two.dtfl.zip"
    result = pack(PackOptions(project=path, output=out, secret_key=recipe_key, area=AREA_A, extra_runs=runs))
    with zipfile.ZipFile(out) as zf:
        first = json.loads(zf.read("steps/001-native-buffer.json"))
        second = json.loads(zf.read("steps/002-native-buffer.json"))
        crate = json.loads(zf.read("ro-crate-metadata.json"))
    assert "wegdeel" in first["inputs"]["INPUT"] and "pand" in second["inputs"]["INPUT"], (first, second)
    graph = {e["@id"]: e for e in crate["@graph"]}
    objects = [o["@id"] for o in graph["#run-001"]["object"] if o["@id"].startswith("data/")]
    assert objects and all("wegdeel" in o for o in objects), objects
    assert len([m for m in result.members if m.startswith("data/") and m.endswith(".gpkg")]) == 2
