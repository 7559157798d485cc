"""Clean an unpacked recipe folder so that opening it touches only that folder and its declared services.

The project and every XML file in the folder (styles .qml/.sld, SVG markers, GDAL/OGR VRT files,
anything else whose content is XML) go through the one hardened parser and the same whole-document
walk (sanitize.py); a file that cannot be read safely is removed. Every finding is listed.
"""

from __future__ import annotations

import json
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from .. import safexml
from ..i18n import tr
from . import dbcode, grids, qgsxml, sanitize
from .references import Scope

XML_SUFFIXES = {".qml", ".sld", ".svg", ".vrt", ".xml", ".qlr", ".gfs", ".ovf", ".qgs"}
# elements of GDAL/OGR VRT files that name a file GDAL opens; relative names resolve from the current
# directory (not the VRT's folder) unless relativeToVRT="1"
_VRT_SOURCES = {"SourceFilename", "SrcDataSource", "SourceDataSource", "OverviewFile"}


def declared_services(folder: Path) -> list[str]:
    """The http(s) URLs of the services the recipe declares (its crate's service entries)."""
    meta = folder / "ro-crate-metadata.json"
    try:
        graph = json.loads(meta.read_text(encoding="utf-8")).get("@graph", [])
    except (OSError, ValueError, AttributeError):
        return []
    entities = [e for e in graph if isinstance(e, dict)]
    root = next((e for e in entities if e.get("@id") == "./"), {})
    return services_in(root, entities)


def services_in(root: dict, entities) -> list[str]:
    """The http(s) URLs of the crate entities the root lists as its parts."""
    parts = {p.get("@id") for p in root.get("hasPart", []) if isinstance(p, dict)}
    out = []
    for entity in entities:
        if not isinstance(entity, dict) or entity.get("@id") not in parts:
            continue
        url = entity.get("url") or entity.get("@id")
        if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
            out.append(url)
    return out


def preview(tree: ET.ElementTree | None, styles: dict[str, bytes], services: list[str]) -> list[sanitize.Finding]:
    """What opening will neutralise, found before anything is unpacked (for the verdict): the project
    (on a copy) and the styles, against a stand-in recipe folder (paths are compared, never read)."""
    root = Path(tempfile.gettempdir()) / "dtfl-recipe-preview"
    found: list[sanitize.Finding] = []
    if tree is not None:
        copy = ET.ElementTree(ET.fromstring(ET.tostring(tree.getroot())))
        found += sanitize.sanitize(copy, Scope(root, root / "project", services)).findings
    for name, data in styles.items():
        try:
            style = ET.ElementTree(safexml.parse(data, name))
        except safexml.XmlError as err:
            found.append(
                sanitize.Finding(
                    "style", name, tr("'{name}' was removed: {error}").format(name=name, error=err.message)
                )
            )
            continue
        found += sanitize.sanitize(style, Scope(root, root / Path(name).parent, services), name).findings
    return found


def clean_project(path: Path, folder: Path, auth_map: dict[str, str]):
    """(findings, placeholders, unmapped auth names) for the unpacked project, cleaned in place."""
    tree = qgsxml.read_project_xml(path)
    scope = Scope(folder, path.parent, declared_services(folder))
    report = sanitize.sanitize(tree, scope)
    unmapped = sanitize.apply_auth_map(tree, auth_map)
    qgsxml.write_project_xml(tree, path)
    findings = list(report.findings)
    findings += [sanitize.Finding("grid", name, advice) for name, advice in grids.missing(tree, folder)]
    return findings, report.placeholders, unmapped


def clean_xml_file(path: Path, folder: Path, services: list[str]) -> list[sanitize.Finding]:
    """Clean one XML file of the recipe in place, or remove it when it cannot be read safely."""
    try:
        root = safexml.parse_file(path, path.name, max_bytes=64 * 1024**2)
    except safexml.XmlError as err:
        path.unlink()
        return [
            sanitize.Finding(
                "style", path.name, tr("'{name}' was removed: {error}").format(name=path.name, error=err.message)
            )
        ]
    tree = ET.ElementTree(root)
    findings = _vrt_sources(root, path) if root.tag in ("VRTDataset", "OGRVRTDataSource") else []
    findings += sanitize.sanitize(tree, Scope(folder, path.parent, services), path.name).findings
    text = ET.tostring(root, encoding="unicode")
    if root.tag == "qgis":
        text = qgsxml.DOCTYPE + text  # QGIS needs the doctype
    path.write_text(text, encoding="utf-8")
    return findings


def _vrt_sources(root: ET.Element, path: Path) -> list[sanitize.Finding]:
    out = []
    for node in root.iter():
        if node.tag in _VRT_SOURCES and node.get("relativeToVRT", node.get("relativetoVRT", "0")) != "1":
            value = (node.text or "").strip()
            if value and not Path(value).is_absolute():  # absolute ones are checked by the walk
                node.text = ""
                out.append(
                    sanitize.Finding(
                        "reference",
                        path.name,
                        tr("'{name}' named a file relative to the working folder, not to itself; removed.").format(
                            name=path.name
                        ),
                    )
                )
    return out


def _is_xml(path: Path) -> bool:
    if path.suffix.lower() in XML_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    except OSError:
        return False
    return head.startswith(b"<")


def clean_folder(folder: Path, project: Path) -> list[sanitize.Finding]:
    """Every XML file of the recipe except the project (styles, SVG, VRT, ...) and every database (triggers,
    views), cleaned in place."""
    services = declared_services(folder)
    findings: list[sanitize.Finding] = []
    for path in sorted(folder.rglob("*")):
        if path == project or path.name == "ro-crate-metadata.json" or not path.is_file() or path.is_symlink():
            continue
        if _is_xml(path):
            findings += clean_xml_file(path, folder, services)
        elif dbcode.is_sqlite(path):
            findings += dbcode.clean_database(path, Scope(folder, path.parent, services))
    return findings
