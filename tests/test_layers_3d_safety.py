"""Nothing the plugin builds can take QGIS down: degenerate geometry, a dying renderer, the wrong Python.

What aborted QGIS 3.22 (measured, see docs/layers-support.md): the *flat* terrain generator drawing a
texture, and polygons with real heights draped as 2D on the terrain (``double free or corruption``).
Degenerate LoD2 polygons drawn with a 3D symbol survived. The scene now always uses a DEM (a ground
plane when the project has none), never drapes Z polygons, and renders only in a guarded child.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsGeometry,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from tests.test_layers_3d import OUT, VERSION, pixels, roof_red

needs_xvfb = pytest.mark.skipif(
    shutil.which("xvfb-run") is None, reason="xvfb-run is not installed (3D renders need Xvfb + GLX)"
)
DEGENERATE = {
    "vertical wall": "POLYGON Z ((0 0 0, 10 0 0, 10 0 5, 0 0 5, 0 0 0))",
    "repeated vertices": "POLYGON Z ((20 0 1, 30 0 1, 30 0 1, 30 10 1, 20 10 1, 20 10 1, 20 0 1))",
    "collinear": "POLYGON Z ((40 0 1, 45 0 1, 50 0 1, 50 10 1, 40 10 1, 40 0 1))",
    "non-planar": "POLYGON Z ((0 20 1, 10 20 3, 10 30 1, 0 30 5, 0 20 1))",
    "self-touching": "POLYGON Z ((20 20 1, 30 20 1, 30 30 1, 25 25 1, 20 30 1, 25 25 1, 20 20 1))",
    "hole": "POLYGON Z ((40 20 1, 50 20 1, 50 30 1, 40 30 1, 40 20 1), (42 22 1, 44 22 1, 44 24 1, 42 24 1, 42 22 1))",
    "vertical with hole": "POLYGON Z ((0 40 0, 10 40 0, 10 40 10, 0 40 10, 0 40 0), (2 40 2, 4 40 2, 4 40 4, 2 40 4, 2 40 2))",
    "sliver": "POLYGON Z ((20 40 1, 30 40 1, 30 40.00001 1, 20 40 1))",
    "vertical line": "POLYGON Z ((40 40 0, 40 40 5, 40 40 10, 40 40 0))",
    "high z": "POLYGON Z ((0 60 30, 10 60 30, 10 70 30, 0 70 30, 0 60 30))",
}
ORIGIN = (85000.0, 447000.0)  # RD New: real, large coordinates


def _write_gpkg(path: Path, wkts: list[str], fields: str = "") -> str:
    memory = QgsVectorLayer(f"MultiPolygonZ?crs=EPSG:28992{fields}", "m", "memory")
    features = []
    for wkt in wkts:
        geometry = QgsGeometry.fromWkt(wkt)
        assert not geometry.isNull(), wkt
        geometry.translate(*ORIGIN)
        feature = QgsFeature(memory.fields())
        feature.setGeometry(geometry)
        features.append(feature)
    memory.dataProvider().addFeatures(features)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    error = QgsVectorFileWriter.writeAsVectorFormatV2(memory, str(path), QgsCoordinateTransformContext(), options)
    assert error[0] == QgsVectorFileWriter.NoError, error
    return str(path)


def _project(tmp_path: Path, layers: list[QgsVectorLayer]) -> str:
    project = QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    for layer in layers:
        assert layer.isValid()
        project.addMapLayer(layer)
    path = str(tmp_path / "scene.qgz")
    assert project.write(path), project.error()
    return path


@needs_xvfb
def test_degenerate_polygons_render_and_the_caller_survives(qgis_app, tmp_path, monkeypatch):
    """Degenerate LoD2-like polygons, with and without a 3D style, plus a draped 2D layer: the caller
    (this test process, standing in for the user's QGIS) gets an image, whatever happens in the child."""
    from qgis.core import QgsRectangle

    from dtfl_plugin.layers import render

    # A first python3 on PATH that has no qgis (pyenv, conda, a locally built Python): the child must not use it.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "python3"
    fake.write_text("#!/bin/sh\necho 'No module named qgis' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    assert shutil.which("python3") == str(fake)
    assert render.python_executable() != str(fake)

    walls = QgsVectorLayer(_write_gpkg(tmp_path / "degenerate.gpkg", list(DEGENERATE.values())), "degenerate", "ogr")
    footprints = QgsVectorLayer(
        _write_gpkg(tmp_path / "flat.gpkg", ["POLYGON Z ((60 0 0, 70 0 0, 70 10 0, 60 10 0, 60 0 0))"]), "flat", "ogr"
    )
    project = _project(tmp_path, [walls, footprints])
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"degenerate_{VERSION}.png"
    target.unlink(missing_ok=True)
    extent = QgsRectangle(ORIGIN[0] - 10, ORIGIN[1] - 10, ORIGIN[0] + 80, ORIGIN[1] + 80)
    crs = QgsCoordinateReferenceSystem("EPSG:28992")
    render.render_project_file(project, extent, crs, str(target), width=640, height=400, timeout_s=180)
    colours = pixels(target)
    drawn = sum(1 for c in colours if c.red() > c.green() + 10 > c.blue() + 20)  # the beige default, lit
    assert drawn > 0.03 * len(colours), drawn  # the polygons are drawn, not only the ground


def test_a_dying_render_child_is_a_message(qgis_app, tmp_path, monkeypatch):
    """The child aborting (QGIS 3.22's 3D engine) or hanging becomes a LayerError; no half-written image."""
    from qgis.core import QgsRectangle

    from dtfl_plugin.errors import LayerError
    from dtfl_plugin.layers import render

    crash = tmp_path / "crash.py"
    crash.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGABRT)\n")
    monkeypatch.setattr(render, "child_command", lambda job_file: ([sys.executable, str(crash)], dict(os.environ)))
    crs = QgsCoordinateReferenceSystem("EPSG:28992")
    with pytest.raises(LayerError, match="crashed"):
        render.render_project_file("x.qgz", QgsRectangle(0, 0, 1, 1), crs, str(tmp_path / "o.png"), timeout_s=30)
    hang = tmp_path / "hang.py"
    hang.write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setattr(render, "child_command", lambda job_file: ([sys.executable, str(hang)], dict(os.environ)))
    with pytest.raises(LayerError, match="did not finish"):
        render.render_project_file("x.qgz", QgsRectangle(0, 0, 1, 1), crs, str(tmp_path / "o.png"), timeout_s=2)
    assert not (tmp_path / "o.png").exists()


def test_python_for_the_child_comes_from_the_running_interpreter():
    from dtfl_plugin.layers import render

    candidates = render.python_candidates()
    assert candidates and all(Path(c).is_file() and Path(c).name.startswith("python") for c in candidates)
    assert candidates[0] == sys.executable  # a plain Python process: itself
    assert render.python_executable() == sys.executable


def test_ground_plane_and_height_range(qgis_app, tmp_path):
    """Without terrain the ground is a DEM at the buildings' base; the range comes from the layers' z."""
    from qgis.core import QgsRectangle

    from dtfl_plugin.layers import scene3d, terrain

    layer = QgsVectorLayer(
        _write_gpkg(tmp_path / "high.gpkg", ["POLYGON Z ((0 0 400, 10 0 400, 10 10 420, 0 10 420, 0 0 400))"]),
        "high",
        "ogr",
    )
    project = QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    project.addMapLayer(layer)
    extent = layer.extent()
    assert terrain.height_range(project, [layer], extent) == pytest.approx((400.0, 420.0))
    settings = scene3d.map_settings(project, extent, layers=[layer], ground_z=400.0)
    ground = project.mapLayersByName(terrain.GROUND_PLANE_NAME)
    assert len(ground) == 1 and ground[0].isValid()
    value, ok = ground[0].dataProvider().sample(extent.center(), 1)
    assert ok and value == pytest.approx(400.0)
    assert ground[0] in settings.layers()  # its colour is the bottom of the terrain texture
    pose = scene3d.camera_pose(settings, extent, z_range=(400.0, 420.0))
    world = settings.worldToMapCoordinates(pose.centerPoint())
    assert world.z() == pytest.approx(410.0)  # aims at the buildings, not at z = 0
    assert isinstance(extent, QgsRectangle)


def _city_files() -> list:
    shared = Path(__file__).resolve().parents[2] / "shared/data/3d/cityjson"
    cache = Path(os.environ.get("DTFL_TESTDATA_CACHE", "/work/testdata-cache")) / "cityjson"
    files = [pytest.param(shared / name, id=name.split(".")[0]) for name in (
        "3dbag_b2.city.json", "rotterdam_subset.city.json", "DH_01_subs.city.json", "delft_3dfier.city.json",
    )]  # fmt: skip
    zurich = cache / "zurich_subset_lod2.city.json"
    files.append(
        pytest.param(
            zurich,
            id="zurich_lod2",
            marks=pytest.mark.skipif(
                not zurich.is_file(),
                reason=f"{zurich} is absent: fetched test data (cjio tests/data/zurich, LoD2, EPSG:2056), not in shared/",
            ),
        )
    )
    return files


def _busiest_window(layer: QgsVectorLayer, size: float = 120.0):
    """The buildings within ``size`` m of the one with the most neighbours: where a user would zoom in."""
    from qgis.core import QgsRectangle

    boxes = [f.geometry().boundingBox() for f in layer.getFeatures()]

    def near(a, b) -> bool:
        return abs(a.center().x() - b.center().x()) < size / 2 and abs(a.center().y() - b.center().y()) < size / 2

    best = max(boxes, key=lambda box: sum(near(box, other) for other in boxes))
    window = QgsRectangle(best)
    for other in boxes:
        if near(best, other):
            window.combineExtentWith(other)
    window.grow(5.0)
    return window


def wall_light(colour) -> bool:
    """The wall colour (#ece6da) lit from any side: grey-beige, red >= green > blue (the ground is greener)."""
    return (
        colour.red() > 90
        and colour.red() >= colour.green()
        and colour.red() - colour.blue() > 6
        and not roof_red(colour)
    )


@needs_xvfb
@pytest.mark.parametrize("source", _city_files())
def test_every_city_through_import_and_render(processing_ready, tmp_path, source):
    """dtfl:cityjson_import -> GeoPackage -> project -> dtfl:render_3d_view: roofs and walls apart, in view."""
    import processing

    stem = source.name.split(".")[0]
    result = processing.run("dtfl:cityjson_import", {"INPUT": str(source), "OUTPUT": str(tmp_path / f"{stem}.gpkg")})
    layer = QgsVectorLayer(result["OUTPUT"], stem, "ogr")  # added plainly, as a user would: no 3D style
    window = _busiest_window(layer)
    crs = layer.crs().authid()
    project = _project(tmp_path, [layer])  # the project owns the layer from here on
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"city_{stem}_{VERSION}.png"
    processing.run(
        "dtfl:render_3d_view",
        {
            "PROJECT": project,
            "EXTENT": f"{window.xMinimum()},{window.xMaximum()},{window.yMinimum()},{window.yMaximum()} [{crs}]",
            "PITCH": 55,
            "YAW": 30,
            "WIDTH": 800,
            "HEIGHT": 500,
            "TIMEOUT": 240,
            "OUTPUT": str(target),
        },
    )
    colours = pixels(target)
    roofs, walls = sum(map(roof_red, colours)), sum(map(wall_light, colours))
    assert roofs > 0.01 * len(colours), (stem, roofs)
    assert walls > 0.005 * len(colours), (stem, walls)


def test_desktop_python_is_not_guessed_from_path(tmp_path, monkeypatch):
    """In the desktop sys.executable is the qgis binary and sys.exec_prefix may be a Python found on PATH
    (pyenv, conda): a candidate without qgis is never chosen; the loaded libpython's prefix wins."""
    from dtfl_plugin.errors import LayerError
    from dtfl_plugin.layers import render

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    impostor = tmp_path / "pyenv" / "bin" / f"python{version}"
    impostor.parent.mkdir(parents=True)
    impostor.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'qgis'\" >&2\nexit 1\n")
    impostor.chmod(0o755)
    monkeypatch.setattr(sys, "executable", "/usr/bin/qgis")
    monkeypatch.setattr(sys, "_base_executable", "/usr/bin/qgis", raising=False)
    monkeypatch.setattr(sys, "exec_prefix", str(tmp_path / "pyenv"))
    monkeypatch.setattr(sys, "base_exec_prefix", str(tmp_path / "pyenv"))
    monkeypatch.setattr(render, "_qgis_prefixes", lambda: [])
    monkeypatch.setattr(render.sysconfig, "get_config_var", lambda name: None)
    monkeypatch.setattr(render, "_loaded_python_prefixes", lambda: [])
    assert str(impostor) in render.python_candidates()
    with pytest.raises(LayerError, match="Python interpreter"):
        render.python_executable()  # a clear message, not "No module named 'qgis'" from a child
    real_prefix = Path(sys.base_prefix)
    monkeypatch.setattr(render, "_loaded_python_prefixes", lambda: [real_prefix])
    chosen = render.python_executable()
    assert chosen != str(impostor) and Path(chosen).parent == real_prefix / "bin"
