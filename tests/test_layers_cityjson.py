"""CityJSON reader (1.1, 2.0, CityJSONSeq), streaming, extent/LoD filters, and dtfl:cityjson_import."""

from __future__ import annotations

import io
import json
import struct
from collections import Counter

import pytest

from dtfl_plugin.layers.cityjson import CityJSONError, CityJSONReader, crs_from_reference
from dtfl_plugin.layers.cityjson_stream import JsonStream


@pytest.fixture(scope="module")
def cj(shared_data):
    return shared_data / "3d" / "cityjson"


def polygons(record) -> int:
    return struct.unpack("<BII", record.wkb[:9])[2]


def test_cityjson_2_lod22_semantics(cj):
    reader = CityJSONReader(cj / "3dbag_b2.city.json")
    records = list(reader)
    assert reader.header.version == "2.0" and reader.header.crs == "EPSG:7415"
    assert {(r.type, r.surface, r.surface_source, r.lod) for r in records} == {
        ("BuildingPart", s, "file", "2.2") for s in ("RoofSurface", "WallSurface", "GroundSurface")
    }
    assert all(r.parent.startswith("NL.IMBAG.Pand.") for r in records)
    roof = next(r for r in records if r.surface == "RoofSurface")
    assert -1 < roof.bbox[2] < 1 and 5 < roof.bbox[5] < 30  # NAP heights in metres after scale + translate
    assert 84990 < roof.bbox[0] < 85030 and 446530 < roof.bbox[1] < 446570


def test_sequence_equals_single_file(cj):
    single = sorted((r.id, r.surface, r.wkb) for r in CityJSONReader(cj / "3dbag_b2.city.json"))
    seq_reader = CityJSONReader(cj / "3dbag_b2.city.jsonl")
    assert seq_reader.sequence and seq_reader.header.crs == "EPSG:7415"
    assert sorted((r.id, r.surface, r.wkb) for r in seq_reader) == single


def test_cityjson_11_without_crs_and_buildingparts(cj):
    reader = CityJSONReader(cj / "DH_01_subs.city.json")
    records = list(reader)
    assert reader.header.version == "1.1" and reader.header.crs == ""  # the caller asks or defaults to EPSG:7415
    assert Counter(r.type for r in records)["BuildingPart"] == 24
    assert reader.stats.no_geometry == 3  # parent Buildings without own geometry


def test_multisurface_lod2_and_lod1_derived_surfaces(cj):
    rotterdam = list(CityJSONReader(cj / "rotterdam_subset.city.json"))
    assert {r.surface for r in rotterdam} == {"RoofSurface", "WallSurface", "GroundSurface"}
    delft = CityJSONReader(cj / "delft_3dfier.city.json")
    records = list(delft)
    assert delft.stats.objects == 570 and delft.stats.kept == 570
    buildings = [r for r in records if r.type == "Building"]
    assert {(r.surface, r.surface_source) for r in buildings} == {
        ("RoofSurface", "derived"),
        ("WallSurface", "derived"),
    }
    roofs = [r for r in buildings if r.surface == "RoofSurface"]
    assert len(roofs) == 160
    assert {r.surface for r in records if r.type == "Road"} == {""}


def test_extent_filter_and_lod_choice(cj):
    extent = (84900.0, 447450.0, 85000.0, 447550.0)
    reader = CityJSONReader(cj / "delft_3dfier.city.json", extent=extent)
    kept = list(reader)
    assert 0 < reader.stats.kept < 570 and reader.stats.outside == 570 - reader.stats.kept
    for record in kept:
        assert record.bbox[3] >= extent[0] and record.bbox[0] <= extent[2]
        assert record.bbox[4] >= extent[1] and record.bbox[1] <= extent[3]
    assert list(CityJSONReader(cj / "3dbag_b2.city.json", lod="1.2")) == []
    assert {r.lod for r in CityJSONReader(cj / "3dbag_b2.city.json", lod="2")} == {"2.2"}


def test_wkb_is_valid_multipolygonz(qgis_app, cj):
    from qgis.core import QgsGeometry, QgsWkbTypes

    record = next(iter(CityJSONReader(cj / "rotterdam_subset.city.json")))
    geometry = QgsGeometry()
    geometry.fromWkb(record.wkb)
    assert geometry.wkbType() == QgsWkbTypes.MultiPolygonZ
    assert geometry.constGet().numGeometries() == polygons(record)
    ring = geometry.constGet().geometryN(0).exteriorRing()
    assert ring.isClosed() and ring.zAt(0) != 0


def test_stream_skips_values_with_brackets_in_strings():
    text = '{"a": {"s": "}{][\\"x", "n": [1, {"b": "}"}]}, "vertices": [[1,2,3],[4,5,6]], "z": 7}'
    stream = JsonStream(io.StringIO(text), chunk_chars=3)  # tiny chunks: every boundary case
    seen = {}
    for key in stream.members():
        if key == "a":
            stream.skip()
        elif key == "vertices":
            seen[key] = stream.number_rows(3).tolist()
        else:
            seen[key] = stream.value()
    assert seen == {"vertices": [[1, 2, 3], [4, 5, 6]], "z": 7}


def test_damaged_files_raise_clear_errors(tmp_path):
    truncated = tmp_path / "cut.city.json"
    truncated.write_text('{"type": "CityJSON", "version": "2.0", "CityObjects": {"a": {"type": "Bui', encoding="utf-8")
    with pytest.raises(CityJSONError):
        list(CityJSONReader(truncated))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"type": "FeatureCollection", "features": [], "vertices": []}), encoding="utf-8")
    with pytest.raises(CityJSONError, match="not a CityJSON"):
        CityJSONReader(other)


def test_crs_references():
    assert crs_from_reference("https://www.opengis.net/def/crs/EPSG/0/7415") == "EPSG:7415"
    assert crs_from_reference("urn:ogc:def:crs:EPSG::28992") == "EPSG:28992"
    assert crs_from_reference("") == ""


_RSS_CHILD = """
import json, sys
import numpy
from dtfl_plugin.layers.cityjson import CityJSONReader


def peak_kb():
    # VmHWM belongs to this process image; ru_maxrss would include the parent's peak from before exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


base = peak_kb()
if sys.argv[1] == "ours":
    count = sum(1 for _ in CityJSONReader(sys.argv[2]))
else:
    with open(sys.argv[2], encoding="utf-8") as handle:
        count = len(json.load(handle)["CityObjects"])
print(json.dumps({"count": count, "growth_kb": peak_kb() - base}))
"""


def _rss_growth(mode: str, path) -> dict:
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, mode, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_memory_stays_bounded_on_a_large_file(tmp_path, cj):
    """A 10x replica (~14 MB): the streaming reader's peak memory growth is a fraction of json.load's."""
    from bench.bench_layers import replicate_cityjson

    big = replicate_cityjson(cj / "delft_3dfier.city.json", tmp_path / "big.city.json", copies=10)
    ours = _rss_growth("ours", big)
    baseline = _rss_growth("json", big)
    assert ours["count"] == 10 * 730 and baseline["count"] == 10 * 570
    assert ours["growth_kb"] < baseline["growth_kb"] / 4, (ours, baseline)


def test_cityjson_import_algorithm(processing_ready, tmp_path, cj):
    import processing
    from qgis.core import QgsVectorLayer

    out = tmp_path / "delft.gpkg"
    result = processing.run(
        "dtfl:cityjson_import",
        {
            "INPUT": str(cj / "delft_3dfier.city.json"),
            "EXTENT": "84900,85000,447450,447550 [EPSG:28992]",
            "LOD": "",
            "OUTPUT": str(out),
        },
    )
    layer = QgsVectorLayer(f"{out}|layername={out.stem}", "x", "ogr")
    if not layer.isValid():
        layer = QgsVectorLayer(str(out), "x", "ogr")
    assert layer.isValid() and layer.featureCount() == result["FEATURES"] > 0
    assert result["OBJECTS"] == 570
    # From the file's metadata (EPSG:7415, RD + NAP); GDAL 3.6 reads the GeoPackage back as its RD part.
    assert layer.crs().authid() in ("EPSG:7415", "EPSG:28992")
    assert {"id", "type", "lod", "surface", "surface_source", "parent", "attributes"} <= set(layer.fields().names())
    roofs = [f for f in layer.getFeatures() if f["surface"] == "RoofSurface"]
    assert roofs and all(f.geometry().constGet().is3D() for f in roofs)


def test_cityjson_import_fails_clearly_on_bad_input(processing_ready, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    bad = tmp_path / "bad.city.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(QgsProcessingException, match="CityJSON"):
        processing.run("dtfl:cityjson_import", {"INPUT": str(bad), "OUTPUT": str(tmp_path / "o.gpkg")})
    assert not (tmp_path / "o.gpkg").exists()
