"""The 2D map's data: vector layers as compact GeoJSON (WGS 84, 6 decimals ≈ 0.1 m), every other layer as
an image drawn by QGIS with its own style, in Web Mercator so MapLibre places it exactly."""

from __future__ import annotations

import json
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsGeometry,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
    QgsWkbTypes,
)

from ..compat import GEOMETRY_POLYGON
from ..i18n import tr
from .render import image_size, is_empty, render_png
from .style import FeatureColours, raster_legend, vector_style

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
MERCATOR = QgsCoordinateReferenceSystem("EPSG:3857")
MAX_FEATURES = 50000
MAX_FIELDS = 30
PRECISION = 6


def _value(value):
    if isinstance(value, float):
        return None if value != value else round(value, 3)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "isNull") and value.isNull():
        return None
    for method in ("toString", "toPyDate", "toPyDateTime"):
        if hasattr(value, method):
            return str(getattr(value, method)())
    return str(value)


def _flat(geometry: QgsGeometry) -> QgsGeometry:
    """2D geometry; for 3D solids drawn as faces (CityJSON) the vertical walls (no area seen from above) go."""
    if not QgsWkbTypes.hasZ(geometry.wkbType()):
        return geometry
    parts = []
    for part in geometry.constParts():
        flat = QgsGeometry(part.clone())
        flat.get().dropZValue()
        if flat.type() != GEOMETRY_POLYGON or flat.area() > 1e-3:
            parts.append(flat)
    if not parts:
        return QgsGeometry()
    # faces of one object (a road of many triangles) drawn from above are one shape: fewer bytes
    return QgsGeometry.unaryUnion(parts) if len(parts) > 1 else parts[0]


def export_vector(
    layer: QgsVectorLayer, extent: QgsRectangle, extent_crs, context, path: Path, feedback=None
) -> tuple[int, bool]:
    """Write the layer's features in ``extent`` as GeoJSON; returns (features written, capped)."""
    to_layer = QgsCoordinateTransform(extent_crs, layer.crs(), context)
    to_wgs = QgsCoordinateTransform(layer.crs(), WGS84, context)
    request = QgsFeatureRequest().setFilterRect(to_layer.transformBoundingBox(extent))
    names = [f.name() for f in layer.fields()][:MAX_FIELDS]
    count, capped = 0, False
    colours = FeatureColours(layer)
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[')
        for feature in layer.getFeatures(request):
            if feedback is not None and feedback.isCanceled():
                break
            if count >= MAX_FEATURES:
                capped = True
                break
            colour = colours.colour(feature)
            geometry = _flat(feature.geometry()) if colour is not None else QgsGeometry()
            if geometry.isNull() or geometry.isEmpty():
                continue
            geometry.transform(to_wgs)
            props = {name: _value(feature[name]) for name in names}
            if colour:
                props["_c"] = colour
            properties = json.dumps(props, ensure_ascii=False, separators=(",", ":"))
            feature_json = (
                f'{{"type":"Feature","id":{count},"properties":{properties},"geometry":{geometry.asJson(PRECISION)}}}'
            )
            out.write(("," if count else "") + feature_json)
            count += 1
        out.write("]}")
    colours.close()
    return count, capped


def mercator_box(extent: QgsRectangle, extent_crs, context) -> QgsRectangle:
    return QgsCoordinateTransform(extent_crs, MERCATOR, context).transformBoundingBox(extent)


def corners(box: QgsRectangle, context) -> list[list[float]]:
    """The image's corners in lon/lat: top-left, top-right, bottom-right, bottom-left (MapLibre's order)."""
    to_wgs = QgsCoordinateTransform(MERCATOR, WGS84, context)
    points = [(box.xMinimum(), box.yMaximum()), (box.xMaximum(), box.yMaximum()),
              (box.xMaximum(), box.yMinimum()), (box.xMinimum(), box.yMinimum())]  # fmt: skip
    out = []
    for x, y in points:
        p = to_wgs.transform(x, y)
        out.append([round(p.x(), 7), round(p.y(), 7)])
    return out


def native_pixel(layer, box: QgsRectangle, context) -> float:
    """The layer's own resolution in Web Mercator metres (1 m when it has none, e.g. a WMS)."""
    if isinstance(layer, QgsRasterLayer) and layer.width() > 0 and layer.providerType() == "gdal":
        native = QgsCoordinateTransform(layer.crs(), MERCATOR, context).transformBoundingBox(layer.extent())
        return max(native.width() / layer.width(), 0.05)
    return max(box.width(), box.height()) / 1024


def export_image(layer, box: QgsRectangle, context, path: Path, feedback=None) -> bool:
    """Draw the layer over the Mercator box; False when nothing of it falls in the area."""
    size = image_size(box, native_pixel(layer, box, context))
    if not render_png([layer], MERCATOR, box, size, path, context, feedback):
        return False
    return not is_empty(path)


def layer_entry(item, kind: str, file_name: str, legend: list[dict], **extra) -> dict:
    entry = {
        "id": item.id,
        "name": item.name,
        "kind": kind,
        "file": file_name,
        "visible": item.visible,
        "legend": legend,
    }
    entry.update(extra)
    return entry


def export_layer(item, index: int, extent, extent_crs, context, data_dir: Path, warn, feedback=None) -> dict | None:
    """One layer of the 2D map: its file in ``data_dir`` and its entry for the page (None: nothing to show)."""
    layer = item.layer
    if isinstance(layer, QgsVectorLayer) and layer.isSpatial():
        name = f"layer{index}.geojson"
        count, capped = export_vector(layer, extent, extent_crs, context, data_dir / name, feedback)
        if capped:
            warn(tr("Layer {name}: only the first {n} features are published.").format(name=item.name, n=MAX_FEATURES))
        if count == 0:
            (data_dir / name).unlink()
            return None
        kind, paint, legend = vector_style(layer)
        return layer_entry(item, kind, name, legend, paint=paint, features=count)
    box = mercator_box(extent, extent_crs, context)
    name = f"layer{index}.png"
    if not export_image(layer, box, context, data_dir / name, feedback):
        (data_dir / name).unlink(missing_ok=True)
        return None
    legend = raster_legend(layer) if isinstance(layer, QgsRasterLayer) else []
    return layer_entry(item, "image", name, legend, corners=corners(box, context))
