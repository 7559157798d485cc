"""Runs of other Processing algorithms are recorded where QGIS lets us observe them.

QGIS 3.22: the Processing dialog's processing.log line (written before the run).
QGIS >= 3.24: the history provider registry's entryAdded/entryUpdated signals.
Both are driven here with what QGIS itself writes, around a real native:buffer run.
"""

from __future__ import annotations

import time

import pytest


def _buffer_params(shared_data, tmp_path):
    return {
        "INPUT": str(shared_data / "3d" / "bgt" / "bgt_pand_delft.geojson"),
        "DISTANCE": 2.0,
        "SEGMENTS": 5,
        "END_CAP_STYLE": 0,
        "JOIN_STYLE": 0,
        "MITER_LIMIT": 2,
        "DISSOLVE": False,
        "OUTPUT": str(tmp_path / "buffered.gpkg"),
    }


def _wait_for(predicate, timeout_s=20.0):
    from qgis.PyQt.QtCore import QCoreApplication

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _settle(project, before):
    """Wait for the buffer run to be recorded, then a little longer: the dtfl run must not be recorded too."""
    from dtfl_plugin.provenance.store import load_runs

    assert _wait_for(lambda: len(load_runs(project)) > before)
    _wait_for(lambda: False, 0.5)


def _only_the_buffer_run(project, before):
    from dtfl_plugin.provenance.store import load_runs

    runs = load_runs(project)[before:]
    assert [r.algorithm_id for r in runs] == ["native:buffer"]
    return runs[0]


def test_qgis_322_processing_log_runs_are_recorded(processing_ready, shared_data, tmp_path):
    try:
        from processing.core.ProcessingLog import ProcessingLog
    except ImportError:
        pytest.skip("this QGIS (>= 3.24) has no processing.log: runs are observed through the history registry")
    import processing
    from qgis.core import QgsProcessingContext, QgsProject

    from dtfl_plugin.gui.provenance_observer import ProvenanceObserverFeature
    from dtfl_plugin.provenance.record import sha256_file
    from dtfl_plugin.provenance.store import load_runs

    project = QgsProject.instance()
    before = len(load_runs(project))
    feature = ProvenanceObserverFeature(None, None)
    feature.watch_log(ProcessingLog.logFilename())
    try:
        params = _buffer_params(shared_data, tmp_path)
        alg = processing_ready.algorithmById("native:buffer")
        # What the 3.22 Processing dialog does: log the command, then run.
        ProcessingLog.addToLog(alg.asPythonCommand(params, QgsProcessingContext()))
        processing.run("native:buffer", params)
        # our own algorithms record themselves and are not logged twice
        ProcessingLog.addToLog('processing.run("dtfl:remote_refresh", {"SERVER": ""})')
        _settle(project, before)
    finally:
        feature.unload()
    run = _only_the_buffer_run(project, before)
    assert run.status == "started" and "3.22" in run.error
    assert run.parameters["DISTANCE"] == 2.0 and run.parameters["OUTPUT"] == params["OUTPUT"]
    assert [(i.role, i.sha256) for i in run.inputs] == [("INPUT", sha256_file(params["INPUT"]))]


def test_history_registry_runs_are_recorded(processing_ready, shared_data, tmp_path):
    try:
        from qgis.gui import QgsHistoryProviderRegistry
    except ImportError:
        pytest.skip("QGIS 3.22 has no history provider registry (added in 3.24); see the processing.log test")
    import processing
    from qgis.core import QgsProject

    from dtfl_plugin.gui.provenance_observer import ProvenanceObserverFeature
    from dtfl_plugin.provenance.record import sha256_file
    from dtfl_plugin.provenance.store import load_runs

    registry = QgsHistoryProviderRegistry(None, True)  # in-memory history, as QGIS's own tests do
    project = QgsProject.instance()
    before = len(load_runs(project))
    feature = ProvenanceObserverFeature(None, None)
    feature.observe_registry(registry, interval_ms=50)
    try:
        params = _buffer_params(shared_data, tmp_path)
        details = {"algorithm_id": "native:buffer", "parameters": params, "python_command": "processing.run(...)"}
        entry_id, ok = registry.addEntry("processing", details)  # what the dialog does before the run
        assert ok
        _wait_for(lambda: False, 0.3)  # a poll while the run is "running": nothing recorded yet
        assert len(load_runs(project)) == before
        results = processing.run("native:buffer", params)
        registry.updateEntry(entry_id, {**details, "results": {"OUTPUT": results["OUTPUT"]}, "log": ""})
        own_id, _ = registry.addEntry("processing", {"algorithm_id": "dtfl:remote_refresh", "parameters": {}})
        registry.updateEntry(own_id, {"algorithm_id": "dtfl:remote_refresh", "parameters": {}, "results": {"COUNT": 0}})
        _settle(project, before)
    finally:
        feature.unload()
    run = _only_the_buffer_run(project, before)
    assert run.status == "completed"
    assert [(i.role, i.sha256) for i in run.inputs] == [("INPUT", sha256_file(params["INPUT"]))]
    assert [(o.name, o.sha256) for o in run.outputs] == [("OUTPUT", sha256_file(params["OUTPUT"]))]


def test_log_line_parsing_keeps_non_literal_values(qgis_app):
    from dtfl_plugin.provenance.observe import parse_log_line

    line = (
        "ALGORITHM|~|2026-11-28 14:00:00|~|processing.run(\"native:buffer\", {'INPUT':'/x.gpkg|layername=a',"
        "'DISTANCE':QgsProperty.fromExpression('\"w\" * 2'),'OUTPUT':'TEMPORARY_OUTPUT'})"
    )
    when, alg_id, params = parse_log_line(line)
    assert alg_id == "native:buffer" and when.startswith("2026-11-28")
    assert params["INPUT"] == "/x.gpkg|layername=a" and params["OUTPUT"] == "TEMPORARY_OUTPUT"
    assert "fromExpression" in params["DISTANCE"]
    assert parse_log_line("Started logging at 2026-11-28") is None
