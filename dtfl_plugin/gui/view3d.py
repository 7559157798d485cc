"""GUI feature: "Open 3D view of this area".

QGIS 3.36+ lets a plugin create a real 3D map canvas (``iface.createNewMapCanvas3D``): we fill it with
terrain (the project's DEM), buildings, point clouds and a camera on the current map extent. Older QGIS
(3.22) has no 3D canvas in Python, so the dock shows a rendered view of the same scene with camera
controls, and a button opens QGIS's own 3D view (flat terrain there: its DEM must be set in its settings).
The scene itself is built by layers/scene3d.py and layers/render.py; this file is widgets only.
"""

from __future__ import annotations

from qgis.core import QgsProject, QgsProviderRegistry, QgsVectorLayer
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import (
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..compat import GEOMETRY_POLYGON, QAction
from ..errors import DtflError
from ..i18n import tr
from ..layers.terrain import find_dem, use_dem_as_project_terrain  # noqa: F401 - decisions live in layers/


def canvas_3d_api() -> bool:
    """QGIS 3.36+ lets plugins create 3D map canvases (asked of the class: test stubs answer anything)."""
    from qgis.gui import QgisInterface

    return hasattr(QgisInterface, "createNewMapCanvas3D")


def tiled_scenes_supported() -> bool:
    return "cesiumtiles" in QgsProviderRegistry.instance().providerList()


def wants_tiled_scenes(project: QgsProject) -> bool:
    """A layer of the project is (or points at) a 3D Tiles tileset: only then do 3D Tiles matter."""
    for layer in project.mapLayers().values():
        source = layer.source().lower()
        if layer.providerType() in ("cesiumtiles", "tiledscene") or "tileset.json" in source:
            return True
    return False


RENDER_TIMEOUT_S = 120
BAG3D_INDEX_KEY = "dtfl/3dbag/tile_index"
BAG3D_URL_KEY = "dtfl/3dbag/tile_url"


class View3DDock(QDockWidget):
    """Rendered 3D view with camera controls (QGIS versions without a Python 3D canvas)."""

    def __init__(self, iface, parent=None) -> None:
        super().__init__(tr("DTFL 3D view"), parent)
        self.setObjectName("dtflView3DDock")
        self.iface = iface
        self.extent = None
        self.job = None
        body = QWidget(self)
        layout = QVBoxLayout(body)
        self.image = QLabel(tr("Press Render to draw the 3D view."), body)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(640, 400)
        self.image.setWordWrap(True)
        layout.addWidget(self.image, 1)
        self.note = QLabel("", body)
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        form = QFormLayout()
        self.pitch = QSlider(Qt.Orientation.Horizontal, body)
        self.pitch.setRange(0, 85)
        self.pitch.setValue(50)
        form.addRow(tr("Tilt"), self.pitch)
        self.yaw = QSlider(Qt.Orientation.Horizontal, body)
        self.yaw.setRange(-180, 180)
        self.yaw.setValue(20)
        form.addRow(tr("Rotation"), self.yaw)
        self.exaggeration = QDoubleSpinBox(body)
        self.exaggeration.setRange(0.1, 20.0)
        self.exaggeration.setSingleStep(0.5)
        self.exaggeration.setValue(1.0)
        form.addRow(tr("Vertical exaggeration"), self.exaggeration)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.render_button = QPushButton(tr("Render"), body)
        self.render_button.clicked.connect(self.render)
        buttons.addWidget(self.render_button)
        self.extrude_button = QPushButton(tr("Extrude buildings of the current layer"), body)
        self.extrude_button.clicked.connect(self.extrude_current_layer)
        buttons.addWidget(self.extrude_button)
        self.native_button = QPushButton(tr("Open QGIS 3D view"), body)
        self.native_button.clicked.connect(self.open_native_view)
        buttons.addWidget(self.native_button)
        layout.addLayout(buttons)
        self.setWidget(body)

    def show_area(self, extent) -> None:
        from ..layers.render import child_command

        self.extent = extent
        project = QgsProject.instance()
        notes = []
        if wants_tiled_scenes(project) and not tiled_scenes_supported():
            notes.append(
                tr(
                    "This QGIS cannot show the 3D Tiles layer of this project (tiled scenes need QGIS 3.34 or newer); it is left out of the view."
                )
            )
        if find_dem(project) is None:
            notes.append(tr("No terrain model (DEM) loaded: the ground is drawn flat at the buildings' base."))
        self.note.setText("\n".join(notes))
        try:
            child_command("probe")
        except DtflError as err:
            self.render_button.setEnabled(False)
            self.image.setText(str(err))
            return
        self.render_button.setEnabled(True)
        self.render()

    def render(self) -> None:
        """Render in a guarded child process; the desktop never waits on it (polled, with a timeout)."""
        from ..layers import render_async

        if self.extent is None or (self.job is not None and self.job.running()):
            return
        project = QgsProject.instance()
        dem = find_dem(project)
        size = self.image.size()
        try:
            if dem is not None:
                project.writeEntry(*render_async.TERRAIN_KEY, dem.id())
            self.job = render_async.RenderJob.for_project(
                project,
                self.extent,
                width=max(800, size.width()),
                height=max(500, size.height()),
                pitch=self.pitch.value(),
                yaw=self.yaw.value(),
                exaggeration=self.exaggeration.value(),
                timeout_s=RENDER_TIMEOUT_S,
            )
        except DtflError as err:
            self.image.setText(str(err))
            return
        self.render_button.setEnabled(False)
        self.image.setText(tr("Rendering the 3D view in a separate process ..."))
        self.job.start(self._rendered)

    def _rendered(self, path: str, error: str) -> None:
        self.render_button.setEnabled(True)
        if error:
            self.image.setText(error)
            return
        pixmap = QPixmap(path)
        self.job.cleanup()
        if pixmap.isNull():
            self.image.setText(tr("The 3D render produced no image."))
            return
        self.image.setPixmap(pixmap)

    def extrude_current_layer(self) -> None:
        from ..layers.scene3d import style_extruded_buildings

        layer = self.iface.activeLayer()
        if not isinstance(layer, QgsVectorLayer) or layer.geometryType() != GEOMETRY_POLYGON:
            self.iface.messageBar().pushWarning(tr("3D view"), tr("Select a polygon layer with buildings first."))
            return
        numeric = [f.name() for f in layer.fields() if f.isNumeric()]
        field = ""
        if numeric:
            field, ok = QInputDialog.getItem(
                self, tr("Building height"), tr("Field with the height (m):"), [tr("(automatic)")] + numeric, 0, False
            )
            if not ok:
                return
            field = "" if field == tr("(automatic)") else field
        try:
            used = style_extruded_buildings(layer, field)
        except DtflError as err:
            self.iface.messageBar().pushWarning(tr("3D view"), str(err))
            return
        self.iface.messageBar().pushInfo(
            tr("3D view"),
            tr("Extruded by {expression}.").format(expression=used)
            if used
            else tr("No height field found: extruded 10 m."),
        )
        if self.extent is not None and self.render_button.isEnabled():
            self.render()

    def open_native_view(self) -> None:
        action = self.iface.mainWindow().findChild(QAction, "mActionNew3DMapCanvas")
        if action is None:
            self.iface.messageBar().pushWarning(tr("3D view"), tr("This QGIS has no 3D map view."))
            return
        action.trigger()
        self.iface.messageBar().pushInfo(
            tr("3D view"),
            tr("QGIS's own 3D view starts with flat terrain: choose the DEM under its settings (Terrain)."),
        )


class View3DFeature:
    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin
        self.dock: View3DDock | None = None
        self.canvases: list = []

    def init_gui(self) -> None:
        self.plugin.add_action(tr("Open 3D view of this area"), self.open_view, object_name="dtflOpen3DViewAction")
        self.plugin.add_action(
            tr("3DBAG for this map area"),
            lambda *_: self.load_3dbag(),
            object_name="dtflBagForMapAreaAction",
            toolbar=False,
        )
        self.tasks: list = []

    def load_3dbag(self, lod_index: int = 2) -> None:
        """dtfl:load_3dbag as a background task (QGIS's task manager shows progress and cancel)."""
        import os
        import tempfile

        from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform

        from .background import run_in_background

        project = QgsProject.instance()
        canvas = self.iface.mapCanvas()
        rd = QgsCoordinateReferenceSystem("EPSG:28992")
        extent = QgsCoordinateTransform(canvas.mapSettings().destinationCrs(), rd, project).transformBoundingBox(
            canvas.extent()
        )
        if extent.width() * extent.height() > 25e6:
            self.iface.messageBar().pushWarning(
                tr("3DBAG"), tr("Zoom in to at most 5 x 5 km: 3DBAG tiles are large and the view would be crowded.")
            )
            return
        algorithm = QgsApplication.processingRegistry().createAlgorithmById("dtfl:load_3dbag")
        if algorithm is None:
            self.iface.messageBar().pushWarning(tr("3DBAG"), tr("The DTFL Processing provider is not loaded."))
            return
        fd, output = tempfile.mkstemp(prefix="3dbag-", suffix=".gpkg")
        os.close(fd)
        os.unlink(output)
        parameters = {
            "EXTENT": f"{extent.xMinimum()},{extent.xMaximum()},{extent.yMinimum()},{extent.yMaximum()} [EPSG:28992]",
            "LOD": lod_index,
            "OUTPUT": output,
        }
        from qgis.core import QgsSettings

        for key, name in ((BAG3D_INDEX_KEY, "INDEX"), (BAG3D_URL_KEY, "TILE_URL")):
            value = QgsSettings().value(key, "")
            if value:  # a mirror or a local copy the organisation set up; else 3DBAG's own addresses
                parameters[name] = str(value)
        task = run_in_background(
            algorithm,
            parameters,
            self._3dbag_done,
            description=tr("3DBAG for this map area"),
            project=project,
        )
        self.tasks.append(task)

    def _3dbag_done(self, ok: bool, results: dict, feedback, task) -> None:
        from ..layers.cityjson_layer import cityjson_layer

        self.tasks = [running for running in self.tasks if running is not task]
        if not ok or not results.get("OUTPUT"):
            if not feedback.isCanceled():
                self.iface.messageBar().pushWarning(tr("3DBAG"), tr("3DBAG could not be loaded; see the log."))
            return
        try:
            layer = cityjson_layer(results["OUTPUT"], tr("3DBAG"))
        except DtflError as err:
            self.iface.messageBar().pushWarning(tr("3DBAG"), str(err))
            return
        QgsProject.instance().addMapLayer(layer)
        self.iface.messageBar().pushInfo(
            tr("3DBAG"), tr("{count} 3DBAG features loaded.").format(count=int(results.get("FEATURES", 0)))
        )

    def open_view(self) -> None:
        from ..layers.render_scene import apply_default_3d_styles

        project = QgsProject.instance()
        extent = self.iface.mapCanvas().extent()
        if project.crs().isGeographic():
            self.iface.messageBar().pushWarning(
                tr("3D view"), tr("3D views need a projected project CRS such as EPSG:28992.")
            )
            return
        apply_default_3d_styles(project)
        if canvas_3d_api():
            try:
                self._open_canvas(project, extent)
                return
            except (DtflError, AttributeError) as err:  # a 3.36+ API difference falls back to the rendered view
                self.iface.messageBar().pushWarning(tr("3D view"), str(err))
        if self.dock is None:
            self.dock = View3DDock(self.iface, self.iface.mainWindow())
            self.plugin.add_dock(self.dock)
        self.dock.show()
        self.dock.raise_()
        self.dock.show_area(extent)

    def _open_canvas(self, project: QgsProject, extent) -> None:
        """QGIS 3.36+: a real interactive 3D map canvas with our scene and a camera on the extent.

        Its map settings are made by QGIS from the project (Python cannot replace them: no setMapSettings
        on 3.40), so the DEM goes into the project's elevation settings first, which is also where QGIS
        users expect it (Project > Properties > Terrain).
        """
        from ..layers import scene3d, terrain

        dem = find_dem(project)
        exaggeration = terrain.terrain_exaggeration(project)
        if dem is not None:
            use_dem_as_project_terrain(project, dem, exaggeration)
        canvas = self.iface.createNewMapCanvas3D(tr("DTFL 3D view"))
        if canvas is None or canvas.mapSettings() is None:
            raise DtflError(tr("QGIS did not create a 3D view."))
        settings = canvas.mapSettings()
        layers = [lyr for lyr in project.layerTreeRoot().checkedLayers() if lyr is not None and lyr.isValid()]
        settings.setLayers(layers)
        drape = [lyr for lyr in layers if lyr.renderer3D() is None and lyr is not dem]
        if len(drape) < len(layers):
            settings.setTerrainMapTheme(scene3d.terrain_theme(project, drape))
        controller = canvas.cameraController()
        if controller is not None:
            controller.setCameraPose(scene3d.camera_pose(settings, extent, pitch=50, yaw=20))
        self.canvases.append(canvas)

    def unload(self) -> None:
        if self.dock is not None and self.dock.job is not None:
            self.dock.job.cancel()
        self.dock = None  # plugin.unload removes and deletes the dock
        self.canvases.clear()
