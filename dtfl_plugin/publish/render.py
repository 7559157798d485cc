"""Draw QGIS layers into PNG images (thread-safe: a custom-painter job on a QImage, no widgets)."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsMapRendererCustomPainterJob, QgsMapSettings, QgsRectangle
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QImage, QPainter

MAX_SIDE = 2048


def image_size(extent: QgsRectangle, pixel: float, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """Pixels for ``extent`` at ``pixel`` map units per pixel, the longer side capped at ``max_side``."""
    width = max(extent.width() / max(pixel, 1e-9), 1.0)
    height = max(extent.height() / max(pixel, 1e-9), 1.0)
    scale = min(1.0, max_side / max(width, height))
    return max(16, round(width * scale)), max(16, round(height * scale))


def render_png(
    layers,
    crs,
    extent: QgsRectangle,
    size: tuple[int, int],
    path: Path,
    transform_context=None,
    feedback=None,
    background: QColor | None = None,
) -> bool:
    """Render ``layers`` (top first) over ``extent`` in ``crs``; transparent where nothing is drawn, unless a
    ``background`` colour is given."""
    settings = QgsMapSettings()
    settings.setLayers(list(layers))
    settings.setDestinationCrs(crs)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(background if background is not None else QColor(0, 0, 0, 0))
    if transform_context is not None:
        settings.setTransformContext(transform_context)
    image = QImage(QSize(*size), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(background if background is not None else QColor(0, 0, 0, 0))
    painter = QPainter(image)
    job = QgsMapRendererCustomPainterJob(settings, painter)
    if feedback is not None:
        feedback.canceled.connect(job.cancelWithoutBlocking)
    job.renderSynchronously()
    painter.end()
    if feedback is not None:
        try:
            feedback.canceled.disconnect(job.cancelWithoutBlocking)
        except TypeError:
            pass
    if feedback is not None and feedback.isCanceled():
        return False
    return bool(image.save(str(path), "PNG"))


def is_empty(path: Path) -> bool:
    """True when the PNG has no visible pixel (a layer with nothing in the area)."""
    image = QImage(str(path))
    if image.isNull():
        return True
    small = image.scaled(64, 64)
    return all(
        QColor.fromRgba(small.pixel(x, y)).alpha() == 0 for x in range(small.width()) for y in range(small.height())
    )
