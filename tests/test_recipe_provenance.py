"""Lineage and PROV-JSON as plain data: chains through runs, by path, by recipe-relative path, by hash."""

from __future__ import annotations

from dtfl_plugin.provenance.layer_props import LayerSource
from dtfl_plugin.provenance.lineage import lineage_of
from dtfl_plugin.provenance.prov import export_prov
from dtfl_plugin.provenance.record import InputRef, OutputRef, RunRecord


def _runs() -> list[RunRecord]:
    clip = RunRecord(
        "gdal:cliprasterbyextent",
        "3.22",
        {"PROJWIN": "1,2,3,4 [EPSG:28992]"},
        started="2026-11-28T10:00:00+00:00",
        user="ann",
    )
    clip.inputs = [InputRef("INPUT", "file", "data/dem.tif", "a" * 64, 10)]
    clip.outputs = [OutputRef("OUTPUT", "data/001-output.tif", "b" * 64, 5)]
    flood = RunRecord(
        "dtfl:bathtub_flooding",
        "0.1.0",
        {"RAIN_MM": 70.0, "DEM": "data/001-output.tif"},
        started="2026-11-28T10:01:00+00:00",
        user="ann",
    )
    flood.inputs = [
        InputRef("DEM", "file", "data/001-output.tif", "b" * 64, 5),
        InputRef("BUILDINGS", "service", "https://example.org/wfs?typename=pand", read_at="2026-11-28T09:00:00+00:00"),
    ]
    flood.outputs = [OutputRef("OUTPUT_DEPTH", "data/003-depth.tif", "c" * 64, 7)]
    unrelated = RunRecord("native:buffer", "3.22", {}, started="2026-11-28T10:02:00+00:00")
    unrelated.outputs = [OutputRef("OUTPUT", "data/other.gpkg", "d" * 64, 1)]
    return [clip, flood, unrelated]


def test_chain_from_an_unpacked_recipe_layer():
    graph = lineage_of("depth", "/home/u/recipes/r1/data/003-depth.tif", _runs(), hash_file=False)
    assert [r.algorithm_id for r in graph.runs] == ["gdal:cliprasterbyextent", "dtfl:bathtub_flooding"]
    kinds = sorted(n.kind for n in graph.nodes.values())
    assert kinds == ["file", "file", "layer", "run", "run", "service"]
    flood = next(
        n for n in graph.nodes.values() if n.kind == "run" and n.details["algorithm"] == "dtfl:bathtub_flooding"
    )
    assert flood.details["parameters"]["RAIN_MM"] == 70.0
    into_flood = {e.label for e in graph.inputs_of(flood.id)}
    assert into_flood == {"DEM", "BUILDINGS"}
    service = next(n for n in graph.nodes.values() if n.kind == "service")
    assert service.details["read_at"] == "2026-11-28T09:00:00+00:00"


def test_hash_match_and_no_lineage():
    runs = _runs()
    runs[1].outputs[0].location = "/elsewhere/moved.tif"
    graph = lineage_of("depth", "/tmp/nowhere.tif", runs, hash_file=False)
    assert graph.runs == [] and [n.kind for n in graph.nodes.values()] == ["layer", "file"]
    source = LayerSource(
        title="BGT pand",
        service_url="https://example.org/wfs",
        licence="CC0-1.0",
        organisation="Kadaster",
        loaded_at="t",
    )
    graph = lineage_of("pand", "https://example.org/wfs", runs, source)
    service = graph.nodes["service:https://example.org/wfs"]
    assert service.details["organisation"] == "Kadaster" and service.details["licence"] == "CC0-1.0"


def test_prov_json_shape():
    prov = export_prov(_runs()[:2], "urn:uuid:r1")
    assert set(prov) >= {"prefix", "entity", "activity", "agent", "used", "wasGeneratedBy", "wasAssociatedWith"}
    assert len(prov["activity"]) == 2
    # the clip's output and the flood's input are one entity (same SHA-256)
    gen = {g["prov:entity"] for g in prov["wasGeneratedBy"].values()}
    used = {u["prov:entity"] for u in prov["used"].values()}
    assert "sha256:" + "b" * 64 in gen & used
    agents = {a["prov:agent"] for a in prov["wasAssociatedWith"].values()}
    assert {"person:ann", "alg:gdal_cliprasterbyextent", "alg:dtfl_bathtub_flooding"} <= agents
    activity = next(iter(prov["activity"].values()))  # the clip, recorded first
    assert activity["dtfl:recipe"] == "urn:uuid:r1" and activity["prov:startTime"].startswith("2026-11-28T10:00")
