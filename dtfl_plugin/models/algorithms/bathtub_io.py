"""QGIS side of dtfl:bathtub_flooding's inputs and outputs (not an algorithm).

Land cover, open water and buildings go from QGIS features into the run's GeoPackage (models/tiled/inputs.py), from
which each tile rasterises its own part; the results come back as Processing sinks. Features are streamed, never
all held: a water board's BGT fits.
"""

from __future__ import annotations

import hashlib

from qgis.core import QgsCoordinateTransform, QgsFeature, QgsFeatureRequest, QgsFeatureSink, QgsFields, QgsGeometry

from ...i18n import tr
from ..local import landcover
from ..local.depressions import CancelledError
from .bathtub_support import field, geometry_from_wkb

DEPRESSION_FIELDS = (
    ("id", "int", "id"),
    ("capacity_m3", "double", "volume_capacity_m3"),
    ("inflow_m3", "double", "inflow_m3"),
    ("stored_m3", "double", "stored_m3"),
    ("fill_frac", "double", "fill_fraction"),
    ("spilled_m3", "double", "spilled_m3"),
    ("max_depth_m", "double", "max_depth"),
    ("water_depth_m", "double", "water_depth"),
    ("spill_level", "double", "spill_level"),
    ("water_level", "double", "water_level"),
    ("area_m2", "double", "area_m2"),
)


class Collector:
    """Writes features into a tiled.inputs.VectorWriter and hashes what it wrote (the run's identity)."""

    def __init__(self, writer, feedback) -> None:
        self.writer = writer
        self.feedback = feedback
        self.digest = hashlib.sha256()
        self.by_class: dict[str, int] = {}

    def _add(self, layer_name: str, geometry: QgsGeometry, **values) -> None:
        if self.feedback.isCanceled():
            raise CancelledError()
        wkb = bytes(geometry.asWkb())
        self.digest.update(layer_name.encode() + wkb + repr(sorted(values.items())).encode())
        self.writer.add(layer_name, wkb, **values)

    def landcover(self, layers, crs, context) -> None:
        for layer in layers:
            transform = QgsCoordinateTransform(layer.crs(), crs, context.transformContext())
            names = layer.fields().names()
            label = f"{layer.name()} {layer.source()}"
            for feature in layer.getFeatures():
                found = landcover.classify(dict(zip(names, feature.attributes())), label)
                geometry = feature.geometry()
                if found is None or geometry.isEmpty():
                    continue
                geometry.transform(transform)
                cls, coeff = found
                self.by_class[cls] = self.by_class.get(cls, 0) + 1
                if cls == landcover.WATER:
                    self._add("water", geometry)
                else:
                    self._add("landcover", geometry, coeff=float(coeff), rank=landcover.PRIORITY.index(cls))

    def buildings(self, source, crs, context) -> int:
        """Building i (1-based, in the source's order) gets id i; returns how many there are."""
        request = QgsFeatureRequest().setDestinationCrs(crs, context.transformContext())
        count = 0
        for feature in source.getFeatures(request):
            count += 1
            if feature.hasGeometry():
                self._add("buildings", feature.geometry(), bid=count)
        return count

    def summary(self) -> str:
        return ", ".join(f"{cls}: {n}" for cls, n in sorted(self.by_class.items())) or "0"


def write_depressions(sink, fields: QgsFields, polygons, table, feedback) -> None:
    """One multipolygon feature per depression; ``polygons``: (id, WKB) pairs from the depression raster."""
    parts: dict[int, list] = {}
    for label, wkb in polygons:
        parts.setdefault(label, []).append(wkb)
    for row in table:
        if feedback.isCanceled():
            raise CancelledError()
        geometries = [geometry_from_wkb(w) for w in parts.get(row["id"], [])]
        if not geometries:
            continue
        feature = QgsFeature(fields)
        geometry = QgsGeometry.collectGeometry(geometries)
        geometry.convertToMultiType()
        feature.setGeometry(geometry)
        feature.setAttributes([row[key] for _, _, key in DEPRESSION_FIELDS])
        sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)


def depression_fields() -> QgsFields:
    fields = QgsFields()
    for name, kind, _ in DEPRESSION_FIELDS:
        fields.append(field(name, kind))
    return fields


def building_fields(source) -> QgsFields:
    fields = QgsFields(source.fields())
    fields.append(field("facade_depth_m", "double"))
    fields.append(field("wet", "int"))
    return fields


def write_buildings(sink, fields, source, crs, context, facade, min_depth: float, feedback) -> int:
    """The buildings with the deepest water against their facade; returns how many are wet."""
    request = QgsFeatureRequest().setDestinationCrs(crs, context.transformContext())
    wet = 0
    for i, feature in enumerate(source.getFeatures(request), start=1):
        if feedback.isCanceled():
            raise CancelledError()
        out = QgsFeature(fields)
        geometry = QgsGeometry(feature.geometry())
        geometry.convertToMultiType()
        out.setGeometry(geometry)
        depth = float(facade[i]) if i < len(facade) else 0.0
        is_wet = int(depth >= min_depth and depth > 0)
        wet += is_wet
        out.setAttributes(list(feature.attributes()) + [depth, is_wet])
        sink.addFeature(out, QgsFeatureSink.Flag.FastInsert)
    return wet


def summary_text(total: float, stored: float, out: float, wet: int | None, n_buildings: int) -> str:
    text = tr("Runoff {total:.1f} m³: {stored:.1f} m³ stored in depressions, {out:.1f} m³ left the area.").format(
        total=total, stored=stored, out=out
    )
    if wet is not None:
        text += " " + tr("{wet} of {n} buildings have water against the facade.").format(wet=wet, n=n_buildings)
    return text
