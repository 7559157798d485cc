"""The work of a 3D render, done inside the guarded child process (see render.py and render_child.py).

Load the project, give layers without a 3D style a safe one, build the scene (terrain or ground
plane, camera on the scene's real height range), render with QgsLayoutItem3DMap, write the PNG
atomically. Nothing here runs in the user's QGIS: a native crash ends only the child.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsLayout,
    QgsLayoutExporter,
    QgsLayoutSize,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QRectF, QSize
from qgis.PyQt.QtGui import QImage

from ..compat import GEOMETRY_POLYGON, LAYER_POINT_CLOUD, LAYOUT_MILLIMETERS
from ..errors import LayerError
from ..i18n import tr
from . import scene3d, terrain

GROUND_BELOW_M = 0.1


def looks_like_cityjson(layer: QgsVectorLayer) -> bool:
    """Our CityJSON record fields (import, loader, a GeoPackage or OGC API layer with the same fields)."""
    names = set(layer.fields().names())
    return "surface" in names and ("z_min" in names or "lod" in names)


def apply_default_3d_styles(project: QgsProject) -> None:
    """3D styles for layers that have none: CityJSON surfaces by semantics, other polygons with real
    heights drawn at their heights, footprints with a height field extruded, point clouds by class."""
    from .pointcloud import style_point_cloud

    for layer in project.mapLayers().values():
        if layer.renderer3D() is not None or not layer.isValid() or layer.name() == terrain.GROUND_PLANE_NAME:
            continue
        if layer.type() == LAYER_POINT_CLOUD:
            style_point_cloud(layer)
        elif not isinstance(layer, QgsVectorLayer) or layer.geometryType() != GEOMETRY_POLYGON:
            continue
        elif looks_like_cityjson(layer):
            scene3d.style_cityjson_layer(layer, keep_2d=True)
        elif terrain.has_z_polygons(layer):
            scene3d.style_absolute_polygons(layer)
        elif scene3d.height_expression(layer):
            scene3d.style_extruded_buildings(layer)


def hide_2d_of_3d_layers(layers: list) -> None:
    """Layers drawn in 3D get no 2D style, so the terrain texture does not paint them under themselves.

    Only ever called on the render child's own copy of the project. (A terrain map theme would say the
    same, but on QGIS 3.22 a theme also replaces the scene's layer list and the 3D layers vanish.)
    """
    from qgis.core import QgsNullSymbolRenderer

    for layer in layers:
        if isinstance(layer, QgsVectorLayer) and layer.renderer3D() is not None:
            layer.setRenderer(QgsNullSymbolRenderer())


def scene_for_project(project: QgsProject, extent: QgsRectangle, *, exaggeration: float | None = None):
    """(settings, z_range) for the checked layers of ``project`` over ``extent`` (project CRS)."""
    apply_default_3d_styles(project)
    dem = terrain.terrain_layer(project)
    scale = terrain.terrain_exaggeration(project) if exaggeration is None else exaggeration
    layers = [layer for layer in project.layerTreeRoot().checkedLayers() if layer is not None]
    # The DEM shapes the terrain and is the bottom of its texture: 2D layers that cover only part of the
    # ground (water, a flood depth with transparent dry cells) are drawn over it, never over blank white.
    if dem is not None and dem in layers:
        layers = [layer for layer in layers if layer is not dem] + [dem]
    hide_2d_of_3d_layers(layers)
    z_range = terrain.height_range(project, layers, extent, dem)
    # A hand below the lowest surface: a ground plane exactly at the base fights with ground surfaces.
    ground_z = z_range[0] - GROUND_BELOW_M if z_range is not None else 0.0
    settings = scene3d.map_settings(project, extent, dem=dem, layers=layers, exaggeration=scale, ground_z=ground_z)
    return settings, z_range


def content_extent(project: QgsProject, extent: QgsRectangle) -> QgsRectangle:
    """What the 3D layers cover inside ``extent``: the camera frames the buildings, not empty margins."""
    covered = QgsRectangle()
    for layer in project.layerTreeRoot().checkedLayers():
        if layer is None or layer.renderer3D() is None or not layer.isValid():
            continue
        box = scene3d.extent_in(layer.extent(), layer.crs(), project).intersect(extent)
        if not box.isEmpty():
            covered.combineExtentWith(box) if not covered.isEmpty() else covered.set(
                box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()
            )
    return covered if not covered.isEmpty() else extent


def render_image(project: QgsProject, settings, pose, width: int, height: int) -> QImage:
    """Render with a layout 3D map item (QgsOffscreen3DEngine is not in Python). Takes ``settings``."""
    from qgis._3d import QgsLayoutItem3DMap

    layout = QgsLayout(project)
    layout.initializeDefaults()
    # 4 px per mm keeps the page small; the exporter scales to the requested pixel size.
    size_mm = QgsLayoutSize(width / 4.0, height / 4.0, LAYOUT_MILLIMETERS)
    layout.pageCollection().page(0).setPageSize(size_mm)
    item = QgsLayoutItem3DMap(layout)
    item.setMapSettings(settings)
    item.attemptSetSceneRect(QRectF(0, 0, width / 4.0, height / 4.0))
    item.setFrameEnabled(False)
    item.setCameraPose(pose)
    layout.addLayoutItem(item)
    image = QgsLayoutExporter(layout).renderPageToImage(0, QSize(int(width), int(height)))
    if image.isNull():
        raise LayerError(tr("The 3D render produced no image."))
    return image


def render_job(job: dict) -> dict:
    """Load the project, build its scene for the extent, render, write the PNG atomically."""
    scene3d.ensure_3d_registry()  # before reading: the project's 3D renderers need their registry entries
    project = QgsProject()
    if not project.read(job["project"]):
        raise LayerError(
            tr("Cannot open the project {path}: {reason}").format(path=job["project"], reason=project.error())
        )
    rect = QgsRectangle(*job["extent"])
    crs = QgsCoordinateReferenceSystem(job.get("extent_crs") or "")
    extent = scene3d.extent_in(rect, crs if crs.isValid() else project.crs(), project)
    exaggeration = job.get("exaggeration")
    settings, z_range = scene_for_project(project, extent, exaggeration=exaggeration)
    pose = scene3d.camera_pose(
        settings,
        content_extent(project, extent),
        distance=job.get("distance"),
        pitch=job.get("pitch", 45.0),
        yaw=job.get("yaw", 0.0),
        z_range=z_range,
    )
    image = render_image(project, settings, pose, job.get("width", 1280), job.get("height", 800))
    output = Path(job["output"])
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".png", dir=output.parent)
    os.close(fd)
    if not image.save(tmp, "PNG"):
        Path(tmp).unlink(missing_ok=True)
        raise LayerError(tr("Cannot write {path}.").format(path=output))
    os.replace(tmp, output)
    return {
        "output": str(output),
        "width": image.width(),
        "height": image.height(),
        "z_range": list(z_range) if z_range else None,
    }
