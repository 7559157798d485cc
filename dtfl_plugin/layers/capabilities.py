"""Just enough of OGC GetCapabilities (WMS 1.1.1/1.3.0, WMTS 1.0.0, WFS 2.0/1.1) to configure a layer well.

Parsed namespace-agnostically through dtfl_plugin/safexml.py (no entities, no DTD subset, nothing fetched). Fetching goes through net.py, so proxy/auth/timeouts are QGIS's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .. import net, safexml
from ..errors import LayerError, NetError
from ..i18n import tr

_EPSG = re.compile(r"EPSG(?::|::|/0/|/)(\d+)$", re.IGNORECASE)


@dataclass
class LayerCaps:
    name: str
    title: str = ""
    crs: list[str] = field(default_factory=list)  # normalised "EPSG:n"
    styles: list[str] = field(default_factory=list)  # first = default
    formats: list[str] = field(default_factory=list)
    tile_matrix_sets: list[str] = field(default_factory=list)  # WMTS
    attribution: str = ""


@dataclass
class Capabilities:
    service: str
    version: str
    layers: dict[str, LayerCaps] = field(default_factory=dict)
    formats: list[str] = field(default_factory=list)  # WMS GetMap formats
    matrix_set_crs: dict[str, str] = field(default_factory=dict)  # WMTS set id -> "EPSG:n"
    update_sequence: str = ""


def normalise_crs(text: str) -> str:
    """'urn:ogc:def:crs:EPSG::28992', 'http://www.opengis.net/def/crs/EPSG/0/28992', 'EPSG:28992' -> 'EPSG:28992'."""
    text = (text or "").strip()
    match = _EPSG.search(text)
    if match:
        return f"EPSG:{match.group(1)}"
    return "EPSG:4326" if text.upper() in ("CRS:84", "OGC:CRS84") or text.endswith("CRS84") else text


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element, name: str) -> list:
    return [child for child in element if _local(child.tag) == name]


def _child_text(element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def capabilities_url(url: str, service: str) -> str:
    """The service URL with SERVICE and REQUEST=GetCapabilities, keeping other query items (map=...)."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in ("service", "request", "version")
    ]
    query += [("SERVICE", service), ("REQUEST", "GetCapabilities")]
    if service == "WFS":
        query.append(("ACCEPTVERSIONS", "2.0.0,1.1.0,1.0.0"))  # WFS 2.0 (paging) when the server has it
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def base_url(url: str) -> str:
    """The service URL without OGC request parameters (what QGIS's providers want as ``url``)."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in ("service", "request", "version")
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def fetch(url: str, service: str, *, feedback=None, timeout_s: float = 20.0) -> Capabilities:
    """GetCapabilities of a WMS/WMTS/WFS; LayerError with a user message when the service is unusable."""
    request_url = capabilities_url(url, service)
    try:
        response = net.get(request_url, feedback=feedback, timeout_s=timeout_s)
    except NetError as err:
        raise LayerError(
            tr("The {service} service at {url} cannot be reached: {reason}").format(
                service=service, url=base_url(url), reason=err
            ),
            detail=request_url,
        ) from err
    return parse(response.content, service, request_url)


def parse(content: bytes, service: str, source: str = "") -> Capabilities:
    try:  # the one hardened parser for untrusted XML (no entities, any encoding, size cap)
        root = safexml.parse(content, service, namespaces=True)
    except safexml.XmlError as err:
        raise LayerError(
            tr("The {service} service answered with something that is not a capabilities document.").format(
                service=service
            ),
            detail=f"{source}: {err}",
        ) from err
    if _local(root.tag) in ("ServiceExceptionReport", "ExceptionReport"):
        message = " ".join(t.strip() for t in root.itertext() if t.strip())[:300]
        raise LayerError(
            tr("The {service} service reported an error: {message}").format(service=service, message=message),
            detail=source,
        )
    caps = Capabilities(
        service=service, version=root.attrib.get("version", ""), update_sequence=root.attrib.get("updateSequence", "")
    )
    if service == "WMS":
        _parse_wms(root, caps)
    elif service == "WMTS":
        _parse_wmts(root, caps)
    elif service == "WFS":
        _parse_wfs(root, caps)
    return caps


def _parse_wms(root, caps: Capabilities) -> None:
    for capability in _children(root, "Capability"):
        for request in _children(capability, "Request"):
            for getmap in _children(request, "GetMap"):
                caps.formats = [(f.text or "").strip() for f in _children(getmap, "Format")]
        for layer in _children(capability, "Layer"):
            _walk_wms_layer(layer, caps, [], "")


def _walk_wms_layer(element, caps: Capabilities, inherited_crs: list[str], inherited_attr: str) -> None:
    crs = inherited_crs + [normalise_crs(e.text or "") for e in element if _local(e.tag) in ("CRS", "SRS")]
    attribution = inherited_attr
    for attr in _children(element, "Attribution"):
        attribution = _child_text(attr, "Title") or attribution
    name = _child_text(element, "Name")
    if name:
        styles = [_child_text(s, "Name") for s in _children(element, "Style")]
        caps.layers[name] = LayerCaps(
            name=name,
            title=_child_text(element, "Title"),
            crs=list(dict.fromkeys(crs)),
            styles=styles,
            attribution=attribution,
        )
    for child in _children(element, "Layer"):
        _walk_wms_layer(child, caps, crs, attribution)


def _parse_wmts(root, caps: Capabilities) -> None:
    for contents in _children(root, "Contents"):
        for tms in _children(contents, "TileMatrixSet"):
            identifier = _child_text(tms, "Identifier")
            if identifier:
                caps.matrix_set_crs[identifier] = normalise_crs(_child_text(tms, "SupportedCRS"))
        for layer in _children(contents, "Layer"):
            name = _child_text(layer, "Identifier")
            styles = []
            for style in _children(layer, "Style"):
                ident = _child_text(style, "Identifier")
                if style.attrib.get("isDefault") == "true":
                    styles.insert(0, ident)
                else:
                    styles.append(ident)
            caps.layers[name] = LayerCaps(
                name=name,
                title=_child_text(layer, "Title"),
                styles=styles,
                formats=[(f.text or "").strip() for f in _children(layer, "Format")],
                tile_matrix_sets=[_child_text(link, "TileMatrixSet") for link in _children(layer, "TileMatrixSetLink")],
            )


def _parse_wfs(root, caps: Capabilities) -> None:
    for feature_types in _children(root, "FeatureTypeList"):
        for feature_type in _children(feature_types, "FeatureType"):
            name = _child_text(feature_type, "Name")
            crs = [
                normalise_crs(e.text or "")
                for e in feature_type
                if _local(e.tag) in ("DefaultCRS", "OtherCRS", "DefaultSRS", "OtherSRS", "SRS")
            ]
            caps.layers[name] = LayerCaps(name=name, title=_child_text(feature_type, "Title"), crs=crs)


def find_layer(caps: Capabilities, name: str) -> LayerCaps:
    """The named layer; WFS names may carry a namespace prefix on one side only."""
    if name in caps.layers:
        return caps.layers[name]
    bare = name.split(":")[-1]
    for key, layer in caps.layers.items():
        if key.split(":")[-1] == bare:
            return layer
    raise LayerError(
        tr(
            "The service no longer offers the layer {name}. It may have been renamed or retired; search the catalogue again."
        ).format(name=name)
    )


def choose_crs(offered: list[str], project_crs: str) -> str:
    """EPSG:28992 when offered (the Dutch national grid), else the project's, else Web Mercator, else the first."""
    for wanted in ("EPSG:28992", project_crs, "EPSG:3857", "EPSG:4326"):
        if wanted and wanted in offered:
            return wanted
    return offered[0] if offered else "EPSG:28992"


def choose_format(offered: list[str]) -> str:
    for wanted in ("image/png", "image/png; mode=8bit", "image/png8", "image/jpeg"):
        if wanted in offered:
            return wanted
    return offered[0] if offered else "image/png"


def choose_matrix_set(layer: LayerCaps, caps: Capabilities, project_crs: str) -> tuple[str, str]:
    """(tile matrix set id, its CRS): the set in the project CRS, else RD New, else the first the layer links."""
    links = layer.tile_matrix_sets or list(caps.matrix_set_crs)
    if not links:
        raise LayerError(tr("The WMTS layer {name} has no tile matrix set.").format(name=layer.name))
    for wanted in (project_crs, "EPSG:28992", "EPSG:3857"):
        for tms in links:
            if caps.matrix_set_crs.get(tms) == wanted:
                return tms, wanted
    return links[0], caps.matrix_set_crs.get(links[0], "")
