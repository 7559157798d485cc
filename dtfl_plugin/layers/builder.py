"""Layers that a task creates are built on one long-lived thread, never on the task's pooled thread.

A layer keeps ties to the thread it was built on after it has moved to the main thread. QGIS ends pooled
threads that idle for 30 s (QThreadPool's expiry), and an OGC API Features layer built on such a thread
then draws nothing (measured on QGIS 3.22; tests/test_layers_builder.py shortens the expiry to show it).
In a desktop session a pause of 30 s is the rule, so the catalogue's layers are built here: on a thread
that lives as long as QGIS, with its own event loop. The network work before building (capabilities)
stays in the task; only the layer's constructor runs here, one layer at a time.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from qgis.PyQt import sip
from qgis.PyQt.QtCore import QCoreApplication, QObject, QThread, pyqtSignal, pyqtSlot

T = TypeVar("T")


class _Job:
    def __init__(self, function: Callable[[], object]) -> None:
        self.function = function
        self.result: object = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.result = self.function()
        except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
            self.error = exc
        finally:
            self.done.set()


class _Runner(QObject):
    submit = pyqtSignal(object)

    @pyqtSlot(object)
    def run(self, job: _Job) -> None:
        job.run()


_lock = threading.Lock()
_runner: _Runner | None = None


def _started() -> _Runner:
    global _runner
    with _lock:
        if _runner is None:
            thread = QThread()
            thread.setObjectName("DTFL layer builder")
            runner = _Runner()
            runner.moveToThread(thread)
            runner.submit.connect(runner.run)  # queued: the runner lives on the builder thread
            # Owned by C++ and never stopped: layers built here may outlive any shutdown order we could pick,
            # and the thread must not be destroyed while it runs (Qt aborts the process then).
            sip.transferto(thread, None)
            sip.transferto(runner, None)
            thread.start()
            _runner = runner
        return _runner


def build(function: Callable[[], T]) -> T:
    """Run ``function`` (which creates a layer and moves it to the main thread) on the builder thread.

    On the main thread it runs in place: the main thread lives as long as QGIS.
    """
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() == app.thread():
        return function()
    job = _Job(function)
    _started().submit.emit(job)
    job.done.wait()
    if job.error is not None:
        raise job.error
    return job.result  # type: ignore[return-value]


def on_builder_thread() -> bool:
    """Whether the caller runs on the builder thread (for tests)."""
    return _runner is not None and QThread.currentThread() == _runner.thread()
