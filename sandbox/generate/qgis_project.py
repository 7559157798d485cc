"""Build the QGIS project served by qgis_mapserver (WMS, WMTS, WFS, WCS). Run with Debian's Python:

    /usr/bin/python3 sandbox/generate/qgis_project.py <spec.json> <out.qgs>

The spec (written by sandbox.generate.services) lists the layers with their source, dataset metadata and a
metadata URL pointing to the dataset's record in the sandbox CSW. This file imports qgis and runs ONLY in
that child process, never in the caller.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import palette  # noqa: E402 - sibling module: this file runs as a script (see the module docstring)
from qgis.core import (
    QgsApplication,
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsCoordinateReferenceSystem,
    QgsFillSymbol,
    QgsGraduatedSymbolRenderer,
    QgsProject,
    QgsRasterBandStats,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRectangle,
    QgsRendererCategory,
    QgsRendererRange,
    QgsSingleBandPseudoColorRenderer,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor


def _fill(color: str, outline: str, width: float = 0.26) -> QgsFillSymbol:
    return QgsFillSymbol.createSimple(
        {"color": color, "outline_color": outline, "outline_width": str(width), "outline_width_unit": "MM"}
    )


def _categorized(layer: QgsVectorLayer, field: str, colours: dict, outline: str) -> None:
    cats = []
    present = sorted({str(v) for v in layer.uniqueValues(layer.fields().indexOf(field))})
    for value in present:
        colour = colours.get(value, palette.OTHER)
        cats.append(QgsRendererCategory(value, _fill(colour, outline, 0.1), value))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, cats))


def _style_vector(layer: QgsVectorLayer, key: str) -> None:
    if key == "bgt_pand":
        layer.setRenderer(QgsSingleSymbolRenderer(_fill(*palette.PAND)))
    elif key == "bgt_waterdeel":
        layer.setRenderer(QgsSingleSymbolRenderer(_fill(*palette.WATER)))
    elif key == "bgt_wegdeel":
        _categorized(layer, "function", palette.WEG, palette.WEG_OUTLINE)
    elif key == "bgt_begroeidterreindeel":
        _categorized(layer, "class", palette.GROEN, palette.GROEN_OUTLINE)
    elif key == "gebouwen_3d":
        _graduated_heights(layer)
    else:
        layer.setRenderer(QgsSingleSymbolRenderer(_fill("#e8c8a8", "#806040")))


def _graduated_heights(layer: QgsVectorLayer) -> None:
    """Buildings coloured by height above ground (b3_hoogte), light to dark, as 3DBAG viewers do."""
    classes = [(0, 3, "#fde0c5"), (3, 6, "#facba6"), (6, 9, "#f8b58b"), (9, 12, "#f59e72"), (12, 30, "#eb7f5f")]
    ranges = [QgsRendererRange(lo, hi, _fill(colour, "#7a5040", 0.1), f"{lo}-{hi} m") for lo, hi, colour in classes]
    layer.setRenderer(QgsGraduatedSymbolRenderer("b3_hoogte", ranges))


def _style_dtm(layer: QgsRasterLayer) -> None:
    stats = layer.dataProvider().bandStatistics(1, QgsRasterBandStats.Min | QgsRasterBandStats.Max)
    lo, hi = stats.minimumValue, stats.maximumValue
    ramp = [(0.0, "#2b83ba"), (0.25, "#abdda4"), (0.5, "#ffffbf"), (0.75, "#fdae61"), (1.0, "#d7191c")]
    items = [
        QgsColorRampShader.ColorRampItem(lo + f * (hi - lo), QColor(c), f"{lo + f * (hi - lo):.1f} m") for f, c in ramp
    ]
    fn = QgsColorRampShader(lo, hi)
    fn.setColorRampType(QgsColorRampShader.Interpolated)
    fn.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(fn)
    layer.setRenderer(QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader))


def _describe(layer, spec: dict) -> None:
    layer.setShortName(spec["key"])
    layer.setTitle(spec["title"])
    layer.setAbstract(spec["abstract"])
    layer.setKeywordList(", ".join(spec["keywords"]))
    layer.setAttribution(spec["attribution"])
    layer.setAttributionUrl(spec["licence_url"])
    md = layer.metadata()
    md.setIdentifier(spec["uuid"])
    md.setTitle(spec["title"])
    md.setAbstract(spec["abstract"])
    md.setLicenses([spec["licence"]])
    md.setRights([spec["attribution"]])
    layer.setMetadata(md)
    if hasattr(layer, "serverProperties") and hasattr(layer.serverProperties(), "setMetadataUrls"):
        from qgis.core import QgsMapLayerServerProperties

        url = QgsMapLayerServerProperties.MetadataUrl(spec["metadata_url"], "ISO19115:2003", "text/xml")
        layer.serverProperties().setMetadataUrls([url])
    else:  # QGIS < 3.22
        layer.setMetadataUrl(spec["metadata_url"])
        layer.setMetadataUrlType("ISO19115:2003")
        layer.setMetadataUrlFormat("text/xml")


def build(spec: dict, out: Path) -> None:
    project = QgsProject.instance()
    project.clear()
    rd = QgsCoordinateReferenceSystem("EPSG:28992")
    project.setCrs(rd)
    project.setTitle(spec["service"]["title"])
    project.writeEntry("Paths", "/Absolute", True)
    ids = {"wms": [], "wfs": [], "wmts": [], "wcs": []}
    extent = QgsRectangle()
    for lyr in spec["layers"]:
        if lyr["kind"] == "vector":
            layer = QgsVectorLayer(f"{lyr['source']}|layername={lyr['layer']}", lyr["key"], "ogr")
        else:
            layer = QgsRasterLayer(lyr["source"], lyr["key"], "gdal")
        if not layer.isValid():
            raise RuntimeError(f"layer {lyr['key']} from {lyr['source']} is not valid")
        layer.setCrs(rd)
        if lyr["kind"] == "vector":
            _style_vector(layer, lyr["key"])
        else:
            _style_dtm(layer)
        _describe(layer, lyr)
        project.addMapLayer(layer)
        extent.combineExtentWith(layer.extent())
        for service in ids:
            if lyr.get(service):
                ids[service].append(layer.id())
    s = spec["service"]
    project.writeEntry("WMSServiceCapabilities", "/", True)
    project.writeEntry("WMSServiceTitle", "/", s["title"])
    project.writeEntry("WMSServiceAbstract", "/", s["abstract"])
    project.writeEntry("WMSKeywordList", "/", s["keywords"])
    project.writeEntry("WMSContactOrganization", "/", s["organisation"])
    project.writeEntry("WMSContactPerson", "/", s["person"])
    project.writeEntry("WMSContactMail", "/", s["email"])
    project.writeEntry("WMSFees", "/", s["fees"])
    project.writeEntry("WMSAccessConstraints", "/", s["access_constraints"])
    project.writeEntry("WMSRootName", "/", "sandbox")
    project.writeEntry("WMSCrsList", "/", ["EPSG:28992", "EPSG:4326", "EPSG:3857"])
    project.writeEntry(
        "WMSExtent",
        "/",
        [f"{v:.3f}" for v in (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())],
    )
    project.writeEntry("WMSAddWktGeometry", "/", True)
    project.writeEntry("WFSLayers", "/", ids["wfs"])
    for lid in ids["wfs"]:
        project.writeEntry("WFSLayersPrecision", "/" + lid, 3)
    project.writeEntry("WCSLayers", "/", ids["wcs"])
    project.writeEntry("WMTSLayers", "Layer", ids["wmts"])
    project.writeEntry("WMTSPngLayers", "Layer", ids["wmts"])
    project.writeEntry("WMTSJpegLayers", "Layer", [])
    project.writeEntry("WMTSLayers", "Project", False)
    project.writeEntry("WMTSMinScale", "/", 500)
    if not project.write(str(out)):
        raise RuntimeError(f"could not write {out}: {project.error()}")


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    app = QgsApplication([], False)
    app.initQgis()
    try:
        build(spec, Path(sys.argv[2]))
    finally:
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
