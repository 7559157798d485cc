"""Before packaging: what will not reach the recipient, and why, in words a person can act on.

The same classification decides how the packer carries each layer, so the list shown before
packaging is exactly what packaging then does. Pure XML work (no QGIS needed).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ..i18n import tr
from ..provenance.layer_props import source_file
from . import qgsxml, sources

DATABASES = {"postgres", "mssql", "oracle", "hana", "db2", "spatialite"}


@dataclass
class Gap:
    layer: str
    kind: str  # empty | missing | database | unsupported | broken-link | credentials | reference
    message: str
    lost: bool  # True: will not reach the recipient; False: reaches as a reference (needs network or access)


def local_file(layer: qgsxml.LayerXml, project_file: str | Path) -> str:
    """The local file an ogr/gdal layer reads ("" when it reads none, or the file is gone)."""
    if layer.provider not in ("ogr", "gdal") or sources.network_vsi(layer.datasource):
        return ""
    raw = source_file(layer.datasource)
    path = qgsxml.resolve_path(project_file, raw)
    try:
        return path if raw and Path(path).is_file() else ""
    except OSError:  # a name too long for the file system is no file either
        return ""


def classify(layer: qgsxml.LayerXml, project_file: str | Path, live: dict[str, str]) -> str:
    """file | live | service | network | virtual | empty | missing | database | other."""
    if layer.layer_id in live:
        return "live"
    if layer.provider == "memory":
        return "empty"
    if local_file(layer, project_file):
        return "file"
    if sources.network_vsi(layer.datasource):
        return "network"
    if layer.provider in qgsxml.SERVICE_PROVIDERS or "url=" in layer.datasource:
        return "service"
    if layer.provider == "virtual":
        return "virtual"
    if layer.provider in DATABASES:
        return "database"
    if layer.provider in ("ogr", "gdal") or layer.provider in qgsxml.FILE_PROVIDERS:
        return "missing"
    return "other"


def check(
    tree: ET.ElementTree, project_file: str | Path, live: dict[str, str] | None = None, snapshots: bool = False
) -> list[Gap]:
    """Every part of the project that will not reach the recipient (lost) or only as a reference."""
    live = live or {}
    gaps: list[Gap] = []
    all_layers = qgsxml.layers(tree)
    ids = {layer.layer_id for layer in all_layers}
    for layer in all_layers:
        gaps += _layer_gaps(layer, classify(layer, project_file, live), project_file, ids, snapshots)
        for join in layer.element.iter("join"):
            if join.get("joinLayerId") and join.get("joinLayerId") not in ids:
                gaps.append(
                    Gap(
                        layer.name,
                        "broken-link",
                        tr("Layer '{layer}' joins a layer that is no longer in the project; the join is lost.").format(
                            layer=layer.name
                        ),
                        True,
                    )  # fmt: skip
                )
        if "authcfg=" in layer.datasource:
            gaps.append(
                Gap(
                    layer.name,
                    "credentials",
                    tr(
                        "Layer '{layer}' logs in to its service: your credentials are not packed; the recipient needs an account of their own."
                    ).format(layer=layer.name),
                    False,
                )  # fmt: skip
            )
    return gaps


def _layer_gaps(layer, kind: str, project_file, ids: set[str], snapshots: bool) -> list[Gap]:
    name = layer.name
    if kind == "empty":
        text = tr("Temporary layer '{layer}' only exists in the open project: package the open project (or save the layer as a file), or it arrives empty.")  # fmt: skip
        return [Gap(name, "empty", text.format(layer=name), True)]
    if kind == "missing":
        text = tr("Layer '{layer}' reads a file that no longer exists ({path}); it cannot be packed.")
        return [Gap(name, "missing", text.format(layer=name, path=source_file(layer.datasource)), True)]
    if kind == "database":
        text = tr("Layer '{layer}' reads your database ({provider}); it stays a reference only the people with access to that database can open.")  # fmt: skip
        return [Gap(name, "database", text.format(layer=name, provider=layer.provider), False)]
    if kind == "other":
        text = tr("Layer '{layer}' ({provider}) is neither a file nor a service the recipe can carry; it is left out.")
        return [Gap(name, "unsupported", text.format(layer=name, provider=layer.provider), True)]
    if kind in ("service", "network") and not snapshots:
        text = tr("Layer '{layer}' is read from a web service; the recipient reads it again (no snapshot is packed).")
        return [Gap(name, "reference", text.format(layer=name), False)]
    if kind == "virtual":
        refs, embedded = sources.virtual_sources(layer.datasource)
        gaps = []
        if any(ref not in ids for ref in refs):
            text = tr("Virtual layer '{layer}' uses a layer that is no longer in the project; it will not open.")
            gaps.append(Gap(name, "broken-link", text.format(layer=name), True))
        for provider, source, _n, _e in embedded:
            raw = source_file(source)
            if provider in ("ogr", "gdal") and not Path(qgsxml.resolve_path(project_file, raw)).is_file():
                text = tr("Virtual layer '{layer}' reads a file that no longer exists ({path}).")
                gaps.append(Gap(name, "missing", text.format(layer=name, path=raw), True))
        return gaps
    return []
