"""Load a catalogue entry into the project through the layers room, off the GUI thread.

Shared by the dock, the locator filter, the Browser favourites and the drop handler so every
path gives the same layer (provider, URI, dtfl/source property) and the same messages.
Errors go to the message bar in the user's language; the detail goes to the QGIS log.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ...catalogue.entry import Entry
from ...errors import DtflError
from ...i18n import tr

LOG_TAG = "DTFL"


def push_error(iface, message: str, err: BaseException | None = None) -> None:
    """A short translated message in the bar; technical detail only in the log panel."""
    detail = getattr(err, "detail", "") or (repr(err) if err is not None and not isinstance(err, DtflError) else "")
    if detail:
        QgsMessageLog.logMessage(f"{message} ({detail})", LOG_TAG, Qgis.MessageLevel.Warning)
    if iface is not None:
        iface.messageBar().pushMessage(tr("DTFL catalogue"), message, level=Qgis.MessageLevel.Warning, duration=10)


class EntryLoader(QObject):
    """Starts the layers room's LoadEntryTask (it adds the layer on the main thread) and reports the outcome."""

    loaded = pyqtSignal(object)  # the QgsMapLayer added to the project
    failed = pyqtSignal(str)  # translated message

    def __init__(self, iface, parent=None) -> None:
        super().__init__(parent)
        self.iface = iface

    def load(self, entry: Entry):
        """Queue loading of one entry; returns the QgsTask (it keeps itself alive until finished)."""
        from ...layers.load import load_entry

        return load_entry(entry, on_done=lambda layer, error: self._done(entry, layer, error))

    def _done(self, entry: Entry, layer, error) -> None:
        if layer is not None:
            self.iface.messageBar().pushMessage(
                tr("DTFL catalogue"),
                tr("Added “{title}” to the map").format(title=layer.name()),
                level=Qgis.MessageLevel.Success,
                duration=4,
            )
            self.loaded.emit(layer)
            return
        if isinstance(error, DtflError):
            message = str(error)  # the layers room's message already says what to do
        else:
            message = tr("“{title}” could not be loaded; the service may be unavailable. Try again later.").format(
                title=entry.title
            )
        push_error(self.iface, message, error)
        self.failed.emit(message)
