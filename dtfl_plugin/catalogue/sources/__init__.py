"""Catalogue sources: one module per kind, each a CatalogueSource subclass (no qgis imports here)."""

from __future__ import annotations

KINDS = ("pdok-layers", "csw", "ogcapi-records")


def source_class(kind: str):
    """The CatalogueSource subclass for a kind (imported lazily: the modules use net.py, i.e. QGIS)."""
    from .base import normalise_kind

    kind = normalise_kind(kind)
    if kind == "csw":
        from .csw import CswSource

        return CswSource
    if kind == "ogcapi-records":
        from .ogcapi_records import OgcApiRecordsSource

        return OgcApiRecordsSource
    if kind == "pdok-layers":
        from .pdok_layers import PdokLayersSource

        return PdokLayersSource
    raise KeyError(kind)
