"""Opening a signed recipe whose project carries every kind of code and credentials: all neutralised before
QGIS reads it, no canary file appears when QGIS does what it does with such projects, settings untouched.

A positive control reads the same project unneutralised and shows the canaries DO appear, so the test can fail.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.fixtures.recipe_hostile import forge, hostile_project

SECRETS = ("hunter2", "SECRETTOKEN1", "SECRETPASS2", "SECRETBEARER3", "abc1234")
EVIL_QML = b"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16"><attributeactions><actionsetting type="1" name="x" action="import os; os.system('id')"/></attributeactions>
<editforminitcode>import os</editforminitcode><editforminitcodesource>2</editforminitcodesource></qgis>"""


@pytest.fixture
def python_runner(qgis_app):
    """A Python runner as the QGIS desktop installs one: what lets actions/init code/functions run at all."""
    import traceback

    import qgis
    import qgis.utils
    from qgis.core import QgsPythonRunner

    namespace = {"__name__": "__main__", "qgis": qgis}

    class Runner(QgsPythonRunner):
        # Like QGIS desktop's runner: one namespace with qgis imported (QGIS 3.40 itself runs
        # "qgis.utils.clean_project_expression_functions()" through it), errors reported, never raised
        # into C++ (PyQt turns an exception escaping a virtual into an abort).
        def runCommand(self, command, message_on_error=""):  # noqa: N802
            try:
                exec(command, namespace)
            except Exception:
                traceback.print_exc()
                return False
            return True

        def evalCommand(self, command, *args):  # noqa: N802
            return False

    runner = Runner()
    QgsPythonRunner.setInstance(runner)
    yield runner


def _everything_qgis_would_run(project, canaries: Path) -> None:
    """What QGIS desktop does with a project's code when the user lets it: macros on open, expression
    functions on load (3.40+), actions when clicked, form init code when a form opens."""
    import qgis.utils
    from qgis.core import QgsExpressionContext, QgsExpressionContextUtils, QgsPythonRunner

    qgis.utils.reloadProjectMacros()
    if hasattr(project, "loadFunctionsFromProject"):
        project.loadFunctionsFromProject(True)
    for layer in project.mapLayers().values():
        if not hasattr(layer, "actions"):
            continue
        features = list(layer.getFeatures()) if layer.isValid() else []
        for action in layer.actions().actions():
            for feature in features[:1]:
                context = QgsExpressionContext()
                context.appendScope(QgsExpressionContextUtils.layerScope(layer))
                layer.actions().doAction(action.id(), feature, context)
        config = layer.editFormConfig()
        if _int(config.initCodeSource()) == 2 and config.initCode():  # 2: code from the dialog (CodeSourceDialog)
            QgsPythonRunner.run(config.initCode())  # as QgsAttributeForm does on opening a form


def _int(value) -> int:
    """An enum as int on every QGIS (3.40 moved this one to Qgis.AttributeFormPythonInitCodeSource)."""
    return int(getattr(value, "value", value))


def _all_settings() -> dict:
    from qgis.core import QgsSettings

    settings = QgsSettings()
    return {key: settings.value(key) for key in settings.allKeys()}


def test_hostile_project_neutralised_no_code_runs(tmp_path, recipe_key, points_gpkg, python_runner, qgis_app):
    from qgis.core import QgsProject

    from dtfl_plugin.recipe.open import open_in_project, unpack

    canaries = tmp_path / "canaries"
    canaries.mkdir()
    files = {
        "project/recipe.qgs": hostile_project(canaries),
        "data/points.gpkg": points_gpkg,
        "styles/points.qml": EVIL_QML,
    }
    recipe = forge(tmp_path / "hostile.dtfl.zip", files, recipe_key, services=["https://example.org/ows"])
    settings_before = _all_settings()

    result = unpack(recipe, tmp_path / "target", trusted=[("k", recipe_key.public)])
    kinds = {f.kind for f in result.findings}
    assert {"macro", "expression-function", "action", "form-init", "credential", "authcfg"} <= kinds, result.messages()
    assert any("form init code (from a URL)" in m for m in result.messages()), result.messages()
    assert result.placeholders == {"example.org": "wms"} and result.unmapped_auth == ["example.org"]
    text = result.project.read_text(encoding="utf-8")
    assert not [s for s in SECRETS if s in text], "a credential survived"
    assert "${authcfg:example.org}" in text and str(canaries) not in text
    style = (tmp_path / "target/styles/points.qml").read_text()
    assert "os.system" not in style and "import os" not in style

    project = QgsProject.instance()
    try:
        assert open_in_project(result, project)
        layer = project.mapLayersByName("points")[0]
        assert layer.isValid() and layer.featureCount() == 3
        assert layer.actions().actions() == []
        assert _int(layer.editFormConfig().initCodeSource()) == 0  # CodeSourceNone
        _everything_qgis_would_run(project, canaries)
        assert list(canaries.iterdir()) == [], "code from the recipe ran"
    finally:
        project.clear()
    assert _all_settings() == settings_before, "opening changed the user's settings"


def test_positive_control_unneutralised_code_does_run(tmp_path, points_gpkg, python_runner, qgis_app):
    """The same project read as-is: the harness above sees the macro, the Python action and the form init run."""
    from qgis.core import QgsProject

    canaries = tmp_path / "canaries"
    canaries.mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data/points.gpkg").write_bytes(points_gpkg)
    (tmp_path / "project").mkdir()
    (tmp_path / "project/recipe.qgs").write_bytes(hostile_project(canaries))
    project = QgsProject.instance()
    try:
        assert project.read(str(tmp_path / "project/recipe.qgs"))
        _everything_qgis_would_run(project, canaries)
    finally:
        project.clear()
    ran = {p.name for p in canaries.iterdir()}
    assert {"macro.ran", "action.ran", "forminit.ran"} <= ran, ran
    if hasattr(QgsProject, "loadFunctionsFromProject"):
        assert "function.ran" in ran


def test_expression_functions_of_340_are_neutralised_on_every_version():
    """QGIS 3.40 stores Python expression functions in the project; 3.22 ignores them. Removed on both."""
    from dtfl_plugin.recipe import qgsxml, sanitize

    tree = qgsxml.parse_project_bytes(hostile_project(Path("/nonexistent")))
    findings = sanitize.neutralise_code(tree)
    assert "expression-function" in {f.kind for f in findings}
    assert tree.getroot().find("properties/ExpressionFunctions") is None


def test_packing_never_writes_credentials(tmp_path, points_gpkg, qgis_app):
    from dtfl_plugin.recipe.pack import PackOptions, pack

    (tmp_path / "data").mkdir()
    (tmp_path / "data/points.gpkg").write_bytes(points_gpkg)
    (tmp_path / "project").mkdir()
    project = tmp_path / "project/recipe.qgs"
    project.write_bytes(hostile_project(tmp_path / "never"))
    result = pack(PackOptions(project=project, output=tmp_path / "out.dtfl.zip"))
    with zipfile.ZipFile(result.output) as zf:
        blob = b"".join(zf.read(n) for n in zf.namelist())
    assert not [s for s in SECRETS if s.encode() in blob]
    assert b"${authcfg:example.org}" in blob and b"code from the recipe ran" not in blob
    assert any("macros" in w for w in result.warnings) and any("credential" in w for w in result.warnings)


def test_unknown_key_opens_only_when_allowed_and_says_so(tmp_path, points_gpkg, qgis_app):
    from dtfl_plugin.recipe import sign
    from dtfl_plugin.recipe.open import unpack

    other = sign.generate_keypair()
    recipe = forge(
        tmp_path / "r.dtfl.zip",
        {"project/recipe.qgs": hostile_project(tmp_path), "data/points.gpkg": points_gpkg},
        other,
    )
    result = unpack(recipe, tmp_path / "t", trusted=[], allow_untrusted=True)
    assert result.report.signature == "unknown-key" and result.findings[0].kind == "trust"
    assert "do not trust" in result.findings[0].message


def test_credentials_placeholders_map_to_the_receivers_authcfg(tmp_path, recipe_key, points_gpkg, qgis_app):
    from dtfl_plugin import settings
    from dtfl_plugin.recipe.open import AUTH_MAP_KEY, map_credentials, unpack

    files = {"project/recipe.qgs": hostile_project(tmp_path), "data/points.gpkg": points_gpkg}
    recipe = forge(tmp_path / "r.dtfl.zip", files, recipe_key, services=["https://example.org/ows"])
    result = unpack(recipe, tmp_path / "t", trusted=[("k", recipe_key.public)])
    assert result.unmapped_auth == ["example.org"]
    try:
        assert map_credentials(result, {"example.org": "mine123"}) == []
        text = result.project.read_text(encoding="utf-8")
        assert "authcfg=mine123" in text and "${authcfg:" not in text
        # remembered: the next recipe with the same placeholder is mapped when it is unpacked
        again = unpack(recipe, tmp_path / "t2", trusted=[("k", recipe_key.public)])
        assert again.unmapped_auth == [] and "authcfg=mine123" in again.project.read_text(encoding="utf-8")
    finally:
        settings.remove(AUTH_MAP_KEY)
