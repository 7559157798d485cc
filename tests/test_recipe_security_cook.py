"""Class: "re-cook runs whatever the recipe's steps say". Each hostile step (writing outside through GDAL options,
emptying a layer outside, reading the password file through SQL or a private GeoPackage, fetching URLs,
creating and trusting a key, adding a model server, naming a layer of the user's own project) is refused in the
plan, before anything runs; the controls run two of them directly and show they do harm."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.fixtures.recipe import AREA_B
from tests.fixtures.recipe_hostile import forge
from tests.fixtures.recipe_reach import outside_gpkg

PROJECT = b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version='3.22.16'><projectlayers/></qgis>"


def _step(algorithm: str, inputs: dict, order: int = 1) -> bytes:
    doc = {"algorithm": algorithm, "inputs": inputs, "dtfl": {"order": order, "status": "completed", "links": {}}}
    return json.dumps(doc).encode()


def _hostile_steps(outside, url: str) -> dict[str, tuple[str, dict]]:
    private = f"{outside}|layername=private"
    return {
        "gdal-config-writes-outside": ("gdal:convertformat", {"INPUT": "data/points.gpkg", "OPTIONS": f"--config CPL_LOG {outside.parent}/gdal.log --config CPL_DEBUG ON", "OUTPUT": "o.gpkg"}),
        "empties-outside-layer": ("native:truncatetable", {"INPUT": private}),
        "reads-passwd-by-sql": ("gdal:executesql", {"INPUT": "/etc/passwd", "SQL": "SELECT * FROM passwd", "OUTPUT": "o.gpkg"}),
        "reads-private-gpkg": ("native:extractbyextent", {"INPUT": private, "EXTENT": "84800,85000,447400,447600 [EPSG:28992]", "CLIP": False, "OUTPUT": "o.gpkg"}),
        "reads-env-in-expression": ("native:extractbyexpression", {"INPUT": "data/points.gpkg", "EXPRESSION": "env('HOME') IS NOT NULL", "OUTPUT": "o.gpkg"}),
        "fetches-url": ("native:filedownloader", {"URL": f"{url}x", "OUTPUT": "o.txt"}),
        "fetches-vsicurl": ("native:buffer", {"INPUT": f"/vsicurl/{url}x.gpkg", "DISTANCE": 1, "OUTPUT": "o.gpkg"}),
        "creates-trusted-key": ("dtfl:recipe_keygen", {"TRUST": True, "OUTPUT_PUBLIC": "k.pub", "OUTPUT_PRIVATE": "k.key"}),
        "adds-model-server": ("dtfl:remote_server", {"NAME": "evil", "URL": url}),
        "names-a-user-layer": ("native:buffer", {"INPUT": "BGT pand", "DISTANCE": 1, "OUTPUT": "o.gpkg"}),
        "sql-with-extension": ("native:extractbyexpression", {"INPUT": "data/points.gpkg", "EXPRESSION": "load_layer('/etc/passwd', 'ogr')", "OUTPUT": "o.gpkg"}),
    }  # fmt: skip


def _settings() -> dict:
    from qgis.core import QgsSettings

    settings = QgsSettings()
    return {k: settings.value(k) for k in settings.allKeys()}


@pytest.mark.parametrize("case", list(_hostile_steps(__import__("pathlib").Path("/x"), "http://x/")))
def test_hostile_step_refused_before_anything_runs(case, tmp_path, listener, recipe_key, points_gpkg, processing_ready):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe.cook import cook

    url = f"http://127.0.0.1:{listener.server_address[1]}/"
    private = outside_gpkg(tmp_path / "receiver")
    before = private.read_bytes()
    algorithm, inputs = _hostile_steps(private, url)[case]
    harmless = _step("native:buffer", {"INPUT": "data/points.gpkg", "DISTANCE": 1, "OUTPUT": "b.gpkg"}, 1)
    files = {
        "project/recipe.qgs": PROJECT,
        "data/points.gpkg": points_gpkg,
        "steps/001-buffer.json": harmless,
        "steps/002-hostile.json": _step(algorithm, inputs, 2),
    }
    recipe = forge(tmp_path / "r.dtfl.zip", files, recipe_key)
    settings = _settings()
    messages: list[str] = []
    from dtfl_plugin.recipe.progress import Progress

    with pytest.raises(RecipeError, match="refused; nothing was run") as info:
        cook(recipe, AREA_B, tmp_path / "out.dtfl.zip", tmp_path / "work", trusted=[("k", recipe_key.public)],
             progress=Progress(info=messages.append))  # fmt: skip
    assert "Step 2" in str(info.value) and "Step 1 " not in str(info.value), str(info.value)
    assert not list((tmp_path / "work/recipe/cooked").iterdir()), "a step ran although the plan was refused"
    assert not (tmp_path / "out.dtfl.zip").exists()
    assert private.read_bytes() == before and not (tmp_path / "receiver/gdal.log").exists()
    assert listener.hits == []
    assert _settings() == settings, "re-cooking changed the user's settings"
    assert any(algorithm in m for m in messages), "the plan was not shown"


def test_plan_is_shown_and_can_be_declined(tmp_path, recipe_key, points_gpkg, processing_ready):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe.cook import cook

    steps = {
        "steps/001-buffer.json": _step(
            "native:buffer", {"INPUT": "data/points.gpkg", "DISTANCE": 1, "OUTPUT": "b.gpkg"}, 1
        )
    }
    recipe = forge(tmp_path / "r.dtfl.zip", {"project/recipe.qgs": PROJECT, "data/points.gpkg": points_gpkg, **steps}, recipe_key)  # fmt: skip
    seen = []
    with pytest.raises(RecipeError, match="cancelled"):
        cook(recipe, AREA_B, tmp_path / "o.dtfl.zip", tmp_path / "w", trusted=[("k", recipe_key.public)],
             confirm=lambda plan: seen.append(plan) and False)  # fmt: skip
    plan = seen[0]
    assert not plan.problems and [s.algorithm for s in plan.steps] == ["native:buffer"]
    text = "\n".join(plan.lines())
    assert "native:buffer" in text and str(tmp_path / "w/recipe/cooked") in text
    assert not list((tmp_path / "w/recipe/cooked").iterdir())


def test_control_hostile_steps_do_harm_when_run(tmp_path, processing_ready):
    import processing

    private = outside_gpkg(tmp_path / "receiver")
    copy = tmp_path / "copy.gpkg"
    shutil.copy(private, copy)
    steps = _hostile_steps(copy, "http://127.0.0.1:9/")
    alg, params = steps["reads-private-gpkg"]
    out = processing.run(alg, {**params, "OUTPUT": str(tmp_path / "leak.gpkg")})["OUTPUT"]
    from qgis.core import QgsVectorLayer

    leaked = QgsVectorLayer(out, "leak", "ogr")
    assert [f["secret"] for f in leaked.getFeatures()] == ["PRIVATE-ROW"]
    alg, params = steps["empties-outside-layer"]
    processing.run(alg, params)
    assert QgsVectorLayer(f"{copy}|layername=private", "c", "ogr").featureCount() == 0


def test_processing_plan_only_runs_nothing(tmp_path, recipe_key, points_gpkg, trust, processing_ready):
    """dtfl:recipe_cook with 'Only show the plan': the plan comes back as an output, nothing runs or is written."""
    import processing

    from tests.fixtures.recipe import extent_string

    steps = {"steps/001-buffer.json": _step("native:buffer", {"INPUT": "data/points.gpkg", "DISTANCE": 1, "OUTPUT": "b.gpkg"}, 1)}  # fmt: skip
    recipe = forge(tmp_path / "r.dtfl.zip", {"project/recipe.qgs": PROJECT, "data/points.gpkg": points_gpkg, **steps}, recipe_key)  # fmt: skip
    out = tmp_path / "never.dtfl.zip"
    result = processing.run(
        "dtfl:recipe_cook",
        {"RECIPE": str(recipe), "EXTENT": extent_string(AREA_B), "OUTPUT": str(out), "PLAN_ONLY": True},
    )
    assert "native:buffer" in result["PLAN"] and result["RECIPE_ID"] == "" and not out.exists()


def test_models_pass_only_when_every_child_does(processing_ready):
    """A Processing model named by a step runs its children: it is judged by them."""
    from qgis.core import (
        QgsApplication,
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingProvider,
    )

    from dtfl_plugin.recipe.cookplan import algorithm_problem

    def model(name: str, children: list[str]) -> QgsProcessingModelAlgorithm:
        alg = QgsProcessingModelAlgorithm(name, "test")
        for i, child_id in enumerate(children):
            child = QgsProcessingModelChildAlgorithm(child_id)
            child.setChildId(f"c{i}")
            alg.addChildAlgorithm(child)
        return alg

    class Models(QgsProcessingProvider):
        def id(self):
            return "dtfltestmodels"

        def name(self):
            return "test models"

        def loadAlgorithms(self):  # noqa: N802
            self.addAlgorithm(model("good", ["native:buffer", "gdal:cliprasterbyextent"]))
            self.addAlgorithm(model("evil", ["native:buffer", "native:truncatetable"]))

    provider = Models()
    QgsApplication.processingRegistry().addProvider(provider)
    try:
        assert algorithm_problem("dtfltestmodels:good") == ""
        assert "native:truncatetable" in algorithm_problem("dtfltestmodels:evil")
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        ("oapif:// typename='gebouwen' url='http://127.0.0.1:8080'", True),  # a declared service, qgis_process form
        ("OAPIF:// typename='gebouwen' url='http://127.0.0.1:8080'", True),
        ("oapif:// typename='gebouwen' url='http://evil.example:8080'", False),  # a service the recipe did not declare
        ("ogr://{folder}/data/points.gpkg", True),  # the cook hands steps absolute paths inside the unpacked recipe
        ("ogr:///etc/passwd", False),
    ],
)
def test_provider_prefixed_layers_are_checked_by_their_source(layer, allowed, tmp_path, processing_ready):
    """Steps name layers as qgis_process does (provider://uri): the provider key is no scheme to refuse or trust."""
    from dtfl_plugin.recipe.cookplan import PlannedStep, check_step
    from dtfl_plugin.recipe.references import Scope

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.gpkg").write_bytes(b"")
    scope = Scope(tmp_path, tmp_path, ["http://127.0.0.1:8080/"])
    layer = layer.format(folder=tmp_path)
    step = PlannedStep(1, "native:extractbyextent", "", {"INPUT": layer, "OUTPUT": str(tmp_path / "out" / "x.gpkg")})
    check_step(step, scope, set(), {"OUTPUT"}, tmp_path / "out")
    assert (step.problems == []) is allowed, step.problems


def test_remote_models_run_only_on_servers_the_receiver_configured(tmp_path, processing_ready):
    from dtfl_plugin.recipe.cookplan import PlannedStep, algorithm_problem, check_step
    from dtfl_plugin.recipe.references import Scope

    assert algorithm_problem("dtfl:remote_server")  # adding a model server changes settings: never in a re-cook
    assert algorithm_problem("dtfl:remote_refresh")
    scope = Scope(tmp_path, tmp_path, [])
    step = PlannedStep(1, "dtfl:remote_execute", "", {"SERVER": "someone-elses-server", "PROCESS": "x", "INPUTS": "{}"})
    check_step(step, scope, set(), {"OUTPUT"}, tmp_path / "out")
    assert any("SERVER" in p for p in step.problems), step.problems
