"""What a 3D Tiles set needs from the renderer, read from its tileset.json and first glTF tile. No qgis.

3DBAG's 3D Tiles compress their meshes with EXT_meshopt_compression (and quantise positions,
KHR_mesh_quantization). QGIS's tiled scene renderer (3.34-3.44) does not decode meshopt: the layer
loads as valid and draws nothing. Decoding meshopt in pure Python (its vertex codec works byte by
byte over 16-vertex blocks with per-byte-group delta modes) costs seconds per tile, and QGIS offers no
hook to hand it decoded tiles, so we say so precisely and take the CityJSON route instead.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from urllib.parse import urljoin

UNSUPPORTED = ("EXT_meshopt_compression", "KHR_meshopt_compression")
MAX_TILESET_BYTES = 16 << 20
MAX_TILE_BYTES = 64 << 20


def _first_content(node: dict, depth: int = 0) -> str:
    """The first content uri of a tileset, depth first (the root itself often has none)."""
    if depth > 32 or not isinstance(node, dict):
        return ""
    content = node.get("content") or {}
    uri = content.get("uri") or content.get("url") or ""
    if not uri:
        for item in node.get("contents") or []:
            uri = (item or {}).get("uri", "")
            if uri:
                break
    if isinstance(uri, str) and uri:
        return uri
    for child in node.get("children") or []:
        found = _first_content(child, depth + 1)
        if found:
            return found
    return ""


def glb_extensions(data: bytes) -> set[str]:
    """extensionsRequired of a binary glTF (or a .gltf JSON)."""
    if data[:4] == b"glTF" and len(data) >= 20:
        length = struct.unpack_from("<I", data, 12)[0]
        document = json.loads(data[20 : 20 + length].decode("utf-8"))
    else:
        document = json.loads(data.decode("utf-8"))
    required = document.get("extensionsRequired") or []
    return {str(name) for name in required}


def blocking_extensions(tileset_url: str, read: Callable[[str, int], bytes]) -> set[str]:
    """Required glTF extensions of the first tile that QGIS cannot render ('' when none or unknown).

    ``read(url, max_bytes)`` fetches a URL or path (net.py in the plugin, a file read in tests).
    """
    tileset = json.loads(read(tileset_url, MAX_TILESET_BYTES).decode("utf-8"))
    uri = _first_content(tileset.get("root") or {})
    if not uri or not uri.lower().split("?")[0].endswith((".glb", ".gltf")):
        return set()
    return glb_extensions(read(urljoin(tileset_url, uri), MAX_TILE_BYTES)) & set(UNSUPPORTED)
