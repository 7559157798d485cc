"""Class: "a recipe's project touches only its own folder and the services it declares", and "code that survives
the neutralising" (a second copy of a section, the style manager's other styles, form HTML/QML widgets).

One project carries every kind of reach (SVG marker and data-defined SVG path at the attacker's host, /vsicurl/,
a VRT in the recipe pointing at a private file and a URL, a virtual layer and a ../ path reading the receiver's
private GeoPackage, an undeclared WMS, a PostGIS host, a UNC path, label/map-tip/layout HTML and pictures) and
code in hidden places. A loopback server counts requests. The control reads the same project unconfined in QGIS
and shows the requests, the private row and the hidden action do happen; opened through DTFL, none does.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fixtures.recipe_hostile import CANARY_CODE, forge
from tests.fixtures.recipe_reach import evil_vrt, outside_gpkg, reaching_project
from tests.test_recipe_open import python_runner  # noqa: F401 - the fixture

DECLARED = "http://127.0.0.1:9/declared/wms"


def _recipe(tmp_path, listener, points_gpkg, recipe_key):
    url = f"http://127.0.0.1:{listener.server_address[1]}/"
    private = outside_gpkg(tmp_path / "receiver")
    canaries = tmp_path / "canaries"
    canaries.mkdir()
    code = CANARY_CODE.format(path=str(canaries / "ran"))
    project = reaching_project(url, DECLARED, private, code)
    files = {
        "project/recipe.qgs": project,
        "data/points.gpkg": points_gpkg,
        "data/evil.vrt": evil_vrt(private, url),
    }
    recipe = forge(tmp_path / "reach.dtfl.zip", files, recipe_key, services=[DECLARED])
    return recipe, project, url, private, canaries


def _drain(seconds: float) -> None:
    from qgis.core import QgsApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QgsApplication.processEvents()
        time.sleep(0.02)


def _use(project) -> list[str]:
    """Do with the project what a user does: draw every layer, read every feature, switch to every stored style
    and run its actions and form code. Returns the attribute values read."""
    from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings, QgsRectangle, QgsVectorLayer
    from qgis.PyQt.QtCore import QSize

    from tests.test_recipe_open import _everything_qgis_would_run

    layers = list(project.mapLayers().values())
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(project.crs())
    settings.setExtent(QgsRectangle(84800, 447400, 85000, 447600))
    settings.setOutputSize(QSize(200, 200))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    values = []
    for layer in layers:
        if isinstance(layer, QgsVectorLayer) and layer.isValid():
            values += [str(v) for f in layer.getFeatures() for v in f.attributes()]
        for name in layer.styleManager().styles():
            layer.styleManager().setCurrentStyle(name)
    _everything_qgis_would_run(project, Path("/nonexistent"))
    _drain(1.5)
    return values


@pytest.mark.usefixtures("python_runner")
def test_control_unconfined_project_reaches_out(tmp_path, listener, points_gpkg, recipe_key, qgis_app):
    from qgis.core import QgsProject

    _, raw, _, _, canaries = _recipe(tmp_path, listener, points_gpkg, recipe_key)
    folder = tmp_path / "as-is"
    (folder / "project").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "project/recipe.qgs").write_bytes(raw)
    (folder / "data/points.gpkg").write_bytes(points_gpkg)
    (folder / "data/evil.vrt").write_bytes(evil_vrt(tmp_path / "receiver/private.gpkg", "http://127.0.0.1:1/"))
    project = QgsProject()
    try:
        assert project.read(str(folder / "project/recipe.qgs"))
        values = _use(project)
    finally:
        project.clear()
    assert listener.hits, "the control made no request: the test would prove nothing"
    assert "PRIVATE-ROW" in values, "the control read no private data: the test would prove nothing"
    assert (canaries / "ran").exists(), "the control's hidden action did not run: the test would prove nothing"


@pytest.mark.usefixtures("python_runner")
def test_opened_recipe_touches_only_its_folder_and_services(tmp_path, listener, points_gpkg, recipe_key, qgis_app):
    from qgis.core import QgsProject

    from dtfl_plugin.recipe.open import open_in_project, unpack

    recipe, _, url, private, canaries = _recipe(tmp_path, listener, points_gpkg, recipe_key)
    result = unpack(recipe, tmp_path / "target", trusted=[("k", recipe_key.public)])
    text = result.project.read_text(encoding="utf-8")
    host = url.rstrip("/").split("//")[1]
    assert host not in text and private.as_posix() not in text and "print(" not in text and "open(" not in text
    assert "\\\\127.0.0.1" not in text and "evil.example" not in text and "load_layer" not in text
    assert DECLARED in text and "../data/points.gpkg" in text, "what the recipe may reach was removed too"
    vrt = (tmp_path / "target/data/evil.vrt").read_text()
    assert private.as_posix() not in vrt and host not in vrt
    reach = {f.where for f in result.findings if f.kind == "reference"}
    assert {"inside", "vsicurl", "virtual", "escape", "wms-undeclared", "postgres", "unc", "evil.vrt"} <= reach, reach
    kinds = {f.kind for f in result.findings}
    assert {"macro", "action", "form-init", "form-html"} <= kinds, kinds
    assert all(f.message for f in result.findings)
    assert 'type="WebView"' not in text and 'type="TextEdit"' in text  # a form widget would open the field's URL
    assert 'generator type="online"' not in text  # QGIS's own terrain tiles from the web

    project = QgsProject()
    try:
        assert open_in_project(result, project)
        assert project.mapLayersByName("inside")[0].featureCount() == 3
        values = _use(project)
    finally:
        project.clear()
    assert listener.hits == [], f"requests to the attacker's host: {listener.hits}"
    assert "PRIVATE-ROW" not in values
    assert not (canaries / "ran").exists(), "hidden code from the recipe ran"


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("../data/points.gpkg|layername=points", True),
        ("https://service.pdok.nl/wms?layers=x", True),
        ("symbols/star.svg", True),
        ('"width" / 2 + 3', True),
        ('<b>[% "naam" %]</b></p>', True),
        ("dd/MM/yyyy", True),
        ("/vsicurl/https://service.pdok.nl/x.tif", True),  # a COG at a declared service
        ("/vsizip/../data/a.zip/a.shp", True),
        ("/vsicurl/https://evil.example/x.tif", False),
        ("/vsicurl/file:///etc/passwd", False),
        ("/vsizip//vsicurl/http://evil.example/a.zip/a.shp", False),
        ("/vsis3/bucket/x.tif", False),
        ("/vsizip//etc/x.zip", False),
        ("https://service.pdok.nl.evil.example/wms", False),
        ("http://service.pdok.nl/wms", False),  # another origin (scheme)
        ("ftp://service.pdok.nl/x", False),
        ("file:///etc/passwd", False),
        ("concat('/etc/', 'passwd')", False),
        ("C:\\Users\\jan\\secret.gpkg", False),
        ("\\\\fileserver\\share\\x.svg", False),
        ("../../../../etc/passwd", False),
        ("%2Fvsicurl%2Fhttp%3A%2F%2Fevil", False),
        ("ENV( 'HOME' )", False),
        ("SELECT BlobFromFile('x')", False),
    ],
)
def test_reference_allow_list(tmp_path, value, allowed):
    from dtfl_plugin.recipe.references import Scope, problem

    (tmp_path / "project").mkdir()
    scope = Scope(tmp_path, tmp_path / "project", ["https://service.pdok.nl/wms"])
    assert (problem(value, scope) == "") is allowed, problem(value, scope)


def test_verdict_lists_what_opening_will_neutralise(tmp_path, listener, points_gpkg, recipe_key, qgis_app):
    """The verdict shown before opening runs the same walk: the user sees every removal before saying yes."""
    from dtfl_plugin.recipe.verdict import build_verdict
    from dtfl_plugin.recipe.verify import verify_recipe

    recipe, *_ = _recipe(tmp_path, listener, points_gpkg, recipe_key)
    verdict = build_verdict(verify_recipe(recipe, [("k", recipe_key.public)]), str(recipe))
    text = "\n".join(verdict.neutralised)
    for expected in ("'wms-undeclared'", "'virtual'", "'postgres'", "layer actions", "macros", "evil.vrt"):
        assert expected in text, (expected, verdict.neutralised)
    assert "'wms-declared' read" not in text and listener.hits == []


@pytest.mark.parametrize(
    ("svg", "kept"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            b'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" inkscape:export-filename="/home/jan/x.png">'
            b'<rect width="4" height="4"/></svg>',
            True,
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            b'<image xlink:href="http://127.0.0.1:9/track.png" width="4" height="4"/></svg>',
            False,
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>', False),
        (
            '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
            '<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>'.encode("utf-16"),
            False,
        ),
    ],  # fmt: skip
    ids=["inkscape-metadata", "remote-image", "local-image", "utf16-entities"],
)
def test_embedded_svg_marker_is_untrusted_xml(svg, kept, tmp_path, recipe_key, points_gpkg, qgis_app):
    import base64

    from dtfl_plugin.recipe.open import unpack

    value = "base64:" + base64.b64encode(svg).decode()
    project = f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis><projectlayers><maplayer type="vector"><id>p</id><layername>p</layername><provider>ogr</provider>
<datasource>../data/points.gpkg|layername=points</datasource><renderer-v2 type="singleSymbol"><symbols><symbol type="marker" name="0">
<layer class="SvgMarker"><Option type="Map"><Option type="QString" name="name" value="{value}"/></Option></layer>
</symbol></symbols></renderer-v2></maplayer></projectlayers></qgis>"""
    files = {"project/recipe.qgs": project.encode(), "data/points.gpkg": points_gpkg}
    recipe = forge(tmp_path / "svg.dtfl.zip", files, recipe_key)
    result = unpack(recipe, tmp_path / "t", trusted=[("k", recipe_key.public)])
    assert (value in result.project.read_text(encoding="utf-8")) is kept, result.messages()
    assert bool([f for f in result.findings if f.kind == "reference"]) is not kept


def test_database_code_reaching_outside_is_dropped(tmp_path, recipe_key, points_gpkg, qgis_app):
    """Triggers/views in a GeoPackage of the recipe that write or read files (SpatiaLite's BlobToFile/BlobFromFile)
    are dropped before QGIS opens it; the GeoPackage's own R-tree triggers stay."""
    import sqlite3

    from dtfl_plugin.recipe.open import unpack

    gpkg = tmp_path / "evil.gpkg"
    gpkg.write_bytes(points_gpkg)
    with sqlite3.connect(gpkg) as db:
        standard = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        db.execute(f"CREATE TRIGGER evil AFTER UPDATE ON points BEGIN SELECT BlobToFile(x'41', '{tmp_path}/out'); END")
        db.execute("CREATE VIEW leak AS SELECT BlobFromFile('/etc/passwd') AS x")
        db.execute("CREATE VIEW fine AS SELECT name FROM points")
    project = (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis><projectlayers><maplayer type='vector'>"
        "<id>p</id><layername>p</layername><provider>ogr</provider>"
        "<datasource>../data/points.gpkg|layername=points</datasource></maplayer></projectlayers></qgis>"
    )
    files = {"project/recipe.qgs": project.encode(), "data/points.gpkg": gpkg.read_bytes()}
    result = unpack(
        forge(tmp_path / "db.dtfl.zip", files, recipe_key), tmp_path / "t", trusted=[("k", recipe_key.public)]
    )
    with sqlite3.connect(tmp_path / "t/data/points.gpkg") as db:
        left = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('trigger', 'view')")}
    assert standard and left == standard | {"fine"}, left
    assert {f.message.split("'")[3] for f in result.findings if f.kind == "database-code"} == {"evil", "leak"}


def test_map_tip_values_from_the_data_are_escaped(tmp_path, recipe_key, points_gpkg, qgis_app):
    """A map tip shows field values as HTML: a value holding a script (the recipe's data) comes out as text."""
    import xml.etree.ElementTree as ET

    from qgis.core import QgsExpression, QgsExpressionContext, QgsFeature, QgsField, QgsFields
    from qgis.PyQt.QtCore import QVariant

    from dtfl_plugin.recipe.open import unpack

    tip = "&lt;b&gt;[% \"name\" %]&lt;/b&gt; [% upper('x') %]"
    project = (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis><projectlayers><maplayer type='vector'>"
        "<id>p</id><layername>p</layername><provider>ogr</provider><datasource>../data/points.gpkg|layername=points"
        f"</datasource><mapTip>{tip}</mapTip></maplayer></projectlayers></qgis>"
    )
    files = {"project/recipe.qgs": project.encode(), "data/points.gpkg": points_gpkg}
    result = unpack(
        forge(tmp_path / "tip.dtfl.zip", files, recipe_key), tmp_path / "t", trusted=[("k", recipe_key.public)]
    )
    template = ET.fromstring(result.project.read_bytes().split(b"\n", 1)[1]).find(".//mapTip").text
    fields = QgsFields()
    fields.append(QgsField("name", QVariant.String))
    feature = QgsFeature(fields)
    feature["name"] = "<script>alert(1)</script>"
    context = QgsExpressionContext()
    context.setFeature(feature)
    shown = QgsExpression.replaceExpressionText(template, context)
    assert shown == "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> X", shown
    assert (
        QgsExpression.replaceExpressionText(tip.replace("&lt;", "<").replace("&gt;", ">"), context).count("<script>")
        == 1
    )  # control


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("../data/points.gpkg|layername=points", True),
        ("./local.tif", True),
        ("data/points.gpkg|layername=points", False),  # QGIS opens it from its working folder
        ("etc/passwd", False),
        ("PG:host=evil.example dbname=x", False),
        ("/vsicurl/https://service.pdok.nl/cog.tif", True),
    ],
)
def test_file_layer_sources(tmp_path, source, allowed):
    from dtfl_plugin.recipe.references import Scope, file_source_problem

    scope = Scope(tmp_path, tmp_path / "project", ["https://service.pdok.nl/"])
    assert (file_source_problem(source, scope) == "") is allowed, file_source_problem(source, scope)
