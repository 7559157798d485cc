"""QGIS loads every kind of sandbox layer through its own providers: WMS, WMTS, WFS, OAPIF, COG, EPT."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.fixtures.layers import settle_point_cloud

pytestmark = pytest.mark.sandbox

PAND_FILL = (0xF0, 0xD8, 0xCC)  # the BGT-like fill of bgt_pand in the served QGIS project
RD_EXTENT = (84825.0, 447456.0, 85057.0, 447625.0)  # the BGT pand extent


def _render(layer, extent, size=(400, 300)):
    from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings, QgsRectangle
    from qgis.PyQt.QtCore import QSize

    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(QgsRectangle(*extent))
    settings.setOutputSize(QSize(*size))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage()


def _colours(image) -> dict[tuple[int, int, int], int]:
    counts: dict[tuple[int, int, int], int] = {}
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = image.pixelColor(x, y)
            if c.alpha() == 0:
                continue
            key = (c.red(), c.green(), c.blue())
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_wms_layer_renders_buildings(qgis_app, sandbox):
    from qgis.core import QgsRasterLayer

    uri = f"crs=EPSG:28992&dpiMode=7&format=image/png&layers=bgt_pand&styles=&url={sandbox['wms']}"
    layer = QgsRasterLayer(uri, "bgt_pand (WMS)", "wms")
    assert layer.isValid(), layer.error().summary()
    colours = _colours(_render(layer, RD_EXTENT))
    assert len(colours) > 2, "a blank image"
    near_fill = sum(
        n
        for (r, g, b), n in colours.items()
        if abs(r - PAND_FILL[0]) + abs(g - PAND_FILL[1]) + abs(b - PAND_FILL[2]) < 12
    )
    assert near_fill > 0.08 * sum(colours.values()), "buildings' fill colour is missing"


def test_wmts_layer_is_valid_in_rd(qgis_app, sandbox):
    from qgis.core import QgsRasterLayer

    url = quote(f"{sandbox['wmts']}?SERVICE=WMTS&REQUEST=GetCapabilities", safe=":/?")
    uri = f"crs=EPSG:28992&dpiMode=7&format=image/png&layers=ahn_dtm&styles=default&tileMatrixSet=EPSG:28992&url={url}"
    layer = QgsRasterLayer(uri, "ahn_dtm (WMTS)", "wms")
    assert layer.isValid(), layer.error().summary()
    assert layer.crs().authid() == "EPSG:28992"
    colours = _colours(_render(layer, RD_EXTENT))
    assert len(colours) > 10, "the terrain should render as a colour ramp"


def test_wfs_layer_has_features(qgis_app, sandbox):
    from qgis.core import QgsVectorLayer

    uri = f"pagingEnabled='true' srsname='EPSG:28992' typename='bgt_wegdeel' url='{sandbox['wfs']}' version='auto'"
    layer = QgsVectorLayer(uri, "bgt_wegdeel (WFS)", "WFS")
    assert layer.isValid()
    features = list(layer.getFeatures())
    assert len(features) == 151
    assert {f["function"] for f in features} >= {"rijbaan lokale weg", "voetpad"}


def test_oapif_layer_has_features(qgis_app, sandbox):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(f"url='{sandbox['oapif']}' typename='gebouwen_3d'", "gebouwen_3d (OAPIF)", "OAPIF")
    assert layer.isValid()
    assert layer.providerType() == "OAPIF"
    features = list(layer.getFeatures())
    assert len(features) == 160
    assert all(f["b3_h_dak_max"] > f["b3_h_maaiveld"] for f in features)


def test_qgis_server_wfs3_collection(qgis_app, sandbox):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(f"url='{sandbox['wfs3']}' typename='bgt_waterdeel'", "bgt_waterdeel (wfs3)", "OAPIF")
    assert layer.isValid()
    assert len(list(layer.getFeatures())) > 0


def test_cog_over_vsicurl_reads_the_dtm(qgis_app, sandbox, shared_data):
    from osgeo import gdal
    from qgis.core import QgsPointXY, QgsRasterLayer

    layer = QgsRasterLayer(f"/vsicurl/{sandbox['files']}/ahn/ahn3_delft_dtm_1m.cog.tif", "ahn cog", "gdal")
    assert layer.isValid(), layer.error().summary()
    local = gdal.Open(str(shared_data / "3d/derived/ahn3_delft_dtm_1m_filled.tif"))
    x0, dx, _, y0, _, dy = local.GetGeoTransform()
    arr = local.GetRasterBand(1).ReadAsArray()
    for row, col in ((10, 10), (100, 150), (200, 40)):
        value, ok = layer.dataProvider().sample(QgsPointXY(x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy), 1)
        assert ok
        assert value == pytest.approx(float(arr[row, col]), abs=1e-4)


def test_ept_point_cloud_is_valid(qgis_app, sandbox):
    from qgis.core import QgsPointCloudLayer

    layer = QgsPointCloudLayer(f"{sandbox['files']}/ept/ahn3_delft/ept.json", "ahn3 ept", "ept")
    assert layer.dataProvider() is not None
    assert layer.isValid()
    assert layer.pointCount() == 208_000 or layer.pointCount() > 100_000
    settle_point_cloud(layer)


def test_wcs_coverage_matches_the_dtm(qgis_app, sandbox, shared_data):
    from osgeo import gdal
    from qgis.core import QgsPointXY, QgsRasterLayer

    uri = f"crs=EPSG:28992&format=GTiff&identifier=ahn_dtm&url={sandbox['wcs']}"
    layer = QgsRasterLayer(uri, "ahn_dtm (WCS)", "wcs")
    assert layer.isValid(), layer.error().summary()
    local = gdal.Open(str(shared_data / "3d/derived/ahn3_delft_dtm_1m_filled.tif"))
    x0, dx, _, y0, _, dy = local.GetGeoTransform()
    arr = local.GetRasterBand(1).ReadAsArray()
    row, col = 120, 130
    value, ok = layer.dataProvider().sample(QgsPointXY(x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy), 1)
    assert ok
    assert value == pytest.approx(float(arr[row, col]), abs=1e-3)


def test_vector_tiles_with_their_style(qgis_app, sandbox):
    """OGC API - Tiles (MVT, WebMercatorQuad) loads as a vector tile layer and its published Mapbox GL style
    (from the PDOK-style layer list) colours the buildings."""
    import json
    import urllib.request

    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsDataSourceUri,
        QgsProject,
        QgsRectangle,
        QgsVectorTileLayer,
    )

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(sandbox["pdok_layers"], timeout=30) as resp:
        entry = next(r for r in json.loads(resp.read()) if r["service_type"] == "api tiles")
    assert entry["tiles"][0]["tilesets"][0]["tileset_id"] == "WebMercatorQuad"
    style_url = entry["styles"][0]["url"]
    template = f"{entry['service_url']}/collections/{entry['name']}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt"
    # QgsDataSourceUri's encoding: QGIS 3.40 takes a hand-percent-encoded url=/styleUrl= literally, 3.22 not
    uri = QgsDataSourceUri()
    for key, value in (("type", "xyz"), ("url", template), ("styleUrl", style_url), ("zmin", "13"), ("zmax", "18")):
        uri.setParam(key, value)
    layer = QgsVectorTileLayer(bytes(uri.encodedUri()).decode(), "bgt (vector tiles)")
    assert layer.isValid()
    message, ok = layer.loadDefaultStyle()  # QGIS fetches and converts the published Mapbox GL style
    assert ok, message
    to_3857 = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:28992"), QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance()
    )
    extent = to_3857.transformBoundingBox(QgsRectangle(*RD_EXTENT))
    colours = _colours(_render(layer, (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())))
    total = sum(colours.values())
    pand = sum(n for c, n in colours.items() if sum(abs(a - b) for a, b in zip(c, PAND_FILL)) < 12)
    groen = sum(n for c, n in colours.items() if sum(abs(a - b) for a, b in zip(c, (0xB9, 0xDD, 0x9E))) < 12)
    assert pand > 0.08 * total, "buildings are not drawn in the style's colour"
    assert groen > 0.01 * total, "the style's categorised green is missing"


def test_wfs2_paging_through_mapserver(qgis_app, sandbox, fault_front):
    """WFS 2.0 (MapServer, as PDOK runs it) loads page by page: the provider's STARTINDEX requests are counted
    through the fault front (no fault rule: it only records)."""
    from qgis.core import QgsVectorLayer

    front = fault_front(sandbox["wfs2"])
    uri = (f"pagingEnabled='true' pageSize='50' srsname='EPSG:28992' typename='ms:bgt_pand' "
           f"url='{front.url}' version='2.0.0'")  # fmt: skip
    layer = QgsVectorLayer(uri, "bgt_pand (WFS 2.0)", "WFS")
    assert layer.isValid()
    features = list(layer.getFeatures())
    assert len(features) == 160
    assert len({f["gml_id"] for f in features}) == 160
    pages = [path for method, path, _ in front.requests if "GetFeature" in path and "STARTINDEX" in path.upper()]
    assert len(pages) >= 4, front.requests
