"""dtfl:publish_web without a window: qgis_process with the packaged plugin publishes a saved twin."""

from __future__ import annotations

import json

import pytest

from tests.qgis_process import profile_runner


@pytest.fixture(scope="module")
def qgis_process(tmp_path_factory, packaged_zip):
    return profile_runner(tmp_path_factory.mktemp("qgis-process-publish"), packaged_zip)


def test_publish_with_qgis_process(qgis_process, publish_twin, tmp_path):
    site = tmp_path / "site"
    done = qgis_process("--json", "run", "dtfl:publish_web", "--", f"PROJECT={publish_twin.project_file}",
                        "LANGUAGE=1", "TITLE=Delft", f"OUTPUT={site}")  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(done.stdout)["results"]
    assert results["SCENARIOS"] == 3 and results["BUILDINGS"] > 100 and results["LAYERS"] >= 8
    html = (site / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Where does this come from?" in html
    # a project that does not exist: a clear message, no traceback, nothing written
    bad = qgis_process("--json", "run", "dtfl:publish_web", "--", f"PROJECT={tmp_path / 'none.qgs'}",
                       f"OUTPUT={tmp_path / 'bad'}")  # fmt: skip
    assert bad.returncode != 0 and "does not exist" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr and not (tmp_path / "bad").exists()
