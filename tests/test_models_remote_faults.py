"""What real servers do, through the sandbox's fault-injecting front before the real pygeoapi.

Throttling (429 + Retry-After), 201 bodies that differ by version and a missing Location,
404 on /results just after success, malformed JSON, timeouts, truncated answers and a server
that goes away mid-job: each gives a clear message, and nothing is half-written.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.sandbox


@pytest.fixture
def front(fault_front, processes_url):
    return fault_front(processes_url)


def _client(url, timeout_s=10.0):
    from dtfl_plugin.models.remote.client import ProcessesClient

    return ProcessesClient(url, timeout_s=timeout_s)


def _finished_job(processes_url) -> str:
    client = _client(processes_url)
    job = client.execute_async("scenario_slow", {"steps": 1, "step_seconds": 0})
    client.wait(job)
    return job.rsplit("/", 1)[1]


def test_throttling_is_retried_after_the_servers_delay(front, qgis_app):
    front.add_rule(r"/execution$", method="POST", status=429, retry_after=1, times=2)
    client = _client(front.url)
    job = client.execute_async("scenario_slow", {"steps": 1, "step_seconds": 0})
    assert job.startswith(front.url + "/jobs/")  # the Location header, rewritten by the front
    assert client.wait(job).status == "successful"
    hits = [r for r in front.requests if r[0] == "POST"]
    assert [r[2] for r in hits] == [0, 0, None]


def test_throttling_that_never_ends_is_a_clear_error(front, qgis_app):
    from dtfl_plugin.models.remote import client as client_module
    from dtfl_plugin.models.remote.client import RemoteModelError

    front.add_rule(r"/execution$", method="POST", status=429, retry_after=0)
    with pytest.raises(RemoteModelError, match="HTTP 429"):
        _client(front.url).execute_async("scenario_slow", {"steps": 1})
    assert len([r for r in front.requests if r[0] == "POST"]) == client_module.RETRIES + 1


@pytest.mark.parametrize("body_key", ["jobID", "id"])
def test_a_201_without_location_is_followed_through_its_body(front, processes_url, qgis_app, body_key):
    job_id = _finished_job(processes_url)
    front.add_rule(
        r"/execution$", method="POST", status=201, body=json.dumps({body_key: job_id}), content_type="application/json"
    )
    client = _client(front.url)
    job = client.execute_async("scenario_slow", {"steps": 1})
    assert job == f"{front.url}/jobs/{job_id}"
    status = client.wait(job)
    assert client.results(status).document["sweep"]["value"][0]["rain_mm"] == 20


def test_a_201_with_a_null_body_and_no_location_says_what_is_wrong(front, qgis_app):
    from dtfl_plugin.models.remote.client import RemoteModelError

    front.add_rule(r"/execution$", method="POST", status=201, body="null", content_type="application/json")
    with pytest.raises(RemoteModelError, match="without giving a job to follow"):
        _client(front.url).execute_async("scenario_slow", {"steps": 1})


def test_results_404_just_after_success_are_retried(front, processes_url, qgis_app):
    job_id = _finished_job(processes_url)
    front.add_rule(r"/results", status=404, times=2)
    client = _client(front.url)
    status = client.wait(f"{front.url}/jobs/{job_id}")
    assert client.results(status).document["sweep"]["value"]
    assert [r[2] for r in front.requests if "/results" in r[1]] == [0, 0, None]


def _run_slow(alg_registry, tmp_path, **extra):
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback, QgsProject

    alg = alg_registry.createAlgorithmById("dtfl:remote_faulty_scenario_slow")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    params = {"steps": 2, "step_seconds": 0.2, "fail_at": 0, "sweep": str(tmp_path / "sweep.json"), **extra}
    return alg.run(params, context, QgsProcessingFeedback(), {}, False)


@pytest.fixture
def faulty_server(front, processing_ready):
    """The front configured as server "faulty": algorithms built from its (clean) descriptions."""
    from dtfl_plugin import settings
    from dtfl_plugin.models.remote import cache, servers

    server = servers.Server(name="faulty", url=front.url, max_jobs=4)
    servers.save(server)
    cache.refresh(server)
    settings.set_int(settings.REMOTE_TIMEOUT_KEY, 1)
    processing_ready.providerById("dtfl").refreshAlgorithms()
    yield front
    settings.remove(settings.REMOTE_TIMEOUT_KEY)
    servers.remove("faulty")
    cache.cache_path("faulty").unlink(missing_ok=True)
    processing_ready.providerById("dtfl").refreshAlgorithms()


@pytest.mark.parametrize(
    "rule, message",
    [
        (
            {"path": r"/jobs/[^/]+$", "method": "GET", "body": "{not json", "content_type": "application/json"},
            "not valid JSON",
        ),
        ({"path": r"/results", "truncate": 20}, "not valid JSON|Cannot reach|failed"),
        ({"path": r"/jobs/[^/]+$", "method": "GET", "drop": True}, "Lost contact with the server"),
        ({"path": r"/jobs/[^/]+$", "method": "GET", "delay": 3}, "Lost contact with the server.*did not answer"),
    ],
    ids=["malformed-status", "truncated-results", "server-gone", "timeout"],
)
def test_a_broken_answer_fails_clearly_and_writes_nothing(faulty_server, processing_ready, tmp_path, rule, message):
    from qgis.core import QgsProcessingException

    from dtfl_plugin.provenance.store import read_log

    faulty_server.add_rule(**rule)
    with pytest.raises(QgsProcessingException, match=message):
        _run_slow(processing_ready, tmp_path)
    assert list(tmp_path.iterdir()) == []
    last = read_log()[-1]
    assert last.algorithm_id == "dtfl:remote_faulty_scenario_slow" and last.status == "failed"
    assert last.job_url.startswith(faulty_server.url + "/jobs/")  # the user can still find the job


def test_a_healthy_front_runs_the_algorithm(faulty_server, processing_ready, tmp_path):
    results, ok = _run_slow(processing_ready, tmp_path)
    assert ok and json.loads((tmp_path / "sweep.json").read_text())[1]["rain_mm"] == 40


def test_loading_the_provider_sends_no_request(faulty_server, processing_ready):
    """QGIS and qgis_process start offline: remote algorithms come from the cache only."""
    before = len(faulty_server.requests)
    processing_ready.providerById("dtfl").refreshAlgorithms()
    assert processing_ready.algorithmById("dtfl:remote_faulty_scenario_slow") is not None
    assert len(faulty_server.requests) == before
