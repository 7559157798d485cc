"""Vector tiles with their style, the background load task, and version-dependent sources (3D Tiles, COPC, LAZ)."""

from __future__ import annotations

import json
import time

import pytest
from qgis.core import QgsApplication, QgsProject, QgsProviderRegistry, QgsRectangle

from dtfl_plugin.catalogue.entry import Entry, ServiceType
from dtfl_plugin.errors import LayerError
from dtfl_plugin.layers.load import LoadEntryTask, create_layer
from dtfl_plugin.provenance.layer_props import get_layer_source

from .test_layers_2d import painted_pixels


def providers() -> set[str]:
    return set(QgsProviderRegistry.instance().providerList())


@pytest.fixture
def mvt_tiles(tmp_path, shared_data):
    """BGT as a Web Mercator MVT tile folder plus a Mapbox GL style, written by GDAL's MVT driver."""
    from osgeo import gdal

    out = tmp_path / "tiles"
    gdal.UseExceptions()
    gdal.VectorTranslate(
        str(out),
        str(shared_data / "3d/bgt/bgt_delft.gpkg"),
        format="MVT",
        layers=["bgt_pand", "bgt_waterdeel"],
        datasetCreationOptions=["MINZOOM=14", "MAXZOOM=16", "COMPRESS=NO"],
    )
    style = {
        "version": 8,
        "sources": {"bgt": {"type": "vector"}},
        "layers": [
            {
                "id": "pand",
                "type": "fill",
                "source": "bgt",
                "source-layer": "bgt_pand",
                "paint": {"fill-color": "#ff0000"},
            },
            {
                "id": "water",
                "type": "fill",
                "source": "bgt",
                "source-layer": "bgt_waterdeel",
                "paint": {"fill-color": "#0000ff"},
            },
        ],
    }
    (tmp_path / "style.json").write_text(json.dumps(style), encoding="utf-8")
    return out.as_uri() + "/{z}/{x}/{y}.pbf", (tmp_path / "style.json").as_uri()


def test_vector_tiles_with_their_style(qgis_app, mvt_tiles):
    url, style_url = mvt_tiles
    item = Entry(
        id="t:bgt",
        title="BGT tiles",
        service_type=ServiceType.OAPIT.value,
        service_url=url,
        name="bgt",
        styles=[{"id": "bgt__webmercatorquad", "url": style_url}],
    )
    layer = create_layer(item)
    assert "type=xyz" in layer.source() and "styleUrl=" in layer.source()
    assert [s.styleName() for s in layer.renderer().styles()] == ["pand", "water"]
    assert painted_pixels(layer, QgsRectangle(84800, 447400, 85100, 447700)) > 100


def _load_in_background(item, project):
    """Load ``item`` through the task manager, as the dock does; (layer, error) once the task reports back."""
    results = []
    task = LoadEntryTask(item, project, on_done=lambda layer, error: results.append((layer, error)))
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 30
    while not results and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.02)
    return results[0]


def test_load_entry_task_adds_layer_on_main_thread(qgis_app, shared_data):
    project = QgsProject()
    item = Entry(
        id="file:ahn",
        title="AHN3 DTM",
        service_type=ServiceType.COG.value,
        service_url=(shared_data / "3d/derived/ahn3_delft_dtm_1m_filled.tif").as_uri(),
        name="ahn",
        licence="CC0 1.0",
    )
    layer, error = _load_in_background(item, project)
    assert error is None and layer.isValid()
    assert project.mapLayer(layer.id()) is layer and layer.thread() == QgsApplication.instance().thread()
    assert get_layer_source(layer).licence == "CC0 1.0"


def test_load_entry_task_reports_error_and_adds_nothing(qgis_app, free_port):
    project = QgsProject()
    item = Entry(
        id="dead",
        title="Dead WMS",
        service_type=ServiceType.WMS.value,
        service_url=f"http://127.0.0.1:{free_port}/ows",
        name="x",
    )
    layer, error = _load_in_background(item, project)
    assert layer is None and isinstance(error, LayerError) and project.count() == 0


def test_3d_tiles_where_qgis_has_tiled_scenes(qgis_app, shared_data):
    item = Entry(
        id="3dbag",
        title="3DBAG tiles",
        service_type=ServiceType.TILES3D.value,
        service_url=(shared_data / "3d/3dtiles/3dbag_tyler_sample/tileset.json").as_uri(),
        name="3dbag",
    )
    if "cesiumtiles" not in providers():
        with pytest.raises(LayerError) as err:
            create_layer(item)
        assert "3.34" in str(err.value) and "extruded" in str(err.value)
        pytest.skip(
            "QGIS without the 'cesiumtiles' provider (3D Tiles need QGIS 3.34+): the refusal message was checked"
        )
    # 3DBAG's tiles are meshopt-compressed: QGIS would load them as valid and draw nothing. Said, not shown blank.
    with pytest.raises(LayerError, match="EXT_meshopt_compression") as err:
        create_layer(item)
    assert "CityJSON" in str(err.value)


def test_3d_tiles_extension_check(tmp_path, shared_data):
    """Plain glTF tiles pass; meshopt tiles are named; the first tile is found below a content-less root."""
    import json
    import struct

    from dtfl_plugin.layers.tiles3d import blocking_extensions

    def read(url: str, max_bytes: int) -> bytes:
        return open(url.removeprefix("file://"), "rb").read(max_bytes)

    sample = (shared_data / "3d/3dtiles/3dbag_tyler_sample/tileset.json").as_uri()
    assert blocking_extensions(sample, read) == {"EXT_meshopt_compression"}
    document = json.dumps({"asset": {"version": "2.0"}, "extensionsUsed": ["KHR_mesh_quantization"]}).encode()
    document += b" " * (-len(document) % 4)
    glb = b"glTF" + struct.pack("<II", 2, 20 + len(document)) + struct.pack("<I", len(document)) + b"JSON" + document
    (tmp_path / "t.glb").write_bytes(glb)
    tileset = {"asset": {"version": "1.1"}, "root": {"children": [{"content": {"uri": "t.glb"}}]}}
    (tmp_path / "tileset.json").write_text(json.dumps(tileset))
    assert blocking_extensions((tmp_path / "tileset.json").as_uri(), read) == set()


@pytest.mark.parametrize("filename", ["ahn3_cropped_2.laz"])
def test_laz_where_pdal_exists(qgis_app, shared_data, filename):
    item = Entry(
        id="laz",
        title="AHN3 LAZ",
        service_type=ServiceType.LAZ.value,
        service_url=str(shared_data / "3d/pointcloud" / filename),
        name=filename,
    )
    if "pdal" not in providers():
        with pytest.raises(LayerError) as err:
            create_layer(item)
        assert "pdal" in str(err.value)
        pytest.skip("QGIS without the 'pdal' provider cannot read LAS/LAZ: the refusal message was checked")
    layer = create_layer(item)
    assert layer.isValid() and layer.pointCount() == 208432


def test_copc_where_provider_exists(qgis_app, tmp_path):
    item = Entry(
        id="copc", title="COPC", service_type=ServiceType.COPC.value, service_url=str(tmp_path / "x.copc.laz"), name="x"
    )
    if not {"copc", "pdal"} & providers():
        with pytest.raises(LayerError) as err:
            create_layer(item)
        assert "copc" in str(err.value)
        pytest.skip("QGIS without the 'copc' provider (3.26+): the refusal message was checked")
    with pytest.raises(LayerError):  # the provider exists; a missing file is still a message, not a layer
        create_layer(item)
