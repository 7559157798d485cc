"""Remote models against the sandbox's real pygeoapi (0.21): refresh, run, progress, failure, cancel."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.fixtures.models_remote import local_bathtub, server_jobs, wait_until

pytestmark = pytest.mark.sandbox


def _dem(shared_data: Path) -> Path:
    return shared_data / "3d" / "derived" / "ahn3_delft_dtm_1m_filled.tif"


def _context():
    from qgis.core import QgsProcessingContext, QgsProject

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    return context


def test_refresh_lists_the_server_processes_as_algorithms(remote_server, processing_ready):
    import processing

    from dtfl_plugin.models.remote import cache

    result = processing.run("dtfl:remote_refresh", {"SERVER": "sandbox"})
    ids = json.loads(result["PROCESSES"])
    assert {"dtfl:remote_sandbox_bathtub", "dtfl:remote_sandbox_scenario_slow"} <= set(ids)
    assert result["COUNT"] == len(ids)
    assert processing_ready.algorithmById("dtfl:remote_sandbox_bathtub") is not None
    assert "bathtub" in cache.load("sandbox")["processes"]


def test_remote_bathtub_gives_the_local_model_numbers_and_is_recorded(remote_server, shared_data, tmp_path):
    import numpy as np
    import processing
    from osgeo import gdal
    from qgis.core import QgsProject, QgsVectorLayer

    from dtfl_plugin.provenance.record import sha256_file
    from dtfl_plugin.provenance.store import load_runs

    dem = _dem(shared_data)
    out = {
        "depth": str(tmp_path / "depth.tif"),
        "depressions": str(tmp_path / "dep.gpkg"),
        "summary": str(tmp_path / "s.json"),
    }
    before = len(load_runs(QgsProject.instance()))
    result = processing.run("dtfl:remote_sandbox_bathtub", {"dem": str(dem), "event": "T250", "loss_mm": 10, **out})
    assert result["JOB_URL"].startswith(remote_server.url + "/jobs/")

    remote_depth = gdal.Open(out["depth"]).ReadAsArray()
    local, expected = local_bathtub(dem, 90.0, 10.0)
    assert remote_depth.shape == expected.shape
    assert np.allclose(remote_depth, expected, atol=1e-6) and remote_depth.max() > 0.05
    layer = QgsVectorLayer(out["depressions"], "dep")
    assert layer.isValid() and layer.crs().authid() == "EPSG:28992"
    assert layer.featureCount() == len(local.table)
    summary = json.loads(Path(out["summary"]).read_text())
    assert summary["stored_m3"] == pytest.approx(local.stored_m3)

    runs = load_runs(QgsProject.instance())
    assert len(runs) == before + 1
    run = runs[-1]
    assert run.algorithm_id == "dtfl:remote_sandbox_bathtub" and run.status == "completed"
    assert run.job_url == result["JOB_URL"] and run.server_url == remote_server.url
    assert run.algorithm_version == "1.0.0"  # the server process's version
    assert [(i.role, i.sha256) for i in run.inputs] == [("dem", sha256_file(dem))]
    assert {o.name: o.sha256 for o in run.outputs} == {k: sha256_file(v) for k, v in out.items()}
    assert run.parameters["event"] == "T250" and run.started and run.ended and run.user


def test_progress_and_server_messages_reach_the_feedback(remote_server, processing_ready, tmp_path):
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.infos, self.progress = [], []
            self.progressChanged.connect(self.progress.append)

        def pushInfo(self, info):  # noqa: N802
            self.infos.append(info)
            super().pushInfo(info)

    alg = processing_ready.createAlgorithmById("dtfl:remote_sandbox_scenario_slow")
    feedback = Recorder()
    params = {"steps": 4, "step_seconds": 0.4, "fail_at": 0, "sweep": str(tmp_path / "sweep.json")}
    results, ok = alg.run(params, _context(), feedback)
    assert ok, feedback.infos
    assert any(0 < p < 100 for p in feedback.progress), feedback.progress  # real intermediate progress
    assert any(re.search(r"running: step \d of 4", m) for m in feedback.infos), feedback.infos
    sweep = json.loads(Path(results["sweep"]).read_text())
    assert [row["rain_mm"] for row in sweep] == [20, 40, 60, 80]


def test_results_before_completion_are_404_and_the_client_waits(remote_server):
    from dtfl_plugin.errors import NetError
    from dtfl_plugin.models.remote.client import ProcessesClient
    from dtfl_plugin.net import get

    client = ProcessesClient(remote_server.url)
    job = client.execute_async("scenario_slow", {"steps": 2, "step_seconds": 0.5})
    with pytest.raises(NetError) as err:
        get(job + "/results", headers={"Accept": "application/json"})
    assert err.value.status == 404
    status = client.wait(job)
    assert status.status == "successful"
    assert len(client.results(status).document["sweep"]["value"]) == 2


def test_a_failed_job_reports_the_server_reason_and_writes_nothing(remote_server, processing_ready, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    from dtfl_plugin.provenance.store import read_log

    alg = processing_ready.createAlgorithmById("dtfl:remote_sandbox_scenario_slow")
    target = tmp_path / "sweep.json"
    with pytest.raises(QgsProcessingException, match="deliberate failure at step 2"):
        alg.run(
            {"steps": 3, "step_seconds": 0.1, "fail_at": 2, "sweep": str(target)},
            _context(),
            QgsProcessingFeedback(),
            {},
            False,
        )
    assert not target.exists() and list(tmp_path.iterdir()) == []
    last = read_log()[-1]
    assert last.status == "failed" and "deliberate failure" in last.error and last.job_url.startswith(remote_server.url)


def test_cancel_dismisses_the_job_on_the_server(remote_server, processing_ready, tmp_path):
    from qgis.core import QgsApplication, QgsProcessingAlgRunnerTask, QgsProcessingFeedback
    from qgis.PyQt.QtCore import QCoreApplication

    from dtfl_plugin.provenance.store import read_log

    alg = processing_ready.createAlgorithmById("dtfl:remote_sandbox_scenario_slow")
    target = tmp_path / "sweep.json"
    context, feedback = _context(), QgsProcessingFeedback()
    params = {"steps": 30, "step_seconds": 0.5, "fail_at": 0, "sweep": str(target)}
    task = QgsProcessingAlgRunnerTask(alg, params, context, feedback)
    done = []
    task.executed.connect(lambda ok, res: done.append(ok))
    QgsApplication.taskManager().addTask(task)
    start = time.monotonic()
    while not any("Job submitted" in str(feedback.textLog()) for _ in [0]) and time.monotonic() - start < 30:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    job_url = next(
        line.split(": ", 1)[1] for line in feedback.textLog().splitlines() if "Job submitted" in line
    ).strip()
    time.sleep(1.0)  # let the job start its steps
    feedback.cancel()
    while not done and time.monotonic() - start < 60:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    assert done == [False]
    assert time.monotonic() - start < 30  # 30 steps of 0.5 s were not waited for
    job_id = job_url.rsplit("/", 1)[1]
    # The job is gone (pygeoapi 0.21 removes dismissed jobs) and stops at its next step.
    assert wait_until(lambda: all(j["jobID"] != job_id for j in server_jobs(remote_server.url)), 10)
    assert not target.exists()
    last = read_log()[-1]
    assert last.status == "cancelled" and last.job_url == job_url


def test_configure_a_server_and_run_any_process_by_reference(processes_url, processing_ready, request, tmp_path):
    """dtfl:remote_server + dtfl:remote_execute: the DEM goes by reference (the sandbox's file server)."""
    import processing
    from osgeo import gdal

    from dtfl_plugin.models.remote import servers

    if os.environ.get("DTFL_TEST_PROCESSES_URL"):
        pytest.skip("the by-reference run needs the sandbox's file server, reachable from the sandbox's pygeoapi")
    files = request.getfixturevalue("sandbox").get("files")
    if not files:
        pytest.skip("the sandbox has no file server endpoint ('files')")
    dem_url = files.rstrip("/") + "/ahn/ahn3_delft_dtm_1m.cog.tif"
    saved = processing.run("dtfl:remote_server", {"NAME": "Water board", "URL": processes_url + "/", "MAX_JOBS": 3})
    try:
        assert {"name": "Water board", "url": processes_url, "authcfg": "", "max_jobs": 3} in json.loads(
            saved["SERVERS"]
        )
        assert servers.get("water_board").max_jobs == 3
        inputs = {"dem": {"href": dem_url, "type": "image/tiff; application=geotiff"}, "event": "T100", "loss_mm": 5}
        result = processing.run(
            "dtfl:remote_execute",
            {
                "SERVER": "Water board",
                "PROCESS": "bathtub",
                "INPUTS": json.dumps(inputs),
                "OUTPUT": str(tmp_path / "out"),
            },
        )
        names = sorted(Path(p).name for p in json.loads(result["FILES"]))
        assert names == ["depressions.geojson", "depth.tif", "summary.json"]
        assert gdal.Open(str(tmp_path / "out" / "depth.tif")).RasterXSize > 0
        assert json.loads((tmp_path / "out" / "summary.json").read_text())["rain_mm"] == 70
        assert result["JOB_URL"].startswith(processes_url + "/jobs/")
    finally:
        processing.run("dtfl:remote_server", {"NAME": "Water board", "REMOVE": True})
    assert all(s.name != "Water board" for s in servers.configured())


def test_an_unwritable_destination_fails_clearly_after_the_job(remote_server, processing_ready, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    from dtfl_plugin.provenance.store import read_log

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    alg = processing_ready.createAlgorithmById("dtfl:remote_sandbox_scenario_slow")
    params = {"steps": 1, "step_seconds": 0, "fail_at": 0, "sweep": str(blocker / "sweep.json")}
    with pytest.raises(QgsProcessingException, match="Writing the results failed"):
        alg.run(params, _context(), QgsProcessingFeedback(), {}, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]
    last = read_log()[-1]
    assert last.status == "failed" and last.job_url.startswith(remote_server.url + "/jobs/")


def test_remote_outputs_chain_in_a_model(remote_server, processing_ready, shared_data):
    """A Graphical Modeler model: remote bathtub -> native:rasterlayerstatistics on its depth output."""
    import processing
    from qgis.core import (
        QgsProcessingModelAlgorithm,
        QgsProcessingModelChildAlgorithm,
        QgsProcessingModelChildParameterSource,
        QgsProcessingModelParameter,
        QgsProcessingParameterRasterLayer,
    )

    static = QgsProcessingModelChildParameterSource.fromStaticValue
    model = QgsProcessingModelAlgorithm("remote_chain", "tests")
    model.addModelParameter(QgsProcessingParameterRasterLayer("DEM", "DEM"), QgsProcessingModelParameter("DEM"))
    remote = QgsProcessingModelChildAlgorithm("dtfl:remote_sandbox_bathtub")
    remote.setChildId("remote")
    remote.addParameterSources("dem", [QgsProcessingModelChildParameterSource.fromModelParameter("DEM")])
    remote.addParameterSources("event", [static("T1000")])
    remote.addParameterSources("loss_mm", [static(0)])
    model.addChildAlgorithm(remote)
    stats = QgsProcessingModelChildAlgorithm("native:rasterlayerstatistics")
    stats.setChildId("stats")
    stats.addParameterSources("INPUT", [QgsProcessingModelChildParameterSource.fromChildOutput("remote", "depth")])
    stats.addParameterSources("BAND", [static(1)])
    model.addChildAlgorithm(stats)
    assert model.dependsOnChildAlgorithms("stats") == {"remote"}

    results = processing.run(model, {"DEM": str(_dem(shared_data))})
    child = results["CHILD_RESULTS"]
    assert child["remote"]["JOB_URL"].startswith(remote_server.url + "/jobs/")
    assert 0.05 <= child["stats"]["MAX"] < 10  # metres of water from the remote run, read by a native algorithm


def test_landing_page_and_conformance(remote_server):
    from dtfl_plugin.models.remote.client import ProcessesClient

    client = ProcessesClient(remote_server.url)
    assert any(
        link.get("rel") == "http://www.opengis.net/def/rel/ogc/1.0/processes" for link in client.landing()["links"]
    )
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core" in client.conformance()
