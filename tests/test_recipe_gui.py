"""The recipe and provenance features inside the real plugin: actions, the lineage panel of a twin layer,
PROV-JSON export, and the open flow (verdict first, then unpack in a task)."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.catalogue_gui import wait_until
from tests.fixtures.recipe import AREA_A, build_twin, native_steps

pytestmark = pytest.mark.gui


def _feature(plugin, cls):
    found = [f for f in plugin.features if isinstance(f, cls)]
    assert len(found) == 1
    return found[0]


@pytest.fixture(scope="module")
def twin(tmp_path_factory, shared_data, processing_ready):
    folder = tmp_path_factory.mktemp("gui-twin")
    return build_twin(folder, shared_data, native_steps(AREA_A, shared_data, folder))


def test_actions_and_dock_added_and_removed(plugin):
    from dtfl_plugin.gui.provenance_panel import ProvenanceFeature

    names = {a.objectName() for a in plugin.actions}
    assert {"dtflPackageRecipe", "dtflOpenRecipe", "dtflProvenanceAction"} <= names
    feature = _feature(plugin, ProvenanceFeature)
    assert feature.dock in plugin.docks and feature.dock.isHidden()
    plugin.unload()
    assert not plugin.actions and not plugin.docks


def test_lineage_panel_reads_like_sentences_and_exports_prov(plugin, twin, tmp_path, qgis_app):
    from qgis.core import QgsProject

    from dtfl_plugin.gui.provenance_panel import ProvenanceFeature

    project = QgsProject.instance()
    assert project.read(str(twin))
    try:
        buffered = project.mapLayersByName("native:buffer OUTPUT")[0]
        feature = _feature(plugin, ProvenanceFeature)
        feature.toggle(True)
        feature.panel.show_layer(buffered)
        tree = feature.panel.tree
        texts = []

        def collect(item, depth=0):
            for i in range(item.childCount()):
                texts.append((depth, item.child(i).text(0)))
                collect(item.child(i), depth + 1)

        collect(tree.invisibleRootItem())
        assert texts[0][1].startswith("Made by “Buffer”"), texts
        assert any("Setting Distance: 2.0" in t for _, t in texts), texts
        assert any(t.startswith("Made by “Extract/clip by extent”") for _, t in texts)
        assert any("bgt_delft.gpkg" in t and "used as Input layer" in t for _, t in texts), texts
        assert "2 step(s)" in feature.panel.title.text()
        out = feature.panel.export(path=str(tmp_path / "prov.json"))
        prov = json.loads(open(out, encoding="utf-8").read())
        assert len(prov["activity"]) == 2 and len(prov["wasGeneratedBy"]) == 2
        assert {a["prov:agent"].split(":")[0] for a in prov["wasAssociatedWith"].values()} == {"person", "alg"}
        # the DEM clip is not in the buffer's lineage
        assert all(a["dtfl:algorithm"] != "gdal:cliprasterbyextent" for a in prov["activity"].values())
    finally:
        project.clear()


def test_open_flow_verdict_before_unpack(plugin, twin, recipe_key, trust, tmp_path, qgis_app):
    from dtfl_plugin.gui.recipe_dialog import RecipeFeature
    from dtfl_plugin.gui.recipe_verdict import VerdictDialog
    from dtfl_plugin.recipe.pack import PackOptions, pack

    recipe = pack(
        PackOptions(
            project=twin, output=tmp_path / "twin.dtfl.zip", secret_key=recipe_key, organisation="Gemeente Delft"
        )
    ).output
    feature = _feature(plugin, RecipeFeature)
    seen = []
    feature.verify(str(recipe), lambda path, report, verdict: seen.append((report, verdict)))
    assert wait_until(lambda: seen, 30)
    report, verdict = seen[0]
    assert report.valid and verdict.state == "trusted" and verdict.may_open and not verdict.override
    dialog = VerdictDialog(verdict)
    text = dialog.summary.text()
    assert "manifest" not in text.lower() and report.key_id in text
    assert not dialog.details.isVisible() and dialog.open_button is not None
    assert not (tmp_path / "unpacked").exists(), "nothing is unpacked before the verdict"
    feature.unpack_and_open(str(recipe), str(tmp_path / "unpacked"), allow_untrusted=False, read=False)
    assert wait_until(lambda: feature.last_open is not None, 30)
    assert (tmp_path / "unpacked/project/recipe.qgs").is_file()
    # a folder in use gets a new sibling instead of an abort
    feature.last_open = None
    feature.unpack_and_open(str(recipe), str(tmp_path / "unpacked"), allow_untrusted=False, read=False)
    assert wait_until(lambda: feature.last_open is not None, 30)
    assert (
        feature.last_open.folder == tmp_path / "unpacked-2" and (tmp_path / "unpacked-2/project/recipe.qgs").is_file()
    )


def test_provenance_panel_any_layer_kind_in_plain_words(plugin, qgis_app, tmp_path, shared_data):
    """Memory (with a URI longer than a file name), virtual, service and file layers: no crash; a temporary model
    output's settings by label ("70 mm in 1 hour", layer names), services as service + layer."""
    from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer, QgsVirtualLayerDefinition

    from dtfl_plugin.gui.provenance_panel import ProvenanceFeature
    from dtfl_plugin.provenance.record import InputRef, OutputRef, RunRecord
    from dtfl_plugin.provenance.store import save_runs

    project = QgsProject.instance()
    fields = "&".join(f"field=attribute_with_a_long_name_{i}:string(254,0)" for i in range(20))
    memory = QgsVectorLayer(f"MultiPolygon?crs=EPSG:28992&{fields}", "Gebouwen met water tegen de gevel", "memory")
    dem = QgsRasterLayer(str(shared_data / "3d/derived/ahn3_delft_dtm_1m_filled.tif"), "AHN3", "gdal")
    definition = QgsVirtualLayerDefinition()
    definition.addSource("g", memory.id())
    definition.setQuery("SELECT * FROM g")
    virtual = QgsVectorLayer(definition.toString(), "Virtueel", "virtual")
    wfs = QgsVectorLayer(
        "pagingEnabled='true' typename='bgt:pand' url='https://service.pdok.nl/lv/bgt/wfs/v1_0?apikey=s3cr3t' version='auto'",
        "BGT pand (WFS)",
        "WFS",
    )
    project.addMapLayers([memory, dem, virtual, wfs], True)
    run = RunRecord(
        "dtfl:bathtub_flooding",
        "0.1",
        {"DEM": dem.id(), "EVENT": 0, "BUILDINGS": wfs.source(), "OUTPUT_BUILDINGS": "TEMPORARY_OUTPUT"},
        [InputRef("DEM", "file", dem.source()), InputRef("BUILDINGS", "service", wfs.source())],
        [OutputRef("OUTPUT_BUILDINGS", memory.id())],
    )
    save_runs(project, [run])
    try:
        feature = _feature(plugin, ProvenanceFeature)
        feature.toggle(True)
        for layer in (memory, dem, virtual, wfs):
            feature.panel.show_layer(layer)  # must not raise (e.g. OSError: File name too long)
        feature.panel.show_layer(memory)
        texts = []

        def collect(item):
            for i in range(item.childCount()):
                texts.append(item.child(i).text(0))
                collect(item.child(i))

        collect(feature.panel.tree.invisibleRootItem())
        joined = "\n".join(texts)
        assert "1 step(s)" in feature.panel.title.text(), feature.panel.title.text()
        assert "70 mm in 1 hour" in joined and "EVENT" not in joined, joined
        assert "layer “AHN3”" in joined and dem.id() not in joined, joined
        assert "“bgt:pand” from the service at service.pdok.nl" in joined, joined
        assert "s3cr3t" not in joined and "typename=" not in joined, joined
    finally:
        project.clear()


def test_package_with_an_unreadable_project_file_says_so(plugin, qgis_app, tmp_path):
    """The saved project cannot be read (here: it declares XML entities): a message, no exception, no dialog."""
    from qgis.core import QgsProject

    from dtfl_plugin.gui.recipe_dialog import RecipeFeature

    broken = tmp_path / "broken.qgs"
    broken.write_text('<!DOCTYPE qgis [<!ENTITY a "aaaa">]><qgis>&a;</qgis>')
    project = QgsProject.instance()
    project.setFileName(str(broken))
    feature = _feature(plugin, RecipeFeature)
    shown = []
    feature._message = lambda text, level: shown.append(text)
    try:
        feature.package()
    finally:
        project.clear()
    assert shown and "entit" in shown[0].lower(), shown


def test_trust_the_senders_key_from_the_verdict(twin, recipe_key, tmp_path, qgis_app):
    """An unknown signer: "Trust this key…" takes the sender's .pub file, refuses another key, and after trusting
    the right one the recipe checks as made by the organisation in the key file."""
    from dtfl_plugin import settings
    from dtfl_plugin.gui.recipe_verdict import VerdictDialog
    from dtfl_plugin.recipe import keys, sign
    from dtfl_plugin.recipe.pack import PackOptions, pack
    from dtfl_plugin.recipe.verdict import build_verdict
    from dtfl_plugin.recipe.verify import verify_recipe

    before = settings.get_json(keys.TRUSTED_KEY, [])
    settings.set_json(keys.TRUSTED_KEY, [])
    try:
        recipe = pack(PackOptions(project=twin, output=tmp_path / "r.dtfl.zip", secret_key=recipe_key)).output
        report = verify_recipe(recipe, keys.trusted_keys())
        dialog = VerdictDialog(build_verdict(report, str(recipe)), None, report.key_id)
        assert dialog.trust_button is not None and dialog.override
        other = tmp_path / "other.pub"
        other.write_text(keys.public_key_text(sign.generate_keypair().public, "Iemand anders"))
        dialog.trust_key(path=str(other))
        assert not dialog.trusted_now and report.key_id in dialog.message.text() and not keys.trusted_keys()
        right = tmp_path / "delft.pub"
        right.write_text(keys.public_key_text(recipe_key.public, "Gemeente Delft"))
        dialog.trust_key(path=str(right))
        assert dialog.trusted_now
        again = build_verdict(verify_recipe(recipe, keys.trusted_keys()), str(recipe))
        assert again.state == "trusted" and "Gemeente Delft" in again.headline
    finally:
        settings.set_json(keys.TRUSTED_KEY, before)
