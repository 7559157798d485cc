"""Styles for model outputs, so a result reads at a glance when it lands on the map.

Water depth: dry cells transparent, then light to dark blue up to 1 m (deeper water is the darkest blue);
the classes follow the stress-test practice of showing 5 cm, 15 cm, 30 cm and more.
"""

from __future__ import annotations

from qgis.core import (
    QgsColorRampShader,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtGui import QColor

from ..compat import RAMP_INTERPOLATED
from ..i18n import tr

_DEPTH_CLASSES = (  # (upper bound m, colour, alpha)
    (0.0, "#ffffff", 0),
    (0.05, "#c6dbef", 0),
    (0.15, "#9ecae1", 210),
    (0.30, "#4292c6", 220),
    (1.00, "#08519c", 230),
    (5.00, "#08306b", 240),
)


def style_water_depth(layer: QgsRasterLayer) -> None:
    """Blue ramp for a water-depth raster (metres); dry cells and nodata stay transparent."""
    ramp = QgsColorRampShader(0.0, 5.0)
    ramp.setColorRampType(RAMP_INTERPOLATED)
    items = []
    for value, colour, alpha in _DEPTH_CLASSES:
        qcolour = QColor(colour)
        qcolour.setAlpha(alpha)
        items.append(QgsColorRampShader.ColorRampItem(value, qcolour, tr("{depth} m").format(depth=value)))
    ramp.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(5.0)
    layer.setRenderer(renderer)
    layer.triggerRepaint()


class WaterDepthStyler(QgsProcessingLayerPostProcessorInterface):
    """Applies the water-depth style when Processing loads the output layer (main thread)."""

    instance = None

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS's name
        if isinstance(layer, QgsRasterLayer):
            style_water_depth(layer)

    @staticmethod
    def create() -> WaterDepthStyler:
        # Processing keeps only a pointer: the Python object must outlive the run.
        WaterDepthStyler.instance = WaterDepthStyler()
        return WaterDepthStyler.instance
