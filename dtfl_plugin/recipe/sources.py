"""Data sources that are neither a plain local file nor a web-service provider: GDAL network paths
(``/vsicurl/``, ``/vsis3/``…), virtual layers, and the pictures (SVG markers, image fills) that styles
point at. XML and text work; layer sources are taken apart by QGIS (provenance.layer_props).
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote

from ..provenance.layer_props import source_file
from . import qgsxml

# GDAL network file systems: each names a service, never a local file
NETWORK_VSI = ("/vsicurl/", "/vsis3/", "/vsigs/", "/vsiaz/", "/vsiadls/", "/vsioss/", "/vsiswift/", "/vsiwebhdfs/")
_WRAPPERS = re.compile(r"^/vsi(?:zip|gzip|tar|7z|rar)/")
_SCHEMES = {"/vsis3/": "s3://", "/vsigs/": "gs://", "/vsiaz/": "az://", "/vsiadls/": "abfs://", "/vsioss/": "oss://"}
IMAGE_OPTIONS = {"name", "svgFile", "imageFile"}
IMAGE_SUFFIXES = {".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp"}
MAX_IMAGE_BYTES = 2 * 1024**2


def _unwrap(path: str) -> str:
    """``/vsizip//vsicurl/https://…`` -> ``/vsicurl/https://…`` (an archive read over the network)."""
    return "/" + _WRAPPERS.sub("", path, count=1).lstrip("/") if _WRAPPERS.match(path) else path


def network_vsi(path: str) -> str:
    """The network file system prefix of a GDAL path (``/vsicurl/``…), or "" for anything else.

    ``/vsicurl/`` counts only with an http(s) URL: curl also reads ``file://`` and other schemes, which
    would let a recipe read the receiver's own files."""
    inner = _unwrap(source_file(path))
    for prefix in NETWORK_VSI:
        if inner.startswith(prefix):
            if prefix == "/vsicurl/" and not inner[len(prefix) :].lower().startswith(("http://", "https://")):
                return ""
            return prefix
    return ""


def vsi_url(path: str) -> str:
    """An absolute URL for a GDAL network path: the http(s) URL of ``/vsicurl/``, ``s3://bucket/key``…"""
    raw = _unwrap(source_file(path))
    prefix = network_vsi(raw)
    rest = raw[len(prefix) :]
    if prefix == "/vsicurl/":
        return rest
    return _SCHEMES.get(prefix, prefix.strip("/").replace("vsi", "") + "://") + rest


def embed_images(tree: ET.ElementTree, project_file: str | Path) -> list[str]:
    """Put the SVG markers and images that styles read from the sender's disk into the style itself
    (``base64:`` content, which QGIS reads like a file). Pictures from QGIS's own library are named
    relative to its SVG paths and are left alone: every QGIS has them. Returns the files embedded."""
    embedded: dict[str, str] = {}
    for element in tree.getroot().iter():
        key_attr, value_attr = ("name", "value") if element.tag == "Option" else ("k", "v")
        if element.tag not in ("Option", "prop") or element.get(key_attr) not in IMAGE_OPTIONS:
            continue
        value = element.get(value_attr, "")
        if not value or value.startswith("base64:") or Path(value).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        path = Path(qgsxml.resolve_path(project_file, value))
        if not path.is_absolute():
            continue
        try:
            if not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
                continue
            if str(path) not in embedded:
                embedded[str(path)] = "base64:" + base64.b64encode(path.read_bytes()).decode("ascii")
        except OSError:
            continue
        element.set(value_attr, embedded[str(path)])
    return sorted(embedded)


def virtual_sources(datasource: str) -> tuple[list[str], list[tuple[str, str, str, str]]]:
    """(referenced layer ids, embedded sources as (provider, source, name, encoding)) of a virtual layer."""
    query = datasource.split("?", 1)[1] if "?" in datasource else datasource
    refs, embedded = [], []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "layer_ref":
            refs.append(value.split(":", 1)[0])
        elif key == "layer":
            parts = value.split(":")
            # provider:source:name:encoding, the source itself may hold ':' (URLs); name and encoding do not
            if len(parts) >= 4:
                embedded.append((parts[0], unquote(":".join(parts[1:-2])), parts[-2], parts[-1]))
            elif len(parts) >= 2:
                embedded.append((parts[0], unquote(":".join(parts[1:-1]) or parts[1]), parts[-1], ""))
    return refs, embedded


def rewrite_virtual(datasource: str, replace: dict[str, str]) -> str:
    """A virtual layer source whose embedded sources in ``replace`` (old source -> new source) are swapped;
    every other part of the definition stays byte for byte as QGIS wrote it."""
    head, _, query = datasource.partition("?")
    items = []
    for raw in query.split("&"):
        if raw.startswith("layer="):
            _, embedded = virtual_sources("?" + raw)
            if embedded and embedded[0][1] in replace:
                provider, old, name, encoding = embedded[0]
                raw = f"layer={provider}:{quote(replace[old], safe='')}:{name}:{encoding}"
        items.append(raw)
    return head + "?" + "&".join(items)
