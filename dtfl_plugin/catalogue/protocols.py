"""Mapping the many spellings of online-resource protocols and service types to ServiceType.

NGR records write protocols as "OGC:WMS", "OGC:WMTS", "OGC:WFS", "OGC:WCS", "OGC API features",
"OGC:API features", "INSPIRE Atom", "download", often inside gmx:Anchor elements whose href
names the protocol too; the PDOK layer list writes "wms", "api tiles", ...
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .entry import ServiceType

_RULES: tuple[tuple[str, ServiceType], ...] = (
    (r"wmts", ServiceType.WMTS),
    (r"\bwms\b|ogc:wms|wms-\d|/wms", ServiceType.WMS),
    (r"wfs", ServiceType.WFS),
    (r"wcs", ServiceType.WCS),
    (r"api[ :_-]*features|ogcapi[-_ ]*features|oapif", ServiceType.OAPIF),
    (r"api[ :_-]*tiles|ogcapi[-_ ]*tiles|vector ?tiles", ServiceType.OAPIT),
    (r"api[ :_-]*records", ServiceType.OAPIR),
    (r"api[ :_-]*processes", ServiceType.OAPIP),
    (r"3d ?tiles|3dtiles|cesium", ServiceType.TILES3D),
    (r"\bept\b|entwine", ServiceType.EPT),
    (r"copc", ServiceType.COPC),
    (r"cityjson", ServiceType.CITYJSON),
    (r"\blaz\b", ServiceType.LAZ),
    (r"atom", ServiceType.ATOM),
    (r"geotiff|\bcog\b", ServiceType.COG),
    (r"download|enclosure", ServiceType.DOWNLOAD),
)
_COMPILED = tuple((re.compile(p), t) for p, t in _RULES)

# Short codes for entry ids (stable even if ServiceType values are reworded).
CODES = {
    ServiceType.WMS: "wms",
    ServiceType.WMTS: "wmts",
    ServiceType.WFS: "wfs",
    ServiceType.WCS: "wcs",
    ServiceType.OAPIF: "oapif",
    ServiceType.OAPIT: "oapit",
    ServiceType.OAPIR: "oapir",
    ServiceType.OAPIP: "oapip",
    ServiceType.COG: "cog",
    ServiceType.EPT: "ept",
    ServiceType.COPC: "copc",
    ServiceType.LAZ: "laz",
    ServiceType.CITYJSON: "cityjson",
    ServiceType.TILES3D: "3dtiles",
    ServiceType.ATOM: "atom",
    ServiceType.DOWNLOAD: "download",
    ServiceType.OTHER: "other",
}
LOADABLE = frozenset(CODES) - {ServiceType.OTHER, ServiceType.OAPIR, ServiceType.OAPIP}

_FILE_KINDS = frozenset(
    {ServiceType.DOWNLOAD, ServiceType.ATOM, ServiceType.COG, ServiceType.LAZ, ServiceType.COPC, ServiceType.CITYJSON}
)
_CAPABILITY_PARAMS = {"request", "service", "version", "acceptversions"}


def service_type(*hints: str) -> ServiceType:
    """The ServiceType named by the first hint that names one (protocol text, anchor href, URL)."""
    for hint in hints:
        text = (hint or "").strip().lower()
        if not text:
            continue
        for pattern, kind in _COMPILED:
            if pattern.search(text):
                return kind
    return ServiceType.OTHER


def clean_service_url(url: str) -> str:
    """A service's base URL: whitespace and GetCapabilities parameters removed, other parameters kept."""
    url = (url or "").strip()
    if "?" not in url:
        return url
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in _CAPABILITY_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))


def entry_id(record_id: str, kind: ServiceType, name: str, url: str = "") -> str:
    """Stable id of one loadable thing: <dataset or record id>:<type code>:<layer name>.

    A service-level entry (no layer name) ends in ":" so it keeps its id when the service URL
    moves; a file download without a name is told apart by a short hash of its URL.
    """
    suffix = name
    if not suffix and kind in _FILE_KINDS and url:
        suffix = "#" + hashlib.sha1(url.encode("utf-8")).hexdigest()[:10]
    return f"{record_id}:{CODES.get(kind, 'other')}:{suffix}"
