"""Record runs of OTHER Processing algorithms (native:*, gdal:*, ...) where QGIS lets us see them.

What QGIS exposes differs by version (checked on Debian's 3.22.16 and 3.40.6):

* QGIS >= 3.24 (verified on 3.40): the Processing dialog writes each run into the history provider
  registry (``QgsGui.historyProviderRegistry()``, provider id "processing"): an entry when the run
  starts ({algorithm_id, parameters, python_command, process_command}), updated when it ends (the
  same plus ``results`` and ``log``). We poll for finished entries (see HistoryPoller for why not the
  signals) and record parameters, input files with sha256, outputs with sha256, start/end time. Runs started from scripts (processing.run) or from
  the Modeler's children are not in that history, so they are not seen.
* QGIS 3.22: there is no signal. The Processing dialog appends the run's Python command to
  ``processing.log`` in the Processing user folder *before* running it; nothing marks the end.
  We parse those lines: algorithm id, parameters and input hashes are recorded with status
  "started", and outputs named in the parameters are hashed when they exist at parse time.

DTFL's own algorithms record themselves (RunCapture) and are skipped here. No qgis.gui import:
the GUI glue that connects the signals lives in gui/provenance_observer.py.
"""

from __future__ import annotations

import ast
import os
from datetime import datetime, timezone

from qgis.core import Qgis

from .layer_props import source_file
from .record import InputRef, OutputRef, RunRecord, file_input, file_output, now_iso, service_input

LOG_SEPARATOR = "|~|"
OUTPUT_HINTS = ("OUTPUT", "OUT_", "_OUTPUT", "DESTINATION", "TARGET")


def _is_output(name: str) -> bool:
    upper = name.upper()
    return upper.startswith(("OUTPUT", "OUT_")) or upper.endswith(("OUTPUT", "_OUT")) or upper in OUTPUT_HINTS


def _path_of(value) -> str:
    """The file part of a Processing value such as '/x/y.gpkg|layername=z' or 'ogr:dbname=...'."""
    if not isinstance(value, str):
        return ""
    text = source_file(value.strip()).strip()
    return text if text and os.path.isfile(text) else ""


def _inputs(parameters: dict) -> list[InputRef]:
    out: list[InputRef] = []
    for name, value in parameters.items():
        if _is_output(name):
            continue
        for item in value if isinstance(value, list) else [value]:
            path = _path_of(item)
            if path:
                out.append(file_input(name, path))
            elif isinstance(item, str) and item.lower().startswith(("http://", "https://")):
                out.append(service_input(name, item))
    return out


def _outputs(values: dict) -> list[OutputRef]:
    out: list[OutputRef] = []
    for name, value in values.items():
        path = _path_of(value)
        if path:
            out.append(file_output(name, path))
    return out


def _plain(value):
    """History entries hold QVariant-converted values; keep what JSON can hold."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def is_own(algorithm_id: str) -> bool:
    return str(algorithm_id).startswith("dtfl:")


def record_from_history(entry: dict, started: str = "") -> RunRecord | None:
    """A RunRecord from a finished "processing" history entry (QGIS >= 3.24), or None to skip it."""
    alg_id = str(entry.get("algorithm_id") or "")
    if not alg_id or is_own(alg_id):
        return None
    parameters = _plain(dict(entry.get("parameters") or {}))
    results = _plain(dict(entry.get("results") or {}))
    record = RunRecord(
        algorithm_id=alg_id,
        algorithm_version=_provider_version(alg_id),
        parameters=parameters,
        qgis_version=Qgis.version(),
        started=started or now_iso(),
        inputs=_inputs(parameters),
        outputs=_outputs(results),
        status="completed" if results else "failed",
        error="" if results else "QGIS reported no results for this run",
    )
    record.ended = now_iso()
    return record


def parse_log_line(line: str) -> tuple[str, str, dict] | None:
    """(timestamp ISO, algorithm id, parameters) from a 3.22 processing.log ALGORITHM line, or None."""
    parts = line.rstrip("\n").split(LOG_SEPARATOR)
    if len(parts) != 3 or parts[0] != "ALGORITHM":
        return None
    try:
        call = ast.parse(parts[2].strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(call, ast.Call) or len(call.args) < 1 or not isinstance(call.args[0], ast.Constant):
        return None
    alg_id = str(call.args[0].value)
    parameters: dict = {}
    if len(call.args) > 1 and isinstance(call.args[1], ast.Dict):
        for key, value in zip(call.args[1].keys, call.args[1].values):
            if not isinstance(key, ast.Constant):
                continue
            try:
                parameters[str(key.value)] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                # QgsProperty / QgsProcessingOutputLayerDefinition(...) and the like: keep the source text
                parameters[str(key.value)] = ast.get_source_segment(parts[2].strip(), value) or ""
    try:
        when = datetime.strptime(parts[1], "%Y-%m-%d %H:%M:%S").astimezone(timezone.utc).isoformat()
    except ValueError:
        when = now_iso()
    return when, alg_id, parameters


def record_from_log_line(line: str) -> RunRecord | None:
    """A RunRecord (status "started": QGIS 3.22 does not log the end) from a processing.log line."""
    parsed = parse_log_line(line)
    if parsed is None:
        return None
    when, alg_id, parameters = parsed
    if is_own(alg_id):
        return None
    outputs = {k: v for k, v in parameters.items() if _is_output(k)}
    return RunRecord(
        algorithm_id=alg_id,
        algorithm_version=_provider_version(alg_id),
        parameters=parameters,
        qgis_version=Qgis.version(),
        started=when,
        inputs=_inputs(parameters),
        outputs=_outputs(outputs),
        status="started",
        error="QGIS 3.22 logs only the start of a run: its end and outputs are not observable",
    )


def _provider_version(alg_id: str) -> str:
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById(alg_id)
    provider = alg.provider() if alg is not None else None
    return provider.versionInfo() or Qgis.version() if provider is not None else ""


class LogFollower:
    """Reads the lines appended to a growing log file since the last call (3.22's processing.log)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = os.path.getsize(path) if os.path.isfile(path) else 0

    def new_lines(self) -> list[str]:
        if not os.path.isfile(self.path):
            return []
        size = os.path.getsize(self.path)
        if size < self.offset:  # the user cleared the history
            self.offset = 0
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            handle.seek(self.offset)
            text = handle.read()
        complete = text[: text.rfind("\n") + 1]  # a line still being written waits for the next call
        self.offset += len(complete.encode("utf-8"))
        return complete.splitlines()


class HistoryPoller:
    """Turns finished "processing" history entries (QGIS >= 3.24) into run records.

    Polls ``registry.queryEntries`` instead of connecting to entryAdded/entryUpdated: those
    signals carry a Qgis.HistoryProviderBackend argument that Debian's QGIS 3.40.6 bindings
    cannot convert (a plain Python slot aborts QGIS with a sip assertion; typed slots are
    refused in some set-ups). ``submit(build)`` receives a function that builds the record
    (it hashes files: the GUI runs it in a task) and returns the record or None.
    """

    def __init__(self, submit, since=None) -> None:
        from qgis.PyQt.QtCore import QDateTime

        self.submit = submit
        self.since = since if since is not None else QDateTime.currentDateTime()
        self.done: set[int] = set()

    def poll(self, registry) -> int:
        """Submit every entry finished since the last poll; returns how many."""
        from qgis.PyQt.QtCore import QDateTime, Qt

        count = 0
        for item in registry.queryEntries(self.since, QDateTime(), "processing"):
            entry = dict(item.entry or {})
            if item.id in self.done or "results" not in entry:
                continue  # still running: its results come with entryUpdated, seen at a later poll
            self.done.add(item.id)
            started = item.timestamp.toUTC().toString(Qt.DateFormat.ISODate)
            self.submit(lambda entry=entry, started=started: record_from_history(entry, started))
            count += 1
        return count
