"""A finished background task is deleted by QGIS while a worker thread holds the GIL: QGIS must not hang.

The hang, found in a CI run: Qt's ~QObject of a finished task calls disconnectNotify on the Python-made
feedback connected to it while holding a signal-slot mutex; sip needs the GIL there, and a worker thread
holding the GIL waits for the same mutex. ``tests/gil_deadlock_child.py`` stages it deterministically in a
child process (a hang there is a timeout here, not a stuck test run) for both kinds of DTFL background job:
a ``DtflTask`` and a Processing run started by ``gui.background.run_in_background``. The control,
with ``task.detach`` made a no-op, hangs on a quiet machine: it shows the staging reproduces the hazard.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).resolve().parent / "gil_deadlock_child.py"


def _run(kind: str, *extra: str, timeout: float) -> subprocess.CompletedProcess | None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        return subprocess.run(
            [sys.executable, str(CHILD), kind, *extra], env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dtfl_task", "runner_task"])
def test_deleting_a_finished_task_does_not_hang_against_a_worker_holding_the_gil(kind):
    done = _run(kind, timeout=90)
    assert done is not None, f"{kind}: the deletion of the finished task hung (GIL / signal-slot mutex)"
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["dtfl_task", "runner_task"])
def test_the_staging_reproduces_the_hang_without_detach(kind):
    # The staging leans on thread timing: on a machine busy with other work (the test runs of the other QGIS
    # versions at the same time) a thread may be scheduled too late and the staged deletion passes. Then
    # this run proves nothing either way, and says so; on a quiet machine the hang comes every time
    # (checked on QGIS 3.22, 3.40 and 3.44).
    if not any(_run(kind, "--no-detach", timeout=10) is None for _ in range(3)):
        pytest.skip("the hang could not be staged on this machine now (busy?): the tests above proved nothing here")
