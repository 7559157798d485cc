"""Turning a layer's data into files a recipe can carry: GeoPackage for vectors, GeoTIFF for rasters.

Clipping to an area keeps whole features that intersect it (vectors: a spatial filter, so
attributes and geometries stay exactly as the source has them) and the pixels inside it
(rasters: a window on the source grid, no resampling). Service layers can be snapshotted the
same way through QGIS's own providers, so authentication and proxies work as in the project.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import DtflError, RecipeError
from ..i18n import tr

Area = tuple[tuple[float, float, float, float], str]  # ((xmin, ymin, xmax, ymax), "EPSG:28992")


def _gdal():
    from osgeo import gdal

    gdal.UseExceptions()
    return gdal


def area_in_crs(area: Area, crs_authid: str) -> tuple[float, float, float, float]:
    """The area's bounding box in another CRS (the box of the transformed rectangle)."""
    (xmin, ymin, xmax, ymax), area_crs = area
    if not crs_authid or crs_authid == area_crs:
        return xmin, ymin, xmax, ymax
    from qgis.core import QgsRectangle

    from ..transforms import checked

    # a default transform context: this runs in workers, which must not touch the project singleton;
    # checked(): a transform QGIS cached as invalid would hand back the area untransformed (empty snapshot)
    try:
        transform = checked(area_crs, crs_authid)
    except DtflError as err:
        raise RecipeError(str(err)) from err
    box = transform.transformBoundingBox(QgsRectangle(xmin, ymin, xmax, ymax))
    return box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()


def export_vector(src: str, layer_name: str, dst: Path, area: Area | None, crs: str) -> str:
    """Write one vector layer to a GeoPackage; returns the layer name inside it."""
    gdal = _gdal()
    out_name = layer_name or Path(src).stem
    options = {"format": "GPKG", "layerName": out_name, "accessMode": None}
    if layer_name:
        options["layers"] = [layer_name]
    if area is not None:
        options["spatFilter"] = list(area_in_crs(area, crs))
    try:
        result = gdal.VectorTranslate(str(dst), src, **{k: v for k, v in options.items() if v is not None})
    except RuntimeError as err:
        raise RecipeError(
            tr("The layer data '{src}' could not be exported: {error}").format(src=src, error=err)
        ) from err
    if result is None:
        raise RecipeError(tr("The layer data '{src}' could not be exported.").format(src=src))
    result = None  # noqa: F841 - closes the dataset (GDAL flushes on release)
    return out_name


def export_raster(src: str, dst: Path, area: Area | None, crs: str) -> None:
    gdal = _gdal()
    kwargs = {"format": "GTiff", "creationOptions": ["COMPRESS=DEFLATE", "TILED=YES", "BIGTIFF=IF_SAFER"]}
    if area is not None:
        xmin, ymin, xmax, ymax = area_in_crs(area, crs)
        kwargs["projWin"] = [xmin, ymax, xmax, ymin]
    try:
        result = gdal.Translate(str(dst), src, **kwargs)
    except RuntimeError as err:
        raise RecipeError(tr("The raster '{src}' could not be exported: {error}").format(src=src, error=err)) from err
    if result is None:
        raise RecipeError(tr("The raster '{src}' could not be exported.").format(src=src))
    result = None  # noqa: F841


def snapshot_vector_service(provider: str, uri: str, dst: Path, area: Area, crs: str, name: str, feedback=None) -> str:
    """Read a vector service (WFS, OGC API Features, ...) for the area and write it to a GeoPackage."""
    from qgis.core import QgsCoordinateTransformContext, QgsRectangle, QgsVectorFileWriter, QgsVectorLayer

    layer = QgsVectorLayer(uri, name, provider)
    if not layer.isValid():
        raise RecipeError(tr("The service layer '{name}' could not be read for a snapshot.").format(name=name))
    xmin, ymin, xmax, ymax = area_in_crs(area, layer.crs().authid() or crs)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = name
    options.filterExtent = QgsRectangle(xmin, ymin, xmax, ymax)
    if feedback is not None:
        options.feedback = feedback
    writer = getattr(QgsVectorFileWriter, "writeAsVectorFormatV3", None)
    if writer is not None:
        result = writer(layer, str(dst), QgsCoordinateTransformContext(), options)
    else:  # QGIS < 3.20
        result = QgsVectorFileWriter.writeAsVectorFormatV2(layer, str(dst), QgsCoordinateTransformContext(), options)
    if result[0] != QgsVectorFileWriter.WriterError.NoError:
        raise RecipeError(tr("The snapshot of '{name}' failed: {error}").format(name=name, error=result[1]))
    return name


def export_style(element: ET.Element, layer_type: str, dst: Path) -> bool:
    """Write the layer's style (symbology, labels, 3D renderer, forms) as a QML file.

    The layer is rebuilt from its XML without touching its data source (``FlagDontResolveLayers``
    is not needed: a layer that cannot open its source still reads its style)."""
    from qgis.core import QgsMeshLayer, QgsRasterLayer, QgsReadWriteContext, QgsVectorLayer
    from qgis.PyQt.QtXml import QDomDocument

    classes = {"vector": QgsVectorLayer, "raster": QgsRasterLayer, "mesh": QgsMeshLayer}
    cls = classes.get(layer_type)
    if cls is None:
        return False
    doc = QDomDocument()
    if not doc.setContent(ET.tostring(element, encoding="unicode")):
        return False
    layer = cls()
    layer.readLayerXml(doc.documentElement(), QgsReadWriteContext())
    out = QDomDocument("qgis")
    layer.exportNamedStyle(out)
    text = out.toString(1)
    if "<qgis" not in text:
        return False
    dst.write_text(text, encoding="utf-8")
    return True


def snapshot_raster_service(provider: str, uri: str, dst: Path, area: Area, crs: str, name: str, feedback=None) -> None:
    """Read a raster service (WMS, WMTS, WCS) for the area and write what it returns as a GeoTIFF.

    Map services return pictures, so the rendered image (RGBA) is written, at 0.25 m per pixel in a
    projected CRS (at most 4096 pixels a side); a coverage service (WCS) keeps its values."""
    from qgis.core import (
        QgsCoordinateTransformContext,
        QgsRasterFileWriter,
        QgsRasterLayer,
        QgsRasterPipe,
        QgsRectangle,
    )

    layer = QgsRasterLayer(uri, name, provider)
    if not layer.isValid():
        raise RecipeError(tr("The service layer '{name}' could not be read for a snapshot.").format(name=name))
    layer_crs = layer.crs()
    xmin, ymin, xmax, ymax = area_in_crs(area, layer_crs.authid() or crs)
    extent = QgsRectangle(xmin, ymin, xmax, ymax)
    step = 0.25 if not layer_crs.isGeographic() else 0.0000025
    cols = max(1, min(4096, round((xmax - xmin) / step)))
    rows = max(1, min(4096, round((ymax - ymin) / step)))
    pipe = QgsRasterPipe()
    if not pipe.set(layer.dataProvider().clone()):
        raise RecipeError(tr("The snapshot of '{name}' failed: {error}").format(name=name, error="provider"))
    if provider != "wcs":
        pipe.set(layer.renderer().clone())
    writer = QgsRasterFileWriter(str(dst))
    writer.setOutputFormat("GTiff")
    writer.setCreateOptions(["COMPRESS=DEFLATE", "TILED=YES"])
    # a default transform context: workers must not touch the project singleton (main thread)
    error = writer.writeRaster(pipe, cols, rows, extent, layer_crs, QgsCoordinateTransformContext(), feedback)
    if int(getattr(error, "value", error)) != 0:
        raise RecipeError(tr("The snapshot of '{name}' failed: {error}").format(name=name, error=error))
