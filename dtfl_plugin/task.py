"""The one shape of DTFL's background jobs: a QgsTask that runs ``work(feedback)`` off the GUI thread.

Every background job of the plugin (loading a catalogue entry, harvesting, resolving a replacement service,
packing or opening a recipe) had the same hand-written QgsTask: a QgsFeedback that cancel() also cancels (the
cores and net.py listen to a feedback, not to the task), a room error kept for the GUI, and the outcome handed
over in finished(), on the GUI thread. ``QgsTask.fromFunction`` covers plain functions but not the feedback the
network code needs, so this is that one task: pass ``work``/``done`` functions, or subclass and override
``work``/``on_finished``. A bug in the work is logged with its traceback and reaches the GUI as a DtflError.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable

from qgis.core import Qgis, QgsFeedback, QgsMessageLog, QgsTask
from qgis.PyQt.QtCore import QMetaMethod, QObject

from .errors import DtflError
from .i18n import tr

_RUNNING: set = set()  # Python owns QgsTask subclasses: keep each alive until its finished() ran


def detach(sender: QObject) -> None:
    """Undo, here and now, every connection from the signals ``sender`` declares beyond QObject's.

    Call it on the main thread, from Python, for a QObject made in Python (a feedback) before QGIS deletes
    what it is connected to (a finished task). Otherwise Qt's ~QObject of that receiver, run by QGIS's event
    loop without the GIL, calls the sender's disconnectNotify while holding one of Qt's signal-slot mutexes,
    and sip needs the GIL there to look for a Python override: a worker thread holding the GIL while it waits
    for that same mutex (any PyQt call that connects, e.g. a network request) hangs QGIS for good. An explicit
    disconnect calls disconnectNotify with no mutex held. ``destroyed`` stays connected: PyQt relies on it.
    """
    meta = sender.metaObject()
    for index in range(QObject.staticMetaObject.methodCount(), meta.methodCount()):
        method = meta.method(index)
        if method.methodType() != QMetaMethod.MethodType.Signal:
            continue
        try:
            getattr(sender, bytes(method.name()).decode()).disconnect()
        except (AttributeError, TypeError, RuntimeError):
            pass  # nothing connected to it, or a signal Python cannot name


class DtflTask(QgsTask):
    def __init__(
        self,
        description: str,
        work: Callable[[QgsFeedback], Any] | None = None,
        done: Callable[[Any, DtflError | None], None] | None = None,
        *,
        forward_progress: bool = True,
    ) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel)
        self._work = work
        self._done = done
        self.feedback = QgsFeedback()
        if forward_progress:  # the work reports on the feedback; the task manager shows the task's progress
            self.feedback.progressChanged.connect(self.setProgress)
        self.result: Any = None
        self.error: DtflError | None = None
        _RUNNING.add(self)

    def cancel(self) -> None:
        self.feedback.cancel()
        super().cancel()

    def work(self, feedback: QgsFeedback) -> Any:
        """The job itself, in a worker thread: no widgets, no layers joining the project."""
        if self._work is None:
            raise NotImplementedError
        return self._work(feedback)

    def run(self) -> bool:
        try:
            self.result = self.work(self.feedback)
        except DtflError as err:
            self.error = err
            return False
        except Exception as err:  # noqa: BLE001 - a bug must not reach the person as a traceback: logged whole
            QgsMessageLog.logMessage(traceback.format_exc(), "DTFL", Qgis.MessageLevel.Critical)
            self.error = DtflError(tr("Something went wrong: {error} (details in the DTFL log).").format(error=err))
            return False
        return True

    def on_finished(self, ok: bool) -> None:
        """On the GUI thread: hand the outcome over (``done(result, error)``, result None when it failed)."""
        if self._done is not None:
            self._done(self.result if ok else None, self.error)

    def finished(self, result: bool) -> None:
        try:
            self.on_finished(result)
        finally:
            detach(self.feedback)  # before QGIS deletes this task (see detach)
            _RUNNING.discard(self)
