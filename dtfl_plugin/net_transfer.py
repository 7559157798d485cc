"""One HTTP exchange on QGIS's network stack, streamed into a sink with every limit enforced while reading.

QgsBlockingNetworkRequest keeps the whole body in memory and follows redirects without a cap, so net.py
drives a QNetworkReply itself: the reply's read buffer is bounded, each chunk goes straight to the sink
(a spooled buffer or a file), and the byte limit, the deadline and cancellation are checked as data
arrives, not after. Redirects are never followed here; net.py decides on each one.

Works on any thread. In a worker thread a local QEventLoop runs the reply on that thread's own
QgsNetworkAccessManager. On the main thread no event loop is ever nested: like QgsBlockingNetworkRequest,
the exchange runs in a short-lived thread of its own while the main thread waits. A nested loop on the
main thread delivers whatever else is queued (a layer's provider finishing a request after the layer was
deleted, a deferred delete) in the middle of our call, and QGIS 3.40 crashed in exactly that loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import BinaryIO

from qgis.core import QgsApplication, QgsFeedback, QgsNetworkAccessManager
from qgis.PyQt.QtCore import QByteArray, QEventLoop, QTimer
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from .errors import NetError
from .i18n import tr
from .net_thread import off_main_thread

CHUNK = 256 * 1024
_POLL_MS = 50
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class Outcome:
    """What one exchange gave: status and headers (if any arrived), how much body, and why it ended."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-case
    received: int = 0
    expected: int | None = None  # the announced Content-Length
    error: str = ""  # Qt's error text when the transfer failed
    too_large: bool = False
    timed_out: bool = False
    cancelled: bool = False

    @property
    def redirect(self) -> bool:
        return self.status in REDIRECTS and bool(self.headers.get("location"))

    @property
    def cut_off(self) -> bool:
        """The body ended before the announced length, or the connection broke mid-body."""
        if self.too_large or self.timed_out or self.cancelled or not self.status:
            return False
        short = self.expected is not None and self.received < self.expected
        return short or (bool(self.error) and self.received > 0)


class _Sink:
    """Counts and forwards chunks; refuses past ``max_bytes`` (the limit holds while reading)."""

    def __init__(self, out: BinaryIO | None, max_bytes: int, have: int) -> None:
        self.out = out
        self.max_bytes = max_bytes
        self.count = have  # bytes already in ``out`` from an earlier, cut-off exchange

    def restart(self) -> None:
        self.count = 0
        if self.out is not None:
            self.out.seek(0)
            self.out.truncate()

    def take(self, chunk: bytes) -> bool:
        if self.count + len(chunk) > self.max_bytes:
            return False
        self.count += len(chunk)
        if self.out is not None:
            self.out.write(chunk)
        return True


@off_main_thread
def exchange(
    request: QNetworkRequest,
    verb: str,
    body: bytes | None,
    out: BinaryIO | None,
    *,
    max_bytes: int,
    deadline: float,
    feedback: QgsFeedback | None,
    authcfg: str = "",
    have: int = 0,
) -> Outcome:
    """Send ``request``; write the body of a non-redirect answer to ``out``; stop at the first limit hit.

    ``have`` bytes are already in ``out`` when this continues a download with a Range request; an answer
    other than 206 then replaces them (the server sends the whole body again). The exchange runs on the
    calling thread (a worker's, or one of its own when called on the main thread), its own event loop
    driving the reply.
    """
    outcome = Outcome()
    reply = _send(request, verb, body)
    if authcfg:
        QgsApplication.authManager().updateNetworkReply(reply, authcfg)
    reply.setReadBufferSize(CHUNK)  # Qt stops reading the socket when this much is unread: no hidden buffer
    sink = _Sink(out, max_bytes, have)

    def headers_in() -> None:
        if outcome.status:
            return
        _read_head(reply, outcome)
        if have and outcome.status != 206 and not outcome.redirect:
            sink.restart()
        if verb == "HEAD":
            outcome.expected = None  # a HEAD announces the length of a body it never sends
        elif outcome.expected is not None and outcome.expected > max_bytes and not outcome.redirect:
            outcome.too_large = True  # refused on the announcement, before any byte
            reply.abort()

    def drain() -> None:
        headers_in()
        while not outcome.too_large and reply.bytesAvailable() > 0:
            chunk = bytes(reply.read(CHUNK))
            if not chunk:
                break
            outcome.received += len(chunk)
            if outcome.redirect:
                continue  # a redirect's body is never kept
            if not sink.take(chunk):
                outcome.too_large = True
                reply.abort()

    def watch() -> None:
        if feedback is not None and feedback.isCanceled():
            outcome.cancelled = True
            reply.abort()
        elif time.monotonic() > deadline:
            outcome.timed_out = True
            reply.abort()

    failures: list[BaseException] = []
    _run_to_end(reply, *(_guarded(slot, reply, failures) for slot in (headers_in, drain, watch)))
    if failures:
        reply.deleteLater()
        _raise(failures[0], request)
    if reply.error() != QNetworkReply.NetworkError.NoError and not (outcome.too_large or outcome.timed_out):
        outcome.error = reply.errorString() or "network error"
    headers_in()
    # Never delete a reply synchronously (sip.delete): Qt and QGIS may still hold queued work for it. deleteLater()
    # is run by the next event loop of this thread, or when the thread ends (QThread processes deferred deletes on
    # exit), so at most one finished reply waits per thread.
    reply.deleteLater()
    return outcome


def _guarded(slot, reply: QNetworkReply, failures: list[BaseException]):
    """``slot`` as a Qt slot may run it: a Python exception must never leave a Qt slot (PyQt then aborts the
    process, QGIS with it). A failing sink (a full disk) or any other error stops the transfer instead and is
    kept in ``failures``, to be raised on the caller's side."""

    def call() -> None:
        if failures:
            return
        try:
            slot()
        except BaseException as exc:  # noqa: BLE001 - raised again after the loop
            failures.append(exc)
            reply.abort()

    return call


def _raise(exc: BaseException, request: QNetworkRequest) -> None:
    if isinstance(exc, OSError):
        raise NetError(
            tr(
                "What {host} sent could not be written: {reason}. Check the free disk space (and that the folder can "
                "be written) and try again."
            ).format(host=request.url().host(), reason=exc.strerror or exc),
            detail=request.url().toString(),
        ) from exc
    raise exc


def _run_to_end(reply: QNetworkReply, headers_in, drain, watch) -> None:
    """Run ``reply`` to its end in a local event loop: headers and body handed over as they arrive, ``watch``
    polled for cancel and the deadline; every connection undone afterwards."""
    loop = QEventLoop()
    reply.metaDataChanged.connect(headers_in)
    reply.readyRead.connect(drain)
    reply.finished.connect(loop.quit)
    timer = QTimer()
    timer.setInterval(_POLL_MS)
    timer.timeout.connect(watch)
    timer.start()
    try:
        watch()
        if not reply.isFinished():
            loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        drain()
    finally:
        timer.stop()
        for signal, slot in (
            (reply.metaDataChanged, headers_in),
            (reply.readyRead, drain),
            (reply.finished, loop.quit),
        ):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass


def _send(request: QNetworkRequest, verb: str, body: bytes | None) -> QNetworkReply:
    nam = QgsNetworkAccessManager.instance()
    if verb == "GET":
        return nam.get(request)
    if verb == "HEAD":
        return nam.head(request)
    if verb == "POST":
        return nam.post(request, QByteArray(body or b""))
    if verb == "PUT":
        return nam.put(request, QByteArray(body or b""))
    if verb == "DELETE":
        return nam.deleteResource(request)
    raise ValueError(f"unsupported method {verb}")


def _read_head(reply: QNetworkReply, outcome: Outcome) -> None:
    status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
    if status in (None, ""):
        return
    outcome.status = int(status)
    outcome.headers = {
        bytes(k).decode("latin-1").lower(): bytes(reply.rawHeader(k)).decode("latin-1") for k in reply.rawHeaderList()
    }
    length = outcome.headers.get("content-length", "").strip()
    if length.isdigit() and "content-encoding" not in outcome.headers:
        outcome.expected = int(length)
