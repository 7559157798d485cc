"""Point cloud layers: AHN classification names and colours, 2D and 3D renderers, provider detection."""

from __future__ import annotations

from qgis.core import (
    QgsPointCloudCategory,
    QgsPointCloudClassifiedRenderer,
    QgsPointCloudLayer,
    QgsProviderRegistry,
)
from qgis.PyQt.QtGui import QColor

from ..i18n import tr


def ahn_classes() -> list[tuple[int, str, str]]:
    """(ASPRS code, name as AHN publishes it, colour). AHN3/AHN4 use these classes."""
    return [
        (1, tr("Not classified"), "#b4b4b4"),
        (2, tr("Ground"), "#c8a56e"),
        (6, tr("Building"), "#d2492d"),
        (9, tr("Water"), "#3c82dc"),
        (26, tr("Civil structure"), "#8c5ab4"),
    ]


def ahn_categories() -> list[QgsPointCloudCategory]:
    return [QgsPointCloudCategory(code, QColor(colour), name, True) for code, name, colour in ahn_classes()]


def has_provider(key: str) -> bool:
    return key in QgsProviderRegistry.instance().providerList()


def point_cloud_provider_for(path_or_url: str) -> str | None:
    """The provider that reads this point cloud on this QGIS, or None (then say which is missing)."""
    lower = path_or_url.lower()
    if lower.endswith("ept.json"):
        return "ept" if has_provider("ept") else None
    if lower.endswith(".copc.laz"):
        for key in ("copc", "pdal"):
            if has_provider(key):
                return key
        return None
    if lower.endswith((".las", ".laz")):
        return "pdal" if has_provider("pdal") else None
    if lower.endswith(".vpc"):
        return "vpc" if has_provider("vpc") else None
    return None


def style_point_cloud(layer: QgsPointCloudLayer, point_size: float = 2.0) -> None:
    """Colour by classification with AHN class names, in the 2D canvas and in 3D views."""
    renderer = QgsPointCloudClassifiedRenderer()
    renderer.setAttribute("Classification")
    renderer.setCategories(ahn_categories())
    renderer.setPointSize(point_size)
    layer.setRenderer(renderer)
    try:
        from qgis._3d import QgsClassificationPointCloud3DSymbol, QgsPointCloudLayer3DRenderer
    except ImportError:  # a QGIS built without 3D: 2D styling still applies
        return
    symbol = QgsClassificationPointCloud3DSymbol()
    symbol.setAttribute("Classification")
    symbol.setCategoriesList(ahn_categories())
    symbol.setPointSize(point_size)
    renderer3d = QgsPointCloudLayer3DRenderer()
    renderer3d.setSymbol(symbol)
    renderer3d.setLayer(layer)
    layer.setRenderer3D(renderer3d)
