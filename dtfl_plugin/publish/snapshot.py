"""What the site is made of, read from the project on the main thread (layers are cloned).

Processing runs the publishing in a worker thread; the project and its layers belong to the main thread,
so ``prepareAlgorithm`` takes this snapshot and the worker reads only the clones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qgis.core import QgsCoordinateReferenceSystem, QgsMapLayer, QgsProject, QgsRectangle

from ..errors import PublishError
from ..i18n import tr
from ..provenance.layer_props import LayerSource, get_layer_source, source_file
from ..provenance.record import RunRecord
from ..provenance.store import load_runs

TERRAIN_KEY = ("dtfl", "terrain_layer")  # same entry as layers.render.TERRAIN_KEY (3D view's DEM)


@dataclass
class LayerSnap:
    id: str
    name: str
    layer: QgsMapLayer  # a clone owned by the snapshot
    visible: bool
    source: LayerSource | None
    path: str  # the data file (without "|layername=..."), or the provider's URI for services


@dataclass
class ProjectSnap:
    title: str
    crs: QgsCoordinateReferenceSystem
    layers: list[LayerSnap] = field(default_factory=list)  # drawing order: top first
    runs: list[RunRecord] = field(default_factory=list)
    terrain_id: str = ""
    recipe_id: str = ""
    transform_context: object = None
    project_file: str = ""

    def layer(self, layer_id: str) -> LayerSnap | None:
        return next((snap for snap in self.layers if snap.id == layer_id), None)


def read_project(path: str) -> QgsProject:
    """A project file read into a private QgsProject (the user's open project is not touched)."""
    if not Path(path).is_file():
        raise PublishError(tr("The project file {path} does not exist.").format(path=path))
    project = QgsProject()
    if not project.read(path):
        raise PublishError(
            tr("QGIS could not read the project {path}: {error}").format(path=path, error=project.error())
        )
    return project


def _data_path(layer: QgsMapLayer) -> str:
    provider = layer.providerType()
    source = layer.source()
    if provider in ("ogr", "gdal"):
        return source_file(source)
    return source


def snapshot(project: QgsProject) -> ProjectSnap:
    """Clone the project's layers in drawing order, with visibility, source facts, runs and recipe id."""
    root = project.layerTreeRoot()
    order = [layer for layer in root.layerOrder() if layer is not None]
    known = {layer.id() for layer in order}
    order += [layer for layer in project.mapLayers().values() if layer.id() not in known]
    snap = ProjectSnap(
        title=project.title() or Path(project.fileName() or "").stem,
        crs=project.crs(),
        runs=load_runs(project),
        transform_context=project.transformContext(),
        project_file=project.fileName(),
    )
    snap.terrain_id, _ = project.readEntry(*TERRAIN_KEY, "")
    snap.recipe_id, _ = project.readEntry("DTFL", "recipe_id", "")
    for layer in order:
        if not layer.isValid():
            continue
        node = root.findLayer(layer.id())
        clone = layer.clone()
        if clone is None:
            continue
        snap.layers.append(
            LayerSnap(
                id=layer.id(),
                name=layer.name(),
                layer=clone,
                visible=bool(node.isVisible()) if node is not None else False,
                source=get_layer_source(layer),
                path=_data_path(layer),
            )
        )
    return snap


def default_extent(snap: ProjectSnap) -> QgsRectangle:
    """The terrain's extent when the twin has one (that is what the 3D view shows), else all layers."""
    from qgis.core import QgsCoordinateTransform, QgsCsException

    terrain = snap.layer(snap.terrain_id)
    candidates = [terrain] if terrain is not None else snap.layers
    extent: QgsRectangle | None = None
    for item in candidates:
        rect = item.layer.extent()
        if rect.isNull() or rect.isEmpty():
            continue
        try:
            rect = QgsCoordinateTransform(item.layer.crs(), snap.crs, snap.transform_context).transformBoundingBox(rect)
        except QgsCsException:  # a layer that cannot be placed in the project's CRS does not count
            continue
        if extent is None:
            extent = QgsRectangle(rect)
        else:
            extent.combineExtentWith(rect)
    return extent if extent is not None else QgsRectangle()
