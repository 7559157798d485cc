"""The dock's bottom line: when the catalogue was updated, an Update button, progress and Cancel.

The harvest itself is catalogue/tasks.py's HarvestTask (network and writing off the GUI thread);
this widget starts it, shows its progress, and reports the outcome in the message bar.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import QDateTime, QLocale, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ...i18n import tr
from .loader import push_error


def format_harvest_time(iso: str) -> str:
    """'2026-11-28T13:50:38+00:00' -> short local date and time in the user's locale."""
    when = QDateTime.fromString(iso, Qt.DateFormat.ISODate)
    if not when.isValid():
        return iso
    return QLocale().toString(when.toLocalTime(), QLocale.FormatType.ShortFormat)


class HarvestBar(QWidget):
    harvested = pyqtSignal(list)  # HarvestReport objects of the sources that were written

    def __init__(self, iface, parent=None) -> None:
        super().__init__(parent)
        self.iface = iface
        self.task = None
        self.index_path = None  # set by the dock when it opens its index
        self.label = QLabel(self)
        self.label.setObjectName("dtflCatalogueHarvestTime")
        self.label.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.update_button = QPushButton(tr("Update"), self)
        self.update_button.setObjectName("dtflCatalogueUpdate")
        self.update_button.setToolTip(tr("Harvest the catalogue again in the background"))
        self.update_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(tr("Cancel"), self)
        self.cancel_button.setObjectName("dtflCatalogueCancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.update_button)
        layout.addWidget(self.cancel_button)

    def show_state(self, index) -> None:
        last = index.last_harvest()
        count = index.count()
        if last and last.get("time"):
            text = tr("Catalogue updated on {time} · {count} records").format(
                time=format_harvest_time(str(last["time"])), count=count
            )
        else:
            text = tr("Catalogue not updated yet · {count} records").format(count=count)
        self.label.setText(text)

    def start(self) -> None:
        """Re-harvest in a QgsTask; the dock keeps searching the old index meanwhile."""
        if self.task is not None:
            return
        from ...catalogue.tasks import HarvestTask

        task = HarvestTask(self.index_path)
        task.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        task.taskCompleted.connect(lambda: self._done(task, True))
        task.taskTerminated.connect(lambda: self._done(task, False))
        self.task = task
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.update_button.setEnabled(False)
        QgsApplication.taskManager().addTask(task)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _done(self, task, ok: bool) -> None:
        self.task = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.update_button.setEnabled(True)
        reports = list(getattr(task, "reports", []) or [])
        error = getattr(task, "error", None)
        if task.isCanceled():
            # The user asked for it: information, not a warning (sources read before stay updated).
            self.iface.messageBar().pushMessage(
                tr("DTFL catalogue"), tr("Update cancelled; the previous catalogue is kept."), duration=5
            )
        elif error is not None:
            push_error(self.iface, str(error), error)
        if not reports:
            return  # nothing was written: index, facets and project layers are as they were
        if ok:
            self.iface.messageBar().pushMessage(
                tr("DTFL catalogue"),
                tr("Catalogue updated: {new} new, {changed} changed, {removed} removed.").format(
                    new=sum(r.new for r in reports),
                    changed=sum(r.changed for r in reports),
                    removed=sum(r.removed for r in reports),
                ),
                level=Qgis.MessageLevel.Success,
                duration=5,
            )
        self.harvested.emit(reports)
