"""Service layers in recipes, against the real loopback sandbox: URL entries with the time read, snapshots
clipped to the area, and a re-cook that reads the service again for the new area."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.fixtures.recipe import AREA_A, AREA_B

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def service_project(sandbox, tmp_path_factory, qgis_app):
    from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer

    from dtfl_plugin.provenance.layer_props import LayerSource, set_layer_source

    folder = tmp_path_factory.mktemp("services")
    features = QgsVectorLayer(f"url='{sandbox['oapif']}' typename='bgt_pand'", "BGT pand (OGC API)", "OAPIF")
    wms = QgsRasterLayer(
        f"crs=EPSG:28992&format=image/png&layers=bgt_pand&styles=&url={sandbox['wms']}", "BGT pand (WMS)", "wms"
    )
    assert features.isValid() and wms.isValid()
    for layer, kind in ((features, "OGC:API features"), (wms, "OGC:WMS")):
        set_layer_source(
            layer,
            LayerSource(
                title="BGT pand",
                service_type=kind,
                licence="CC0-1.0",
                organisation="Kadaster",
                loaded_at="2026-11-28T09:30:00+00:00",
                service_version="etag-42",
            ),
        )
    project = QgsProject()
    project.addMapLayers([features, wms])
    path = folder / "services.qgs"
    assert project.write(str(path))
    project.clear()
    return path


def _count(path) -> int:
    from osgeo import ogr

    ds = ogr.Open(str(path))  # keep the dataset alive while its layer is used
    return ds.GetLayer(0).GetFeatureCount()


def _pack_west_with_snapshots(service_project, recipe_key, output):
    """The service project packed for area A, its services embedded as snapshots clipped to the area."""
    from dtfl_plugin.recipe.pack import PackOptions, pack

    return pack(
        PackOptions(project=service_project, output=output, secret_key=recipe_key, area=AREA_A, embed_services=True)
    )


def test_service_entries_and_snapshot(service_project, recipe_key, tmp_path, sandbox):
    result = _pack_west_with_snapshots(service_project, recipe_key, tmp_path / "s.dtfl.zip")
    with zipfile.ZipFile(result.output) as zf:
        zf.extractall(tmp_path / "x")
    graph = {e["@id"]: e for e in json.loads((tmp_path / "x/ro-crate-metadata.json").read_text())["@graph"]}
    services = [e for e in graph.values() if e.get("@type") == "Dataset" and e["@id"].startswith("http://127.0.0.1")]
    assert {s["encodingFormat"] for s in services} == {"OGC:API features", "OGC:WMS"}
    for service in services:
        assert service["sdDatePublished"] == "2026-11-28T09:30:00+00:00" and service["version"] == "etag-42"
        assert (
            graph[service["license"]["@id"]]["name"] == "CC0-1.0"
            and graph[service["publisher"]["@id"]]["name"] == "Kadaster"
        )
        assert {"@id": service["@id"]} in graph["./"]["hasPart"]
    snapshot = next(
        p for p in (tmp_path / "x/data").iterdir() if p.name.startswith("snapshot-") and p.suffix == ".gpkg"
    )
    clipped = _count(snapshot)
    assert 0 < clipped < 160, clipped  # the sample has 160 buildings; the west half holds part of them
    project = (tmp_path / "x/project/recipe.qgs").read_text()
    assert "dtfl/snapshot_of" in project and f"../data/{snapshot.name}" in project
    # the WMS picture of the area, as an RGBA GeoTIFF on the area's grid, that draws something
    from osgeo import gdal
    from qgis.core import QgsProject

    picture = next(p for p in (tmp_path / "x/data").iterdir() if p.name.startswith("snapshot-") and p.suffix == ".tif")
    ds = gdal.Open(str(picture))
    (xmin, ymin, xmax, ymax), _ = AREA_A
    gt = ds.GetGeoTransform()
    assert ds.RasterCount == 4 and gt[0] == pytest.approx(xmin) and gt[1] == pytest.approx(0.25)
    assert (ds.RasterXSize, ds.RasterYSize) == (round((xmax - xmin) / 0.25), round((ymax - ymin) / 0.25))
    alpha = ds.GetRasterBand(4).ReadAsArray()
    assert 0 < (alpha > 0).mean() < 1, "the picture is empty or fully covered"
    opened = QgsProject()
    assert opened.read(str(tmp_path / "x/project/recipe.qgs"))
    assert all(layer.isValid() for layer in opened.mapLayers().values())
    opened.clear()


def test_recook_reads_the_service_again(service_project, recipe_key, trust, tmp_path, sandbox, processing_ready):
    from dtfl_plugin.recipe.cook import cook

    west = _pack_west_with_snapshots(service_project, recipe_key, tmp_path / "w.dtfl.zip")
    east = cook(
        west.output,
        AREA_B,
        tmp_path / "e.dtfl.zip",
        tmp_path / "work",
        trusted=[("t", recipe_key.public)],
        secret_key=recipe_key,
    )
    counts = {}
    for name, path in (("west", west.output), ("east", east.output)):
        with zipfile.ZipFile(path) as zf:
            member = next(n for n in zf.namelist() if n.startswith("data/snapshot-") and n.endswith(".gpkg"))
            zf.extract(member, tmp_path / name)
            counts[name] = _count(tmp_path / name / member)
            meta = json.loads(zf.read("ro-crate-metadata.json"))
    assert counts["east"] > 0 and counts["east"] != counts["west"], counts
    root = next(e for e in meta["@graph"] if e["@id"] == "./")
    assert root["isBasedOn"] == {"@id": west.recipe_id}


def test_licence_and_owner_completed_from_the_catalogue(tmp_path, qgis_app):
    """A service layer without licence facts of its own gets them from the user's catalogue index."""
    from dtfl_plugin.catalogue.entry import Entry
    from dtfl_plugin.catalogue.index import CatalogueIndex, default_index_path
    from dtfl_plugin.provenance.layer_props import LayerSource
    from dtfl_plugin.recipe.licences import licence_and_owner

    path = default_index_path()
    existed = path.exists()
    backup = path.read_bytes() if existed else None
    try:
        index = CatalogueIndex(path)
        entry = Entry(
            id="ngr-1:pand",
            title="BGT pand",
            service_type="WFS",
            service_url="https://service.example/bgt/wfs",
            name="pand",
            organisation="Kadaster",
            licence="CC0 1.0",
        )
        index.apply_harvest("recipe-test", [entry])
        index.close()
        assert licence_and_owner(LayerSource(record_id="ngr-1:pand")) == ("CC0 1.0", "Kadaster")
        assert licence_and_owner(None, "https://service.example/bgt/wfs", "pand") == ("CC0 1.0", "Kadaster")
        assert licence_and_owner(
            LayerSource(licence="own", organisation="mine"), "https://service.example/bgt/wfs", "pand"
        ) == ("own", "mine")
        assert licence_and_owner(None, "https://other.example/wfs", "x") == ("", "")
    finally:
        if existed:
            path.write_bytes(backup)
        else:
            path.unlink(missing_ok=True)
