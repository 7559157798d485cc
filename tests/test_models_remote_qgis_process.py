"""Remote models from qgis_process: configure, refresh, list offline, run — the packaged plugin in a fresh profile."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.qgis_process import profile_runner

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def qgis_process_remote(tmp_path_factory, packaged_zip):
    return profile_runner(tmp_path_factory.mktemp("qgis-process-remote"), packaged_zip)


def _json(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)


def test_configure_refresh_list_offline_and_run(qgis_process_remote, processes_url, fault_front, shared_data, tmp_path):
    run = qgis_process_remote
    front = fault_front(processes_url)
    _json(run("--json", "run", "dtfl:remote_server", "--", "NAME=sandbox", f"URL={front.url}", "MAX_JOBS=2"))
    refreshed = _json(run("--json", "run", "dtfl:remote_refresh", "--", "SERVER=sandbox"))
    assert "dtfl:remote_sandbox_bathtub" in json.loads(refreshed["results"]["PROCESSES"])

    # Start-up is offline: with the server unreachable the algorithms are still listed, and nothing was asked.
    before = len(front.requests)
    front.add_rule(r".", drop=True)
    start = time.monotonic()
    listing = _json(run("--json", "list"))
    assert "dtfl:remote_sandbox_bathtub" in listing["providers"]["dtfl"]["algorithms"]
    assert time.monotonic() - start < 60 and len(front.requests) == before
    front.clear_rules()

    out = tmp_path / "depth.tif"
    result = _json(
        run(
            "--json",
            "run",
            "dtfl:remote_sandbox_bathtub",
            "--",
            f"dem={shared_data / '3d' / 'derived' / 'ahn3_delft_dtm_1m_filled.tif'}",
            "event=T250",
            "loss_mm=10",
            f"depth={out}",
            f"depressions={tmp_path / 'dep.gpkg'}",
            f"summary={tmp_path / 'summary.json'}",
        )
    )
    assert result["results"]["JOB_URL"].startswith(front.url + "/jobs/")
    assert out.is_file() and json.loads((tmp_path / "summary.json").read_text())["rain_mm"] == 90
