"""Remote jobs that outlive QGIS: a job still running when QGIS closes is picked up when QGIS starts again.

When a remote algorithm has submitted its job, it writes a small file (``<profile>/dtfl/remote/pending/``) with
the job URL, the server, the process description, the output destinations and the run record so far; the file
goes when the run ends here (done, failed or cancelled). At start-up :class:`ResumeTask` (a QgsTask: never the
GUI thread) follows the jobs of earlier sessions, writes their outputs to the destinations chosen then, records
the runs (the profile's run log, and the open project) and reports in the message bar. qgis.core only.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from qgis.core import QgsApplication, QgsProcessingFeedback, QgsProject, QgsTask

from ...i18n import tr
from ...provenance.record import RunRecord, file_output, now_iso
from ...provenance.store import append_log, append_run
from ...settings import data_dir
from ...task import detach

_CLOSING = {"flag": False}


def set_shutting_down(value: bool) -> None:
    """Set by the GUI when QGIS's main window is closing: running jobs are then kept, not dismissed."""
    _CLOSING["flag"] = bool(value)


def shutting_down() -> bool:
    return _CLOSING["flag"]


def folder() -> Path:
    path = data_dir() / "remote" / "pending"
    path.mkdir(parents=True, exist_ok=True)
    return path


def register(server, description: dict, job_url: str, destinations: dict, record: RunRecord) -> Path:
    """Remember a submitted job until this run ends; returns the file to :func:`forget` then."""
    entry = {
        "server": server.name,
        "description": description,
        "job_url": job_url,
        "destinations": destinations,
        "record": record.to_dict(),
        "pid": os.getpid(),
        "submitted": now_iso(),
    }
    path = folder() / f"{uuid.uuid4().hex}.json"
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def forget(path: Path | None) -> None:
    if path is not None:
        Path(path).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def orphaned() -> list[Path]:
    """Jobs of QGIS sessions that have ended (a session still running follows its own jobs)."""
    out = []
    for path in sorted(folder().glob("*.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not _alive(int(entry.get("pid", 0) or 0)):
            out.append(path)
    return out


def resume(path: Path, feedback) -> RunRecord:
    """Follow one job to its end, write its outputs, finish its record (in the run log); remove the file."""
    from .client import ProcessesClient
    from .mapping import process_specs
    from .outputs import write_results
    from .servers import get, max_wait_s, timeout_s

    entry = json.loads(path.read_text(encoding="utf-8"))
    record = RunRecord.from_dict(entry["record"])
    record.job_url = entry["job_url"]
    try:
        server = get(entry["server"])
        _inputs, outputs = process_specs(entry["description"])
        record.server_url = server.url
        client = ProcessesClient(server.url, authcfg=server.authcfg, timeout_s=timeout_s(), feedback=feedback)
        status = client.wait(entry["job_url"], max_wait_s=max_wait_s())
        written = write_results(client.results(status), outputs, entry["destinations"], client, status.url)
        record.outputs = [file_output(name, p) for name, p in written.items()]
        record.status = "completed"
    except Exception as err:  # noqa: BLE001 - any failure is recorded with its reason, never lost
        record.status = "failed"
        record.error = str(err)
    record.ended = now_iso()
    append_log(record)
    forget(path)
    return record


class ResumeTask(QgsTask):
    """Picks up the jobs of earlier sessions in the background; on the main thread, records them in the project."""

    def __init__(self, paths: list[Path], report=None) -> None:
        super().__init__(tr("Fetching results of remote jobs from an earlier session"), QgsTask.Flag.CanCancel)
        self.paths = paths
        self.report = report
        self.records: list[RunRecord] = []
        self.feedback = QgsProcessingFeedback()

    def run(self) -> bool:
        for i, path in enumerate(self.paths):
            if self.isCanceled():
                return False
            self.records.append(resume(path, self.feedback))
            self.setProgress(100.0 * (i + 1) / len(self.paths))
        return True

    def finished(self, ok: bool) -> None:  # main thread
        detach(self.feedback)  # before QGIS deletes this task
        for record in self.records:
            if record.status == "completed":
                append_run(QgsProject.instance(), record)
        if self.report is not None:
            self.report(self.records)


_RUNNING: list = []


def start(report=None) -> ResumeTask | None:
    """Start picking up orphaned jobs, if any (called once at start-up)."""
    paths = orphaned()
    if not paths:
        return None
    task = ResumeTask(paths, report)
    _RUNNING[:] = [task]  # the task manager keeps only the C++ side
    QgsApplication.taskManager().addTask(task)
    return task
