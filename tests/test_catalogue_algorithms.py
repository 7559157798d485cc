"""dtfl:catalogue_import and dtfl:catalogue_search through Processing, as a script or qgis_process would."""

from __future__ import annotations

import json

import pytest


def test_import_then_search(catalogue_processing, shared_data, tmp_path):
    import processing

    index = tmp_path / "cat.sqlite"
    result = processing.run(
        "dtfl:catalogue_import",
        {"SOURCE": str(shared_data / "catalogue/pdok-layers/layers-pdok-2022.json"), "KIND": 0, "INDEX": str(index)},
    )
    assert result["RECORDS"] == 76 and result["NEW"] == 76 and result["INDEX_PATH"] == str(index)
    result = processing.run(
        "dtfl:catalogue_import",
        {"SOURCE": str(shared_data / "catalogue/iso19139/ngr_record_with_anchors.xml"), "KIND": 1, "INDEX": str(index)},
    )
    assert result["RECORDS"] == 3

    out = tmp_path / "hits.json"
    result = processing.run(
        "dtfl:catalogue_search", {"QUERY": "kadastrale kaart", "LIMIT": 5, "INDEX": str(index), "OUTPUT": str(out)}
    )
    hits = json.loads(out.read_text("utf-8"))
    assert result["COUNT"] == len(hits) and 0 < len(hits) <= 5
    for key in ("id", "title", "name", "service_url", "service_type", "abstract", "organisation"):
        assert key in hits[0]
    assert hits[0]["name"] == "Kadastralekaart"
    # One hit per layer: its services are listed with it, the one the hit names first.
    first = hits[0]["services"][0]
    assert (first["service_url"], first["name"], first["id"]) == (
        hits[0]["service_url"],
        "Kadastralekaart",
        hits[0]["id"],
    )
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_import_errors_are_processing_errors(catalogue_processing, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "x", "service_url"')
    with pytest.raises(QgsProcessingException, match="not valid JSON"):
        processing.run("dtfl:catalogue_import", {"SOURCE": str(bad), "KIND": 0, "INDEX": str(tmp_path / "i.sqlite")})
    with pytest.raises(QgsProcessingException, match="does not exist"):
        processing.run("dtfl:catalogue_import", {"SOURCE": str(tmp_path / "nope.json"), "KIND": 0})


def test_runs_are_recorded(catalogue_processing, shared_data, tmp_path):
    import processing
    from qgis.core import QgsProject

    from dtfl_plugin.provenance.store import load_runs

    before = len(load_runs(QgsProject.instance()))
    processing.run(
        "dtfl:catalogue_import",
        {
            "SOURCE": str(shared_data / "catalogue/pdok-layers/layers-pdok-current-sample.json"),
            "KIND": 0,
            "INDEX": str(tmp_path / "r.sqlite"),
        },
    )
    runs = load_runs(QgsProject.instance())
    assert len(runs) == before + 1 and runs[-1].algorithm_id == "dtfl:catalogue_import"
    assert runs[-1].status == "completed" and runs[-1].outputs


def test_import_reads_the_pre_2022_layer_list_shape(catalogue_processing, shared_data, tmp_path):
    """The PDOK services plugin's pdok.json of 2021 ({"services": [{url, type, layers}]}): every record is read,
    the per-style WMS duplicates become one entry each."""
    import processing

    source = shared_data / "catalogue/eval/pdok-layers-2021.json"
    if not source.is_file():
        pytest.skip(f"{source} is absent")
    index = tmp_path / "old.sqlite"
    result = processing.run("dtfl:catalogue_import", {"SOURCE": str(source), "KIND": 0, "INDEX": str(index)})
    assert result["RECORDS"] == result["NEW"] == 4867 and result["CHANGED"] == 0
    out = tmp_path / "hits.json"
    processing.run("dtfl:catalogue_search", {"QUERY": "wfs", "LIMIT": 3, "INDEX": str(index), "OUTPUT": str(out)})
    hits = json.loads(out.read_text("utf-8"))
    assert len(hits) == 3 and all(h["service_type"] == "WFS" and h["service_url"].startswith("http") for h in hits)
