"""Name, attribution, QgsLayerMetadata and the dtfl/source property on every layer DTFL loads.

Provenance and recipes read ``dtfl/source`` (provenance/layer_props.py); users see the QGIS layer
metadata (Layer Properties > Metadata) and the attribution in the map and in print layouts.
"""

from __future__ import annotations

from datetime import datetime, timezone

from qgis.core import QgsLayerMetadata, QgsMapLayer

from ..catalogue.entry import Entry
from ..provenance.layer_props import LayerSource, set_layer_source


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def attribution_text(entry: Entry, service_attribution: str = "") -> str:
    """'© <organisation>' plus the licence; the service's own attribution wins when it gives one."""
    if service_attribution:
        return service_attribution
    parts = [f"© {entry.organisation}" if entry.organisation else "", entry.licence]
    return ", ".join(p for p in parts if p)


def layer_metadata(entry: Entry, layer: QgsMapLayer) -> QgsLayerMetadata:
    metadata = QgsLayerMetadata(layer.metadata())
    metadata.setIdentifier(entry.dataset_id or entry.id)
    metadata.setParentIdentifier(entry.service_id)
    metadata.setTitle(entry.title)
    metadata.setAbstract(entry.abstract)
    metadata.setType("dataset")
    metadata.setLanguage("dut")
    if entry.keywords:
        metadata.addKeywords("keywords", list(entry.keywords))
    if entry.themes:
        metadata.addKeywords("themes", list(entry.themes))
    if entry.licence:
        metadata.setLicenses([entry.licence])
    if entry.use_constraints:
        metadata.setRights([entry.use_constraints])
    if entry.lineage:
        metadata.setHistory([entry.lineage])
    links = []
    for name, kind, url in (
        ("service", entry.service_type, entry.service_url),
        ("metadata", "ISO 19139", entry.metadata_url),
    ):
        if url:
            links.append(QgsLayerMetadata.Link(name, kind, url))
    metadata.setLinks(links)
    if entry.organisation:
        contact = QgsLayerMetadata.Contact(entry.organisation)
        contact.organization = entry.organisation
        contact.role = "owner"
        metadata.setContacts([contact])
    if layer.crs().isValid():
        metadata.setCrs(layer.crs())
    return metadata


def _attribution_holder(layer: QgsMapLayer):
    """QGIS 3.38+ keeps attribution in serverProperties() (the layer methods are deprecated); 3.22 on the layer."""
    server = layer.serverProperties() if hasattr(layer, "serverProperties") else None
    return server if server is not None and hasattr(server, "setAttribution") else layer


def layer_attribution(layer: QgsMapLayer) -> str:
    return _attribution_holder(layer).attribution()


def apply_entry(
    layer: QgsMapLayer, entry: Entry, *, name: str = "", service_version: str = "", service_attribution: str = ""
) -> None:
    """Everything a DTFL layer carries about where it came from."""
    layer.setName(name or entry.title or entry.name or entry.id)
    attribution = attribution_text(entry, service_attribution)
    target = _attribution_holder(layer)
    if attribution:
        target.setAttribution(attribution)
    if entry.metadata_url:
        target.setAttributionUrl(entry.metadata_url)
    layer.setMetadata(layer_metadata(entry, layer))
    set_layer_source(
        layer,
        LayerSource(
            record_id=entry.id,
            dataset_id=entry.dataset_id,
            title=entry.title,
            service_type=entry.service_type,
            service_url=entry.service_url,
            name=entry.name,
            licence=entry.licence,
            organisation=entry.organisation,
            metadata_url=entry.metadata_url,
            loaded_at=now_iso(),
            service_version=service_version,
        ),
    )


def entry_for_file(
    path: str, *, title: str = "", service_type: str = "", licence: str = "", organisation: str = ""
) -> Entry:
    """An Entry for a local file, so files loaded by DTFL carry the same properties as services."""
    from pathlib import Path

    resolved = Path(path).resolve()
    return Entry(
        id=f"file:{resolved}",
        title=title or resolved.name,
        service_type=service_type or "Download",
        service_url=resolved.as_uri(),
        name=resolved.name,
        licence=licence,
        organisation=organisation,
    )
