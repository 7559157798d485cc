"""Batch: a scenario matrix (3 rain events x 3 loss values) locally and remotely, each run recorded;
concurrent remote runs stay within the server's job limit."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from tests.fixtures.models_remote import server_jobs

pytestmark = pytest.mark.sandbox

EVENTS = ["T100", "T250", "T1000"]
LOSSES = [0.0, 10.0, 20.0]


def test_scenario_matrix_runs_locally_and_remotely_and_every_run_is_recorded(remote_server, shared_data, tmp_path):
    import numpy as np
    import processing
    from osgeo import gdal
    from qgis.core import QgsProject

    from dtfl_plugin.provenance.store import load_runs

    dem = str(shared_data / "3d" / "derived" / "ahn3_delft_dtm_1m_filled.tif")
    before = len(load_runs(QgsProject.instance()))
    jobs = set()
    # The way Processing's batch dialog runs a batch: one processing.run per row.
    for i, (event, loss) in enumerate(itertools.product(EVENTS, LOSSES)):
        local = processing.run(
            "dtfl:bathtub_flooding",
            {
                "DEM": dem,
                "EVENT": EVENTS.index(event),
                "LOSS_MM": loss,
                "OUTPUT_DEPTH": str(tmp_path / f"local_{i}.tif"),
                "OUTPUT_DEPRESSIONS": str(tmp_path / f"local_{i}.gpkg"),
            },
        )
        remote = processing.run(
            "dtfl:remote_sandbox_bathtub",
            {
                "dem": dem,
                "event": event,
                "loss_mm": loss,
                "depth": str(tmp_path / f"remote_{i}.tif"),
                "depressions": str(tmp_path / f"remote_{i}.gpkg"),
                "summary": str(tmp_path / f"remote_{i}.json"),
            },
        )
        jobs.add(remote["JOB_URL"])
        a = gdal.Open(local["OUTPUT_DEPTH"]).ReadAsArray().astype("float64")
        b = gdal.Open(remote["depth"]).ReadAsArray().astype("float64")
        wet_a, wet_b = np.nan_to_num(np.where(a > 0, a, 0)), np.where(b > 0, b, 0)
        # same model code on both sides: the same water, cell for cell
        assert np.allclose(wet_a, wet_b, atol=1e-5), (event, loss, float(np.abs(wet_a - wet_b).max()))
    assert len(jobs) == 9
    runs = load_runs(QgsProject.instance())[before:]
    assert sorted(r.algorithm_id for r in runs) == ["dtfl:bathtub_flooding"] * 9 + ["dtfl:remote_sandbox_bathtub"] * 9
    remote_runs = [r for r in runs if r.job_url]
    assert {r.job_url for r in remote_runs} == jobs
    assert {(r.parameters["event"], r.parameters["loss_mm"]) for r in remote_runs} == set(
        itertools.product(EVENTS, LOSSES)
    )
    assert all(r.status == "completed" and all(o.sha256 for o in r.outputs) for r in runs)


def test_concurrent_remote_runs_stay_within_the_server_limit(remote_server, processing_ready, tmp_path):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    from dtfl_plugin.models.remote import servers

    assert remote_server.max_jobs == 2
    slots = servers.slots(remote_server)
    slots.peak = 0
    snapshots: list[set[str]] = []
    stop = threading.Event()

    def watch():  # the server's own view: which jobs are not final yet, sampled every 50 ms
        while not stop.is_set():
            snapshots.append(
                {j["jobID"] for j in server_jobs(remote_server.url) if j["status"] in ("accepted", "running")}
            )
            time.sleep(0.05)

    results: list = []

    def run(i: int) -> None:
        alg = processing_ready.createAlgorithmById("dtfl:remote_sandbox_scenario_slow")
        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        params = {"steps": 3, "step_seconds": 0.3, "fail_at": 0, "sweep": str(tmp_path / f"sweep_{i}.json")}
        results.append(alg.run(params, context, QgsProcessingFeedback()))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    stop.set()
    watcher.join(5)
    assert [ok for _, ok in results] == [True] * 5
    ours = {res["JOB_URL"].rsplit("/", 1)[1] for res, _ in results}
    assert len(ours) == 5
    peak_on_server = max(len(active & ours) for active in snapshots)  # other clients' jobs do not count
    assert slots.peak == 2  # runs did overlap, and never more than the limit
    assert 1 <= peak_on_server <= 2
    assert len(list(tmp_path.glob("sweep_*.json"))) == 5
