"""One place where QGIS 3 and QGIS 4 (Qt 6) differ, resolved once by feature detection.

Why: QGIS 3.x keeps its old unscoped enum spellings (``QgsWkbTypes.PolygonGeometry``) only as monkey-patched
aliases of the scoped ``Qgis.*`` enums, and QGIS 4 drops those aliases. On QGIS 3.22 many scoped forms do not
exist yet. Every module imports the names below instead of spelling either form; the scan test
(tests/test_foundation_qt6.py) fails the build on a removed spelling anywhere else.

Nothing here looks at a version number: each name is the first spelling that the running QGIS has.
"""

from __future__ import annotations

from typing import Any

from qgis.core import (
    Qgis,
    QgsColorRampShader,
    QgsDataItem,
    QgsDataProvider,
    QgsField,
    QgsMapLayerType,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsProperty,
    QgsRasterBandStats,
    QgsRasterFileWriter,
    QgsStatisticalSummary,
    QgsUnitTypes,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

try:  # Qt 6 moved QAction, QActionGroup and QShortcut from QtWidgets to QtGui
    from qgis.PyQt.QtGui import QAction, QActionGroup, QShortcut  # type: ignore[attr-defined]
except ImportError:  # Qt 5
    from qgis.PyQt.QtWidgets import QAction, QActionGroup, QShortcut  # type: ignore[no-redef]

try:  # Qt 6: field types are QMetaType.Type
    from qgis.PyQt.QtCore import QMetaType
except ImportError:  # pragma: no cover - every supported Qt has QMetaType
    QMetaType = None  # type: ignore[assignment,misc]

__all__ = [
    "QAction",
    "QActionGroup",
    "QShortcut",
    "field",
    "resolve",
]


def resolve(*spellings: tuple[Any, str]) -> Any:
    """The first of (owner, "Enum.Member") spellings that exists in the running QGIS.

    Dotted paths are walked attribute by attribute, so a scoped form that is missing on QGIS 3.22 falls through
    to the QGIS 3 form, and a QGIS 3 form that QGIS 4 removed is never reached there.
    """
    for owner, path in spellings:
        value: Any = owner
        try:
            for part in path.split("."):
                value = getattr(value, part)
        except AttributeError:
            continue
        return value
    names = ", ".join(f"{getattr(o, '__name__', o)}.{p}" for o, p in spellings)
    raise AttributeError(f"none of these QGIS names exists here: {names}")


# --- geometry -------------------------------------------------------------------------------------------------
GEOMETRY_POINT = resolve((Qgis, "GeometryType.Point"), (QgsWkbTypes, "GeometryType.PointGeometry"))
GEOMETRY_LINE = resolve((Qgis, "GeometryType.Line"), (QgsWkbTypes, "GeometryType.LineGeometry"))
GEOMETRY_POLYGON = resolve((Qgis, "GeometryType.Polygon"), (QgsWkbTypes, "GeometryType.PolygonGeometry"))
WKB_POLYGON = resolve((Qgis, "WkbType.Polygon"), (QgsWkbTypes, "Type.Polygon"))
WKB_POLYGONZ = resolve((Qgis, "WkbType.PolygonZ"), (QgsWkbTypes, "Type.PolygonZ"))
WKB_MULTIPOLYGON = resolve((Qgis, "WkbType.MultiPolygon"), (QgsWkbTypes, "Type.MultiPolygon"))
WKB_MULTIPOLYGONZ = resolve((Qgis, "WkbType.MultiPolygonZ"), (QgsWkbTypes, "Type.MultiPolygonZ"))
WKB_POINT = resolve((Qgis, "WkbType.Point"), (QgsWkbTypes, "Type.Point"))
WKB_NO_GEOMETRY = resolve((Qgis, "WkbType.NoGeometry"), (QgsWkbTypes, "Type.NoGeometry"))

# --- Processing -----------------------------------------------------------------------------------------------
SOURCE_VECTOR_ANY = resolve(
    (Qgis, "ProcessingSourceType.VectorAnyGeometry"), (QgsProcessing, "SourceType.TypeVectorAnyGeometry")
)
SOURCE_VECTOR_POLYGON = resolve(
    (Qgis, "ProcessingSourceType.VectorPolygon"), (QgsProcessing, "SourceType.TypeVectorPolygon")
)
SOURCE_VECTOR_POINT = resolve((Qgis, "ProcessingSourceType.VectorPoint"), (QgsProcessing, "SourceType.TypeVectorPoint"))
SOURCE_RASTER = resolve((Qgis, "ProcessingSourceType.Raster"), (QgsProcessing, "SourceType.TypeRaster"))
NUMBER_INTEGER = resolve(
    (Qgis, "ProcessingNumberParameterType.Integer"), (QgsProcessingParameterNumber, "Type.Integer")
)
NUMBER_DOUBLE = resolve((Qgis, "ProcessingNumberParameterType.Double"), (QgsProcessingParameterNumber, "Type.Double"))
FLAG_NO_THREADING = resolve(
    (Qgis, "ProcessingAlgorithmFlag.NoThreading"), (QgsProcessingAlgorithm, "Flag.FlagNoThreading")
)

PARAMETER_ADVANCED = resolve(
    (Qgis, "ProcessingParameterFlag.Advanced"), (QgsProcessingParameterDefinition, "Flag.FlagAdvanced")
)

# --- layers, properties, Browser (message levels: Qgis.MessageLevel.* exists on every supported QGIS) -----------
LAYER_POINT_CLOUD = resolve((Qgis, "LayerType.PointCloud"), (QgsMapLayerType, "PointCloudLayer"))
PROPERTY_STATIC = resolve((Qgis, "PropertyType.Static"), (QgsProperty, "Type.StaticProperty"))
BROWSER_FAST = resolve((Qgis, "BrowserItemCapability.Fast"), (QgsDataItem, "Capability.Fast"))
BROWSER_CUSTOM = resolve((Qgis, "BrowserItemType.Custom"), (QgsDataItem, "Type.Custom"))
BROWSER_POPULATED = resolve((Qgis, "BrowserItemState.Populated"), (QgsDataItem, "State.Populated"))
PROVIDER_DIRECTORIES = resolve(
    (Qgis, "DataItemProviderCapability.Directories"), (QgsDataProvider, "DataCapability.Dir")
)
RASTER_WRITER_OK = resolve((Qgis, "RasterFileWriterResult.Success"), (QgsRasterFileWriter, "WriterError.NoError"))
RAMP_INTERPOLATED = resolve((Qgis, "ShaderInterpolationMethod.Linear"), (QgsColorRampShader, "Type.Interpolated"))
RAMP_DISCRETE = resolve((Qgis, "ShaderInterpolationMethod.Discrete"), (QgsColorRampShader, "Type.Discrete"))

# --- layouts and rasters --------------------------------------------------------------------------------------
LAYOUT_MILLIMETERS = resolve((Qgis, "LayoutUnit.Millimeters"), (QgsUnitTypes, "LayoutUnit.LayoutMillimeters"))
STAT_MIN = resolve((Qgis, "RasterBandStatistic.Min"), (QgsRasterBandStats, "Stats.Min"))
STAT_MAX = resolve((Qgis, "RasterBandStatistic.Max"), (QgsRasterBandStats, "Stats.Max"))
SUMMARY_MIN = resolve((Qgis, "Statistic.Min"), (QgsStatisticalSummary, "Statistic.Min"))
SUMMARY_MAX = resolve((Qgis, "Statistic.Max"), (QgsStatisticalSummary, "Statistic.Max"))


# --- 3D (qgis._3d is optional: headless builds may lack it) ----------------------------------------------------
def altitude_clamping(name: str) -> Any:
    """ "Terrain", "Relative" or "Absolute" as the running QGIS spells it."""
    from qgis._3d import Qgs3DTypes

    return resolve((Qgis, f"AltitudeClamping.{name}"), (Qgs3DTypes, f"AltitudeClamping.AltClamp{name}"))


def altitude_binding(name: str) -> Any:
    """ "Vertex" or "Centroid" as the running QGIS spells it."""
    from qgis._3d import Qgs3DTypes

    return resolve((Qgis, f"AltitudeBinding.{name}"), (Qgs3DTypes, f"AltitudeBinding.AltBind{name}"))


def extrusion_height_property() -> Any:
    from qgis.core import QgsAbstract3DSymbol

    return resolve(
        (QgsAbstract3DSymbol, "Property.ExtrusionHeight"), (QgsAbstract3DSymbol, "Property.PropertyExtrusionHeight")
    )


def no_culling() -> Any:
    from qgis._3d import Qgs3DTypes

    return resolve((Qgs3DTypes, "CullingMode.NoCulling"), (Qgs3DTypes, "NoCulling"))


# --- fields ---------------------------------------------------------------------------------------------------
# QVariant.Type name -> QMetaType.Type name
_FIELD_TYPES = {
    "String": "QString",
    "Int": "Int",
    "LongLong": "LongLong",
    "Double": "Double",
    "Bool": "Bool",
    "Date": "QDate",
    "DateTime": "QDateTime",
}


def _field_takes_metatype() -> bool:
    """QgsField takes a QMetaType.Type from QGIS 3.38 on (the QVariant form is deprecated there, gone in QGIS 4)."""
    if QMetaType is None:
        return False
    try:
        return QgsField("probe", QMetaType.Type.Double).type() == QMetaType.Type.Double  # type: ignore[union-attr]
    except TypeError:
        return False


_USE_METATYPE = _field_takes_metatype()


def field_type(kind: str) -> Any:
    """A field type ("String", "Int", "LongLong", "Double", "Bool", "Date", "DateTime") for QgsField."""
    if kind not in _FIELD_TYPES:
        raise ValueError(f"unknown field type {kind!r}")
    if _USE_METATYPE:
        return getattr(QMetaType.Type, _FIELD_TYPES[kind])  # type: ignore[union-attr]
    return getattr(QVariant.Type, kind)


def field(name: str, kind: str, **kwargs: Any) -> QgsField:
    """A QgsField of the given type, spelled the way the running QGIS wants it."""
    return QgsField(name, field_type(kind), **kwargs)
