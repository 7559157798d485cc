"""3D scene building: renderers for buildings and CityJSON, terrain from a DEM, camera on an extent.

Version notes (see docs/layers-support.md): before QGIS 3.42 the terrain generator cannot be set from
Python, so the map settings are built through ``Qgs3DMapSettings.readXml`` with a ``<terrain>``
element and then ``resolveReferences``. ``writeXml`` is never called on settings we did not fill
(it crashes without a terrain generator). Material and light setters changed names in 3.30/3.40.
"""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayer,
    QgsProject,
    QgsProperty,
    QgsRasterLayer,
    QgsReadWriteContext,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtXml import QDomDocument

from ..compat import altitude_binding, altitude_clamping, extrusion_height_property, no_culling
from ..errors import LayerError
from ..i18n import tr
from . import terrain

SURFACE_COLOURS = {
    "RoofSurface": "#b5452f",
    "WallSurface": "#ece6da",
    "GroundSurface": "#777777",
    "OuterCeilingSurface": "#d9d2c3",
    "OuterFloorSurface": "#d9d2c3",
    "Door": "#6b4a2b",
    "Window": "#7fa7c9",
}
TYPE_COLOURS = {
    "Road": "#9a9a9a",
    "TransportSquare": "#9a9a9a",
    "Railway": "#7a6a5a",
    "PlantCover": "#6aa84f",
    "SolitaryVegetationObject": "#4f8a3a",
    "LandUse": "#d8cfa6",
    "WaterBody": "#4a90d9",
    "Bridge": "#a8a8a8",
    "Tunnel": "#8a8a8a",
    "GenericCityObject": "#c0c0c0",
}
DEFAULT_BUILDING_COLOUR = "#e0c9a6"
# Roof height minus ground height where both exist (3DBAG), else one absolute height attribute.
HEIGHT_FIELDS = (
    ("b3_h_dak_70p", "b3_h_maaiveld"),
    ("b3_h_dak_max", "b3_h_maaiveld"),
    ("b3_h_dak_50p", "b3_h_maaiveld"),
    ("h_dak_70p", "h_maaiveld"),
    ("h_dak_max", "h_maaiveld"),
    ("hoogte", None),
    ("height", None),
    ("measuredHeight", None),
)
DEFAULT_HEIGHT_M = 10.0  # a typical 3-storey Dutch house when a building has no height


def _q3d():
    try:
        import qgis._3d as q3d
    except ImportError as err:
        raise LayerError(tr("This QGIS was built without 3D support.")) from err
    ensure_3d_registry(q3d)
    return q3d


def ensure_3d_registry(q3d=None) -> None:
    """Register QGIS's 3D renderer types once. The desktop does it at start; a standalone app
    (qgis_process, our render child, tests) does not, and projects then load without 3D renderers."""
    from qgis.core import QgsApplication

    if QgsApplication.renderer3DRegistry().rendererMetadata("vector") is not None:
        return
    if q3d is None:
        import qgis._3d as q3d
    q3d.Qgs3D.initialize()


def phong(colour: str):
    q3d = _q3d()
    material = q3d.QgsPhongMaterialSettings()
    base = QColor(colour)
    material.setDiffuse(base)
    material.setAmbient(base.darker(200))
    material.setSpecular(QColor(30, 30, 30))
    return material


def polygon_symbol(colour: str, *, clamping: str = "absolute", extrusion: float = 0.0):
    """A polygon 3D symbol; ``clamping`` is 'absolute' (real Z, CityJSON) or 'terrain' (footprints)."""
    q3d = _q3d()
    symbol = q3d.QgsPolygon3DSymbol()
    material = phong(colour)
    if hasattr(symbol, "setMaterialSettings"):  # QGIS >= 3.30
        symbol.setMaterialSettings(material)
    else:
        symbol.setMaterial(material)
    if clamping == "terrain":
        symbol.setAltitudeClamping(altitude_clamping("Terrain"))
        symbol.setAltitudeBinding(altitude_binding("Centroid"))
    else:
        symbol.setAltitudeClamping(altitude_clamping("Absolute"))
        symbol.setAltitudeBinding(altitude_binding("Vertex"))
    symbol.setExtrusionHeight(extrusion)
    # CityJSON face orientation is not reliable across writers: draw both sides.
    symbol.setCullingMode(no_culling())
    return symbol


def style_cityjson_layer(layer: QgsVectorLayer, *, keep_2d: bool = False) -> None:
    """Semantic 3D style: roofs, walls and ground apart; other city objects by type.

    Any layer with the CityJSON record fields gets it (the loader, dtfl:cityjson_import, a GeoPackage or
    OGC API layer with the same fields); heights are used as stored, in whatever vertical datum.
    """
    q3d = _q3d()
    rule_cls = q3d.QgsRuleBased3DRenderer.Rule
    root = rule_cls(None)
    for surface, colour in SURFACE_COLOURS.items():
        root.appendChild(rule_cls(polygon_symbol(colour), f"\"surface\" = '{surface}'", surface))
    for city_type, colour in TYPE_COLOURS.items():
        # Only objects without semantic surfaces take their type's colour (a bridge's RoofSurface is a roof).
        expression = f"\"type\" = '{city_type}' AND coalesce(\"surface\", '') = ''"
        root.appendChild(rule_cls(polygon_symbol(colour), expression, city_type))
    # An explicit complement instead of an ELSE rule, so every feature matches exactly one rule (with ELSE,
    # QGIS 3.40 drew many roofs in the default colour: the same face twice, z-fighting).
    surfaces = ", ".join(f"'{name}'" for name in SURFACE_COLOURS)
    types = ", ".join(f"'{name}'" for name in TYPE_COLOURS)
    other = (
        f"NOT (coalesce(\"surface\", '') IN ({surfaces})) "
        f"AND NOT (coalesce(\"surface\", '') = '' AND coalesce(\"type\", '') IN ({types}))"
    )
    root.appendChild(rule_cls(polygon_symbol(DEFAULT_BUILDING_COLOUR), other, tr("Other")))
    layer.setRenderer3D(q3d.QgsRuleBased3DRenderer(root))
    if not keep_2d:
        _style_cityjson_2d(layer)


def style_absolute_polygons(layer: QgsVectorLayer, colour: str = DEFAULT_BUILDING_COLOUR) -> None:
    """Polygons with real heights (LoD2 surfaces without our fields): drawn at their own z, both sides."""
    q3d = _q3d()
    renderer = q3d.QgsVectorLayer3DRenderer(polygon_symbol(colour))
    renderer.setLayer(layer)
    layer.setRenderer3D(renderer)


def _style_cityjson_2d(layer: QgsVectorLayer) -> None:
    """In the 2D map walls are slivers: draw roofs and non-building objects only."""
    from qgis.core import QgsFillSymbol, QgsRuleBasedRenderer

    root = QgsRuleBasedRenderer.Rule(None)
    for label, expression, colour in (
        (tr("Roofs"), "\"surface\" = 'RoofSurface'", SURFACE_COLOURS["RoofSurface"]),
        (tr("Other city objects"), '"surface" IS NULL OR "surface" = \'\'', "#c8c8c8"),
    ):
        symbol = QgsFillSymbol.createSimple({"color": colour, "outline_color": "#404040", "outline_width": "0.1"})
        root.appendChild(QgsRuleBasedRenderer.Rule(symbol, 0, 0, expression, label))
    layer.setRenderer(QgsRuleBasedRenderer(root))


def height_expression(layer: QgsVectorLayer, field: str = "") -> str:
    """Expression for the building height above ground: the chosen field, else a known BAG/3DBAG field."""
    names = set(layer.fields().names())
    if field:
        if field not in names:
            raise LayerError(tr("The layer has no field {field}.").format(field=field))
        return f'"{field}"'
    for roof, ground in HEIGHT_FIELDS:
        if roof in names:
            return f'"{roof}" - "{ground}"' if ground and ground in names else f'"{roof}"'
    return ""


def style_extruded_buildings(
    layer: QgsVectorLayer,
    field: str = "",
    default_height: float = DEFAULT_HEIGHT_M,
    colour: str = DEFAULT_BUILDING_COLOUR,
) -> str:
    """Extrude footprints clamped to the terrain; returns the height expression used ('' = default height)."""
    q3d = _q3d()
    expression = height_expression(layer, field)
    symbol = polygon_symbol(colour, clamping="terrain", extrusion=default_height)
    if expression:
        properties = symbol.dataDefinedProperties()
        properties.setProperty(
            extrusion_height_property(),
            QgsProperty.fromExpression(f"coalesce({expression}, {float(default_height)})"),
        )
        symbol.setDataDefinedProperties(properties)
    renderer = q3d.QgsVectorLayer3DRenderer(symbol)
    renderer.setLayer(layer)
    layer.setRenderer3D(renderer)
    return expression


def _dom_rect(doc: QDomDocument, name: str, rect: QgsRectangle):
    element = doc.createElement(name)
    for key, value in (
        ("xmin", rect.xMinimum()),
        ("ymin", rect.yMinimum()),
        ("xmax", rect.xMaximum()),
        ("ymax", rect.yMaximum()),
    ):
        element.setAttribute(key, repr(float(value)))
    return element


def map_settings(
    project: QgsProject,
    extent: QgsRectangle,
    *,
    dem: QgsRasterLayer | None = None,
    layers: list[QgsMapLayer] | None = None,
    exaggeration: float = 1.0,
    terrain_resolution: int = 32,
    background: str = "#dfe8f0",
    ground_z: float = 0.0,
):
    """Qgs3DMapSettings for ``extent`` (project CRS): DEM terrain when given, else a ground plane at ``ground_z``.

    2D layers in ``layers`` are draped on the terrain; layers with a 3D renderer are drawn in 3D. Polygons
    with real heights are never draped (QGIS 3.22 aborts when its terrain texture draws them).
    """
    q3d = _q3d()
    crs = _projected_crs(project)
    layers = [layer for layer in (layers if layers is not None else project.mapLayers().values()) if layer.isValid()]
    if dem is not None and project.mapLayer(dem.id()) is None:
        raise LayerError(tr("The terrain layer must be part of the project."))
    drape = [layer for layer in layers if layer.renderer3D() is None and not terrain.has_z_polygons(layer)]
    if dem is None:
        dem = terrain.ground_plane(project, extent, ground_z)
        drape.append(dem)  # the bottom of the terrain texture
    shown = [layer for layer in layers if layer.renderer3D() is not None or layer in drape]
    root = _settings_xml(crs, extent, dem, drape, exaggeration, terrain_resolution)
    settings = q3d.Qgs3DMapSettings()
    settings.readXml(root, QgsReadWriteContext())
    settings.resolveReferences(project)
    settings.setCrs(crs)
    if hasattr(settings, "setExtent"):  # QGIS >= 3.30 limits the scene to an extent
        settings.setExtent(extent)
    settings.setTerrainVerticalScale(float(exaggeration))
    settings.setBackgroundColor(QColor(background))
    settings.setTransformContext(project.transformContext())
    settings.setPathResolver(project.pathResolver())
    settings.setMapThemeCollection(project.mapThemeCollection())
    # No terrain map theme: on QGIS 3.22 a theme replaces the scene's layers with the theme's, and the
    # 3D layers vanish. The caller keeps 3D layers out of the texture (render_scene.hide_2d_of_3d_layers).
    settings.setLayers(shown + ([dem] if dem not in shown and dem in drape else []))
    _set_light(settings, q3d)
    return settings


def _projected_crs(project: QgsProject) -> QgsCoordinateReferenceSystem:
    crs = project.crs() if project.crs().isValid() else QgsCoordinateReferenceSystem("EPSG:28992")
    if crs.isGeographic():
        raise LayerError(
            tr("3D views need a projected project CRS (e.g. EPSG:28992); the project uses {crs}.").format(
                crs=crs.authid()
            )
        )
    return crs


def _settings_xml(crs, extent: QgsRectangle, dem: QgsRasterLayer, drape: list, exaggeration: float, resolution: int):
    """The <qgis3d> element readXml takes: the only way to set a DEM terrain generator before QGIS 3.42."""
    doc = QDomDocument("qgis3d")
    root = doc.createElement("qgis3d")
    doc.appendChild(root)
    origin = doc.createElement("origin")
    center = extent.center()
    for key, value in (("x", center.x()), ("y", center.y()), ("z", 0.0)):
        origin.setAttribute(key, repr(float(value)))
    root.appendChild(origin)
    crs_element = doc.createElement("crs")
    crs.writeXml(crs_element, doc)
    root.appendChild(crs_element)
    root.appendChild(_dom_rect(doc, "extent", extent))
    element = doc.createElement("terrain")
    for key, value in (
        ("exaggeration", repr(float(exaggeration))),
        ("texture-size", "1024"),
        ("max-terrain-error", "3"),
        ("max-ground-error", "1"),
        ("shading-enabled", "0"),  # unshaded terrain shows the draped 2D map in its own colours
        ("elevation-offset", "0"),
    ):
        element.setAttribute(key, value)
    layer_list = doc.createElement("layers")
    for layer in drape:
        item = doc.createElement("layer")
        item.setAttribute("id", layer.id())
        layer_list.appendChild(item)
    element.appendChild(layer_list)
    generator = doc.createElement("generator")
    generator.setAttribute("type", "dem")
    generator.setAttribute("layer", dem.id())
    generator.setAttribute("resolution", str(int(resolution)))
    generator.setAttribute("skirt-height", "10")
    element.appendChild(generator)
    root.appendChild(element)
    return root


TERRAIN_THEME = "DTFL 3D terrain"


def terrain_theme(project: QgsProject, layers: list[QgsMapLayer]) -> str:
    """(Re)write the map theme that lists the 2D layers draped on the terrain; returns its name."""
    from qgis.core import QgsMapThemeCollection

    record = QgsMapThemeCollection.MapThemeRecord()
    record.setLayerRecords([QgsMapThemeCollection.MapThemeLayerRecord(layer) for layer in layers])
    themes = project.mapThemeCollection()
    if themes.hasMapTheme(TERRAIN_THEME):
        themes.update(TERRAIN_THEME, record)
    else:
        themes.insert(TERRAIN_THEME, record)
    return TERRAIN_THEME


def _set_light(settings, q3d) -> None:
    light = q3d.QgsDirectionalLightSettings()
    light.setDirection(_vector(0.5, -1.0, -0.6))
    light.setIntensity(0.8)
    if hasattr(settings, "setLightSources"):  # QGIS 3.40: one list for all light kinds
        settings.setLightSources([light])
    else:
        # readXml adds a default point light when the XML has none; one sun is enough.
        settings.setPointLights([])
        settings.setDirectionalLights([light])


def _vector(x: float, y: float, z: float):
    from qgis.core import QgsVector3D

    return QgsVector3D(x, y, z)


def camera_pose(
    settings,
    extent: QgsRectangle,
    *,
    distance: float | None = None,
    pitch: float = 45.0,
    yaw: float = 0.0,
    z: float = 0.0,
    z_range: tuple[float, float] | None = None,
):
    """A camera looking at the centre of ``extent`` (map CRS) from ``distance`` metres; pitch 0 = straight down.

    With ``z_range`` (the scene's lowest and highest z) the camera aims at the middle of that range and
    steps back until the tallest thing fits, at any elevation: a city at 400 m is framed like one at 0 m.
    """
    q3d = _q3d()
    center = extent.center()
    if z_range is not None:
        low, high = z_range
        z = (low + high) / 2.0
        span = max(extent.width(), extent.height(), (high - low) * 1.5, 25.0)
    else:
        span = max(extent.width(), extent.height(), 25.0)
    world = settings.mapToWorldCoordinates(_vector(center.x(), center.y(), z))
    pose = q3d.QgsCameraPose()
    pose.setCenterPoint(world)
    pose.setDistanceFromCenterPoint(float(distance) if distance else 1.1 * span)
    pose.setPitchAngle(float(pitch))
    pose.setHeadingAngle(float(yaw))
    return pose


def extent_in(rect: QgsRectangle, source: QgsCoordinateReferenceSystem, project: QgsProject) -> QgsRectangle:
    """``rect`` in the project CRS."""
    if not source.isValid() or source == project.crs():
        return QgsRectangle(rect)
    return QgsCoordinateTransform(source, project.crs(), project.transformContext()).transformBoundingBox(rect)
