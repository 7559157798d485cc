"""OGC API - Processes of the sandbox's pygeoapi: every module in this folder is discovered at start.

Contract for a process module ``sandbox/processes/<name>.py`` (no registration needed anywhere else):

* it defines ``PROCESS_METADATA``: a pygeoapi process metadata dict (``id``, ``version``, ``title``,
  ``description``, ``jobControlOptions`` (include ``"async-execute"`` for asynchronous jobs), ``inputs``
  (each made with :func:`process_input`), ``outputs``, ``example``); its ``"id"`` is the process id in the
  API (``/processes/<id>``);
* it defines a class named ``Processor``, a subclass of ``pygeoapi.process.base.BaseProcessor`` whose
  ``__init__(self, processor_def)`` calls ``super().__init__(processor_def, PROCESS_METADATA)`` and whose
  ``execute(self, data, outputs=None)`` returns ``(mimetype, outputs)``; raise
  ``pygeoapi.process.base.ProcessorExecuteError`` with a clear message for bad inputs or failures (the
  message is what a client sees in the job status);
* it imports only what the servers' venv has (pygeoapi, numpy, scipy, GDAL/OGR from Debian) and the pure
  ``dtfl_plugin.models.local.*_core`` modules (no qgis): the repository root is on PYTHONPATH;
* data paths come from :func:`data_path` (the shared sample data) or the environment below, never from
  hard-coded absolute paths;
* a long job reports progress with :func:`report_progress` (percent 0-100 and a message), readable by
  clients in ``GET /jobs/<id>`` while the job runs.

A module whose name starts with ``_`` is skipped. Discovery runs in the sandbox start process (it reads
the metadata to write pygeoapi's configuration), so a module must be importable without side effects.

Environment set for the pygeoapi process: ``DTFL_SHARED_DATA`` (sample data folder), ``DTFL_SANDBOX_CACHE``
(generated artefacts, e.g. ``features-*/gebouwen_3d.gpkg``), ``DTFL_SANDBOX_JOBS_DB`` (TinyDB job database),
``DTFL_SANDBOX_OUTPUTS`` (the job manager's output_dir).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def discover() -> dict[str, dict]:
    """process id -> pygeoapi resource definition, for every process module in this folder.

    The process id is read from the module's source (the ``"id"`` entry of ``PROCESS_METADATA``, a string
    literal or a module-level string constant) so that discovery does not need the servers' venv: pygeoapi
    is importable only there. The rest of the metadata is read by pygeoapi when it loads the module.
    """
    found: dict[str, dict] = {}
    for path in sorted(_HERE.glob("*.py")):
        if path.name.startswith("_"):
            continue
        pid = _process_id(path)
        if pid in found:
            raise ValueError(f"{path}: process id {pid!r} is defined twice")
        found[pid] = {"type": "process", "processor": {"name": f"sandbox.processes.{path.stem}.Processor"}}
    return found


def _process_id(path: Path) -> str:
    tree = ast.parse(path.read_text(), filename=str(path))
    constants: dict[str, object] = {}
    meta = None
    has_processor = False
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == "PROCESS_METADATA" and isinstance(node.value, ast.Dict):
                meta = node.value
            elif isinstance(node.value, ast.Constant):
                constants[name] = node.value.value
        if isinstance(node, ast.ClassDef) and node.name == "Processor":
            has_processor = True
    pid = None
    if meta is not None:
        for key, value in zip(meta.keys, meta.values):
            if isinstance(key, ast.Constant) and key.value == "id":
                if isinstance(value, ast.Constant):
                    pid = value.value
                elif isinstance(value, ast.Name):
                    pid = constants.get(value.id)
    if not isinstance(pid, str) or not has_processor:
        raise ValueError(
            f"{path}: a process module needs PROCESS_METADATA (a dict with a literal 'id') and class Processor"
        )
    return pid


def process_input(title, schema: dict, *, required: bool = False, description=None) -> dict:
    """One input of a process description (``PROCESS_METADATA["inputs"]``): a single value, optional unless
    ``required``; ``title``/``description`` a text or a {language: text} map."""
    spec = {"title": title}
    if description is not None:
        spec["description"] = description
    return {**spec, "schema": schema, "minOccurs": 1 if required else 0, "maxOccurs": 1}


def data_path(*parts: str) -> Path:
    """A file in the shared sample data (``DTFL_SHARED_DATA``)."""
    root = Path(os.environ.get("DTFL_SHARED_DATA", _HERE.parent.parent.parent / "shared" / "data"))
    return root.joinpath(*parts)


def cache_path(pattern: str) -> Path:
    """The newest generated artefact matching ``pattern`` under the sandbox cache, e.g. ``features-*/x.gpkg``."""
    root = Path(os.environ.get("DTFL_SANDBOX_CACHE", _HERE.parent.parent / ".sandbox" / "cache"))
    matches = sorted(root.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not matches:
        raise FileNotFoundError(f"no sandbox artefact matches {root / pattern}")
    return matches[-1]


def report_progress(processor, percent: int, message: str) -> None:
    """Update the running job's progress/message in the job database (no-op for synchronous runs)."""
    job_id = getattr(processor, "job_id", None)
    db = os.environ.get("DTFL_SANDBOX_JOBS_DB")
    if not job_id or not db:
        return
    from pygeoapi.process.manager.tinydb_ import TinyDBManager

    manager = TinyDBManager({"name": "TinyDB", "connection": db, "output_dir": os.environ.get("DTFL_SANDBOX_OUTPUTS")})
    manager.update_job(job_id, {"progress": int(max(0, min(100, percent))), "message": message})
