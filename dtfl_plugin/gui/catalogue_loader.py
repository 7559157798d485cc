"""Load a catalogue entry into the project through the layers room, off the GUI thread.

Shared by the dock, the locator filter, the Browser favourites and the drop handler so every
path gives the same layer (provider, URI, dtfl/source property) and the same messages.
Errors go to the message bar in the user's language; the detail goes to the QGIS log.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..catalogue.entry import Entry
from ..errors import DtflError
from ..i18n import tr

LOG_TAG = "DTFL"


def push_error(iface, message: str, err: BaseException | None = None) -> None:
    """A short translated message in the bar; technical detail only in the log panel."""
    detail = getattr(err, "detail", "") or (repr(err) if err is not None and not isinstance(err, DtflError) else "")
    if detail:
        QgsMessageLog.logMessage(f"{message} ({detail})", LOG_TAG, Qgis.MessageLevel.Warning)
    if iface is not None:
        iface.messageBar().pushMessage(tr("DTFL catalogue"), message, level=Qgis.MessageLevel.Warning, duration=10)


class EntryLoader(QObject):
    """Starts the layers room's load task and adds the layer to the project when it is ready."""

    loaded = pyqtSignal(object)  # the QgsMapLayer added to the project
    failed = pyqtSignal(str)  # translated message

    def __init__(self, iface, parent=None) -> None:
        super().__init__(parent)
        self.iface = iface
        self.tasks: list = []  # keep Python references until the task ends

    def load(self, entry: Entry):
        """Queue loading of one entry; returns the QgsTask (or None if it could not start)."""
        from ..layers import load as layer_load

        try:
            task = layer_load.LoadEntryTask(entry)
        except DtflError as err:
            self._fail(str(err), err)
            return None
        task.taskCompleted.connect(lambda: self._completed(task, entry))
        task.taskTerminated.connect(lambda: self._terminated(task, entry))
        self.tasks.append(task)
        QgsApplication.taskManager().addTask(task)
        return task

    def _completed(self, task, entry: Entry) -> None:
        from ..layers import load as layer_load

        self._forget(task)
        try:
            layer = layer_load.add_to_project(task.layer)
        except DtflError as err:
            self._fail(str(err), err)
            return
        self.iface.messageBar().pushMessage(
            tr("DTFL catalogue"),
            tr("Added “{title}” to the map").format(title=layer.name() if layer is not None else entry.title),
            level=Qgis.MessageLevel.Success,
            duration=4,
        )
        self.loaded.emit(layer)

    def _terminated(self, task, entry: Entry) -> None:
        self._forget(task)
        err = getattr(task, "error", None)
        if isinstance(err, DtflError):
            self._fail(str(err), err)
        elif task.isCanceled():
            self._fail(tr("Loading “{title}” was cancelled.").format(title=entry.title), None)
        else:
            self._fail(
                tr("“{title}” could not be loaded; the service may be unavailable. Try again later.").format(
                    title=entry.title
                ),
                err,
            )

    def _fail(self, message: str, err: BaseException | None) -> None:
        push_error(self.iface, message, err)
        self.failed.emit(message)

    def _forget(self, task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
