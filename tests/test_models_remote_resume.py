"""A remote job still running when QGIS closes is picked up at the next start: outputs fetched and recorded."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.fixtures.models_remote import server_jobs

pytestmark = pytest.mark.sandbox


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_job_running_at_close_is_fetched_and_recorded_at_next_start(remote_server, processing_ready, tmp_path):
    from qgis.core import (
        QgsApplication,
        QgsProcessingAlgRunnerTask,
        QgsProcessingContext,
        QgsProcessingFeedback,
        QgsProject,
    )
    from qgis.PyQt import sip
    from qgis.PyQt.QtCore import QCoreApplication, QEvent

    from dtfl_plugin.models.remote import pending
    from dtfl_plugin.provenance.store import load_runs, read_log

    for old in pending.folder().glob("*.json"):
        old.unlink()
    alg = processing_ready.createAlgorithmById("dtfl:remote_sandbox_scenario_slow")
    target = tmp_path / "sweep.json"
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    context.setProject(QgsProject.instance())
    task = QgsProcessingAlgRunnerTask(alg, {"steps": 8, "step_seconds": 0.5, "fail_at": 0, "sweep": str(target)}, context, feedback)  # fmt: skip
    done = []
    task.executed.connect(lambda ok, res: done.append(ok))
    QgsApplication.taskManager().addTask(task)
    start = time.monotonic()
    while not list(pending.folder().glob("*.json")) and time.monotonic() - start < 30:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    files = list(pending.folder().glob("*.json"))
    assert len(files) == 1
    pending.set_shutting_down(True)  # what the main window's close event sets before QGIS cancels its tasks
    try:
        feedback.cancel()
        while not done and time.monotonic() - start < 60:
            QCoreApplication.processEvents()
            time.sleep(0.05)
    finally:
        pending.set_shutting_down(False)
    assert done == [False] and not target.exists()
    # The finished task is deleted later, on the main thread; let that happen before the resume's worker thread
    # makes requests. Deleting it calls its feedback's (Python-wrapped) disconnectNotify under a Qt signal-slot
    # lock and then needs the GIL, while a worker creating a network reply holds the GIL and wants a lock from the
    # same pool: a deadlock that stalled one CI run here (both stacks in docs/notes/2026-12-04/session-4-lead.md).
    while not sip.isdeleted(task) and time.monotonic() - start < 60:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
        time.sleep(0.01)
    assert sip.isdeleted(task)
    entry = json.loads(files[0].read_text())
    job_id = entry["job_url"].rsplit("/", 1)[1]
    assert any(j["jobID"] == job_id for j in server_jobs(remote_server.url))  # kept running, not dismissed

    entry["pid"] = _dead_pid()  # the next start: the session that submitted it is gone
    files[0].write_text(json.dumps(entry))
    assert pending.orphaned() == files
    reports = []
    runs_before = len(load_runs(QgsProject.instance()))
    resume = pending.start(reports.append)
    while not reports and time.monotonic() - start < 120:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    assert resume is not None and reports and reports[0][0].status == "completed", reports
    sweep = json.loads(target.read_text())
    assert len(sweep) == 8  # the outputs the first session asked for, where it asked for them
    record = read_log()[-1]
    assert record.status == "completed" and record.job_url == entry["job_url"] and record.outputs[0].sha256
    assert record.id == entry["record"]["id"]  # the same run, now finished
    assert [r.id for r in read_log()].count(record.id) == 1  # one entry whose state changed, not two
    assert len(load_runs(QgsProject.instance())) == runs_before + 1
    assert not files[0].exists()


def test_run_log_keeps_one_entry_per_run_in_its_latest_state(qgis_app):
    from dtfl_plugin.provenance.record import RunRecord
    from dtfl_plugin.provenance.store import append_log, read_log

    first = RunRecord("dtfl:remote_sandbox_scenario_slow", "1", status="failed", error="QGIS closed")
    other = RunRecord("dtfl:bathtub_flooding", "1", status="completed")
    append_log(first)
    append_log(other)
    first.status, first.error = "completed", ""
    append_log(first)  # picked up and finished at the next start: same id
    runs = read_log()
    assert [r.id for r in runs].count(first.id) == 1
    assert runs[-1].id == first.id and runs[-1].status == "completed" and not runs[-1].error
    assert runs[-2].id == other.id
