"""Where run records live: in the project (saved with it) and in a per-profile log.

The project entry is what a recipe packages. The log (``<profile>/dtfl/runs.jsonl``) keeps
runs made without a project, e.g. by qgis_process. Writing to a project must happen on the
main thread: algorithms store their record in ``postProcessAlgorithm``.
"""

from __future__ import annotations

import json

from .record import RunRecord

SCOPE = "DTFL"
KEY = "/runs"


def load_runs(project) -> list[RunRecord]:
    raw, ok = project.readEntry(SCOPE, KEY, "")
    if not ok or not raw:
        return []
    try:
        return [RunRecord.from_dict(item) for item in json.loads(raw)]
    except (ValueError, TypeError):
        return []


def save_runs(project, runs: list[RunRecord]) -> None:
    project.writeEntry(SCOPE, KEY, json.dumps([r.to_dict() for r in runs], ensure_ascii=False))


def append_run(project, record: RunRecord) -> None:
    runs = load_runs(project)
    runs.append(record)
    save_runs(project, runs)


def append_log(record: RunRecord) -> None:
    from ..settings import data_dir

    with open(data_dir() / "runs.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def read_log() -> list[RunRecord]:
    """The runs of the log, oldest first. The log is append-only: a run written again under the same id (a remote
    job stopped when QGIS closed, then finished at the next start) is one run in its latest state, in the place of
    its latest write."""
    from ..settings import data_dir

    path = data_dir() / "runs.jsonl"
    if not path.is_file():
        return []
    runs: dict[str, RunRecord] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = RunRecord.from_dict(json.loads(line))
        except (ValueError, TypeError):
            continue
        runs.pop(record.id, None)
        runs[record.id] = record
    return list(runs.values())
