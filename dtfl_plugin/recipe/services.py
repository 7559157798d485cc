"""What identifies a service layer: its service URL, the layer/collection name and the protocol."""

from __future__ import annotations

import re
from urllib.parse import unquote

from ..provenance.layer_props import source_file

_URL = re.compile(r"(?:^|[&\s])url=(?P<q>'?)(?P<url>[^'&\s]+)(?P=q)")
_NAMED = re.compile(
    r"(?:^|[&\s])(?P<key>layers|typename|layer|coverage|identifier|collection)=(?P<q>'?)(?P<val>[^'&\s]*)(?P=q)"
)
KINDS = {
    "wms": "OGC:WMS",
    "WFS": "OGC:WFS",
    "wfs": "OGC:WFS",
    "oapif": "OGC:API-Features",
    "OAPIF": "OGC:API-Features",
    "wcs": "OGC:WCS",
    "vectortile": "OGC:API-Tiles",
    "arcgisfeatureserver": "ESRI:FeatureServer",
    "arcgismapserver": "ESRI:MapServer",
    "ept": "EPT",
}


def raw_url(datasource: str) -> str:
    """The service URL inside a QGIS data source (``url=...``), or the source itself."""
    match = _URL.search(datasource)
    return unquote(match.group("url")) if match else source_file(datasource)


def service_identity(provider: str, datasource: str) -> tuple[str, str, str]:
    """(absolute URL naming the layer at the service, layer name, protocol) from a QGIS data source."""
    url = raw_url(datasource)
    if "tileMatrixSet=" in datasource and provider == "wms":
        kind = "OGC:WMTS"
    elif "type=xyz" in datasource:
        kind = "XYZ"
    else:
        kind = KINDS.get(provider, provider)
    named = _NAMED.search(datasource)
    name = unquote(named.group("val")) if named else ""
    if name:
        separator = "&" if "?" in url else "?"
        ident = f"{url}{separator}dtfl-layer={name}"
    else:
        ident = url
    return ident, name, kind
