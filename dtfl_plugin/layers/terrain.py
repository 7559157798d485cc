"""Which layer is the terrain, how high the scene is, and the ground plane when there is no terrain.

Decisions about the scene's ground live here, not in the GUI: the dock, the render child and
``dtfl:render_3d_view`` ask the same questions.

Why a ground plane instead of QGIS's flat terrain: on QGIS 3.22 a 3D scene with the *flat* terrain
generator aborts the process (``double free or corruption``) as soon as its terrain texture draws a
layer, and the flat terrain lies at z = 0, out of view for buildings at 400 m. A two-by-two pixel
DEM at the buildings' base, kept in GDAL's memory file system, goes through the DEM generator that
works on every version and puts the ground where the buildings stand.
"""

from __future__ import annotations

import math
import uuid

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayer,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)

from ..compat import GEOMETRY_POLYGON, LAYER_POINT_CLOUD, STAT_MAX, STAT_MIN

TERRAIN_KEY = ("dtfl", "terrain_layer")  # project entry: id of the DEM layer used as terrain
EXAGGERATION_KEY = ("dtfl", "terrain_exaggeration")
GROUND_PLANE_NAME = "DTFL ground plane"
GROUND_COLOUR = "#d4dccb"  # pale grass-grey: buildings stand out, it reads as ground
# Footprint heights: 3DBAG's roof and ground fields are absolute (NAP); the others are above the ground.
ABSOLUTE_ROOF_FIELDS = (("b3_h_dak_max", "b3_h_maaiveld"), ("h_dak_max", "h_maaiveld"))
RELATIVE_HEIGHT_FIELDS = ("hoogte", "height", "measuredHeight")


def terrain_layer(project: QgsProject) -> QgsRasterLayer | None:
    """The DEM the project names for terrain: our project entry, else QGIS's elevation settings (3.26+)."""
    layer_id, ok = project.readEntry(*TERRAIN_KEY, "")
    layer = project.mapLayer(layer_id) if ok and layer_id else None
    if isinstance(layer, QgsRasterLayer) and layer.isValid():
        return layer
    props = getattr(project, "elevationProperties", None)
    if props is not None:
        provider = props().terrainProvider()
        candidate = getattr(provider, "layer", lambda: None)()
        if isinstance(candidate, QgsRasterLayer) and candidate.isValid():
            return candidate
    return None


def terrain_exaggeration(project: QgsProject) -> float:
    value, ok = project.readDoubleEntry(*EXAGGERATION_KEY, 1.0)
    if ok:
        return value
    props = getattr(project, "elevationProperties", None)
    return float(props().terrainProvider().scale()) if props is not None else 1.0


def find_dem(project: QgsProject) -> QgsRasterLayer | None:
    """The terrain layer: the one the project names, else the first visible single-band raster (an AHN DTM)."""
    named = terrain_layer(project)
    if named is not None:
        return named
    for layer in project.layerTreeRoot().checkedLayers():
        if (
            isinstance(layer, QgsRasterLayer)
            and layer.isValid()
            and layer.bandCount() == 1
            and layer.providerType() in ("gdal", "wcs")
            and layer.name() != GROUND_PLANE_NAME
        ):
            return layer
    return None


def use_dem_as_project_terrain(project: QgsProject, dem: QgsRasterLayer, exaggeration: float = 1.0) -> bool:
    """QGIS 3.26+: make ``dem`` the project's terrain (what new 3D views use); False where QGIS has no such setting."""
    if not hasattr(project, "elevationProperties"):
        return False
    from qgis.core import QgsRasterDemTerrainProvider

    provider = QgsRasterDemTerrainProvider()
    provider.setLayer(dem)
    provider.setScale(exaggeration)
    project.elevationProperties().setTerrainProvider(provider)
    return True


# --- the scene's height range ---------------------------------------------------------------------------


def _in_layer_crs(layer: QgsMapLayer, extent: QgsRectangle, crs: QgsCoordinateReferenceSystem, project) -> QgsRectangle:
    if not crs.isValid() or not layer.crs().isValid() or layer.crs() == crs:
        return QgsRectangle(extent)
    transform = QgsCoordinateTransform(crs, layer.crs(), project.transformContext())
    try:
        return transform.transformBoundingBox(extent)
    except Exception:  # noqa: BLE001 - an extent outside the layer CRS's area: no range from this layer
        return QgsRectangle()


def _vector_range(
    layer: QgsVectorLayer, extent: QgsRectangle, ground: float, limit: int = 5000
) -> tuple[float, float] | None:
    """Real heights (z_min/z_max fields of a CityJSON import, else Z geometries), or for footprints the
    ground plus the extrusion height (3DBAG roof and ground fields are absolute, ``hoogte`` is relative)."""
    from qgis.core import QgsFeatureRequest

    names = set(layer.fields().names())
    request = QgsFeatureRequest().setFilterRect(extent).setLimit(limit)
    lows: list[float] = []
    highs: list[float] = []
    if {"z_min", "z_max"} <= names or _has_z(layer):
        for feature in layer.getFeatures(request):
            low, high = _feature_z(feature, names)
            if low is not None and high is not None:
                lows.append(low)
                highs.append(high)
        return (min(lows), max(highs)) if lows else None
    roofs = [(roof, base) for roof, base in ABSOLUTE_ROOF_FIELDS if roof in names]
    relative = [name for name in RELATIVE_HEIGHT_FIELDS if name in names]
    if not roofs and not relative:
        return None
    for feature in layer.getFeatures(request):
        for roof, base in roofs:
            top, bottom = _number(feature[roof]), _number(feature[base]) if base in names else None
            if top is not None:
                highs.append(top)
                lows.append(bottom if bottom is not None else ground)
        for name in relative:
            height = _number(feature[name])
            if height is not None:
                lows.append(ground)
                highs.append(ground + height)
    return (min(lows), max(highs)) if lows else None


def _feature_z(feature, names: set) -> tuple[float | None, float | None]:
    if "z_min" in names and "z_max" in names:
        return _number(feature["z_min"]), _number(feature["z_max"])
    geometry = feature.geometry()
    if geometry.isNull():
        return None, None
    zs = [vertex.z() for vertex in geometry.vertices()]
    zs = [z for z in zs if math.isfinite(z)]
    return (min(zs), max(zs)) if zs else (None, None)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _raster_range(layer: QgsRasterLayer, extent: QgsRectangle) -> tuple[float, float] | None:
    stats = layer.dataProvider().bandStatistics(1, STAT_MIN | STAT_MAX, extent, 10000)
    low, high = float(stats.minimumValue), float(stats.maximumValue)
    if not (math.isfinite(low) and math.isfinite(high)) or low > high or abs(low) > 1e6:
        return None
    return low, high


def _cloud_range(layer) -> tuple[float, float] | None:
    provider = layer.dataProvider()
    if provider is None:  # .error() on a provider-less point cloud segfaults: never touch it
        return None
    try:
        from ..compat import SUMMARY_MAX, SUMMARY_MIN

        low = provider.metadataStatistic("Z", SUMMARY_MIN)
        high = provider.metadataStatistic("Z", SUMMARY_MAX)
        low, high = float(low), float(high)
    except (AttributeError, TypeError, ValueError):
        return None
    return (low, high) if math.isfinite(low) and math.isfinite(high) and low <= high else None


def height_range(
    project: QgsProject, layers: list[QgsMapLayer], extent: QgsRectangle, dem: QgsRasterLayer | None = None
) -> tuple[float, float] | None:
    """(lowest, highest) z of what the scene shows over ``extent`` (project CRS), or None when nothing says.

    Sources: CityJSON z_min/z_max fields, Z geometries, extrusion heights (added to the ground), the DEM,
    point-cloud bounds. Heights are in the layers' own vertical datum: NAP, LN02, ellipsoidal alike.
    """
    crs = project.crs()
    lows: list[float] = []
    highs: list[float] = []
    ground: tuple[float, float] | None = None
    if dem is not None:
        ground = _raster_range(dem, _in_layer_crs(dem, extent, crs, project))
    for layer in layers:
        found = None
        if layer is dem or not layer.isValid() or layer.name() == GROUND_PLANE_NAME:
            continue
        if isinstance(layer, QgsVectorLayer) and layer.geometryType() == GEOMETRY_POLYGON:
            found = _vector_range(layer, _in_layer_crs(layer, extent, crs, project), ground[0] if ground else 0.0)
        elif layer.type() == LAYER_POINT_CLOUD:
            found = _cloud_range(layer)
        if found is not None:
            lows.append(found[0])
            highs.append(found[1])
    if ground is not None:
        lows.append(ground[0])
        highs.append(ground[1])
    if not lows:
        return None
    return min(lows), max(highs)


def _has_z(layer: QgsVectorLayer) -> bool:
    from qgis.core import QgsWkbTypes

    return QgsWkbTypes.hasZ(layer.wkbType())


def has_z_polygons(layer: QgsMapLayer) -> bool:
    """Polygons with real heights (CityJSON, LoD2 surfaces): drawn in 3D, never draped (3.22 aborts on that)."""
    return isinstance(layer, QgsVectorLayer) and layer.geometryType() == GEOMETRY_POLYGON and _has_z(layer)


# --- the ground plane ------------------------------------------------------------------------------------


def ground_plane(project: QgsProject, extent: QgsRectangle, z: float) -> QgsRasterLayer:
    """A constant-height DEM over ``extent`` (project CRS), in GDAL's memory file system, added to ``project``
    (not to its legend). The scene then has a ground at ``z`` that 2D layers are draped on."""
    from osgeo import gdal

    margin = max(extent.width(), extent.height()) * 0.5 + 10.0
    box = QgsRectangle(extent)
    box.grow(margin)
    path = f"/vsimem/dtfl-ground-{uuid.uuid4().hex}.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(path, 2, 2, 1, gdal.GDT_Float32)
    dataset.SetGeoTransform((box.xMinimum(), box.width() / 2, 0.0, box.yMaximum(), 0.0, -box.height() / 2))
    dataset.SetProjection(project.crs().toWkt())
    band = dataset.GetRasterBand(1)
    band.Fill(float(z))
    band.FlushCache()
    dataset = None  # closes and writes the file
    layer = QgsRasterLayer(path, GROUND_PLANE_NAME, "gdal")
    _paint(layer, GROUND_COLOUR)
    project.addMapLayer(layer, False)
    return layer


def _paint(layer: QgsRasterLayer, colour: str) -> None:
    """One colour for the whole raster: the ground's texture where no 2D layer covers it."""
    from qgis.core import QgsColorRampShader, QgsRasterShader, QgsSingleBandPseudoColorRenderer
    from qgis.PyQt.QtGui import QColor

    from ..compat import resolve

    exact = resolve((QgsColorRampShader, "Type.Discrete"), (QgsColorRampShader, "Discrete"))
    ramp = QgsColorRampShader(-1e12, 1e12)
    ramp.setColorRampType(exact)
    ramp.setColorRampItemList([QgsColorRampShader.ColorRampItem(float("inf"), QColor(colour), "")])
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    layer.setRenderer(QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader))
