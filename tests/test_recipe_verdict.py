"""The plain verdict (recipe/verdict.py) and key management without a passphrase trail (issue 18)."""

from __future__ import annotations

import pytest

from tests.fixtures.recipe import AREA_A, build_twin, native_steps

PASSPHRASE = "geheim-zinnetje-7"


@pytest.fixture()
def own_key_settings():
    """Key management writes the person's settings (their key, organisation, trusted keys) and unlocks keys for
    the session: put all of it back, so other tests see no key of ours."""
    from dtfl_plugin import settings
    from dtfl_plugin.recipe import keys

    names = (keys.SIGNING_KEY, keys.ORGANISATION, keys.TRUSTED_KEY)
    saved = {name: settings.get_json(name, None) for name in names}
    yield
    for name, value in saved.items():
        if value is None:
            settings.remove(name)
        else:
            settings.set_json(name, value)
    keys._UNLOCKED.clear()


@pytest.fixture(scope="module")
def twin(tmp_path_factory, shared_data, processing_ready):
    folder = tmp_path_factory.mktemp("verdict-twin")
    return build_twin(folder, shared_data, native_steps(AREA_A, shared_data, folder))


def _verdict(recipe, trusted):
    from dtfl_plugin.recipe.verdict import build_verdict
    from dtfl_plugin.recipe.verify import verify_recipe

    return build_verdict(verify_recipe(recipe, trusted), str(recipe))


def test_verdict_in_plain_words(twin, recipe_key, tmp_path):
    from dtfl_plugin.recipe.pack import PackOptions, pack

    out = tmp_path / "delft.dtfl.zip"
    pack(PackOptions(project=twin, output=out, secret_key=recipe_key, area=AREA_A, organisation="Gemeente Delft"))
    trusted = _verdict(out, [("Gemeente Delft", recipe_key.public)])
    assert trusted.state == "trusted" and "Gemeente Delft" in trusted.headline
    assert recipe_key.public.key_id_hex in trusted.signer
    text = " ".join([trusted.headline, trusted.signer, *trusted.contents, *trusted.referenced, *trusted.neutralised])
    assert "manifest" not in text.lower()
    assert any(line.startswith("Layers (5): ") for line in trusted.contents), trusted.contents
    assert any(line.startswith("Recorded steps that can be re-run (3)") for line in trusted.contents), trusted.contents
    assert any("ha" in line for line in trusted.contents) and any("Licences" in line for line in trusted.contents)
    assert any("MB" in line or "kB" in line for line in trusted.contents)
    unknown = _verdict(out, [])
    assert unknown.state == "untrusted" and unknown.override and "Gemeente Delft" in unknown.signer
    assert "cannot be confirmed" in unknown.signer
    unsigned = tmp_path / "unsigned.dtfl.zip"
    pack(PackOptions(project=twin, output=unsigned))
    assert _verdict(unsigned, []).state == "unsigned"


def test_code_that_opening_switches_off_is_listed(recipe_key, points_gpkg, tmp_path):
    """A recipe made by another tool, signed, holding macros, actions and form code: the verdict names them."""
    from tests.fixtures.recipe_hostile import forge, hostile_project

    recipe = forge(
        tmp_path / "hostile.dtfl.zip",
        {"project/recipe.qgs": hostile_project(tmp_path), "data/points.gpkg": points_gpkg},
        recipe_key,
    )
    verdict = _verdict(recipe, [("Leverancier", recipe_key.public)])
    assert verdict.state == "trusted" and len(verdict.neutralised) >= 3, verdict.neutralised


def test_tampered_recipe_is_refused(twin, recipe_key, tmp_path):
    import zipfile

    from dtfl_plugin.recipe import qgsxml
    from dtfl_plugin.recipe.pack import PROJECT_MEMBER, PackOptions, pack

    out = tmp_path / "r.dtfl.zip"
    pack(PackOptions(project=twin, output=out, secret_key=recipe_key))
    tampered = tmp_path / "tampered.dtfl.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == PROJECT_MEMBER:
                tree = qgsxml.parse_project_bytes(data)
                qgsxml.write_entry(tree, "Macros", "pythonCode", "import os")
                data = qgsxml.project_bytes(tree)
            dst.writestr(info, data)
    verdict = _verdict(tampered, [("x", recipe_key.public)])
    assert verdict.state == "refused" and not verdict.may_open


def test_keygen_dialog_and_package_leave_no_passphrase(
    profile_dir, processing_ready, qgis_app, twin, tmp_path, own_key_settings
):
    """The keygen dialog of the DTFL menu, then packaging through Processing as the menu does (the key unlocked in
    memory, never a parameter), then Processing's own log line: the passphrase is nowhere in the profile."""
    import processing
    from qgis.core import QgsApplication, QgsProcessingContext

    from dtfl_plugin.gui.recipe_keys import KeygenDialog
    from dtfl_plugin.recipe import keys

    dialog = KeygenDialog()
    dialog.organisation.setText("Waterschap Delfland")
    dialog.in_auth.setChecked(False)
    dialog.public_path.setText(str(tmp_path / "keys" / "delfland.pub"))
    assert dialog.passphrase.echoMode() == dialog.passphrase.EchoMode.Password
    dialog.passphrase.setText(PASSPHRASE)
    dialog.repeat.setText(PASSPHRASE)
    dialog.create()
    assert dialog.created is not None, dialog.message.text()
    public_text = (tmp_path / "keys" / "delfland.pub").read_text()
    assert keys.organisation_in(public_text) == "Waterschap Delfland"
    assert keys.signing_key() == {"file": str(tmp_path / "keys" / "delfland.key")}
    assert any(name == "Waterschap Delfland" for name, _ in keys.trusted_keys())
    params = {"PROJECT": str(twin), "OUTPUT": str(tmp_path / "r.dtfl.zip"), "SIGNING_KEY": keys.signing_key()["file"]}
    alg = QgsApplication.processingRegistry().algorithmById("dtfl:recipe_package")
    assert alg.parameterDefinition("PASSPHRASE").flags() & alg.parameterDefinition("PASSPHRASE").FlagHidden
    processing.run("dtfl:recipe_package", params)
    try:  # what the Processing dialog logs on QGIS 3.22 (3.24+: the history registry gets the same parameters)
        from processing.core.ProcessingLog import ProcessingLog

        ProcessingLog.addToLog(alg.asPythonCommand(params, QgsProcessingContext()))
    except ImportError:
        pass
    leaks = []
    for path in profile_dir.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000 and PASSPHRASE.encode() in path.read_bytes():
            leaks.append(str(path))
    assert not leaks, leaks


def test_key_in_the_auth_database_by_default_signs_with_the_organisation(
    twin, tmp_path, processing_ready, own_key_settings
):
    """keys.create_key's default: the secret key in the QGIS auth database; packaging with no key chosen (as from
    the toolbox) signs with that key, and the verdict names the organisation."""
    import processing
    from qgis.core import QgsApplication

    from dtfl_plugin.recipe import keys

    manager = QgsApplication.authManager()
    if manager.isDisabled():
        pytest.skip(f"the QGIS authentication database is disabled here: {manager.disabledMessage()}")
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("dtfl-test-master", True)
    made = keys.create_key("Hoogheemraadschap van Delfland", str(tmp_path / "hhd.pub"))
    try:
        assert made.authcfg and not made.secret_path and keys.signing_key() == {"authcfg": made.authcfg}
        out = tmp_path / "r.dtfl.zip"
        processing.run(
            "dtfl:recipe_package", {"PROJECT": str(twin), "OUTPUT": str(out), "SIGNING_AUTHCFG": made.authcfg}
        )
        verdict = _verdict(out, keys.trusted_keys())
        assert verdict.state == "trusted" and "Hoogheemraadschap van Delfland" in verdict.headline, verdict.headline
    finally:
        manager.removeAuthenticationConfig(made.authcfg)


def test_what_will_not_reach_the_recipient(tmp_path, shared_data, qgis_app):
    """The preflight list: a missing file and a temporary layer of a project that is not open are lost; a
    database layer is only referenced; a virtual layer on a layer still there is no gap."""
    from qgis.core import QgsProject, QgsVectorLayer, QgsVirtualLayerDefinition

    from dtfl_plugin.gui.recipe_verdict import GapsDialog
    from dtfl_plugin.recipe import preflight, qgsxml

    gone = tmp_path / "gone.gpkg"
    project = QgsProject()
    bgt = QgsVectorLayer(f"{shared_data / '3d/bgt/bgt_delft.gpkg'}|layername=bgt_pand", "BGT pand", "ogr")
    scratch = QgsVectorLayer("Point?crs=EPSG:28992&field=a:int", "Kladlaag", "memory")
    project.addMapLayers([bgt, scratch])
    definition = QgsVirtualLayerDefinition()
    definition.addSource("p", bgt.id())
    project.addMapLayer(QgsVectorLayer(definition.toString() + "&query=SELECT%20*%20FROM%20p", "Virtueel", "virtual"))
    path = tmp_path / "p.qgs"
    assert project.write(str(path))
    project.clear()
    tree = qgsxml.read_project_xml(path)
    for layer in qgsxml.layers(tree):  # the file of one layer disappears, another now reads a database
        if layer.name == "BGT pand":
            layer.set_datasource(str(gone) + "|layername=bgt_pand")
    extra = _add_layer(tree, "Percelen (PostGIS)", "postgres", 'dbname=\'kadaster\' host=db table="public"."perceel"')
    assert extra is not None
    qgsxml.write_project_xml(tree, path)
    gaps = preflight.check(qgsxml.read_project_xml(path), path)
    kinds = {(g.layer, g.kind, g.lost) for g in gaps}
    assert ("BGT pand", "missing", True) in kinds and ("Kladlaag", "empty", True) in kinds, kinds
    assert ("Percelen (PostGIS)", "database", False) in kinds, kinds
    assert not any(g.layer == "Virtueel" for g in gaps), kinds
    dialog = GapsDialog(gaps)
    assert "gone.gpkg" in dialog.summary.text() and dialog.go_on is not None


def _add_layer(tree, name, provider, datasource):
    import xml.etree.ElementTree as ET

    container = tree.getroot().find("projectlayers")
    layer = ET.SubElement(container, "maplayer", {"type": "vector"})
    ET.SubElement(layer, "id").text = "perceel_1"
    ET.SubElement(layer, "layername").text = name
    ET.SubElement(layer, "provider").text = provider
    ET.SubElement(layer, "datasource").text = datasource
    return layer


def test_a_layer_whose_file_is_not_in_the_recipe_is_named(recipe_key, points_gpkg, tmp_path):
    from tests.fixtures.recipe_hostile import forge

    project = (
        b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version='3.22'><projectlayers>"
        b"<maplayer type='vector'><id>a</id><layername>Punten</layername><provider>ogr</provider>"
        b"<datasource>../data/points.gpkg|layername=points</datasource></maplayer>"
        b"<maplayer type='vector'><id>b</id><layername>Verdwenen</layername><provider>ogr</provider>"
        b"<datasource>../data/absent.gpkg|layername=x</datasource></maplayer></projectlayers></qgis>"
    )
    recipe = forge(
        tmp_path / "r.dtfl.zip", {"project/recipe.qgs": project, "data/points.gpkg": points_gpkg}, recipe_key
    )
    verdict = _verdict(recipe, [("Leverancier", recipe_key.public)])
    missing = [line for line in verdict.referenced if "does not hold" in line]
    assert len(missing) == 1 and "Verdwenen" in missing[0], verdict.referenced


def test_a_new_key_never_overwrites_an_earlier_one(tmp_path, qgis_app, own_key_settings):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.gui.recipe_keys import KeygenDialog
    from dtfl_plugin.recipe import keys

    first = keys.create_key("Gemeente Delft", str(tmp_path / "d.pub"), in_auth=False, secret_path=str(tmp_path / "d.key"), passphrase="een")  # fmt: skip
    secret = (tmp_path / "d.key").read_bytes()
    with pytest.raises(RecipeError, match="exists already"):
        keys.create_key("Gemeente Delft", str(tmp_path / "d.pub"), in_auth=False, secret_path=str(tmp_path / "d.key"), passphrase="twee")  # fmt: skip
    assert (tmp_path / "d.key").read_bytes() == secret and first.key_id
    dialog = KeygenDialog()
    dialog.organisation.setText("Gemeente Delft")
    suggested = dialog.public_path.text()
    from pathlib import Path

    Path(suggested).parent.mkdir(parents=True, exist_ok=True)
    Path(suggested).write_text("an earlier key")
    try:
        dialog._suggest_path()
        assert dialog.public_path.text() != suggested and dialog.public_path.text().endswith("-2.pub")
    finally:
        Path(suggested).unlink()
