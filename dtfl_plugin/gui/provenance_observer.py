"""GUI feature: record runs of other Processing algorithms started from the toolbox into the project.

QGIS >= 3.24: finished "processing" entries of the history provider registry (polled).
QGIS 3.22: a QFileSystemWatcher on the Processing plugin's processing.log. Parsing lives in
provenance/observe.py (headless-testable); this file only connects and disconnects.
"""

from __future__ import annotations

import os

from qgis.core import QgsApplication, QgsMessageLog, QgsProject, QgsTask
from qgis.PyQt.QtCore import QFileSystemWatcher, QTimer

from ..i18n import tr
from ..provenance.observe import HistoryPoller, LogFollower, record_from_log_line
from ..provenance.store import append_log, append_run

POLL_MS = 2000  # cheap: one SQLite query on the history database


def store_record(record) -> None:
    """Main thread: into the current project (saved with it) and the profile's run log."""
    append_run(QgsProject.instance(), record)
    append_log(record)


class ProvenanceObserverFeature:
    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin
        self.mode = ""
        self._registry = None
        self._observer = None
        self._watcher: QFileSystemWatcher | None = None
        self._follower: LogFollower | None = None
        self._tasks: list = []  # keep Python references to running tasks
        self._timer: QTimer | None = None

    def init_gui(self) -> None:
        # Start once QGIS is running: reading the processing log location imports QGIS's Processing package,
        # which the desktop has loaded by then anyway; at initGui it would only slow QGIS's start-up.
        self._pending = True
        QTimer.singleShot(0, self._start)

    def _start(self) -> None:
        if not getattr(self, "_pending", False):
            return  # unloaded before the event loop came round
        self._pending = False
        from qgis.gui import QgsGui

        if hasattr(QgsGui, "historyProviderRegistry"):
            self.observe_registry(QgsGui.historyProviderRegistry())
            return
        path = _processing_log_path()
        if path:
            self.watch_log(path)

    def observe_registry(self, registry, interval_ms: int = POLL_MS) -> None:
        """QGIS >= 3.24: poll the history registry for finished Processing runs (see HistoryPoller)."""
        self._registry = registry
        self._observer = HistoryPoller(self.submit)
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._poll)
        self._timer.start()
        self.mode = "history"

    def _poll(self) -> None:
        if self._registry is not None and self._observer is not None:
            self._observer.poll(self._registry)

    def watch_log(self, path: str) -> None:
        """Follow a processing.log (QGIS 3.22); lines already in it are history, not new runs."""
        if not os.path.isfile(path):
            with open(path, "a", encoding="utf-8"):
                pass
        self._follower = LogFollower(path)
        self._watcher = QFileSystemWatcher([path])
        self._watcher.fileChanged.connect(self._on_log_changed)
        self.mode = "log"

    def _on_log_changed(self, _path: str = "") -> None:
        if self._follower is None:
            return
        for line in self._follower.new_lines():
            self.submit(lambda line=line: record_from_log_line(line))

    def submit(self, build) -> None:
        """Build a record in a task (hashing reads whole files), store it back on the main thread."""

        def work(_task):
            return build()

        def done(exception, record=None):
            if exception is not None:
                QgsMessageLog.logMessage(
                    tr("A Processing run could not be recorded: {error}").format(error=exception), "DTFL"
                )
            elif record is not None:
                store_record(record)

        task = QgsTask.fromFunction(tr("Recording a Processing run"), work, on_finished=done)
        self._tasks.append(task)
        task.taskCompleted.connect(lambda: self._forget(task))
        task.taskTerminated.connect(lambda: self._forget(task))
        QgsApplication.taskManager().addTask(task)

    def _forget(self, task) -> None:
        if task in self._tasks:
            self._tasks.remove(task)

    def unload(self) -> None:
        self._pending = False
        if self._timer is not None:
            self._timer.stop()
            self._timer.timeout.disconnect(self._poll)
            self._timer = None
        self._registry = self._observer = None
        if self._watcher is not None:
            self._watcher.fileChanged.disconnect(self._on_log_changed)
            self._watcher.deleteLater()
        self._watcher = self._follower = None
        self.mode = ""


def _processing_log_path() -> str:
    try:
        from processing.core.ProcessingLog import ProcessingLog
    except ImportError:
        return ""
    try:
        return ProcessingLog.logFilename()
    except OSError:
        return ""
