"""A blocking network call made on the main thread runs in a thread of its own; the main thread only waits.

This is QgsBlockingNetworkRequest's design. The alternative, a nested QEventLoop on the main thread, hands
Qt every queued event in the middle of the caller: a provider finishing a request for a layer that was just
deleted, a deferred delete, a repaint. QGIS 3.40 crashed in such a loop. While it waits, the main thread
handles events only when the worker's network manager asks for it (a login or an SSL prompt must be shown
by the main thread, and the worker blocks until it is).
"""

from __future__ import annotations

import functools
import threading
from typing import Callable, TypeVar

from qgis.core import QgsNetworkAccessManager
from qgis.PyQt.QtCore import QCoreApplication, Qt, QThread

T = TypeVar("T")
_POLL_S = 0.02


def on_main_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() == app.thread()


class _Worker(QThread):
    def __init__(self, job: Callable[[], T]) -> None:
        super().__init__()
        self._job = job
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.needs_main = threading.Event()

    def run(self) -> None:
        try:
            # First use in this fresh thread: its manager forwards proxy logins to the main thread's directly,
            # as QgsBlockingNetworkRequest sets it up, instead of blocking on a main thread that is waiting.
            nam = QgsNetworkAccessManager.instance(Qt.ConnectionType.DirectConnection)
            direct = Qt.ConnectionType.DirectConnection
            nam.requestRequiresAuth.connect(lambda *_: self.needs_main.set(), direct)
            nam.requestEncounteredSslErrors.connect(lambda *_: self.needs_main.set(), direct)
            self.result = self._job()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller on the main thread, raised there
            self.error = exc
        finally:
            self.done.set()


def run_off_main_thread(job: Callable[[], T]) -> T:
    """Run ``job`` (which drives its own event loop) in a new thread and return its result on this one."""
    # The worker's network manager links itself to the main thread's at creation; without one (a script
    # that has not touched the network yet) it links to nothing and crashes on its first signal.
    QgsNetworkAccessManager.instance()
    worker = _Worker(job)
    worker.start()
    while not worker.done.wait(_POLL_S):
        if worker.needs_main.is_set():
            QCoreApplication.processEvents()  # only now: the worker waits for a prompt the main thread shows
    worker.wait()
    if worker.error is not None:
        raise worker.error
    return worker.result  # type: ignore[return-value]


def off_main_thread(function: Callable[..., T]) -> Callable[..., T]:
    """Decorator: a call made on the main thread runs through ``run_off_main_thread``; elsewhere, in place."""

    @functools.wraps(function)
    def call(*args, **kwargs) -> T:
        if on_main_thread():
            return run_off_main_thread(lambda: function(*args, **kwargs))
        return function(*args, **kwargs)

    return call
