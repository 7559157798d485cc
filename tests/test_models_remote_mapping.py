"""Process descriptions -> Processing parameters, values -> execute inputs, results -> files. No server.

The description below is written from OGC API - Processes - Part 1: Core (1.0), its
schema shapes for literal, bounding-box and complex (GeoJSON, GeoTIFF) inputs.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

SPEC_DESCRIPTION = {
    "id": "Flood-Model.v2",
    "title": "Flood model",
    "version": "2.1.0",
    "jobControlOptions": ["async-execute"],
    "inputs": {
        "depth": {"title": "Depth", "schema": {"type": "number", "minimum": 0, "maximum": 250, "default": 70}},
        "iterations": {"schema": {"type": "integer", "minimum": 1, "maximum": 10}, "minOccurs": 0},
        "event": {"schema": {"type": "string", "enum": ["T10", "T100", "T1000"], "default": "T100"}},
        "verbose": {"schema": {"type": "boolean", "default": True}, "minOccurs": 0},
        "label": {"schema": {"type": "string"}, "minOccurs": 0},
        "area": {
            "schema": {
                "allOf": [
                    {"format": "ogc-bbox"},
                    {"$ref": "https://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi/schemas/bbox.yaml"},
                ]
            }
        },
        "buildings": {
            "schema": {
                "oneOf": [
                    {"type": "string", "contentMediaType": "application/geo+json"},
                    {
                        "$ref": "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/schemas/featureCollectionGeoJSON.yaml"
                    },
                ]
            },
            "minOccurs": 0,
        },
        "dem": {
            "schema": {
                "oneOf": [
                    {
                        "type": "string",
                        "contentEncoding": "binary",
                        "contentMediaType": "image/tiff; application=geotiff",
                    }
                ]
            }
        },
        "weights": {"schema": {"type": "array", "items": {"type": "number"}}, "minOccurs": 0},
    },
    "outputs": {
        "depth": {
            "schema": {
                "type": "string",
                "contentEncoding": "binary",
                "contentMediaType": "image/tiff; application=geotiff",
            }
        },
        "areas": {"schema": {"type": "object", "contentMediaType": "application/geo+json"}},
        "report": {"schema": {"type": "object"}},
    },
}


@pytest.fixture
def server():
    from dtfl_plugin.models.remote.servers import Server

    return Server(name="My Server!", url="http://127.0.0.1:9")


@pytest.fixture
def alg(qgis_app, server):
    from dtfl_plugin.models.remote.algorithm import RemoteProcessAlgorithm

    algorithm = RemoteProcessAlgorithm(server, SPEC_DESCRIPTION)
    algorithm.initAlgorithm({})
    return algorithm


def test_classification_follows_schema(qgis_app):
    from dtfl_plugin.models.remote.mapping import input_specs, output_specs

    kinds = {s.id: s.kind for s in input_specs(SPEC_DESCRIPTION)}
    assert kinds == {
        "depth": "number",
        "iterations": "integer",
        "event": "enum",
        "verbose": "boolean",
        "label": "string",
        "area": "bbox",
        "buildings": "vector",
        "dem": "raster",
        "weights": "json",
    }
    assert {s.id: s.kind for s in output_specs(SPEC_DESCRIPTION)} == {
        "depth": "raster",
        "areas": "vector",
        "report": "json",
    }


def test_parameters_carry_bounds_enums_and_optionality(alg):
    from qgis.core import QgsProcessingParameterNumber

    assert alg.name() == "remote_my_server_flood_model_v2"
    params = {p.name(): p for p in alg.parameterDefinitions()}
    depth = params["depth"]
    assert (depth.minimum(), depth.maximum(), depth.defaultValue()) == (0, 250, 70)
    assert depth.dataType() == QgsProcessingParameterNumber.Double
    assert params["iterations"].dataType() == QgsProcessingParameterNumber.Integer
    assert params["iterations"].flags() & params["iterations"].FlagOptional
    assert params["event"].options() == ["T10", "T100", "T1000"] and params["event"].defaultValue() == "T100"
    assert params["area"].type() == "extent"
    assert params["buildings"].type() == "source"
    assert params["dem"].type() == "raster"
    assert params["weights"].type() == "string"
    # an output sharing its id with an input is renamed, never shadowed
    assert {"OUT_depth", "areas", "report"} <= set(params)
    assert params["OUT_depth"].type() == "rasterDestination"
    assert params["areas"].type() == "vectorDestination"


def _encode(alg, parameters):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    from dtfl_plugin.models.remote.mapping import encode_input, input_specs

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    out = {}
    for spec in input_specs(SPEC_DESCRIPTION):
        value = encode_input(spec, alg, parameters, context, QgsProcessingFeedback())
        if value is not None:
            out[spec.id] = value
    return out


def test_values_encode_as_execute_inputs(alg, shared_data):
    dem = shared_data / "3d" / "derived" / "ahn3_delft_dtm_1m_filled.tif"
    buildings = shared_data / "3d" / "bgt" / "bgt_pand_delft.geojson"
    inputs = _encode(
        alg,
        {
            "depth": 90,
            "iterations": 3,
            "event": "T1000",
            "verbose": False,
            "area": "84000,85000,446000,447000 [EPSG:28992]",
            "buildings": str(buildings),
            "dem": str(dem),
            "weights": "[0.5, 1]",
        },
    )
    assert inputs["depth"] == 90.0 and inputs["iterations"] == 3 and isinstance(inputs["iterations"], int)
    assert inputs["event"] == "T1000" and inputs["verbose"] is False
    assert inputs["area"] == {
        "bbox": [84000, 446000, 85000, 447000],
        "crs": "http://www.opengis.net/def/crs/EPSG/0/28992",
    }
    assert inputs["weights"] == [0.5, 1]
    assert "label" not in inputs  # optional and unset: not sent
    raster = inputs["dem"]
    assert raster["encoding"] == "base64" and "geotiff" in raster["mediaType"]
    assert base64.b64decode(raster["value"]) == dem.read_bytes()
    features = inputs["buildings"]["features"]
    assert features and inputs["buildings"]["type"] == "FeatureCollection"
    first = features[0]["geometry"]["coordinates"]
    while isinstance(first[0], list):
        first = first[0]
    x, y = first[:2]
    assert 4.3 < x < 4.4 and 51.9 < y < 52.1  # RFC 7946: sent in WGS 84, not RD


def test_remote_sources_go_by_reference_and_bad_json_is_a_clear_error(alg):
    from dtfl_plugin.models.remote.client import RemoteModelError

    base = {"depth": 1, "event": "T10", "area": "0,1,0,1 [EPSG:4326]"}
    inputs = _encode(alg, {**base, "dem": "https://example.org/ahn/dem.tif"})
    assert inputs["dem"] == {"href": "https://example.org/ahn/dem.tif", "type": "image/tiff; application=geotiff"}
    with pytest.raises(RemoteModelError, match="not valid JSON"):
        _encode(alg, {**base, "dem": "https://example.org/d.tif", "weights": "[0.5,"})


def _geotiff_bytes(tmp_path: Path) -> bytes:
    import numpy as np
    from osgeo import gdal, osr

    path = str(tmp_path / "src.tif")
    ds = gdal.GetDriverByName("GTiff").Create(path, 4, 3, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((85000, 1, 0, 447000, 0, -1))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(28992)
    ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(np.arange(12, dtype="float32").reshape(3, 4))
    ds = None
    return Path(path).read_bytes()


AREAS = {
    "type": "FeatureCollection",
    "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
    "features": [
        {
            "type": "Feature",
            "properties": {"id": 7, "volume": 12.5},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[85000, 447000], [85002, 447000], [85002, 446998], [85000, 447000]]],
            },
        }
    ],
}


def test_results_are_written_to_processing_destinations(alg, tmp_path):
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    from dtfl_plugin.models.remote.client import ProcessesClient, Results
    from dtfl_plugin.models.remote.mapping import output_specs
    from dtfl_plugin.models.remote.outputs import write_results

    tif = _geotiff_bytes(tmp_path)
    doc = {
        "depth": {
            "value": base64.b64encode(tif).decode(),
            "encoding": "base64",
            "mediaType": "image/tiff; application=geotiff",
        },
        "areas": {"value": AREAS, "mediaType": "application/geo+json"},
        "report": {"stored_m3": 3.5},
    }
    specs = output_specs(SPEC_DESCRIPTION)
    dest = {
        "depth": str(tmp_path / "out" / "depth.tif"),
        "areas": str(tmp_path / "out" / "areas.gpkg"),
        "report": str(tmp_path / "r.json"),
    }
    written = write_results(Results(document=doc), specs, dest, ProcessesClient("http://127.0.0.1:9"), "")
    assert written == dest
    assert Path(dest["depth"]).read_bytes() == tif
    raster = QgsRasterLayer(dest["depth"], "d")
    assert raster.isValid() and raster.crs().authid() == "EPSG:28992" and raster.width() == 4
    layer = QgsVectorLayer(dest["areas"], "a")
    assert layer.isValid() and layer.featureCount() == 1 and layer.crs().authid() == "EPSG:28992"
    assert next(layer.getFeatures())["volume"] == 12.5
    assert json.loads(Path(dest["report"]).read_text()) == {"stored_m3": 3.5}
    assert not [p for p in tmp_path.rglob(".part-*")]


def test_a_malformed_result_leaves_nothing_half_written(alg, tmp_path):
    from dtfl_plugin.models.remote.client import ProcessesClient, RemoteModelError, Results
    from dtfl_plugin.models.remote.mapping import output_specs
    from dtfl_plugin.models.remote.outputs import write_results

    tif = _geotiff_bytes(tmp_path / "..")
    specs = output_specs(SPEC_DESCRIPTION)
    dest = {
        s.name: str(tmp_path / f"{s.name}.{'tif' if s.kind == 'raster' else 'gpkg' if s.kind == 'vector' else 'json'}")
        for s in specs
    }
    good_raster = {"value": base64.b64encode(tif).decode(), "encoding": "base64", "mediaType": "image/tiff"}
    for broken in (
        {"depth": good_raster, "areas": {"value": "{not json", "mediaType": "application/geo+json"}, "report": {}},
        {
            "depth": {"value": "!!not base64!!", "encoding": "base64", "mediaType": "image/tiff"},
            "areas": AREAS,
            "report": {},
        },
        {"depth": good_raster, "areas": AREAS},  # an output missing from the results
    ):
        with pytest.raises(RemoteModelError):
            write_results(Results(document=broken), specs, dest, ProcessesClient("http://127.0.0.1:9"), "")
        assert list(tmp_path.iterdir()) == []


def test_algorithms_come_from_the_cache_without_network(qgis_app, server):
    from dtfl_plugin.models.remote import cache, servers
    from dtfl_plugin.models.remote.registry import cached_algorithms

    servers.save(server)  # port 9 on loopback: nothing listens, so any request would fail loudly
    try:
        cache.save(server, {SPEC_DESCRIPTION["id"]: SPEC_DESCRIPTION, "broken": {"inputs": "nonsense"}})
        start = time.monotonic()
        algs = cached_algorithms()
        assert time.monotonic() - start < 5
        ids = [a.name() for a in algs]
        assert "remote_my_server_flood_model_v2" in ids
        cache.cache_path(server.name).write_text("{truncated", encoding="utf-8")
        assert [a for a in cached_algorithms() if a.name().startswith("remote_my_server")] == []
    finally:
        servers.remove(server.name)
        cache.cache_path(server.name).unlink(missing_ok=True)


def test_an_unreachable_server_gives_a_clear_message(qgis_app):
    from dtfl_plugin.models.remote.client import ProcessesClient, RemoteModelError

    with pytest.raises(RemoteModelError, match="Cannot reach|failed"):
        ProcessesClient("http://127.0.0.1:9", timeout_s=5).processes()


def test_a_raw_result_body_goes_to_the_single_output(qgis_app, tmp_path):
    from qgis.core import QgsRasterLayer

    from dtfl_plugin.models.remote.client import ProcessesClient, Results
    from dtfl_plugin.models.remote.mapping import output_specs
    from dtfl_plugin.models.remote.outputs import write_results

    tif = _geotiff_bytes(tmp_path)
    description = {
        "outputs": {"result": {"schema": {"type": "string", "contentMediaType": "image/tiff; application=geotiff"}}}
    }
    dest = tmp_path / "out.tif"
    raw = Results(raw=tif, raw_type="image/tiff; application=geotiff")
    written = write_results(
        raw, output_specs(description), {"result": str(dest)}, ProcessesClient("http://127.0.0.1:9"), ""
    )
    assert written == {"result": str(dest)} and QgsRasterLayer(str(dest), "r").isValid()


def test_the_sandbox_processes_endpoint_is_a_server(qgis_app):
    from dtfl_plugin import settings
    from dtfl_plugin.models.remote import servers

    saved = settings.get_json("endpoints", None)
    try:
        settings.apply_endpoints({"processes": "http://127.0.0.1:5/ogcapi/"})
        sandbox = servers.get("sandbox")
        assert sandbox.url == "http://127.0.0.1:5/ogcapi" and sandbox.max_jobs == servers.DEFAULT_MAX_JOBS
        servers.save(servers.Server(name="Sandbox", url="http://127.0.0.1:6", max_jobs=1))  # a configured one wins
        assert [s.url for s in servers.servers() if s.key == "sandbox"] == ["http://127.0.0.1:6"]
        with pytest.raises(servers.RemoteModelError, match="http or https"):
            servers.save(servers.Server(name="x", url="file:///etc"))
    finally:
        servers.remove("Sandbox")
        if saved is None:
            settings.reset_endpoints()
        else:
            settings.set_json("endpoints", saved)
