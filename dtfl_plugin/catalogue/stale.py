"""Stale services: project layers whose service moved or was retired, and what replaces them.

The PDOK services plugin's most reported problem: a saved project keeps pointing at a URL
PDOK has since moved (geodata.nationaalgeoregister.nl -> service.pdok.nl) or retired. After a
re-harvest the index knows which URLs disappeared (change log) and which entry now carries
the same dataset id, so it can name the replacement.

``find_stale`` is a pure function over LayerRef values and decides which entry replaces each
layer: one the layer's QGIS provider can show (a WFS layer gets the WFS or OGC API Features
entry, not the WMS). The GUI (gui/catalogue/stale.py) reads the LayerRefs from the project and
turns the result into a message with a "replace" action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from .entry import Entry
from .schema import url_key

# QGIS provider of a project layer -> catalogue service types that can stand in for it, best first.
COMPATIBLE: dict[str, tuple[str, ...]] = {
    "WFS": ("WFS", "OGC API Features"),
    "OAPIF": ("OGC API Features", "WFS"),
    "wms": ("WMS", "WMTS"),
    "wcs": ("WCS",),
    "vectortile": ("OGC API Tiles",),
}


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


def _pick(candidates: list[Entry], name: str, wanted: tuple[str, ...] = ()) -> Entry | None:
    """The best stand-in: a service of a kind the layer's provider can show first, then the same name."""
    if not candidates:
        return None

    def rank(e: Entry) -> tuple:
        kind = wanted.index(e.service_type) if e.service_type in wanted else len(wanted)
        return (kind, e.name != name, e.title)

    return sorted(candidates, key=rank)[0]


def replacement_for(
    index, service_url: str, name: str, dataset_id: str = "", wanted: tuple[str, ...] = ()
) -> Entry | None:
    """The current entry for a layer at ``service_url``/``name`` that is no longer in the index.

    ``wanted``: the service types the layer's provider can show, best first (COMPATIBLE); another
    kind is returned only when the dataset survives in no wanted kind. None when the URL is still
    current, or when nothing with the same dataset id is known.
    """
    key = url_key(service_url)
    if index.by_service(service_url, name):
        return None
    rows = _known_urls(index, key, name)
    dataset_ids = [dataset_id] if dataset_id else []
    dataset_ids += [r["dataset_id"] for r in rows if r["dataset_id"] and r["dataset_id"] not in dataset_ids]
    moved = []
    for row in rows:
        previous = index.get(row["entry_id"])  # a "changed" row: the same id now lives at the new URL
        if previous is not None and url_key(previous.service_url) != key:
            moved.append(previous)
    for did in dataset_ids:
        moved += [e for e in index.by_dataset(did) if url_key(e.service_url) != key and e not in moved]
    found = _pick(moved[:1], name, wanted) if moved and (not wanted or moved[0].service_type in wanted) else None
    return found or _pick(moved, name, wanted)


def find_stale(refs: list[LayerRef], index) -> list[StaleLayer]:
    """Layers whose service the catalogue knows moved or vanished, each with the entry that replaces it.

    Layers never seen in the catalogue (a user's own WMS) are not reported: the index cannot judge them.
    A layer DTFL loaded names its own catalogue entry (record id): when that very entry now lives
    elsewhere, it is the replacement. Otherwise one of the same kind is preferred: when one host serves
    several service types (WMS, WFS, WCS at one /ows URL) and moves, the change log holds a move for
    each type, and a WFS layer must get the WFS (or OGC API Features) entry, not the WMS.
    """
    out: list[StaleLayer] = []
    for ref in refs:
        if not ref.service_url or index.by_service(ref.service_url, ref.name):
            continue
        rows = _known_urls(index, url_key(ref.service_url), ref.name)
        if not rows and not ref.dataset_id and not ref.record_id:
            continue
        replacement = None
        if ref.record_id:
            current = index.get(ref.record_id)
            if current is not None and url_key(current.service_url) != url_key(ref.service_url):
                replacement = current
        if replacement is None:
            wanted = COMPATIBLE.get(ref.provider, ())
            replacement = replacement_for(index, ref.service_url, ref.name, ref.dataset_id, wanted)
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
