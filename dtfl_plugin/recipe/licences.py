"""Licence and owner of a dataset: from the layer's ``dtfl/source`` property, completed from the catalogue.

The layers room writes licence and organisation into the layer when it loads a catalogue entry; older
layers, or layers whose entry was harvested again since, are completed from the user's catalogue index
(by entry id, then by service URL + layer name). The index is opened read-only in the calling thread.
"""

from __future__ import annotations

import sqlite3

from ..provenance.layer_props import LayerSource


def licence_and_owner(source: LayerSource | None, service_url: str = "", name: str = "") -> tuple[str, str]:
    licence = source.licence if source else ""
    owner = source.organisation if source else ""
    if licence and owner:
        return licence, owner
    entry = _catalogue_entry(
        source, service_url or (source.service_url if source else ""), name or (source.name if source else "")
    )
    if entry is not None:
        licence = licence or entry.licence
        owner = owner or entry.organisation
    return licence, owner


def _catalogue_entry(source: LayerSource | None, service_url: str, name: str):
    try:
        from ..catalogue.index import CatalogueIndex, default_index_path
    except ImportError:  # a build without the catalogue room: the layer's own facts are all there is
        return None
    path = default_index_path()
    if not path.is_file() or not ((source and source.record_id) or service_url):
        return None
    index = CatalogueIndex(path)
    try:
        entry = index.get(source.record_id) if source and source.record_id else None
        if entry is None and service_url:
            hits = index.by_service(service_url, name or None)
            # without a layer name only an unambiguous service (one layer) says whose data it is
            entry = hits[0] if hits and (name or len(hits) == 1) else None
        return entry
    except sqlite3.Error:
        return None  # a damaged or locked index must not stop packaging; the layer's own facts remain
    finally:
        index.close()
