"""dtfl:raster_from_service — read a raster service (COG over HTTP, WCS) for an area into a GeoTIFF.

Re-cooking a recipe "reads the same services for the new extent": this is the step that does it for
terrain. Processing cannot take a remote GDAL source as a plain string input (3.22 requires gdal/ogr
inputs to be existing files), so the service is an explicit SOURCE string with its provider, read
through QGIS's raster provider (QGIS's proxy and auth settings apply) and written at native resolution.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from qgis.core import (
    QgsCoordinateTransform,
    QgsProcessingException,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterString,
    QgsRasterBlockFeedback,
    QgsRasterFileWriter,
    QgsRasterLayer,
    QgsRasterPipe,
    QgsRectangle,
)

from ...compat import RASTER_WRITER_OK
from ...i18n import tr
from ...processing.base import DtflAlgorithm

PROVIDERS = ("gdal", "wcs")


class RasterFromServiceAlgorithm(DtflAlgorithm):
    GROUP_ID = "layers"
    SOURCE = "SOURCE"
    PROVIDER = "PROVIDER"
    EXTENT = "EXTENT"
    OUTPUT = "OUTPUT"

    def displayName(self) -> str:
        return tr("Read a raster service for an area")

    def shortHelpString(self) -> str:
        return tr(
            "Reads a raster service for an area and writes it as a GeoTIFF at the service's own resolution. "
            "SOURCE is a Cloud Optimized GeoTIFF URL (/vsicurl/https://…, read by range requests, so only the "
            "area is transferred) or a WCS layer source; the time of reading and the service's version (ETag) "
            "are recorded, so a recipe can read the same service again for another area."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(QgsProcessingParameterString(self.SOURCE, tr("Raster service (URL or layer source)")))
        self.addParameter(
            QgsProcessingParameterEnum(self.PROVIDER, tr("Provider"), options=list(PROVIDERS), defaultValue=0)
        )
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, tr("Area")))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Raster for the area")))

    def process(self, parameters, context, feedback):
        source = self.parameterAsString(parameters, self.SOURCE, context).strip()
        provider = PROVIDERS[self.parameterAsEnum(parameters, self.PROVIDER, context)]
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        layer = QgsRasterLayer(source, "source", provider)
        if not layer.isValid():
            message = tr(
                "The raster service {source} cannot be read: {reason}. Check the address and your network."
            ).format(source=source, reason=layer.error().summary() or tr("no answer"))
            raise QgsProcessingException(message)
        extent = self.parameterAsExtent(parameters, self.EXTENT, context, layer.crs())
        area = extent.intersect(layer.extent())
        if area.isEmpty():
            raise QgsProcessingException(
                tr("The area does not overlap the raster service {source}.").format(source=source)
            )
        # Snap to the service's own grid so no resampling happens and re-reads give identical cells.
        full = layer.extent()
        res_x = full.width() / layer.width()
        res_y = full.height() / layer.height()
        xmin = full.xMinimum() + math.floor((area.xMinimum() - full.xMinimum()) / res_x) * res_x
        xmax = full.xMinimum() + math.ceil((area.xMaximum() - full.xMinimum()) / res_x) * res_x
        ymin = full.yMaximum() - math.ceil((full.yMaximum() - area.yMinimum()) / res_y) * res_y
        ymax = full.yMaximum() - math.floor((full.yMaximum() - area.yMaximum()) / res_y) * res_y
        snapped = QgsRectangle(xmin, ymin, xmax, ymax)
        cols, rows = round(snapped.width() / res_x), round(snapped.height() / res_y)

        pipe = QgsRasterPipe()
        if not pipe.set(layer.dataProvider().clone()):
            raise QgsProcessingException(tr("The raster service {source} cannot be read.").format(source=source))
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        tmp = str(Path(output).with_name(f".part-{Path(output).name}"))
        writer = QgsRasterFileWriter(tmp)
        writer.setOutputFormat("GTiff")
        block_feedback = QgsRasterBlockFeedback()
        feedback.canceled.connect(block_feedback.cancel)
        block_feedback.progressChanged.connect(feedback.setProgress)
        error = writer.writeRaster(pipe, cols, rows, snapped, layer.crs(), context.transformContext(), block_feedback)
        if feedback.isCanceled() or error != RASTER_WRITER_OK:
            Path(tmp).unlink(missing_ok=True)
            message = tr("Cancelled.") if feedback.isCanceled() else tr("Writing {path} failed.").format(path=output)
            raise self.fail(message, status="cancelled" if feedback.isCanceled() else "failed")
        os.replace(tmp, output)

        self._capture.add_service_input(self.SOURCE, source.replace("/vsicurl/", ""), version=_etag(source))
        self._capture.add_output(self.OUTPUT, output)
        to_project = QgsCoordinateTransform(layer.crs(), layer.crs(), context.transformContext())
        box = to_project.transformBoundingBox(snapped)
        self._capture.set_area((box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()), layer.crs().authid())
        feedback.pushInfo(tr("{cols} × {rows} cells read from {source}.").format(cols=cols, rows=rows, source=source))
        return {self.OUTPUT: output}


def _etag(source: str) -> str:
    """The service's version of what was read (ETag or Last-Modified), where it gives one."""
    url = source.replace("/vsicurl/", "")
    if not url.startswith(("http://", "https://")):
        return ""
    from ... import net
    from ...errors import NetError

    try:
        response = net.request(url, method="HEAD", timeout_s=10, raise_for_status=False)
    except NetError:
        return ""
    return response.header("etag") or response.header("last-modified")
