"""A layer's QGIS style as MapLibre paint rules and a plain legend (label + colour per class).

Single symbol, categorized and graduated renderers become data-driven colours; any other renderer is drawn
with its first symbol's colour and its own legend labels. Rasters keep their QGIS rendering (an image) and
their legend items.
"""

from __future__ import annotations

from qgis.core import QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtGui import QColor

from ..compat import GEOMETRY_LINE, GEOMETRY_POINT


def hex_colour(colour: QColor) -> str:
    return colour.name() if colour.isValid() else "#888888"


def _opacity(colour: QColor) -> float:
    return round(colour.alphaF(), 2) if colour.isValid() else 1.0


def _stroke(symbol) -> QColor:
    layer = symbol.symbolLayer(0) if symbol is not None and symbol.symbolLayerCount() else None
    getter = getattr(layer, "strokeColor", None)
    return getter() if callable(getter) else QColor("#333333")


def _classes(renderer) -> tuple[str, list]:
    """(attribute, [(value or (lower, upper), symbol, label)]) for categorized/graduated renderers."""
    kind = renderer.type()
    if kind == "categorizedSymbol":
        return renderer.classAttribute(), [
            (c.value(), c.symbol(), c.label()) for c in renderer.categories() if c.renderState()
        ]
    if kind == "graduatedSymbol":
        return renderer.classAttribute(), [
            ((r.lowerValue(), r.upperValue()), r.symbol(), r.label()) for r in renderer.ranges() if r.renderState()
        ]
    return "", []


def vector_style(layer: QgsVectorLayer) -> tuple[str, dict, list[dict]]:
    """(geometry kind: fill/line/circle, paint properties, legend rows) for a vector layer."""
    renderer = layer.renderer()
    symbols = renderer.symbols(_render_context()) if renderer is not None else []
    first = symbols[0] if symbols else None
    base = first.color() if first is not None else QColor("#888888")
    attribute, classes = _classes(renderer) if renderer is not None else ("", [])
    # Each feature carries the colour QGIS draws it in ("_c", see FeatureColours): any renderer, any expression.
    fill = ["coalesce", ["get", "_c"], hex_colour(base)] if per_feature(renderer) else hex_colour(base)
    kind = {GEOMETRY_POINT: "circle", GEOMETRY_LINE: "line"}.get(layer.geometryType(), "fill")
    opacity = _opacity(base) * layer.opacity()
    if kind == "circle":
        paint = {"circle-color": fill, "circle-radius": 4, "circle-opacity": opacity,
                 "circle-stroke-color": hex_colour(_stroke(first)), "circle-stroke-width": 1}  # fmt: skip
    elif kind == "line":
        width = getattr(first, "width", lambda: 0.5)() if first is not None else 0.5
        paint = {"line-color": fill, "line-width": max(1.0, round(width * 3.78, 1)), "line-opacity": opacity}
    else:
        paint = {"fill-color": fill, "fill-opacity": max(0.15, opacity),
                 "fill-outline-color": hex_colour(_stroke(first))}  # fmt: skip
    legend = [{"label": label or layer.name(), "colour": hex_colour(symbol.color())} for _v, symbol, label in classes]
    if not legend and renderer is not None:
        items = renderer.legendSymbolItems()
        legend = [
            {"label": item.label() or layer.name(), "colour": hex_colour(item.symbol().color())}
            for item in items
            if item.symbol() is not None
        ]
    return kind, paint, legend or [{"label": layer.name(), "colour": hex_colour(base)}]


def per_feature(renderer) -> bool:
    return renderer is not None and renderer.type() != "singleSymbol"


class FeatureColours:
    """The colour QGIS's own renderer gives each feature (None: QGIS does not draw it)."""

    def __init__(self, layer: QgsVectorLayer) -> None:
        from qgis.core import QgsExpressionContextUtils, QgsRenderContext

        self.renderer = layer.renderer().clone() if per_feature(layer.renderer()) else None
        self.context = QgsRenderContext()
        if self.renderer is not None:
            self.context.expressionContext().appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
            self.renderer.startRender(self.context, layer.fields())

    def colour(self, feature) -> str | None:
        if self.renderer is None:
            return ""
        self.context.expressionContext().setFeature(feature)
        # symbolsForFeature: rule-based renderers answer only this one (symbolForFeature gives None there)
        symbols = self.renderer.symbolsForFeature(feature, self.context)
        return hex_colour(symbols[0].color()) if symbols else None

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.stopRender(self.context)
            self.renderer = None


def raster_legend(layer: QgsRasterLayer) -> list[dict]:
    renderer = layer.renderer()
    if renderer is None:
        return []
    rows = []
    for label, colour in renderer.legendSymbologyItems():
        if colour.alpha() == 0 and len(renderer.legendSymbologyItems()) > 1:
            continue
        rows.append({"label": _number_label(str(label)), "colour": hex_colour(colour)})
    return rows


def _render_context():
    from qgis.core import QgsRenderContext

    return QgsRenderContext()


def _number_label(label: str) -> str:
    try:
        return f"{float(label):.1f}"
    except ValueError:
        return label
