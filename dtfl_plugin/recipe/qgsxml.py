"""A QGIS project as XML: read from disk (.qgs or .qgz), list its layers, rewrite data sources.

Recipes work on the project's XML, never on a live QgsProject: packaging cannot change the
project the user has open, and opening can clean the XML before QGIS ever reads it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import safexml
from ..errors import RecipeError
from ..i18n import tr
from ..provenance.layer_props import KEY as SOURCE_KEY
from ..provenance.layer_props import LayerSource

MAX_PROJECT_BYTES = 64 * 1024**2
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
FILE_PROVIDERS = {"ogr", "gdal", "delimitedtext", "spatialite", "mdal", "ept", "pdal", "copc"}
SERVICE_PROVIDERS = {
    "wms",
    "WFS",
    "wfs",
    "oapif",
    "OAPIF",
    "wcs",
    "arcgisfeatureserver",
    "arcgismapserver",
    "vectortile",
}


def read_project_xml(path: str | Path) -> ET.ElementTree:
    """The project's XML from a .qgs or the .qgs inside a .qgz (read with a size cap)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".qgz":
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".qgs") and "/" not in n]
                if len(names) != 1:
                    raise RecipeError(tr("The .qgz project holds no single .qgs file."), detail=str(path))
                data = zf.open(names[0]).read(MAX_PROJECT_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_PROJECT_BYTES + 1)
    except (OSError, zipfile.BadZipFile) as err:
        raise RecipeError(tr("The project file cannot be read: {error}").format(error=err), detail=str(path)) from err
    if len(data) > MAX_PROJECT_BYTES:
        raise RecipeError(tr("The project file is larger than 64 MiB."), detail=str(path))
    return parse_project_bytes(data)


def parse_project_bytes(data: bytes) -> ET.ElementTree:
    """Through the one hardened parser (any encoding; entities and DTD subsets refused, never expanded)."""
    try:
        root = safexml.parse(data, tr("project file"), max_bytes=MAX_PROJECT_BYTES)
    except safexml.UnsafeXmlError as err:
        raise RecipeError(tr("The project file declares XML entities; it is refused.")) from err
    except safexml.XmlError as err:
        raise RecipeError(tr("The project file is not valid XML: {error}").format(error=err)) from err
    if root.tag != "qgis":
        raise RecipeError(tr("The file is not a QGIS project."))
    return ET.ElementTree(root)


def write_project_xml(tree: ET.ElementTree, path: str | Path) -> None:
    with open(path, "wb") as handle:
        handle.write(DOCTYPE.encode())
        tree.write(handle, encoding="utf-8", xml_declaration=False)


def project_bytes(tree: ET.ElementTree) -> bytes:
    return DOCTYPE.encode() + ET.tostring(tree.getroot(), encoding="utf-8")


@dataclass
class LayerXml:
    element: ET.Element
    layer_id: str
    name: str
    layer_type: str  # vector | raster | mesh | vector-tile | point-cloud | ...
    provider: str
    datasource: str
    crs: str

    def set_datasource(self, value: str) -> None:
        node = self.element.find("datasource")
        if node is not None:
            node.text = value
        self.datasource = value

    def source(self) -> LayerSource | None:
        return LayerSource.from_json(custom_property(self.element, SOURCE_KEY))


def custom_property(element: ET.Element, key: str) -> str:
    props = element.find("customproperties")
    if props is None:
        return ""
    for option in props.iter("Option"):  # 3.20+ layout
        if option.get("name") == key:
            return option.get("value", "")
    for prop in props.iter("property"):  # older layout
        if prop.get("key") == key:
            return prop.get("value", "") or (prop.findtext("value") or "")
    return ""


def _child(parent: ET.Element, tag: str, attrib: dict[str, str] | None = None) -> ET.Element:
    """The first ``tag`` child of ``parent``, made (with ``attrib``) when there is none."""
    found = parent.find(tag)
    return found if found is not None else ET.SubElement(parent, tag, attrib or {})


def set_custom_property(element: ET.Element, key: str, value: str) -> None:
    """Set a layer custom property in the 3.20+ layout (<customproperties><Option type="Map">)."""
    option_map = _child(_child(element, "customproperties"), "Option", {"type": "Map"})
    for option in option_map.findall("Option"):
        if option.get("name") == key:
            option.set("value", value)
            return
    ET.SubElement(option_map, "Option", {"name": key, "type": "QString", "value": value})


def layers(tree: ET.ElementTree) -> list[LayerXml]:
    found = []
    container = tree.getroot().find("projectlayers")
    if container is None:
        return found
    for elem in container.findall("maplayer"):
        provider = elem.find("provider")
        found.append(
            LayerXml(
                element=elem,
                layer_id=elem.findtext("id", ""),
                name=elem.findtext("layername", ""),
                layer_type=elem.get("type", ""),
                provider=(provider.text or "") if provider is not None else "",
                datasource=elem.findtext("datasource", ""),
                crs=elem.findtext("srs/spatialrefsys/authid", ""),
            )
        )
    return found


def sync_layer_tree_sources(tree: ET.ElementTree) -> None:
    """The layer tree repeats each layer's source (<layer-tree-layer source=...>): keep it equal to the datasource."""
    sources = {layer.layer_id: layer.datasource for layer in layers(tree)}
    for node in tree.getroot().iter("layer-tree-layer"):
        if node.get("id") in sources:
            node.set("source", sources[node.get("id")])


def read_entry(tree: ET.ElementTree, scope: str, key: str) -> str:
    node = tree.getroot().find(f"properties/{scope}/{key.strip('/')}")
    return (node.text or "") if node is not None else ""


def write_entry(tree: ET.ElementTree, scope: str, key: str, value: str) -> None:
    node = _child(_child(_child(tree.getroot(), "properties"), scope), key.strip("/"), {"type": "QString"})
    node.text = value


def set_relative_paths(tree: ET.ElementTree) -> None:
    absolute = _child(_child(_child(tree.getroot(), "properties"), "Paths"), "Absolute", {"type": "bool"})
    absolute.text = "false"
    home = tree.getroot().find("homePath")
    if home is not None:
        home.set("path", "")


def resolve_path(project_file: str | Path, path: str) -> str:
    """An absolute path for a layer path as stored in the project (relative ones start with ./ or ../)."""
    if path.startswith(("./", "../")):
        return str((Path(project_file).resolve().parent / path).resolve())
    return path


def view3d_xml(tree: ET.ElementTree) -> bytes | None:
    """The project's 3D map views (QGIS stores them in <mapViewDocks3D>)."""
    node = tree.getroot().find("mapViewDocks3D")
    if node is None or len(node) == 0:
        return None
    return ET.tostring(node, encoding="utf-8")
