"""pygeoapi process "bathtub_tiled": the bathtub screening in tiles, with the tiles run by Dask.

The same model as ``bathtub`` (and as dtfl:bathtub_flooding, which runs the same tiles in QGIS without Dask):
dtfl_plugin.models.tiled splits the DEM into tiles whose phases run as dask.distributed tasks, with a small
global merge of the depression graph in between. Memory per worker depends on the tile size, not on the DEM.

Where the tasks run, without a code change:
- ``DTFL_DASK_SCHEDULER`` set (e.g. ``tcp://scheduler:8786``): that cluster (Kubernetes through dask-kubernetes or
  the Dask Helm chart, HPC through dask-jobqueue). Workers need this repository on PYTHONPATH and the work folder
  ``DTFL_TILED_WORK`` on storage they share with the server (NFS, a PVC, a parallel file system);
- otherwise a ``LocalCluster`` on this machine with ``DTFL_DASK_WORKERS`` workers (default: every core).

Inputs: ``dem`` (GeoTIFF inline, or {"href"}: an http(s) COG is read in place through GDAL's /vsicurl/ range
reads, never downloaded whole), ``event``/``rain_mm``/``loss_mm`` as in ``bathtub``, ``tile`` (cells per tile
edge). Outputs: ``depth`` (GeoTIFF), ``depressions`` (GeoJSON), ``summary`` (JSON, with the tile count).
A job dismissed by the client stops at the next tile; the same inputs again resume from the finished tiles.
"""

from __future__ import annotations

import os
import tempfile
import threading

from pygeoapi.process.base import ProcessorExecuteError

from sandbox.processes import process_input, report_progress
from sandbox.processes._jobs import JobProcessor
from sandbox.processes.bathtub import PROCESS_METADATA as BATHTUB
from sandbox.processes.bathtub import _number, depressions_collection, flood_outputs, rain_inputs, read_geotiff_input

PROCESS_METADATA = {
    **BATHTUB,
    "id": "bathtub_tiled",
    "title": "Pluvial flooding screening (bathtub), tiled on Dask",
    "description": (
        "The bathtub screening in tiles with bounded memory; the tiles run as Dask tasks on a local cluster or "
        "the cluster the server is configured with. Same results as bathtub, cell for cell."
    ),
    "inputs": {
        **BATHTUB["inputs"],
        "tile": process_input(
            "Tile size (cells)", {"type": "integer", "minimum": 64, "maximum": 8192, "default": 1024}
        ),
    },
}

_LOCK = threading.Lock()
_EXECUTOR = None


def executor():
    """One Dask client per server process (a LocalCluster takes seconds to start)."""
    global _EXECUTOR
    from dtfl_plugin.models.tiled.executors import DaskExecutor

    with _LOCK:
        if _EXECUTOR is None:
            address = os.environ.get("DTFL_DASK_SCHEDULER") or None
            workers = int(os.environ.get("DTFL_DASK_WORKERS", "0")) or os.cpu_count() or 1
            _EXECUTOR = DaskExecutor(address, workers=None if address else workers)
        return _EXECUTOR


class Processor(JobProcessor):
    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, PROCESS_METADATA)

    def _dismissed(self) -> bool:
        db = os.environ.get("DTFL_SANDBOX_JOBS_DB")
        if not self.job_id or not db:
            return False
        from pygeoapi.process.manager.tinydb_ import TinyDBManager

        manager = TinyDBManager(
            {"name": "TinyDB", "connection": db, "output_dir": os.environ.get("DTFL_SANDBOX_OUTPUTS")}
        )
        try:
            job = manager.get_job(self.job_id)
        except Exception:  # noqa: BLE001 - a job record that is gone means dismissed
            return True
        return job is None or job.get("status") == "dismissed"

    def execute(self, data: dict, outputs=None):
        from dtfl_plugin.models.local.depressions import CancelledError
        from dtfl_plugin.models.tiled import engine

        event, rain, loss = rain_inputs(data)
        tile = int(_number(data, "tile", 1024, 64, 8192))
        work = os.environ.get("DTFL_TILED_WORK") or os.path.join(tempfile.gettempdir(), "dtfl-tiled")
        os.makedirs(work, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="bathtub-tiled-", dir=work) as scratch:
            dem = _dem_source(data["dem"], work, scratch)
            try:
                spec = engine.make_spec(dem, work, rain, loss, tile=tile)
            except RuntimeError as err:
                raise ProcessorExecuteError(f"dem: not a raster GDAL can read ({err})") from err
            if abs(abs(spec.geotransform[1]) - abs(spec.geotransform[5])) > 1e-6 * abs(spec.geotransform[1]):
                raise ProcessorExecuteError("dem: cells must be square")
            depth_path = os.path.join(scratch, "depth.tif")
            try:
                result = engine.run_tiled(
                    spec,
                    depth_path,
                    os.path.join(scratch, "depressions.tif"),
                    executor=executor(),
                    progress=lambda p: report_progress(self, int(p), f"{p:.0f} % of {spec.layout.count} tiles"),
                    is_cancelled=self._dismissed,
                )
            except CancelledError:
                raise ProcessorExecuteError(
                    "job dismissed by the client; stopped (it resumes from its tiles)"
                ) from None
            with open(depth_path, "rb") as handle:
                depth = handle.read()
            depressions = depressions_collection(result.depressions_path, result.table, spec.wkt)
        return flood_outputs((event, rain, loss), result, depth, depressions, tiles=result.tiles)

    def __repr__(self) -> str:
        return "<BathtubTiledProcessor>"


def _dem_source(value, work: str, scratch: str) -> str:
    """An http(s) reference is read in place (/vsicurl/: GDAL range reads); inline data goes to a file."""
    if isinstance(value, dict) and "href" in value:
        href = str(value["href"])
        if not href.lower().startswith(("http://", "https://")):
            raise ProcessorExecuteError("dem: only http(s) references are accepted")
        return "/vsicurl/" + href
    return read_geotiff_input(value, scratch)
