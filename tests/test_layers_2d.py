"""2D layers from catalogue entries against the real sandbox servers (qgis_mapserver, pygeoapi, file server)."""

from __future__ import annotations

import json

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

from dtfl_plugin.catalogue.entry import Entry, ServiceType
from dtfl_plugin.errors import LayerError
from dtfl_plugin.layers import capabilities
from dtfl_plugin.layers.load import add_to_project, create_layer, resolve_spec
from dtfl_plugin.layers.metadata import layer_attribution
from dtfl_plugin.provenance.layer_props import KEY, get_layer_source
from tests.fixtures.layers import settle_point_cloud

pytestmark = pytest.mark.sandbox
DELFT = QgsRectangle(84808.0, 447412.0, 85073.0, 447642.0)
RD = QgsCoordinateReferenceSystem("EPSG:28992")


def entry(kind: ServiceType, url: str, name: str, **extra) -> Entry:
    return Entry(
        id=f"sandbox:{kind.name.lower()}:{name}",
        title=f"{name} ({kind.value})",
        service_type=kind.value,
        service_url=url,
        name=name,
        licence="CC0 1.0",
        organisation="Kadaster",
        dataset_id=f"dataset-{name}",
        metadata_url="http://example.invalid/csw?id=1",
        **extra,
    )


def painted_pixels(layer, extent: QgsRectangle = DELFT, size: int = 96) -> int:
    """Render the layer alone over the extent and count pixels that are not the background."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(RD)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(QColor(255, 255, 255, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    return sum(1 for x in range(image.width()) for y in range(image.height()) if QColor(image.pixel(x, y)).alpha() > 0)


def test_wms_prefers_rd_png_and_paints(qgis_app, sandbox):
    layer = create_layer(
        entry(ServiceType.WMS, sandbox["wms"] + "?request=GetCapabilities&service=WMS", "bgt_pand"),
        project_crs="EPSG:3857",
    )
    source = layer.source()
    assert layer.providerType() == "wms" and "crs=EPSG:28992" in source and "format=image/png" in source
    assert "request=GetCapabilities" not in source  # the provider gets the bare service URL
    assert painted_pixels(layer) > 200


def test_wmts_matrix_set_follows_project_crs(qgis_app, sandbox):
    item = entry(ServiceType.WMTS, sandbox["wmts"], "bgt_waterdeel")
    assert "tileMatrixSet=EPSG:28992" in resolve_spec(item, project_crs="EPSG:28992").uri
    assert "tileMatrixSet=EPSG:3857" in resolve_spec(item, project_crs="EPSG:3857").uri
    layer = create_layer(item)
    assert painted_pixels(layer) > 50


def test_wfs_paging_and_extent(qgis_app, sandbox):
    layer = create_layer(entry(ServiceType.WFS, sandbox["wfs"], "bgt_pand"))
    uri = layer.source()
    assert layer.providerType() == "WFS" and "pagingEnabled='true'" in uri and "restrictToRequestBBOX='1'" in uri
    # WFS 2.0.0 when the server speaks it; qgis_mapserver 3.22 answers 1.1.0 and we follow the server.
    version = capabilities.fetch(sandbox["wfs"], "WFS").version
    assert f"version='{'2.0.0' if version.startswith('2') else version}'" in uri
    features = list(layer.getFeatures(QgsFeatureRequest().setFilterRect(DELFT).setLimit(20)))
    assert len(features) == 20 and all(f.hasGeometry() for f in features)


def test_oapif_buildings_have_heights_for_extrusion(qgis_app, sandbox):
    from dtfl_plugin.layers.scene3d import height_expression, style_extruded_buildings

    layer = create_layer(entry(ServiceType.OAPIF, sandbox["oapif"], "gebouwen_3d"))
    assert layer.providerType() == "OAPIF" and layer.featureCount() != 0
    feature = next(layer.getFeatures(QgsFeatureRequest().setLimit(1)))
    assert feature.hasGeometry()
    assert height_expression(layer) == '"b3_h_dak_max" - "b3_h_maaiveld"'
    style_extruded_buildings(layer)
    assert layer.renderer3D() is not None and layer.renderer3D().type() == "vector"


def test_wcs_gives_heights(qgis_app, sandbox):
    layer = create_layer(entry(ServiceType.WCS, sandbox["wcs"], "ahn_dtm"))
    block = layer.dataProvider().block(1, QgsRectangle(84900, 447450, 84950, 447500), 10, 10)
    values = [block.value(r, c) for r in range(10) for c in range(10) if not block.isNoData(r, c)]
    assert values and -10.0 < sum(values) / len(values) < 20.0  # NAP heights in Delft


def test_cog_over_http_range_requests(qgis_app, sandbox):
    layer = create_layer(entry(ServiceType.COG, sandbox["files"] + "/ahn/ahn3_delft_dtm_1m.cog.tif", "ahn_dtm"))
    assert layer.source().startswith("/vsicurl/http://127.0.0.1")
    stats = layer.dataProvider().bandStatistics(1)
    assert stats.elementCount > 1000 and stats.maximumValue > stats.minimumValue


def test_ept_over_http_with_ahn_classes(qgis_app, sandbox):
    layer = create_layer(entry(ServiceType.EPT, sandbox["files"] + "/ept/ahn3_delft/ept.json", "ahn_puntenwolk"))
    assert layer.providerType() == "ept" and layer.pointCount() == 208432
    labels = {c.value(): c.label() for c in layer.renderer().categories()}
    assert labels[6] == "Building" and labels[2] == "Ground" and labels[26] == "Civil structure"
    if hasattr(layer, "statisticsCalculationState"):  # QGIS >= 3.26: built off the main thread, so no statistics task
        assert layer.statisticsCalculationState() == type(layer).PointCloudStatisticsCalculationState.NotStarted
    settle_point_cloud(layer)


def test_layer_carries_source_metadata_and_attribution(qgis_app, sandbox):
    item = entry(ServiceType.WFS, sandbox["wfs"], "bgt_waterdeel")
    layer = create_layer(item)
    source = get_layer_source(layer)
    assert source.record_id == item.id and source.licence == "CC0 1.0" and source.service_url == item.service_url
    assert source.loaded_at.endswith("+00:00")
    assert json.loads(layer.customProperty(KEY))["dataset_id"] == "dataset-bgt_waterdeel"
    assert layer.metadata().identifier() == "dataset-bgt_waterdeel" and layer.metadata().licenses() == ["CC0 1.0"]
    assert "Kadaster" in layer_attribution(layer)
    assert layer.name() == item.title


def test_dead_service_is_a_message_not_a_layer(qgis_app, free_port):
    project = QgsProject()
    with pytest.raises(LayerError) as err:
        create_layer(entry(ServiceType.WMS, f"http://127.0.0.1:{free_port}/ows", "bgt_pand"))
    assert "cannot be reached" in str(err.value)
    with pytest.raises(LayerError):
        create_layer(entry(ServiceType.OAPIF, f"http://127.0.0.1:{free_port}", "bgt_pand"))
    assert project.count() == 0


def test_server_error_and_retired_layer(qgis_app, sandbox, fault_front):
    front = fault_front(sandbox["wms"])
    front.add_rule(r"/ows", status=503)
    with pytest.raises(LayerError) as err:
        create_layer(entry(ServiceType.WMS, front.url, "bgt_pand"))
    assert "HTTP 503" in str(err.value)
    with pytest.raises(LayerError) as err:
        create_layer(entry(ServiceType.WMS, sandbox["wms"], "bgt_verdwenen"))
    assert "no longer offers" in str(err.value)


def test_add_to_project_refuses_invalid_layer(qgis_app):
    from qgis.core import QgsVectorLayer

    project = QgsProject()
    broken = QgsVectorLayer("/nonexistent/file.gpkg", "broken", "ogr")
    with pytest.raises(LayerError):
        add_to_project(broken, project)
    assert project.count() == 0


def test_capabilities_crs_normalisation():
    assert capabilities.normalise_crs("urn:ogc:def:crs:EPSG::28992") == "EPSG:28992"
    assert capabilities.normalise_crs("http://www.opengis.net/def/crs/EPSG/0/7415") == "EPSG:7415"
    assert capabilities.choose_crs(["EPSG:4326", "EPSG:3857", "EPSG:28992"], "EPSG:3857") == "EPSG:28992"
    assert capabilities.choose_crs(["EPSG:4326", "EPSG:3857"], "EPSG:28992") == "EPSG:3857"


def test_wfs_20_pages_through_a_mapserver(qgis_app, sandbox, fault_front):
    """WFS 2.0 (MapServer, like PDOK): version 2.0.0, prefixed type name, and real paging (STARTINDEX requests)."""
    from qgis.core import QgsDataSourceUri

    front = fault_front(sandbox["wfs2"])
    spec = resolve_spec(entry(ServiceType.WFS, front.url, "bgt_pand"))
    uri = QgsDataSourceUri(spec.uri)
    assert uri.param("version") == "2.0.0" and uri.param("typename") == "ms:bgt_pand"
    uri.setParam("pageSize", "50")  # small pages so 160 buildings need several requests
    uri.removeParam("restrictToRequestBBOX")
    spec.uri = uri.uri(False)
    layer = create_layer(spec)
    ids = {f["gml_id"] for f in layer.getFeatures()}
    assert len(ids) == 160
    pages = [path for _, path, _ in front.requests if "GetFeature" in path and "STARTINDEX=" in path.upper()]
    assert len(pages) >= 3, front.requests


def test_cityjson_entry_over_http_becomes_a_styled_3d_layer(qgis_app, sandbox):
    """A CityJSONSeq download (3DBAG-style) from the file server: fetched via net.py, converted, styled."""
    item = entry(ServiceType.CITYJSON, sandbox["files"] + "/cityjson/3dbag_b2.city.jsonl", "3dbag")
    layer = create_layer(item)
    assert layer.isValid() and layer.featureCount() == 6
    assert {f["surface"] for f in layer.getFeatures()} == {"RoofSurface", "WallSurface", "GroundSurface"}
    assert layer.renderer3D() is not None and layer.renderer3D().type() == "rulebased"
    assert get_layer_source(layer).service_url == item.service_url
