"""Styles for model outputs, so a result reads at a glance when it lands on the map.

Water depth in the classes the Klimaateffectatlas uses for its cloudburst maps (nothing under 5 cm; 5-10, 10-15,
15-20, 20-30 cm and deeper than 30 cm, light to dark blue), labelled in metres. Buildings by the depth of water
against their facade in the same classes, dry ones grey. Depressions as outlines only, so the water shows through.
"""

from __future__ import annotations

from qgis.core import (
    QgsColorRampShader,
    QgsFillSymbol,
    QgsGraduatedSymbolRenderer,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererRange,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

from ..i18n import tr

# (lower bound m, upper bound m or None, colour)
DEPTH_CLASSES = (
    (0.05, 0.10, "#bdd7e7"),
    (0.10, 0.15, "#8fbfe0"),
    (0.15, 0.20, "#5a9fd4"),
    (0.20, 0.30, "#2c6fbb"),
    (0.30, None, "#08306b"),
)
DRY_GREY = "#b4b4b4"
TOP = 1.0e6  # above any water depth: the open upper class


def _label(low: float, high: float | None) -> str:
    if high is None:
        return tr("more than {low:.2f} m").format(low=low)
    return tr("{low:.2f} – {high:.2f} m").format(low=low, high=high)


def _discrete():
    from ..compat import RAMP_DISCRETE

    return RAMP_DISCRETE


def style_water_depth(layer: QgsRasterLayer) -> None:
    """Klimaateffectatlas depth classes (m); water under 5 cm, dry cells and nodata stay transparent."""
    ramp = QgsColorRampShader(0.0, TOP)
    ramp.setColorRampType(_discrete())
    none = QColor(255, 255, 255, 0)
    items = [QgsColorRampShader.ColorRampItem(DEPTH_CLASSES[0][0], none, tr("under 0.05 m: not shown"))]
    for low, high, colour in DEPTH_CLASSES:  # discrete: a value up to an item's value takes its colour
        items.append(
            QgsColorRampShader.ColorRampItem(high if high is not None else TOP, QColor(colour), _label(low, high))
        )
    ramp.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(TOP)
    layer.setRenderer(renderer)
    layer.setName(layer.name())
    layer.triggerRepaint()


def style_buildings(layer: QgsVectorLayer, field: str = "facade_depth_m") -> None:
    """Buildings coloured by the water depth against the facade; dry ones (under 5 cm) grey."""
    ranges = [QgsRendererRange(-TOP, DEPTH_CLASSES[0][0], _fill(DRY_GREY), tr("dry (under 0.05 m)"))]
    for low, high, colour in DEPTH_CLASSES:
        ranges.append(QgsRendererRange(low, high if high is not None else TOP, _fill(colour), _label(low, high)))
    layer.setRenderer(QgsGraduatedSymbolRenderer(field, ranges))
    layer.triggerRepaint()


def style_depressions(layer: QgsVectorLayer) -> None:
    """Depressions as dark outlines without a fill: the water depth below stays visible."""
    symbol = QgsFillSymbol.createSimple(
        {"style": "no", "outline_color": "#1b3a5c", "outline_width": "0.4", "outline_style": "dash"}
    )
    layer.renderer().setSymbol(symbol)
    layer.triggerRepaint()


def _fill(colour: str) -> QgsFillSymbol:
    return QgsFillSymbol.createSimple({"color": colour, "outline_color": "#4d4d4d", "outline_width": "0.2"})


class OutputStyler(QgsProcessingLayerPostProcessorInterface):
    """Applies one of the styles above when Processing loads an output layer (main thread)."""

    keep: list = []  # Processing keeps only a pointer: the Python objects must outlive the run

    def __init__(self, style) -> None:
        super().__init__()
        self.style = style

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS's name
        try:
            self.style(layer)
        except (AttributeError, TypeError, RuntimeError) as err:  # a layer of another kind: leave it as it is
            feedback.pushInfo(tr("Could not style {name}: {error}").format(name=layer.name(), error=err))

    @staticmethod
    def create(style) -> OutputStyler:
        styler = OutputStyler(style)
        OutputStyler.keep = OutputStyler.keep[-16:] + [styler]
        return styler


class WaterDepthStyler(OutputStyler):
    """The water-depth style as a post-processor (kept for callers of the earlier API)."""

    @staticmethod
    def create() -> OutputStyler:
        return OutputStyler.create(style_water_depth)
