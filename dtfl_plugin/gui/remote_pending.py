"""GUI glue of models/remote/pending.py: remote jobs survive closing QGIS and are picked up at the next start.

- A close event of the main window marks QGIS as closing (an event filter sees it before QGIS cancels the
  running tasks), so a remote run cancelled by the shutdown keeps its job instead of dismissing it.
- At start-up the jobs of earlier sessions are followed in a background task; the message bar says what came back.
"""

from __future__ import annotations

from qgis.core import Qgis
from qgis.PyQt.QtCore import QEvent, QObject, QTimer

from ..i18n import tr
from ..models.remote import pending


class _CloseWatcher(QObject):
    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Close:
            pending.set_shutting_down(True)
            QTimer.singleShot(3000, self._still_open)  # the user may answer "keep running" to QGIS's question
        return False

    def _still_open(self) -> None:
        window = self.parent()
        if window is not None and window.isVisible():
            pending.set_shutting_down(False)


class PendingJobs:
    def __init__(self, iface) -> None:
        self.iface = iface
        window = iface.mainWindow() if iface is not None else None
        self.watcher = _CloseWatcher(window)
        if window is not None:
            window.installEventFilter(self.watcher)
        self.task = pending.start(self._report)

    def _report(self, records) -> None:
        bar = self.iface.messageBar() if self.iface is not None else None
        if bar is None or not records:
            return
        done = [r for r in records if r.status == "completed"]
        text = tr("{done} of {n} remote jobs of an earlier session came back; their outputs are written and recorded.")
        text = text.format(done=len(done), n=len(records))
        failed = [r for r in records if r.status != "completed"]
        if failed:
            text += " " + tr("Not fetched: {reasons}").format(
                reasons="; ".join(f"{r.job_url}: {r.error}" for r in failed)
            )
        bar.pushMessage(
            tr("Remote models"), text, Qgis.MessageLevel.Success if not failed else Qgis.MessageLevel.Warning, 15
        )

    def stop(self) -> None:
        window = self.iface.mainWindow() if self.iface is not None else None
        if window is not None:
            window.removeEventFilter(self.watcher)
        self.watcher.setParent(None)  # no longer a child of the main window: unload leaves nothing behind
        self.watcher.deleteLater()


def watch_and_resume(iface) -> PendingJobs:
    return PendingJobs(iface)
