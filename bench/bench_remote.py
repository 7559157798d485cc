#!/usr/bin/env python3
"""Remote-model overhead: our submit-poll-download cycle against the same requests issued directly.

Against the sandbox's pygeoapi (started here if none runs), for a fast process (scenario_slow with
one step and no pacing: the server computes for milliseconds). Per cycle:
  ours     ProcessesClient (net.py, QgsBlockingNetworkRequest): POST execute (Prefer: respond-async),
           follow Location, poll status with our schedule until successful, GET results, parse JSON;
  ours/alg the whole Processing algorithm dtfl:remote_<server>_scenario_slow (also encodes inputs,
           writes the result file atomically and records the run with hashes);
  baseline the same requests with plain http.client on one keep-alive connection, the same poll
           schedule (without jitter), the same JSON parsing.
Cycles alternate ours/baseline so server state and machine load hit both alike; medians are reported.
The server's own compute time (job finished - started) is reported in the note: it is in both sides.

Runnable alone: .venv/bin/python bench/bench_remote.py [--quick]
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

INPUTS = {"steps": 1, "step_seconds": 0}
SETTLE_S = 0.5  # longer than the fast job takes on a loaded 2-core machine


def _direct_cycle(base: str, first_delay_s: float = 0.0) -> tuple[float, float]:
    """(seconds, server compute seconds) for submit-poll-download with http.client."""
    from dtfl_plugin.models.remote.client import POLL_FACTOR, POLL_FIRST_S, POLL_MAX_S

    parts = urlsplit(base)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    body = json.dumps({"inputs": INPUTS}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Prefer": "respond-async"}
    conn.request("POST", parts.path + "/processes/scenario_slow/execution", body, headers)
    response = response_ = conn.getresponse()
    response.read()
    job = urlsplit(response_.getheader("Location")).path
    delay, first = POLL_FIRST_S, True
    if first_delay_s:
        time.sleep(first_delay_s)
    while True:
        if not first:
            time.sleep(delay)
            delay = min(delay * POLL_FACTOR, POLL_MAX_S)
        first = False
        conn.request("GET", job, headers={"Accept": "application/json"})
        status = json.loads(conn.getresponse().read())
        if status["status"] in ("successful", "failed", "dismissed"):
            break
    conn.request("GET", job + "/results", headers={"Accept": "application/json"})
    results = json.loads(conn.getresponse().read())
    assert results["sweep"]["value"], results
    conn.close()
    return time.perf_counter() - start, _compute(status)


def _compute(status: dict) -> float:
    try:
        started = datetime.fromisoformat(status["started"].replace("Z", "+00:00"))
        finished = datetime.fromisoformat(status["finished"].replace("Z", "+00:00"))
        return (finished - started).total_seconds()
    except (KeyError, TypeError, ValueError):
        return float("nan")


def _client_cycle(base: str, first_delay_s: float = 0.0) -> float:
    from dtfl_plugin.models.remote.client import ProcessesClient

    start = time.perf_counter()
    client = ProcessesClient(base)
    job = client.execute_async("scenario_slow", INPUTS)
    results = client.results(client.wait(job, first_delay_s=first_delay_s))
    assert results.document["sweep"]["value"]
    return time.perf_counter() - start


def _algorithm_cycle(alg_id: str, folder: Path, i: int, worker) -> float:
    """Like Processing: the algorithm runs in a worker thread, postProcess on the main thread."""
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProject

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    start = time.perf_counter()
    alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
    params = {**INPUTS, "fail_at": 0, "sweep": str(folder / f"sweep_{i}.json")}
    feedback = QgsProcessingFeedback()

    def work():
        if not alg.prepare(params, context, feedback):
            raise RuntimeError("prepare failed")
        return alg.runPrepared(params, context, feedback)

    results = worker.submit(work).result()
    alg.postProcess(context, feedback)  # stores the run record in the project
    assert Path(results["sweep"]).is_file(), results
    return time.perf_counter() - start


def _sandbox():
    """(processes base URL, cleanup) from the running sandbox, starting it when none runs."""
    import sandbox.runner as runner

    lease = runner.acquire_lease()
    endpoints = runner.running()
    if endpoints is None:
        problem = runner.servers_venv_problem()
        if problem:
            runner.release_lease(lease)
            raise RuntimeError(f"cannot start the sandbox: {problem}")
        endpoints = runner.start(wait=True, quiet=True, owner="pytest")

    def cleanup():
        if runner.release_lease(lease):
            runner.stop(quiet=True)

    return (endpoints.get("processes") or endpoints["ogcapi"]).rstrip("/"), cleanup


def run(quick: bool = False) -> list[dict]:
    from qgis.core import QgsApplication

    app = QgsApplication.instance()
    if app is None:  # platform() is "external" before initQgis too: only a missing app says we must start one
        app = QgsApplication([], False)
        app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    from dtfl_plugin.models.remote import cache, servers
    from dtfl_plugin.processing.provider import DtflProvider

    base, cleanup = _sandbox()
    rounds = 5 if quick else 25
    server = servers.Server(name="bench", url=base, max_jobs=4)
    try:
        Processing.initialize()
        registry = QgsApplication.processingRegistry()
        servers.save(server)
        cache.refresh(server)
        provider = registry.providerById("dtfl")
        if provider is None:
            provider = DtflProvider()
            registry.addProvider(provider)
        provider.refreshAlgorithms()
        alg_id = "dtfl:remote_bench_scenario_slow"
        ours, alg_times, direct, direct_full, compute = [], [], [], [], []
        # Both sides run in one worker thread, where Processing runs algorithms (QgsProcessingAlgRunnerTask):
        # QGIS's network stack is slower on the GUI thread, which algorithms never use for the network.
        with tempfile.TemporaryDirectory(prefix="dtfl-bench-remote-") as tmp, ThreadPoolExecutor(1) as worker:
            for _ in range(2):  # warm-up: connections, imports, server caches
                worker.submit(_client_cycle, base).result()
                worker.submit(_direct_cycle, base).result()
            for i in range(rounds):
                # Requests only: both wait SETTLE_S before the first status request, so the job is done and
                # each cycle is exactly POST + GET status + GET results; the wait is subtracted from both.
                seconds, server_s = worker.submit(_direct_cycle, base, SETTLE_S).result()
                direct.append(seconds - SETTLE_S)
                compute.append(server_s)
                ours.append(worker.submit(_client_cycle, base, SETTLE_S).result() - SETTLE_S)
                # Whole cycles with the default poll schedule (server compute and poll timing included).
                direct_full.append(worker.submit(_direct_cycle, base).result()[0])
                alg_times.append(_algorithm_cycle(alg_id, Path(tmp), i, worker))
    finally:
        servers.remove(server.name)
        cache.cache_path(server.name).unlink(missing_ok=True)
        cleanup()

    med = statistics.median
    note = f"{rounds} cycles; server compute median {med(compute) * 1000:.0f} ms"
    return [
        _median_row(
            "submit + status + results requests (client, excl. server compute)",
            ours,
            direct,
            note + f"; both wait {SETTLE_S} s for the job (subtracted); baseline: same requests via http.client",
        ),
        _median_row(
            "whole cycle through the Processing algorithm",
            alg_times,
            direct_full,
            "default poll schedule both sides; ours adds input encoding, atomic write, run record with sha256",
        ),
    ]


def _median_row(metric: str, ours: list[float], baseline: list[float], note: str) -> dict:
    """A result row from the seconds of each round: medians in milliseconds."""
    med = statistics.median
    return {
        "benchmark": "remote",
        "metric": metric,
        "ours": med(ours) * 1000,
        "baseline": med(baseline) * 1000,
        "ratio": med(ours) / med(baseline),
        "unit": "ms",
        "note": note,
    }


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
