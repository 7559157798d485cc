"""The one place HTTP happens.

Built on QgsBlockingNetworkRequest so QGIS's proxy, authentication (authcfg) and SSL
settings apply. Safe to call from a QgsTask or a Processing algorithm (worker threads);
never call it on the GUI thread for anything slow.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from qgis.core import QgsBlockingNetworkRequest, QgsFeedback
from qgis.PyQt.QtCore import QByteArray, QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

from .errors import NetError
from .i18n import tr

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-case
    content: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self):
        import json

        try:
            return json.loads(self.content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise NetError(
                tr(
                    "The server at {url} sent an answer that is not valid JSON. Check the URL or try again later."
                ).format(url=self.url),
                detail=str(err),
                status=self.status,
            ) from err


def _file_response(url: str, max_bytes: int) -> Response:
    parsed = urlparse(url)
    path = Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(url)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise NetError(tr("The file {path} is larger than allowed ({size} bytes).").format(path=path, size=size))
        return Response(url=url, status=200, content=path.read_bytes())
    except OSError as err:
        raise NetError(tr("Cannot read the file {path}: {reason}").format(path=path, reason=err.strerror)) from err


def _is_local(url: str) -> bool:
    scheme = urlparse(url).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


def request(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    authcfg: str = "",
    feedback: QgsFeedback | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    raise_for_status: bool = True,
) -> Response:
    """Perform one HTTP request; raise NetError with a translated, actionable message on failure.

    ``feedback`` lets a task or algorithm cancel; ``timeout_s`` bounds the whole request.
    Local paths and file:// URLs are read directly so sources can be files or services alike.
    """
    if _is_local(url):
        return _file_response(url, max_bytes)

    req = QNetworkRequest(QUrl(url))
    for key, value in (headers or {}).items():
        req.setRawHeader(key.encode("latin-1"), value.encode("latin-1"))
    req.setRawHeader(b"User-Agent", _user_agent().encode("latin-1"))

    blocking = QgsBlockingNetworkRequest()
    if authcfg:
        blocking.setAuthCfg(authcfg)

    # Our own feedback: it is cancelled by the caller's feedback or by the timer, and we know which.
    own = QgsFeedback()
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        own.cancel()

    timer = threading.Timer(timeout_s, on_timeout)
    timer.daemon = True
    link = None
    if feedback is not None:
        if feedback.isCanceled():
            raise NetError(tr("Cancelled."), detail=url)
        link = feedback.canceled.connect(own.cancel)
    timer.start()
    try:
        verb = method.upper()
        if verb == "GET":
            code = blocking.get(req, True, own)
        elif verb == "POST":
            code = blocking.post(req, QByteArray(body or b""), True, own)
        elif verb == "PUT":
            code = blocking.put(req, QByteArray(body or b""), own)
        elif verb == "DELETE":
            code = blocking.deleteResource(req, own)
        elif verb == "HEAD":
            code = blocking.head(req, True, own)
        else:
            raise ValueError(f"unsupported method {method}")
    finally:
        timer.cancel()
        if link is not None and feedback is not None:
            try:
                feedback.canceled.disconnect(own.cancel)
            except (TypeError, RuntimeError):
                pass

    reply = blocking.reply()
    status_attr = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
    status = int(status_attr) if status_attr not in (None, "") else 0
    response = Response(
        url=url,
        status=status,
        headers={
            bytes(k).decode("latin-1").lower(): bytes(reply.rawHeader(k)).decode("latin-1")
            for k in reply.rawHeaderList()
        },
        content=bytes(reply.content()),
    )

    if timed_out.is_set():
        raise NetError(
            tr(
                "The server at {host} did not answer within {seconds} seconds. Try again later or raise the timeout."
            ).format(host=_host(url), seconds=int(timeout_s)),
            detail=url,
        )
    if feedback is not None and feedback.isCanceled():
        raise NetError(tr("Cancelled."), detail=url)
    if len(response.content) > max_bytes:
        raise NetError(
            tr("The answer from {host} is larger than allowed ({size} bytes).").format(
                host=_host(url), size=len(response.content)
            ),
            detail=url,
            status=status,
        )
    if code == QgsBlockingNetworkRequest.ErrorCode.NoError or (status and not raise_for_status):
        return response
    if status:
        if not raise_for_status:
            return response
        raise http_error(url, status, response)
    raise NetError(
        tr("Cannot reach {host}: {reason}. Check the address, your network and QGIS's proxy settings.").format(
            host=_host(url), reason=blocking.errorMessage() or tr("no answer")
        ),
        detail=url,
    )


def http_error(url: str, status: int, response: Response | None = None) -> NetError:
    """A translated NetError for an HTTP error status."""
    if status == 429:
        msg = tr("The server at {host} is busy and asks to slow down (HTTP 429). Try again in a moment.")
    elif status in (401, 403):
        msg = tr("The server at {host} refused access (HTTP {status}). Check the authentication configuration.")
    elif status == 404:
        msg = tr("The address was not found on {host} (HTTP 404). The service may have moved or been retired.")
    elif status >= 500:
        msg = tr("The server at {host} has a problem (HTTP {status}). Try again later.")
    else:
        msg = tr("The server at {host} answered with HTTP {status}.")
    err = NetError(msg.format(host=_host(url), status=status), detail=url, status=status)
    err.retry_after = _retry_after(response)  # type: ignore[attr-defined]
    return err


def _retry_after(response: Response | None) -> float | None:
    if response is None:
        return None
    value = response.header("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def get(url: str, **kwargs) -> Response:
    return request(url, method="GET", **kwargs)


def get_json(url: str, **kwargs):
    headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
    return request(url, method="GET", headers=headers, **kwargs).json()


def post_json(url: str, payload, **kwargs) -> Response:
    import json

    headers = {"Content-Type": "application/json", "Accept": "application/json", **kwargs.pop("headers", {})}
    return request(url, method="POST", headers=headers, body=json.dumps(payload).encode("utf-8"), **kwargs)


def download(url: str, destination: str | Path, **kwargs) -> Path:
    """Fetch ``url`` into ``destination`` atomically: the file appears whole or not at all."""
    response = request(url, method="GET", **kwargs)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=destination.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(response.content)
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return destination


def _host(url: str) -> str:
    return urlparse(url).netloc or url


def _user_agent() -> str:
    from .__about__ import name, version

    return f"{name()}-QGIS-plugin/{version()}"
