"""pygeoapi process "scenario_slow": a rain-depth sweep that takes a while and says how far it is.

Each step runs the bathtub model (the same code as dtfl:bathtub_flooding) on a synthetic
terrain of two basins for a growing rain depth, then paces itself to ``step_seconds``, so a
run of the defaults lasts ~10 s: long enough to watch progress and to cancel.

Progress in pygeoapi 0.21: the manager calls ``set_job_id()`` on the processor before
``execute()``, but the processor gets no handle on the job; it reports through the process
manager built from the server's own configuration (``PYGEOAPI_CONFIG``), calling
``update_job(job_id, {"status": "running", "progress": n, "message": ...})``. pygeoapi 0.21
itself never writes "running" (status jumps from accepted to successful) — this process does.
A DELETE /jobs/{id} removes the job; between steps the process sees that and stops
(pygeoapi would otherwise let it run to the end).
"""

from __future__ import annotations

import threading
import time

import numpy as np
from pygeoapi.process.base import JobNotFoundError, ProcessorExecuteError

from dtfl_plugin.models.local.bathtub_core import analyse_depressions, run_bathtub
from sandbox.processes import process_input
from sandbox.processes._jobs import JobProcessor

PROCESS_METADATA = {
    "version": "1.0.0",
    "id": "scenario_slow",
    "title": "Rain sweep on a two-basin terrain (slow, with progress)",
    "description": (
        "Runs the bathtub screening for a series of rain depths, one step at a time, reporting progress. "
        "Meant to test progress, cancelling and concurrency limits."
    ),
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["test", "progress"],
    "links": [],
    "inputs": {
        "steps": process_input("Steps", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}),
        "step_seconds": process_input(
            "Seconds per step", {"type": "number", "minimum": 0, "maximum": 10, "default": 1.0}
        ),
        "fail_at": process_input(
            "Fail at step (0: never)",
            {"type": "integer", "minimum": 0, "maximum": 100, "default": 0},
            description="Make the job fail at this step, to test how failures are reported.",
        ),
    },
    "outputs": {
        "sweep": {
            "title": "Stored volume per rain depth",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    },
    "example": {"inputs": {"steps": 10, "step_seconds": 1.0}},
}

_manager = None
_manager_lock = threading.Lock()


def _jobs():
    """The server's process manager (same config file as the server), built once."""
    global _manager
    with _manager_lock:
        if _manager is None:
            from pygeoapi.config import get_config
            from pygeoapi.process.manager.base import get_manager

            _manager = get_manager(get_config())
        return _manager


def two_basins(size: int = 60) -> np.ndarray:
    """A terrain with two bowls separated by a ridge: the upper spills into the lower one."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    left = (x - size * 0.25) ** 2 + (y - size * 0.5) ** 2
    right = (x - size * 0.75) ** 2 + (y - size * 0.5) ** 2
    z = np.minimum(left / size + 1.0, right / size)
    z[:, 0] = z[:, -1] = z[0, :] = z[-1, :] = z.max() + 1.0  # closed rim
    return z


class Processor(JobProcessor):
    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, PROCESS_METADATA)

    def _update(self, progress: int, message: str) -> None:
        if self.job_id is None:
            return
        jobs = _jobs()
        try:
            job = jobs.get_job(self.job_id)
        except JobNotFoundError:
            job = None
        if job is None or job.get("status") == "dismissed":
            raise ProcessorExecuteError("job dismissed by the client; stopped")
        jobs.update_job(self.job_id, {"status": "running", "progress": progress, "message": message})

    def execute(self, data: dict, outputs=None):
        try:
            steps = int(data.get("steps", 10))
            pace = float(data.get("step_seconds", 1.0))
            fail_at = int(data.get("fail_at", 0))
        except (TypeError, ValueError) as err:
            raise ProcessorExecuteError(f"invalid input: {err}") from err
        if not 1 <= steps <= 100 or not 0 <= pace <= 10:
            raise ProcessorExecuteError("steps must be 1..100 and step_seconds 0..10")
        dem = two_basins()
        analysis = analyse_depressions(dem)
        sweep = []
        for i in range(1, steps + 1):
            start = time.monotonic()
            if i == fail_at:
                raise ProcessorExecuteError(f"deliberate failure at step {i} of {steps} (fail_at)")
            rain = 20.0 * i
            result = run_bathtub(dem, 1.0, rain, analysis=analysis)
            sweep.append(
                {"rain_mm": rain, "stored_m3": float(result.stored_m3), "spilled_m3": float(result.spilled_out_m3)}
            )
            time.sleep(max(0.0, pace - (time.monotonic() - start)))
            self._update(int(100 * i / (steps + 1)), f"step {i} of {steps}: rain {rain:g} mm")
        return "application/json", {"sweep": {"value": sweep, "mediaType": "application/json"}}

    def __repr__(self) -> str:
        return "<ScenarioSlowProcessor>"
