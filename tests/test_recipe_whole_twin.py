"""A twin built the way the desktop builds one arrives whole in the recipient's QGIS (issue 18).

The twin: the AHN COG from the sandbox's file server (GDAL /vsicurl/, as the catalogue loads it), two BGT
layers from one GeoPackage, the bathtub model run with temporary outputs (memory layers and a scratch raster,
added to the project as the Processing dialog does), a virtual layer on a project layer and one reading a file
itself, a join, and styles with SVG markers (one from the sender's disk, one from QGIS's library). Packed
through the Processing algorithm from the open project, opened with the recipient's safe open; then checked
layer by layer: valid, same feature count, same style.
"""

from __future__ import annotations

import pytest

from tests.fixtures.recipe import AREA_A, extent_string

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><circle cx="10" cy="10" r="8" '
    'fill="param(fill)" stroke="param(outline)" stroke-width="param(outline-width)"/></svg>'
)


def _svg_marker(layer, path: str) -> None:
    from qgis.core import QgsMarkerSymbol, QgsSingleSymbolRenderer, QgsSvgMarkerSymbolLayer

    symbol = QgsMarkerSymbol()
    symbol.changeSymbolLayer(0, QgsSvgMarkerSymbolLayer(path, 6.0))
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))


def _style_signature(layer) -> str:
    """What a person sees of a style: renderer type, symbol layers and their pictures' content."""
    from qgis.core import QgsRasterLayer

    if isinstance(layer, QgsRasterLayer):
        return layer.renderer().type() if layer.renderer() else ""
    renderer = layer.renderer()
    parts = [renderer.type()]
    for symbol in renderer.symbols(__import__("qgis.core").core.QgsRenderContext()):
        for sl in symbol.symbolLayers():
            parts.append(sl.layerType())
            path = sl.properties().get("name", "")
            if path.endswith(".svg") and not path.startswith("base64:"):
                from pathlib import Path

                parts.append(Path(path).read_text() if Path(path).is_absolute() else path)
            elif path.startswith("base64:"):
                import base64

                parts.append(base64.b64decode(path[7:]).decode())
    return "|".join(parts)


def _measuring_points(folder):
    """A temporary point layer with an SVG marker from the sender's own disk."""
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

    points = QgsVectorLayer("Point?crs=EPSG:28992&field=naam:string", "Meetpunten", "memory")
    for i, (x, y) in enumerate(((84850.0, 447500.0), (84900.0, 447550.0), (84980.0, 447600.0))):
        feature = QgsFeature(points.fields())
        feature.setAttributes([f"punt {i}"])
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        points.dataProvider().addFeature(feature)
    own_svg = folder / "symbols" / "meetpunt.svg"
    own_svg.parent.mkdir()
    own_svg.write_text(SVG)
    _svg_marker(points, str(own_svg))
    return points


def _virtual_layers(bgt, pand) -> list:
    """A virtual layer on a project layer (by id) and one that reads a file itself."""
    from qgis.core import QgsVectorLayer, QgsVirtualLayerDefinition

    virtual = QgsVirtualLayerDefinition()
    virtual.addSource("pand", pand.id())
    virtual.setQuery("SELECT * FROM pand WHERE ST_Area(geometry) > 100")
    big = QgsVectorLayer(virtual.toString(), "Grote panden (virtueel)", "virtual")
    own = QgsVirtualLayerDefinition()
    own.addSource("water", f"{bgt}|layername=bgt_waterdeel", "ogr")
    own.setQuery("SELECT * FROM water")
    water = QgsVectorLayer(own.toString(), "Water (virtueel, eigen bron)", "virtual")
    assert big.isValid() and water.isValid(), (
        big.dataProvider().error().message(),
        water.dataProvider().error().message(),
    )
    return [big, water]


@pytest.fixture(scope="module")
def desktop_twin(sandbox, shared_data, processing_ready, tmp_path_factory):
    import processing
    from qgis.core import (
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProject,
        QgsRasterLayer,
        QgsVectorLayer,
        QgsVectorLayerJoinInfo,
    )

    folder = tmp_path_factory.mktemp("desktop-twin")
    project = QgsProject.instance()
    project.clear()
    cog = QgsRasterLayer(f"/vsicurl/{sandbox['files']}/ahn/ahn3_delft_dtm_1m.cog.tif", "AHN3 maaiveld (COG)", "gdal")
    bgt = shared_data / "3d/bgt/bgt_delft.gpkg"
    pand = QgsVectorLayer(f"{bgt}|layername=bgt_pand", "BGT pand", "ogr")
    weg = QgsVectorLayer(f"{bgt}|layername=bgt_wegdeel", "BGT wegdeel", "ogr")
    assert cog.isValid() and pand.isValid() and weg.isValid()
    project.addMapLayers([cog, pand, weg])
    context = QgsProcessingContext()
    context.setProject(project)
    result = processing.run(
        "dtfl:bathtub_flooding",
        {"DEM": cog.id(), "BUILDINGS": pand.id(), "EVENT": 0, "LOSS_MM": 5.0, "OUTPUT_DEPTH": "TEMPORARY_OUTPUT",
         "OUTPUT_DEPRESSIONS": "TEMPORARY_OUTPUT", "OUTPUT_BUILDINGS": "TEMPORARY_OUTPUT"},
        context=context, feedback=QgsProcessingFeedback(),
    )  # fmt: skip
    outputs = []
    for key, name in (("OUTPUT_DEPRESSIONS", "Kommen"), ("OUTPUT_BUILDINGS", "Gebouwen met water tegen de gevel")):
        found = result[key] if not isinstance(result[key], str) else context.getMapLayer(result[key])
        layer = context.temporaryLayerStore().takeMapLayer(found) or found
        assert layer.providerType() == "memory" and layer.featureCount() > 0
        layer.setName(name)
        outputs.append(layer)
    depth = QgsRasterLayer(result["OUTPUT_DEPTH"], "Waterdiepte", "gdal")  # a scratch file in Processing's temp
    assert depth.isValid()
    project.addMapLayers([*outputs, depth])
    library = QgsVectorLayer(f"{bgt}|layername=bgt_waterdeel", "BGT waterdeel", "ogr")
    project.addMapLayers([_measuring_points(folder), library, *_virtual_layers(bgt, pand)])
    join = QgsVectorLayerJoinInfo()
    join.setJoinLayer(outputs[1])
    join.setJoinFieldName(outputs[1].fields().names()[0])
    join.setTargetFieldName(outputs[1].fields().names()[0]) if outputs[1].fields().names()[
        0
    ] in pand.fields().names() else None
    if join.targetFieldName():
        pand.addJoin(join)
    path = folder / "twin.qgs"
    assert project.write(str(path))
    expected = {
        layer.name(): (layer.featureCount() if hasattr(layer, "featureCount") else None, _style_signature(layer))
        for layer in project.mapLayers().values()
    }
    yield path, expected, project
    project.clear()


def _pack_open(twin_path, folder, params, recipe_key):
    import processing

    from dtfl_plugin.recipe import sign
    from dtfl_plugin.recipe.open import unpack

    key_file = folder / "key.key"
    sign.write_text_private(key_file, sign.secret_key_to_text(recipe_key, "pw"))
    out = folder / "twin.dtfl.zip"
    processing.run(
        "dtfl:recipe_package",
        {"PROJECT": "", "OUTPUT": str(out), "SIGNING_KEY": str(key_file), "PASSPHRASE": "pw", **params},
    )
    return unpack(out, folder / "opened", trusted=[("test", recipe_key.public)])


def _opened_layers(result):
    from qgis.core import QgsProject

    recipient = QgsProject()
    assert recipient.read(str(result.project))
    return recipient, {layer.name(): layer for layer in recipient.mapLayers().values()}


def test_whole_twin_arrives(desktop_twin, recipe_key, tmp_path):
    path, expected, _ = desktop_twin
    result = _pack_open(path, tmp_path, {}, recipe_key)
    recipient, layers = _opened_layers(result)
    assert sorted(layers) == sorted(expected)
    for name, (count, style) in expected.items():
        layer = layers[name]
        assert layer.isValid(), (name, layer.source())
        if count is not None:
            assert layer.featureCount() == count, (name, layer.featureCount(), count)
        assert _style_signature(layer) == style, name
    joins = layers["BGT pand"].vectorJoins()
    assert (
        joins
        and joins[0].joinLayer() is not None
        and joins[0].joinLayer().name() == "Gebouwen met water tegen de gevel"
    )
    # the COG stays a reference to its service; everything else reads files inside the recipe
    assert layers["AHN3 maaiveld (COG)"].source().startswith("/vsicurl/http://127.0.0.1")
    recipient.clear()


def test_whole_twin_with_area_snapshot(desktop_twin, recipe_key, tmp_path):
    path, expected, _ = desktop_twin
    result = _pack_open(path, tmp_path, {"AREA": extent_string(AREA_A), "EMBED": 1}, recipe_key)
    recipient, layers = _opened_layers(result)
    assert sorted(layers) == sorted(expected)
    for name, layer in layers.items():
        assert layer.isValid(), (name, layer.source())
        assert "/vsicurl/" not in layer.source() and "127.0.0.1" not in layer.source(), name
    cog = layers["AHN3 maaiveld (COG)"]
    (xmin, ymin, xmax, ymax), _ = AREA_A
    box = cog.extent()
    assert box.xMinimum() >= xmin - 1 and box.xMaximum() <= xmax + 1 and cog.bandCount() == 1
    assert layers["Gebouwen met water tegen de gevel"].featureCount() > 0
    assert 0 < layers["BGT wegdeel"].featureCount() < expected["BGT wegdeel"][0]
    recipient.clear()
