"""A hostile or careless OGC API - Processes server: links to local files are never followed (job Location,
results link, result href), and a 1 GB result reaches its destination streamed, with flat memory.

The server is the sandbox's fault front answering fixed documents and generated bodies.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sandbox.fault import pattern

GB = 1024**3
MB = 1024**2


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("GEHEIM-7731")
    return path


def _client(front):
    from dtfl_plugin.models.remote.client import ProcessesClient

    return ProcessesClient(front.base, timeout_s=10, sleep=lambda s: None)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_job_location_at_a_local_file_is_refused(qgis_app, front, secret):
    from dtfl_plugin.models.remote.client import RemoteModelError

    front.add_rule(r"/execution$", method="POST", status=201, location=secret.as_uri())
    with pytest.raises(RemoteModelError) as err:
        _client(front).execute_async("bathtub", {})
    assert "not a web address" in str(err.value)


def test_results_link_at_a_local_file_is_refused(qgis_app, front, secret):
    from dtfl_plugin.models.remote.client import JobStatus, RemoteModelError

    status = JobStatus(
        url=front.base + "/jobs/1",
        status="successful",
        links=[{"rel": "results", "type": "application/json", "href": secret.as_uri()}],
    )
    with pytest.raises(RemoteModelError) as err:
        _client(front).results(status)
    assert "not a web address" in str(err.value) and "GEHEIM" not in str(err.value)
    assert front.requests == []


def test_result_href_at_a_local_file_is_not_copied(qgis_app, front, secret, tmp_path):
    from dtfl_plugin.models.remote.client import RemoteModelError, Results
    from dtfl_plugin.models.remote.mapping import Spec
    from dtfl_plugin.models.remote.outputs import write_folder, write_results

    out = tmp_path / "out"
    for href in (secret.as_uri(), "file:///etc/hostname"):
        results = Results(document={"depth": {"href": href, "type": "text/plain"}})
        with pytest.raises(RemoteModelError):
            write_folder(results, str(out), _client(front), front.base + "/jobs/1/results")
        with pytest.raises(RemoteModelError):
            spec = Spec(id="depth", name="DEPTH", kind="file")
            write_results(results, [spec], {"DEPTH": str(out / "depth.txt")}, _client(front), front.base)
    assert _files(out) == []


def test_a_redirect_of_a_result_to_a_local_file_is_not_followed(qgis_app, front, secret, tmp_path):
    from dtfl_plugin.models.remote.client import RemoteModelError, Results
    from dtfl_plugin.models.remote.outputs import write_folder

    front.add_rule(r"^/store/depth$", location=secret.as_uri())
    results = Results(document={"depth": {"href": "/store/depth"}})
    with pytest.raises(RemoteModelError) as err:
        write_folder(results, str(tmp_path / "out"), _client(front), front.base + "/jobs/1/results")
    assert "not a web address" in str(err.value)
    assert _files(tmp_path / "out") == []


def _rss() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


def _peak() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


@pytest.mark.parametrize("how", ["raw-body", "by-reference"])
def test_a_1gb_result_is_streamed_to_its_destination(qgis_app, front, tmp_path, how):
    from dtfl_plugin.models.remote.client import JobStatus, Results
    from dtfl_plugin.models.remote.outputs import write_folder

    client = _client(front)
    out = tmp_path / "out"
    before = _rss()
    Path("/proc/self/clear_refs").write_text("5")
    if how == "raw-body":
        front.add_rule(r"^/jobs/1/results$", size=GB)
        results = client.results(JobStatus(url=front.base + "/jobs/1", status="successful"))
        assert isinstance(results.raw, Path)
    else:
        front.add_rule(r"^/store/depth\.tif$", size=GB)
        results = Results(document={"depth": {"href": "/store/depth.tif", "type": "application/octet-stream"}})
    written = write_folder(results, str(out), client, front.base + "/jobs/1/results")
    grew = _peak() - before
    print(f"1 GB remote result ({how}): peak memory growth {grew / MB:.1f} MB")
    assert len(written) == 1 and Path(written[0]).stat().st_size == GB
    with open(written[0], "rb") as handle:
        handle.seek(GB - 64)
        assert handle.read() == pattern(GB - 64, 64)
    assert grew < 64 * MB, f"memory grew by {grew / MB:.0f} MB for a 1 GB result"
    assert _files(out) == [Path(written[0]).name]  # no part or scratch file left
    if how == "raw-body":
        assert not results.raw.exists()


def test_json_results_document_still_parsed(qgis_app, front):
    from dtfl_plugin.models.remote.client import JobStatus

    doc = {"outputs": [{"volume": {"value": 12.5}}]}
    front.add_rule(r"^/jobs/2/results$", body=json.dumps(doc), content_type="application/json")
    results = _client(front).results(JobStatus(url=front.base + "/jobs/2", status="successful"))
    assert results.document == {"volume": {"value": 12.5}} and results.raw is None
