"""Create QGIS layers from catalogue entries: validated, described, never added when invalid.

``create_layer`` may touch the network (capabilities, CityJSON downloads): call it from a QgsTask
or a Processing algorithm. ``LoadEntryTask`` does exactly that and adds the layer on the main thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsFeedback,
    QgsLayerTree,
    QgsMapLayer,
    QgsPointCloudLayer,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QCoreApplication, QTimer

from .. import net, settings
from ..catalogue.entry import Entry, ServiceType
from ..errors import DtflError, LayerError, NetError
from ..i18n import tr
from ..task import DtflTask
from . import builder
from . import capabilities as caps_mod
from .metadata import apply_entry
from .uri import LayerSpec, is_remote, local_path, spec_for

_CAPS_SERVICE = {ServiceType.WMS.value: "WMS", ServiceType.WMTS.value: "WMTS", ServiceType.WFS.value: "WFS"}

DUTCH_CRS = "EPSG:28992"  # Amersfoort / RD New: the CRS of the Dutch base registries


def resolve_spec(entry: Entry, *, project_crs: str = "EPSG:28992", feedback: QgsFeedback | None = None) -> LayerSpec:
    """Read the service's capabilities where the choice of CRS/style/tile matrix set depends on them."""
    service = _CAPS_SERVICE.get(entry.service_type)
    caps = caps_mod.fetch(entry.service_url, service, feedback=feedback) if service else None
    spec = spec_for(entry, project_crs=project_crs, caps=caps)
    if caps is not None and entry.name:
        spec.attribution = caps_mod.find_layer(caps, entry.name).attribution
    return spec


def create_layer(
    source: Entry | LayerSpec, *, project_crs: str = "EPSG:28992", feedback: QgsFeedback | None = None
) -> QgsMapLayer:
    """A valid, described layer for an entry (or a ready LayerSpec); LayerError with a clear message otherwise."""
    spec = source if isinstance(source, LayerSpec) else resolve_spec(source, project_crs=project_crs, feedback=feedback)
    entry = spec.entry
    if spec.kind == "cityjson":
        layer = _cityjson_layer(spec, feedback)
    else:
        layer = _open(spec)
    if feedback is not None and feedback.isCanceled():
        raise LayerError(tr("Cancelled."))
    if entry is not None:
        apply_entry(
            layer, entry, name=spec.name, service_version=spec.service_version, service_attribution=spec.attribution
        )
    if spec.kind == "pointcloud":
        from .pointcloud import style_point_cloud

        style_point_cloud(layer)
    return layer


def _point_cloud_options() -> QgsPointCloudLayer.LayerOptions:
    """No statistics task: QGIS >= 3.26 starts one from the layer's constructor, and this layer is built on a
    worker thread and then moved to the main thread. Clean-clone CI runs crashed in that task's result handling
    of such a layer (QGIS 3.40: segfault; 3.44: bus error, twice in one run, in the statistics code). DTFL's
    point cloud styles (classes, 3D symbol) need no statistics."""
    options = QgsPointCloudLayer.LayerOptions()
    if hasattr(options, "skipStatisticsCalculation"):  # QGIS 3.22 has no statistics task
        options.skipStatisticsCalculation = True
    return options


def _open(spec: LayerSpec) -> QgsMapLayer:
    if spec.kind == "raster":
        layer = QgsRasterLayer(spec.uri, spec.name, spec.provider)
    elif spec.kind == "vector":
        layer = QgsVectorLayer(spec.uri, spec.name, spec.provider)
    elif spec.kind == "vectortile":
        layer = QgsVectorTileLayer(spec.uri, spec.name)
        if layer.isValid() and "styleUrl=" in spec.uri:
            # The constructor does not apply the service's Mapbox GL style; loading it is explicit.
            message, ok = layer.loadDefaultStyle()
            spec.notes.append("style applied" if ok else f"style not applied: {message}")
    elif spec.kind == "pointcloud":
        layer = QgsPointCloudLayer(spec.uri, spec.name, spec.provider, _point_cloud_options())
    elif spec.kind == "tiledscene":
        from qgis.core import QgsTiledSceneLayer  # QGIS >= 3.34; uri.py refused older versions

        layer = QgsTiledSceneLayer(spec.uri, spec.name, spec.provider)
    else:
        raise LayerError(tr("Unknown layer kind {kind}.").format(kind=spec.kind))
    if not layer.isValid():
        raise LayerError(
            tr(
                "The layer {name} could not be loaded: {reason}. The service may be down or the layer retired; try again later or search the catalogue again."
            ).format(name=spec.name, reason=_reason(layer)),
            detail=f"{spec.provider}: {spec.uri}",
        )
    return layer


def _reason(layer: QgsMapLayer) -> str:
    # error() on a point cloud layer without provider crashes QGIS 3.22: ask for the provider first.
    if layer.dataProvider() is None:
        return tr("no data provider for this source")
    # Only the layer's error: the provider's error() of a failed OAPIF layer crashed 3.22 in tests.
    error = layer.error()
    summary = error.summary() if not error.isEmpty() else ""
    return summary.strip() or tr("the provider reported no details (see the Log Messages panel)")


def _cityjson_layer(spec: LayerSpec, feedback: QgsFeedback | None) -> QgsMapLayer:
    from .cityjson_layer import cityjson_layer, cityjson_to_gpkg

    url = spec.uri
    cache = settings.data_dir() / "cityjson"
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    if is_remote(url):
        source = cache / f"{key}{'.city.jsonl' if url.lower().endswith('.jsonl') else '.city.json'}"
        try:
            net.download(url, source, feedback=feedback, timeout_s=120.0)
        except NetError as err:
            raise LayerError(
                tr("The CityJSON file could not be downloaded: {reason}").format(reason=err), detail=url
            ) from err
    else:
        source = Path(local_path(url))
    gpkg, count, _ = cityjson_to_gpkg(source, cache / f"{key}.gpkg", feedback=feedback)
    if count == 0:
        raise LayerError(tr("The CityJSON file {name} holds no surfaces DTFL can show.").format(name=source.name))
    return cityjson_layer(gpkg, spec.name)


def add_to_project(layer: QgsMapLayer, project: QgsProject | None = None) -> QgsMapLayer:
    """Add a valid layer (main thread). Refuses invalid ones: a broken layer never lands in a project."""
    if not layer.isValid():
        raise LayerError(tr("The layer {name} is not valid and was not added.").format(name=layer.name()))
    project = project or QgsProject.instance()
    was_empty = not project.mapLayers()
    project.addMapLayer(layer, False)
    root = project.layerTreeRoot()
    root.insertLayer(tree_position(root, layer), layer)
    if was_empty:
        # An empty project takes the first layer's CRS; OGC API Features answer in CRS84, which would
        # put a Dutch twin in degrees and stop 3D views. National data is measured in RD New. The desktop
        # adopts the first layer's CRS on a later turn of the event loop, so decide again then.
        _prefer_dutch_crs(project)
        QTimer.singleShot(0, lambda: _prefer_dutch_crs(project))
    return layer


def tree_position(root, layer: QgsMapLayer) -> int:
    """Where a layer from the catalogue goes in the layer tree: features above pictures.

    QGIS puts every new layer on top, so terrain or an aerial photo loaded after a feature layer covers
    it completely: the features are in the attribute table but never seen on the map (an OGC API
    Features layer under the AHN terrain in the journey). Feature layers go on top; rasters, point
    clouds, meshes, tiles and scenes go directly below the lowest feature layer, above older pictures.
    """
    if _is_overlay(layer):
        return 0
    position = 0
    for index, node in enumerate(root.children()):
        if QgsLayerTree.isLayer(node) and _is_overlay(node.layer()):
            position = index + 1
    return position


def _is_overlay(layer: QgsMapLayer | None) -> bool:
    return isinstance(layer, QgsVectorLayer) and layer.isSpatial()


def _prefer_dutch_crs(project: QgsProject) -> None:
    if not project.crs().isValid() or project.crs().isGeographic():
        project.setCrs(QgsCoordinateReferenceSystem(DUTCH_CRS))


class LoadEntryTask(DtflTask):
    """Create the layer of a catalogue entry in the background; add it to the project in finished().

    ``on_done(layer, error)`` is called on the main thread with exactly one of them set.
    """

    def __init__(self, entry: Entry, project: QgsProject | None = None, on_done: Callable | None = None) -> None:
        super().__init__(tr("Loading {title}").format(title=entry.title or entry.name), forward_progress=False)
        self.entry = entry
        self.project = project or QgsProject.instance()
        self.on_done = on_done
        self.layer: QgsMapLayer | None = None
        self._project_crs = self.project.crs().authid() or "EPSG:28992"  # read here, on the main thread

    def work(self, feedback: QgsFeedback) -> QgsMapLayer:
        spec = resolve_spec(self.entry, project_crs=self._project_crs, feedback=feedback)  # the network, here

        def construct() -> QgsMapLayer:
            layer = create_layer(spec, feedback=feedback)
            # It must live in the main thread before it joins the project.
            layer.moveToThread(QCoreApplication.instance().thread())
            return layer

        self.layer = builder.build(construct)  # not on this pooled thread: see layers/builder.py
        return self.layer

    def on_finished(self, ok: bool) -> None:
        if ok and self.layer is not None:
            try:
                add_to_project(self.layer, self.project)
            except DtflError as err:
                self.layer, self.error = None, err
        elif self.error is None:
            self.error = LayerError(tr("Cancelled."))
        if self.on_done is not None:
            self.on_done(self.layer, None if self.layer is not None else self.error)


def load_entry(entry: Entry, project: QgsProject | None = None, on_done: Callable | None = None) -> LoadEntryTask:
    """Start a LoadEntryTask on QGIS's task manager and return it."""
    task = LoadEntryTask(entry, project, on_done)
    QgsApplication.taskManager().addTask(task)
    return task
