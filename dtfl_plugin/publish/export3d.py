"""The 3D view's data, in metres around the centre of the area: a terrain grid from the DEM (Float32), an
image of the map draped on it, the flood depth of each scenario as a draped image, and the buildings:
real 3D faces when the layer has Z (CityJSON), else footprints extruded from their height attributes."""

from __future__ import annotations

import json
import sys
from array import array
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsGeometry,
    QgsRasterLayer,
    QgsRectangle,
    QgsSpatialIndex,
    QgsVectorLayer,
    QgsWkbTypes,
)

from ..compat import GEOMETRY_POLYGON
from .export2d import _value
from .render import image_size, render_png

GRID_MAX = 257
MAX_BUILDINGS = 20000
# Height attributes by public convention: 3DBAG / the sandbox's 3D buildings, BAG/BGT-derived sets, CityGML.
ROOF_FIELDS = ("b3_h_dak_50p", "b3_h_dak_70p", "b3_h_dak_max", "h_dak", "dakhoogte", "roof_height", "h_roof")
GROUND_FIELDS = ("b3_h_maaiveld", "h_maaiveld", "maaiveld", "ground_height", "h_ground")
RELATIVE_FIELDS = ("hoogte", "height", "building_height", "gebouwhoogte", "measuredheight")


def scene_crs(project_crs, dem) -> QgsCoordinateReferenceSystem:
    for crs in (project_crs, dem.crs() if dem is not None else None):
        if crs is not None and crs.isValid() and not crs.isGeographic():
            return crs
    return QgsCoordinateReferenceSystem("EPSG:3857")


class Frame:
    """Local metres: x east, y north, relative to the centre of the published area."""

    def __init__(self, extent: QgsRectangle, crs, context) -> None:
        self.extent, self.crs, self.context = extent, crs, context
        self.cx, self.cy = extent.center().x(), extent.center().y()

    def to_frame(self, layer_crs) -> QgsCoordinateTransform:
        return QgsCoordinateTransform(layer_crs, self.crs, self.context)

    def from_frame(self, layer_crs) -> QgsCoordinateTransform:
        return QgsCoordinateTransform(self.crs, layer_crs, self.context)

    def local(self, x: float, y: float) -> tuple[float, float]:
        return round(x - self.cx, 2), round(y - self.cy, 2)


def terrain_grid(dem: QgsRasterLayer, frame: Frame, path: Path) -> dict:
    """Sample the DEM on a grid of at most GRID_MAX² points; nodata becomes the lowest valid height."""
    extent = frame.from_frame(dem.crs()).transformBoundingBox(frame.extent)
    pixel = dem.extent().width() / max(dem.width(), 1)
    nx = int(min(GRID_MAX, max(2, round(extent.width() / max(pixel, 1e-9)))))
    ny = int(min(GRID_MAX, max(2, round(extent.height() / max(pixel, 1e-9)))))
    block = dem.dataProvider().block(1, extent, nx, ny)
    values = array("f")
    valid = []
    for row in range(ny):
        for col in range(nx):
            nodata = block.isNoData(row, col)
            value = float("nan") if nodata else block.value(row, col)
            values.append(value)
            if not nodata and value == value:
                valid.append(value)
    low = min(valid) if valid else 0.0
    high = max(valid) if valid else 0.0
    for i, value in enumerate(values):
        if value != value:
            values[i] = low
    if sys.byteorder == "big":
        values.byteswap()
    path.write_bytes(values.tobytes())
    w, h = frame.extent.width(), frame.extent.height()
    return {"file": path.name, "nx": nx, "ny": ny, "width": round(w, 2), "height": round(h, 2),
            "zmin": round(low, 2), "zmax": round(high, 2)}  # fmt: skip


def sample_height(terrain: dict | None, values: array | None, x: float, y: float) -> float:
    if not terrain or values is None:
        return 0.0
    nx, ny = terrain["nx"], terrain["ny"]
    col = min(nx - 1, max(0, round((x / terrain["width"] + 0.5) * (nx - 1))))
    row = min(ny - 1, max(0, round((0.5 - y / terrain["height"]) * (ny - 1))))
    return float(values[row * nx + col])


def drape(layers, frame: Frame, path: Path, feedback=None, pixel: float = 0.5, opaque: bool = False) -> bool:
    """The layers as an image on the terrain; ``opaque``: the ground's colour where they draw nothing (a hole
    in the DEM's image would otherwise be black on the 3D terrain)."""
    from qgis.PyQt.QtGui import QColor

    size = image_size(frame.extent, pixel)
    background = QColor("#e8e6df") if opaque else None
    return render_png(layers, frame.crs, frame.extent, size, path, frame.context, feedback, background)


def _field_of(layer: QgsVectorLayer, names: tuple[str, ...]) -> str:
    lower = {f.name().lower(): f.name() for f in layer.fields()}
    return next((lower[n] for n in names if n in lower), "")


CITYJSON_FIELDS = {"id", "type", "lod", "surface", "attributes"}  # layers.cityjson_layer's record fields
CITYJSON_BUILDINGS = ("Building", "BuildingPart", "BuildingInstallation")  # CityJSON 1.x/2.0 city object types


def is_cityjson(layer) -> bool:
    return CITYJSON_FIELDS <= set(layer.fields().names())


def attributes(feature, names: list[str], limit: int = 14) -> dict:
    """Plain attributes of a feature; a JSON object in a field (CityJSON "attributes") is opened up."""
    out: dict = {}
    for name in names:
        value = _value(feature[name])
        if isinstance(value, str) and value.startswith("{"):
            try:
                inner = json.loads(value)
            except ValueError:
                inner = None
            if isinstance(inner, dict):
                out.update({k: _value(v) for k, v in inner.items() if isinstance(v, (str, int, float)) and v != ""})
                continue
        if value not in (None, ""):
            out[name] = value
    return dict(list(out.items())[:limit])


def is_3d_buildings(layer) -> bool:
    if not isinstance(layer, QgsVectorLayer) or layer.geometryType() != GEOMETRY_POLYGON:
        return False
    return QgsWkbTypes.hasZ(layer.wkbType()) or bool(_field_of(layer, ROOF_FIELDS + RELATIVE_FIELDS))


def _rings(geometry: QgsGeometry, frame: Frame, with_z: bool) -> list:
    faces = []
    for part in geometry.constParts():
        rings = [part.exteriorRing()] + [part.interiorRing(i) for i in range(part.numInteriorRings())]
        face = []
        for ring in rings:
            points = []
            for vertex in ring.vertices():
                x, y = frame.local(vertex.x(), vertex.y())
                points.append([x, y, round(vertex.z(), 2)] if with_z else [x, y])
            face.append(points[:-1])
        faces.append(face)
    return faces


class BuildingWriter:
    def __init__(self, frame: Frame, terrain: dict | None, heights: array | None) -> None:
        self.frame, self.terrain, self.heights = frame, terrain, heights
        self.items: list[dict] = []
        self.points: list[QgsGeometry] = []  # a point inside each building (frame CRS), to join scenario values
        self.areas: list[float] = []

    def add_layer(self, layer: QgsVectorLayer, extent_request, feedback=None) -> None:
        names = [f.name() for f in layer.fields() if f.name() not in ("fid", "surface", "surface_source", "parent")]
        transform = self.frame.to_frame(layer.crs())
        request = QgsFeatureRequest().setFilterRect(
            self.frame.from_frame(layer.crs()).transformBoundingBox(extent_request)
        )
        city = is_cityjson(layer)
        if city:  # roads, water and terrain of a city model are not buildings (the DEM is the ground)
            request.setFilterExpression('"type" IN ({})'.format(", ".join(f"'{t}'" for t in CITYJSON_BUILDINGS)))
        grouped: dict[str, int] = {}  # CityJSON: one feature per surface; one building per city object id
        for feature in layer.getFeatures(request):
            if (feedback is not None and feedback.isCanceled()) or len(self.items) >= MAX_BUILDINGS:
                break
            geometry = QgsGeometry(feature.geometry())
            if geometry.isNull() or geometry.transform(transform) != 0:
                continue
            flat = QgsGeometry(geometry)
            flat.get().dropZValue()
            key = str(feature["id"]) if city else ""
            if key and key in grouped:
                index = grouped[key]
                self.items[index]["f"] += _rings(geometry, self.frame, True)
                if flat.area() > self.areas[index]:  # the roof seen from above: the building's point
                    self.points[index], self.areas[index] = flat.pointOnSurface(), flat.area()
                continue
            if key:
                grouped[key] = len(self.items)
            self.items.append(self._item(layer, feature, geometry, flat, names))
            self.points.append(flat.pointOnSurface())
            self.areas.append(flat.area())

    def _item(self, layer, feature, geometry: QgsGeometry, flat: QgsGeometry, names: list[str]) -> dict:
        item: dict = {"a": attributes(feature, names)}
        if QgsWkbTypes.hasZ(layer.wkbType()):
            item["f"] = _rings(geometry, self.frame, True)
            return item
        inside = flat.pointOnSurface().asPoint()
        x, y = self.frame.local(inside.x(), inside.y())
        roof, ground = _field_of(layer, ROOF_FIELDS), _field_of(layer, GROUND_FIELDS)
        relative = _field_of(layer, RELATIVE_FIELDS)
        base = _number(feature[ground]) if ground else None
        base = sample_height(self.terrain, self.heights, x, y) if base is None else base
        top = _number(feature[roof]) if roof else None
        if top is None:
            rel = _number(feature[relative]) if relative else None
            top = base + (rel if rel is not None else 3.0)
        item.update({"p": _rings(flat, self.frame, False), "b": round(base, 2), "t": round(max(top, base + 0.5), 2)})
        return item

    def join(self, scenario_id: str, layer: QgsVectorLayer, fields: list[str]) -> None:
        """Per building, the scenario layer's ``fields`` at the building's point (``d`` = {scenario: [values]})."""
        transform = self.frame.to_frame(layer.crs())
        index, shapes = QgsSpatialIndex(), {}
        for feature in layer.getFeatures():
            geometry = QgsGeometry(feature.geometry())
            if geometry.isNull() or geometry.transform(transform) != 0:
                continue
            shapes[feature.id()] = (geometry, [_value(feature[f]) for f in fields])
            index.addFeature(feature.id(), geometry.boundingBox())
        for item, point in zip(self.items, self.points):
            for fid in index.intersects(point.boundingBox()):
                geometry, values = shapes[fid]
                if geometry.contains(point):
                    item.setdefault("d", {})[scenario_id] = values
                    break

    def write(self, path: Path) -> int:
        path.write_text(json.dumps({"items": self.items}, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        return len(self.items)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None


def read_grid(path: Path) -> array:
    values = array("f")
    values.frombytes(path.read_bytes())
    if sys.byteorder == "big":
        values.byteswap()
    return values
