"""Small QGIS helpers of dtfl:bathtub_flooding that work on QGIS 3.22 and 3.40 alike (not an algorithm)."""

from __future__ import annotations

from qgis.core import QgsField, QgsGeometry

from ...compat import WKB_MULTIPOLYGON
from ...compat import field as compat_field
from ...provenance.layer_props import source_file


def multipolygon_type():
    return WKB_MULTIPOLYGON


def field(name: str, kind: str) -> QgsField:
    """A field of type "int" or "double"."""
    return compat_field(name, "Int" if kind == "int" else "Double")


def geometry_from_wkb(wkb: bytes) -> QgsGeometry:
    geometry = QgsGeometry()
    geometry.fromWkb(wkb)
    return geometry


def file_part(source: str) -> str:
    """The file behind an OGR/GDAL data source string ('/x.gpkg|layername=y' -> '/x.gpkg')."""
    return source_file(source)
