"""Small QGIS helpers of dtfl:bathtub_flooding that work on QGIS 3.22 and 3.40 alike (not an algorithm)."""

from __future__ import annotations

from qgis.core import Qgis, QgsField, QgsGeometry, QgsWkbTypes
from qgis.PyQt.QtCore import QVariant


def multipolygon_type():
    wkb = getattr(Qgis, "WkbType", None)  # QGIS 3.30+
    return wkb.MultiPolygon if wkb is not None else QgsWkbTypes.Type.MultiPolygon


def field(name: str, kind: str) -> QgsField:
    """A field of type "int" or "double": QMetaType from QGIS 3.38 on (QVariant types are deprecated there)."""
    if Qgis.versionInt() >= 33800:
        from qgis.PyQt.QtCore import QMetaType

        return QgsField(name, QMetaType.Type.Int if kind == "int" else QMetaType.Type.Double)
    return QgsField(name, QVariant.Int if kind == "int" else QVariant.Double)


def geometry_from_wkb(wkb: bytes) -> QgsGeometry:
    geometry = QgsGeometry()
    geometry.fromWkb(wkb)
    return geometry


def file_part(source: str) -> str:
    """The file behind an OGR/GDAL data source string ('/x.gpkg|layername=y' -> '/x.gpkg')."""
    return source.split("|", 1)[0]
