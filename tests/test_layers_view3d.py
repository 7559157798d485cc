"""The 'Open 3D view of this area' feature, offscreen: it must explain instead of hanging on OpenGL."""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRasterLayer, QgsRectangle, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication

from dtfl_plugin.gui.view3d import View3DFeature, canvas_3d_api, find_dem

pytestmark = pytest.mark.gui


@pytest.fixture
def feature(qgis_iface, qgis_new_project):
    from dtfl_plugin.plugin import DtflPlugin

    plugin = DtflPlugin(qgis_iface)
    feature = View3DFeature(qgis_iface, plugin)
    feature.init_gui()
    yield feature, plugin
    feature.unload()
    plugin.unload()


def test_action_opens_dock_with_honest_notes(feature, qgis_iface, shared_data):
    feature_obj, plugin = feature
    if canvas_3d_api():
        pytest.skip("QGIS 3.36+ opens a real 3D canvas through iface, which the test interface stub cannot provide")
    project = QgsProject.instance()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    buildings = QgsVectorLayer("Polygon?crs=EPSG:28992&field=hoogte:double", "panden", "memory")
    project.addMapLayer(buildings)
    actions = [a for a in plugin.actions if a.objectName() == "dtflOpen3DViewAction"]
    assert len(actions) == 1 and actions[0].text() == "Open 3D view of this area"
    qgis_iface.mapCanvas().setDestinationCrs(project.crs())
    qgis_iface.mapCanvas().setExtent(QgsRectangle(84808, 447412, 85073, 447642))
    actions[0].trigger()
    dock = feature_obj.dock
    assert dock is not None and dock in plugin.docks
    assert buildings.renderer3D() is not None  # a height field -> extruded by default
    assert "3.34" not in dock.note.text()  # no 3D Tiles layer loaded: 3D Tiles are not mentioned
    assert "No terrain model" in dock.note.text()
    if shutil.which("xvfb-run") is None:
        assert "OpenGL" in dock.image.text() and not dock.render_button.isEnabled()  # explained, no hang
        return
    # The render runs in a child process: the event loop keeps running while we wait for it.
    assert dock.job is not None and "separate process" in dock.image.text()
    deadline = time.monotonic() + 180
    while dock.job.running() or dock.job.timer is not None:
        QCoreApplication.processEvents()
        time.sleep(0.05)
        assert time.monotonic() < deadline, "the dock's render never finished"
    pixmap = dock.image.pixmap()
    assert pixmap is not None and not pixmap.isNull(), dock.image.text()
    assert pixmap.width() >= 800 and pixmap.height() >= 500  # large enough to read
    assert dock.render_button.isEnabled()


def test_dock_survives_a_dying_render(feature, qgis_iface, monkeypatch, tmp_path):
    """A render child that crashes (as QGIS 3.22's 3D engine can) is a message; the caller lives on."""
    from dtfl_plugin.layers import render_async

    fake = tmp_path / "crash.py"
    fake.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGABRT)\n")
    monkeypatch.setattr(render_async, "child_command", lambda job: ([sys.executable, str(fake)], dict(os.environ)))
    results = []
    job = render_async.RenderJob({"output": str(tmp_path / "x.png")}, str(tmp_path / "job"), timeout_s=30)
    (tmp_path / "job").mkdir()
    job.start(lambda path, error: results.append((path, error)))
    deadline = time.monotonic() + 30
    while not results:
        QCoreApplication.processEvents()
        time.sleep(0.05)
        assert time.monotonic() < deadline
    assert results[0][0] == "" and "crashed" in results[0][1]


def test_find_dem_prefers_the_named_terrain(qgis_app, shared_data):
    from dtfl_plugin.layers.render import TERRAIN_KEY

    project = QgsProject()
    first = QgsRasterLayer(str(shared_data / "3d/derived/ahn3_delft_dtm_1m.tif"), "dtm", "gdal")
    filled = QgsRasterLayer(str(shared_data / "3d/derived/ahn3_delft_dtm_1m_filled.tif"), "dtm filled", "gdal")
    project.addMapLayers([first, filled])
    assert find_dem(project) is first
    project.writeEntry(*TERRAIN_KEY, filled.id())
    assert find_dem(project) is filled


def test_dem_becomes_the_project_terrain_where_qgis_has_one(qgis_app, shared_data):
    """QGIS 3.26+: new 3D canvases take the project's terrain; 3.22 has no such setting (the dock renders instead)."""
    from dtfl_plugin.gui.view3d import use_dem_as_project_terrain
    from dtfl_plugin.layers.render import terrain_exaggeration, terrain_layer

    project = QgsProject()
    dem = QgsRasterLayer(str(shared_data / "3d/derived/ahn3_delft_dtm_1m_filled.tif"), "dtm", "gdal")
    project.addMapLayer(dem)
    if not use_dem_as_project_terrain(project, dem, 2.0):
        assert not hasattr(project, "elevationProperties")
        pytest.skip(
            "QGIS without project elevation properties (3.26+): terrain is named in a DTFL project entry instead"
        )
    assert terrain_layer(project) is dem
    assert terrain_exaggeration(project) == 2.0


def test_3dbag_for_this_map_area(feature, qgis_iface, processing_ready, sandbox, shared_data):
    """The desktop action: a background task (progress, cancel) then a styled CityJSON layer in the project."""
    from qgis.core import QgsSettings

    from dtfl_plugin.gui import view3d

    feature_obj, plugin = feature
    settings = QgsSettings()
    settings.setValue(view3d.BAG3D_INDEX_KEY, str(shared_data / "3d/tile_index/bag3d_tiles_den_haag_delft.geojson"))
    settings.setValue(view3d.BAG3D_URL_KEY, sandbox["files"] + "/3dbag/tiles/{tile_id}.city.json")
    try:
        project = QgsProject.instance()
        project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
        qgis_iface.mapCanvas().setDestinationCrs(project.crs())
        qgis_iface.mapCanvas().setExtent(QgsRectangle(84980, 446520, 85040, 446580))
        actions = [a for a in plugin.actions if a.objectName() == "dtflBagForMapAreaAction"]
        assert len(actions) == 1
        before = len(project.mapLayers())
        actions[0].trigger()
        assert feature_obj.tasks  # running in the task manager, not in the caller
        deadline = time.monotonic() + 60
        while feature_obj.tasks:
            QCoreApplication.processEvents()
            time.sleep(0.05)
            assert time.monotonic() < deadline, "the 3DBAG task never finished"
        added = [layer for layer in project.mapLayers().values() if layer.name() == "3DBAG"]
        assert len(project.mapLayers()) == before + 1 and len(added) == 1
        assert added[0].featureCount() > 0 and added[0].renderer3D() is not None
    finally:
        settings.remove(view3d.BAG3D_INDEX_KEY)
        settings.remove(view3d.BAG3D_URL_KEY)
