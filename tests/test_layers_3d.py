"""3D: scene settings, extrusion and semantic styles in-process; renders only in children under Xvfb (timeouts).

Rendered images land in test-output/render3d/ (gitignored) so a person can look at them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from qgis.core import Qgis, QgsCoordinateReferenceSystem, QgsProject, QgsRasterLayer, QgsRectangle
from qgis.PyQt.QtGui import QColor, QImage

from tests.layers_3d_child import DELFT_EXTENT, ROOT, run_under_xvfb

OUT = ROOT / "test-output" / "render3d"
VERSION = str(Qgis.QGIS_VERSION_INT // 100)  # 322, 340: both suites' images side by side
needs_xvfb = pytest.mark.skipif(
    shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (3D renders need Xvfb + GLX)"
)


def pixels(path: Path) -> list[QColor]:
    image = QImage(str(path))
    assert not image.isNull(), path
    return [QColor(image.pixel(x, y)) for y in range(0, image.height(), 2) for x in range(0, image.width(), 2)]


def roof_red(colour: QColor) -> bool:
    """The CityJSON roof colour (#b5452f) under any of the scene's lighting."""
    return colour.red() > 110 and colour.red() > 1.8 * colour.green() and colour.red() > 2.0 * colour.blue()


@pytest.fixture(scope="module")
def scenes(tmp_path_factory, shared_data):
    """Two projects built in a child: terrain + buildings, and terrain only."""
    base = tmp_path_factory.mktemp("scenes")
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (3D renders need Xvfb + GLX)")
    with_buildings = run_under_xvfb(["build", str(shared_data), str(base / "b"), "--no-pointcloud"], timeout=240)
    terrain_only = run_under_xvfb(
        ["build", str(shared_data), str(base / "t"), "--no-pointcloud", "--no-buildings"], timeout=240
    )
    return with_buildings["project"], terrain_only["project"]


def test_scene_settings_from_dem(qgis_app, shared_data):
    from dtfl_plugin.layers import scene3d

    project = QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    dem = QgsRasterLayer(str(shared_data / "3d/derived/ahn3_delft_dtm_1m_filled.tif"), "dtm", "gdal")
    project.addMapLayer(dem)
    extent = QgsRectangle(*DELFT_EXTENT)
    settings = scene3d.map_settings(project, extent, dem=dem, layers=[dem], exaggeration=2.5)
    assert settings.crs().authid() == "EPSG:28992"
    assert settings.terrainVerticalScale() == pytest.approx(2.5)
    assert [layer.id() for layer in settings.layers()] == [dem.id()]
    assert settings.origin().x() == pytest.approx(extent.center().x())
    pose = scene3d.camera_pose(settings, extent, pitch=30, yaw=45)
    assert pose.pitchAngle() == pytest.approx(30) and pose.headingAngle() == pytest.approx(45)
    assert pose.distanceFromCenterPoint() > extent.width()
    with pytest.raises(Exception, match="part of the project"):
        scene3d.map_settings(project, extent, dem=QgsRasterLayer(dem.source(), "other", "gdal"))


def test_extrusion_finds_height_fields(qgis_app):
    from qgis.core import QgsVectorLayer

    from dtfl_plugin.errors import LayerError
    from dtfl_plugin.layers import scene3d

    bag = QgsVectorLayer("Polygon?crs=EPSG:28992&field=b3_h_dak_70p:double&field=b3_h_maaiveld:double", "bag", "memory")
    assert scene3d.style_extruded_buildings(bag) == '"b3_h_dak_70p" - "b3_h_maaiveld"'
    symbol = bag.renderer3D().symbol()
    assert symbol.extrusionHeight() == scene3d.DEFAULT_HEIGHT_M
    prop = symbol.dataDefinedProperties().property(symbol.PropertyExtrusionHeight)
    assert prop.isActive() and "coalesce" in prop.expressionString()
    plain = QgsVectorLayer("Polygon?crs=EPSG:28992&field=hoogte:double&field=naam:string", "plain", "memory")
    assert scene3d.height_expression(plain) == '"hoogte"'
    assert scene3d.height_expression(plain, "naam") == '"naam"'
    with pytest.raises(LayerError):
        scene3d.height_expression(plain, "nope")
    bare = QgsVectorLayer("Polygon?crs=EPSG:28992", "bare", "memory")
    assert scene3d.style_extruded_buildings(bare) == ""  # default height, still a 3D renderer
    assert bare.renderer3D() is not None


@pytest.mark.parametrize(("name", "expected"), [("3dbag_b2.city.jsonl", 6), ("delft_3dfier.city.json", 730)])
def test_semantic_style_rules(qgis_app, shared_data, tmp_path, name, expected):
    from dtfl_plugin.layers.cityjson_layer import cityjson_layer, cityjson_to_gpkg

    gpkg, count, _ = cityjson_to_gpkg(shared_data / "3d/cityjson" / name, tmp_path / "b.gpkg")
    layer = cityjson_layer(gpkg, name)
    assert count == expected and layer.featureCount() == expected
    rules = layer.renderer3D().rootRule().children()
    filters = [rule.filterExpression() for rule in rules]
    assert "\"surface\" = 'RoofSurface'" in filters and "\"surface\" = 'WallSurface'" in filters
    assert not any(rule.isElse() for rule in rules) and rules[-1].filterExpression().startswith("NOT")
    # every feature matches exactly one rule: no face is drawn twice (z-fighting)
    from qgis.core import QgsExpression, QgsExpressionContext, QgsExpressionContextUtils

    context = QgsExpressionContext()
    context.appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    for feature in layer.getFeatures():
        context.setFeature(feature)
        assert sum(bool(QgsExpression(f).evaluate(context)) for f in filters) == 1, feature["surface"]


def test_render_fails_clearly_without_display(qgis_app, tmp_path, monkeypatch):
    from dtfl_plugin.errors import LayerError
    from dtfl_plugin.layers import render

    monkeypatch.setenv("PATH", str(tmp_path))  # no xvfb-run to fall back on
    assert render.display_problem()  # pytest runs QGIS offscreen
    with pytest.raises(LayerError, match="OpenGL"):
        render.render_project_file(
            "x.qgz", QgsRectangle(*DELFT_EXTENT), QgsCoordinateReferenceSystem("EPSG:28992"), str(tmp_path / "o.png")
        )
    assert not (tmp_path / "o.png").exists()


@pytest.mark.slow
@needs_xvfb
def test_buildings_render_in_3d(scenes):
    with_buildings, terrain_only = scenes
    OUT.mkdir(parents=True, exist_ok=True)
    size = ["50", "20", "-", "480", "320"]  # small: the comparison needs pixels, not detail
    a = run_under_xvfb(
        ["render", with_buildings, str(OUT / f"delft_terrain_buildings_{VERSION}.png"), *size], timeout=240
    )
    b = run_under_xvfb(["render", terrain_only, str(OUT / f"delft_terrain_only_{VERSION}.png"), *size], timeout=240)
    assert a["width"] == 480 and b["height"] == 320
    shown, bare = (
        pixels(OUT / f"delft_terrain_buildings_{VERSION}.png"),
        pixels(OUT / f"delft_terrain_only_{VERSION}.png"),
    )
    differing = sum(
        1
        for p, q in zip(shown, bare)
        if abs(p.red() - q.red()) + abs(p.green() - q.green()) + abs(p.blue() - q.blue()) > 60
    )
    assert differing > 0.05 * len(shown), differing
    roofs_with, roofs_without = sum(map(roof_red, shown)), sum(map(roof_red, bare))
    assert roofs_with > 400 and roofs_without < roofs_with / 10, (roofs_with, roofs_without)


@pytest.mark.slow
@needs_xvfb
def test_render_3d_view_algorithm_full_scene(processing_ready, shared_data, tmp_path):
    """dtfl:render_3d_view from an offscreen QGIS: it renders in a child under xvfb-run (terrain + buildings + EPT)."""
    import processing

    built = run_under_xvfb(["build", str(shared_data), str(tmp_path / "full")], timeout=240)
    assert built["layers"][-1] == "pointcloud"
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"delft_full_scene_{VERSION}.png"
    target.unlink(missing_ok=True)
    result = processing.run(
        "dtfl:render_3d_view",
        {
            "PROJECT": built["project"],
            "EXTENT": f"{DELFT_EXTENT[0]},{DELFT_EXTENT[2]},{DELFT_EXTENT[1]},{DELFT_EXTENT[3]} [EPSG:28992]",
            "PITCH": 55,
            "YAW": 30,
            "WIDTH": 960,
            "HEIGHT": 600,
            "TIMEOUT": 240,
            "OUTPUT": str(target),
        },
    )
    assert result["OUTPUT"] == str(target) and result["SECONDS"] > 0
    colours = pixels(target)
    background = colours[0].rgb()
    assert sum(1 for c in colours if c.rgb() != background) > 0.2 * len(colours)
    assert sum(map(roof_red, colours)) > 1500
    assert os.path.getsize(target) > 20_000
