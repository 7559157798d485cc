"""Stale services: project layers whose service moved or was retired, and what replaces them.

The PDOK services plugin's most reported problem: a saved project keeps pointing at a URL
PDOK has since moved (geodata.nationaalgeoregister.nl -> service.pdok.nl) or retired. After a
re-harvest the index knows which URLs disappeared (change log) and which entry now carries
the same dataset id, so it can name the replacement.

``find_stale`` is a pure function over LayerRef values; ``project_layer_refs`` reads them
from a QgsProject (the dtfl/source custom property first, else the layer's source URI).
The GUI (gui/) turns the result into a message with a "replace" action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from .entry import Entry


@dataclass
class LayerRef:
    layer_id: str
    layer_name: str
    service_url: str
    name: str  # layer / typename / collection / coverage at the service
    provider: str = ""
    dataset_id: str = ""  # from the dtfl/source property when DTFL loaded the layer
    record_id: str = ""


@dataclass
class StaleLayer:
    ref: LayerRef
    status: str  # "moved" (a replacement exists) or "retired" (no replacement known)
    replacement: Entry | None = None
    changes: list[dict] = field(default_factory=list)  # change-log rows about the old URL


def _known_urls(index, key: str, name: str) -> list[dict]:
    rows = index.conn.execute(
        "SELECT time, source, kind, entry_id, title, name, dataset_id, old_url, new_url FROM changes "
        "WHERE old_url_key = ? AND (name = ? OR ? = '') ORDER BY id DESC LIMIT 20",
        (key, name, name),
    ).fetchall()
    keys = ("time", "source", "kind", "entry_id", "title", "name", "dataset_id", "old_url", "new_url")
    return [dict(zip(keys, r)) for r in rows]


def _pick(candidates: list[Entry], name: str, service_type: str = "") -> Entry | None:
    if not candidates:
        return None

    def rank(e: Entry) -> tuple:
        return (e.name != name, bool(service_type) and e.service_type != service_type, e.title)

    return sorted(candidates, key=rank)[0]


def replacement_for(index, service_url: str, name: str, dataset_id: str = "") -> Entry | None:
    """The current entry for a layer at ``service_url``/``name`` that is no longer in the index.

    None when the URL is still current, or when nothing with the same dataset id is known.
    """
    from .index import url_key

    key = url_key(service_url)
    if index.by_service(service_url, name):
        return None
    rows = _known_urls(index, key, name)
    dataset_ids = [dataset_id] if dataset_id else []
    dataset_ids += [r["dataset_id"] for r in rows if r["dataset_id"] and r["dataset_id"] not in dataset_ids]
    for row in rows:
        previous = index.get(row["entry_id"])  # a "changed" row: the same id now lives at the new URL
        if previous is not None and url_key(previous.service_url) != key:
            return previous
    for did in dataset_ids:
        found = _pick([e for e in index.by_dataset(did) if url_key(e.service_url) != key], name)
        if found is not None:
            return found
    return None


def find_stale(refs: list[LayerRef], index) -> list[StaleLayer]:
    """Layers whose service the catalogue knows moved or vanished. Layers never seen in the catalogue
    (a user's own WMS) are not reported: the index cannot judge them."""
    from .index import url_key

    out: list[StaleLayer] = []
    for ref in refs:
        if not ref.service_url or index.by_service(ref.service_url, ref.name):
            continue
        rows = _known_urls(index, url_key(ref.service_url), ref.name)
        if not rows and not ref.dataset_id and not ref.record_id:
            continue
        replacement = replacement_for(index, ref.service_url, ref.name, ref.dataset_id)
        if replacement is None and ref.record_id:
            current = index.get(ref.record_id)
            if current is not None and url_key(current.service_url) != url_key(ref.service_url):
                replacement = current
        if replacement is None and not rows:
            continue  # carries a dataset id, but the catalogue never listed this URL: not evidence of a move
        out.append(StaleLayer(ref, "moved" if replacement else "retired", replacement, rows))
    return out


def parse_source_uri(provider: str, uri: str) -> tuple[str, str]:
    """(service URL, layer name) from a QGIS data source string of the wms/WFS/OAPIF/wcs providers."""
    params: dict[str, str] = {}
    if "url='" in uri or "typename='" in uri:  # WFS / OAPIF style: key='value' key2='value2'
        import re

        for key, value in re.findall(r"(\w+)='((?:[^'\\]|\\.)*)'", uri):
            params[key.lower()] = value
    else:  # wms / wcs style: key=value&key=value (values percent-encoded)
        for key, value in parse_qsl(uri, keep_blank_values=True):
            params.setdefault(key.lower(), unquote(value))
    url = params.get("url", "")
    name = params.get("layers") or params.get("typename") or params.get("identifier") or params.get("layer") or ""
    return url, name


def project_layer_refs(project) -> list[LayerRef]:
    """LayerRefs for the layers of a QgsProject (needs QGIS; call on the thread that owns the project)."""
    from ..provenance.layer_props import get_layer_source

    refs: list[LayerRef] = []
    for layer in project.mapLayers().values():
        provider = layer.providerType()
        source = get_layer_source(layer)
        if source is not None and source.service_url:
            refs.append(
                LayerRef(
                    layer.id(),
                    layer.name(),
                    source.service_url,
                    source.name,
                    provider,
                    source.dataset_id,
                    source.record_id,
                )
            )
            continue
        if provider not in ("wms", "WFS", "OAPIF", "wcs"):
            continue
        url, name = parse_source_uri(provider, layer.source())
        if url:
            refs.append(LayerRef(layer.id(), layer.name(), url, name, provider))
    return refs
