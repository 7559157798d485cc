"""Sandbox life cycle: starting twice is harmless, status tells what runs, a failing server fails the start
with its name and log and leaves nothing running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import sandbox.runner as runner
from sandbox.paths import CACHE, ROOT

pytestmark = pytest.mark.sandbox


def test_start_twice_returns_the_running_sandbox(sandbox):
    pids = {name: rec["pid"] for name, rec in runner._records().items()}
    assert runner.start() == sandbox
    assert {name: rec["pid"] for name, rec in runner._records().items()} == pids


def test_status_command(sandbox):
    proc = subprocess.run(
        [sys.executable, "-m", "sandbox", "status"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("files", "qgis", "ogcapi", "csw", "mapserver"):
        assert any(line.startswith(name) and "healthy" in line for line in proc.stdout.splitlines()), proc.stdout
    assert sandbox["wms"] in proc.stdout


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            blob = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob and int(proc.name) != os.getpid():
            found.append(int(proc.name))
    return found


def test_failing_server_names_itself_and_stops_the_rest(sandbox, tmp_path):
    problem = runner.servers_venv_problem()
    if problem:
        pytest.skip(f"this environment reuses the host's sandbox and cannot start its own: {problem}")
    state = tmp_path / "state"
    env = dict(
        os.environ, DTFL_SANDBOX_DIR=str(state), DTFL_SANDBOX_CACHE_DIR=str(CACHE), DTFL_QGIS_MAPSERVER="/bin/false"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "sandbox", "start"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "'qgis' failed to start" in proc.stderr
    assert str(state / "logs" / "qgis.log") in proc.stderr
    # A server that exits at once is launched once more before the start fails.
    assert (state / "logs" / "qgis.log").read_text().count("\n=== ") == 2
    assert not list((state / "pids").glob("*.json"))
    assert not (state / "endpoints.json").exists()
    assert _processes_mentioning(f"DTFL_SANDBOX_DIR={state}") == []
    assert runner.running() == sandbox  # the shared sandbox was not touched
