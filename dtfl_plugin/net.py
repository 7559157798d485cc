"""The one place HTTP happens.

Built on QgsNetworkAccessManager so QGIS's proxy, authentication (authcfg) and SSL
settings apply; bodies stream in chunks with the size limit enforced while reading (net_transfer.py). Safe to call from a QgsTask or a Processing algorithm (worker threads);
never call it on the GUI thread for anything slow.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

from qgis.core import QgsApplication, QgsFeedback
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

from .errors import NetError
from .i18n import tr
from .net_transfer import CHUNK, Outcome, exchange

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
SPOOL_BYTES = 8 * 1024 * 1024  # bodies above this wait on disk, not in memory, until read
MAX_REDIRECTS = 10  # as browsers and curl: a loop ends here, not at the timeout
RESUMES = 3  # Range continuations of one cut-off download


@dataclass
class Response:
    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-case
    content: bytes = b""
    path: Path | None = None  # fetch_file: where the body was written (content stays empty)

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


def _read_local(url: str, max_bytes: int, use: Callable[[Path], Response]) -> Response:
    """A file:// URL or a plain path, handed to ``use(path)`` once its size is within ``max_bytes``."""
    parsed = urlparse(url)
    path = Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(url)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise NetError(tr("The file {path} is larger than allowed ({size} bytes).").format(path=path, size=size))
        return use(path)
    except OSError as err:
        raise NetError(tr("Cannot read the file {path}: {reason}").format(path=path, reason=err.strerror)) from err


def _file_response(url: str, max_bytes: int) -> Response:
    return _read_local(url, max_bytes, lambda path: Response(url=url, status=200, content=path.read_bytes()))


def _is_local(url: str) -> bool:
    scheme = urlparse(url).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt")


def is_web(url: str) -> bool:
    """True for an http(s) URL with a host: the only kind of link DTFL follows from a remote document."""
    parts = urlparse(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def follow_link(base: str, href: str) -> str:
    """Resolve ``href`` (a "next", result or job link found in a document from ``base``); only http(s) passes.

    A link to file://, ftp:// or a bare path in a remote answer would make DTFL read local files or
    leave the services the user chose, so it is refused with a message instead.
    """
    url = urljoin(base, str(href).strip())
    if not is_web(url):
        raise NetError(
            tr("The server at {host} sent a link that is not a web address ({link}); it was not followed.").format(
                host=_host(base), link=str(href)[:200]
            ),
            detail=f"{base} -> {href}",
        )
    return url


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
    allow_local: bool = True,
) -> Response:
    """Perform one HTTP request; raise NetError with a translated, actionable message on failure.

    ``feedback`` lets a task or algorithm cancel; ``timeout_s`` bounds the whole request, redirects
    included. The body is read in chunks and refused as soon as it passes ``max_bytes`` (it never sits in
    memory beyond that: above SPOOL_BYTES it is spooled to a temporary file). Local paths and file:// URLs
    are read directly so configured sources can be files or services alike; pass ``allow_local=False``
    for any URL that came from a remote document.
    """
    if _is_local(url):
        if not allow_local:
            raise NetError(tr("Only web addresses (http, https) are followed here, not {url}.").format(url=url[:200]))
        return _file_response(url, max_bytes)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        final, outcome = _send(url, method, headers, body, spool, timeout_s, authcfg, feedback, max_bytes)
        response = _decode(final, outcome, timeout_s, feedback, raise_for_status)
        spool.seek(0)
        response.content = spool.read()
    return response


def _build(url: str, headers: dict[str, str] | None, authcfg: str, cache: bool = True) -> QNetworkRequest:
    req = QNetworkRequest(QUrl(url))
    for key, value in (headers or {}).items():
        req.setRawHeader(key.encode("latin-1"), value.encode("latin-1"))
    req.setRawHeader(b"User-Agent", _user_agent().encode("latin-1"))
    # net.py decides on every redirect itself (scheme, loops, credentials): Qt must not follow any.
    req.setAttribute(
        QNetworkRequest.Attribute.RedirectPolicyAttribute, QNetworkRequest.RedirectPolicy.ManualRedirectPolicy
    )
    if not cache:  # a file download is kept by the caller; a second copy in QGIS's network cache is waste
        req.setAttribute(QNetworkRequest.Attribute.CacheSaveControlAttribute, False)
    if authcfg and not QgsApplication.authManager().updateNetworkRequest(req, authcfg):
        raise NetError(
            tr(
                "The authentication configuration {id} could not be applied. Check it in QGIS's authentication settings."
            ).format(id=authcfg),
            detail=url,
        )
    return req


def _send(url, method, headers, body, out, timeout_s, authcfg, feedback, max_bytes, cache=True) -> tuple[str, Outcome]:
    """Run the exchange, following redirects (http(s) only, at most MAX_REDIRECTS, no loops) and resuming
    a cut-off GET where the server accepts ranges. Returns the final URL and what happened there."""
    deadline = time.monotonic() + timeout_s
    verb, seen, resumes = method.upper(), [url], 0
    extra: dict[str, str] = {}
    while True:
        if feedback is not None and feedback.isCanceled():
            raise NetError(tr("Cancelled."), detail=url)
        req = _build(url, {**(headers or {}), **extra}, authcfg, cache)
        have = out.tell() if extra else 0
        outcome = exchange(
            req, verb, body, out, max_bytes=max_bytes, deadline=deadline, feedback=feedback, authcfg=authcfg, have=have
        )
        if outcome.redirect:
            target = _redirect_target(url, outcome, seen)
            if urlparse(target).netloc.lower() != urlparse(url).netloc.lower():
                authcfg = ""  # credentials are bound to the host they were configured for
            if outcome.status == 303 or (outcome.status in (301, 302) and verb == "POST"):
                verb, body = "GET", None
            url, extra = target, {}
            seen.append(url)
            continue
        if (
            verb == "GET"
            and outcome.cut_off
            and outcome.status in (200, 206)
            and resumes < RESUMES
            and "bytes" in outcome.headers.get("accept-ranges", "").lower()
        ):
            resumes += 1
            extra = _range_headers(out.tell(), outcome)
            continue
        if extra and outcome.status == 206:
            outcome = _resumed(outcome, out.tell())
        return url, outcome


def _redirect_target(url: str, outcome: Outcome, seen: list[str]) -> str:
    location = outcome.headers.get("location", "")
    target = urljoin(url, location)  # a relative Location is resolved against the URL that sent it
    if not is_web(target):
        raise NetError(
            tr("{host} redirected to {target}, which is not a web address; it was not followed.").format(
                host=_host(url), target=location[:200]
            ),
            detail=url,
            status=outcome.status,
        )
    if target in seen or len(seen) > MAX_REDIRECTS:
        raise NetError(
            tr("{host} keeps redirecting (after {count} redirects); stopped. The service is misconfigured.").format(
                host=_host(url), count=len(seen) - 1
            ),
            detail=" -> ".join(seen + [target])[:2000],
            status=outcome.status,
        )
    return target


def _range_headers(have: int, outcome: Outcome) -> dict[str, str]:
    extra = {"Range": f"bytes={have}-"}
    validator = outcome.headers.get("etag") or outcome.headers.get("last-modified")
    if validator:
        extra["If-Range"] = validator  # a changed file comes back whole (200), never spliced
    return extra


def _resumed(outcome: Outcome, total: int) -> Outcome:
    """Account a 206 continuation as the whole body: the announced total comes from Content-Range."""
    whole = outcome.headers.get("content-range", "").rpartition("/")[2].strip()
    outcome.status = 200
    outcome.expected = int(whole) if whole.isdigit() else None
    outcome.received = total
    return outcome


def _decode(url: str, outcome: Outcome, timeout_s: float, feedback, raise_for_status: bool) -> Response:
    """Turn what happened into a Response, or into the one error message that says what went wrong."""
    host = _host(url)
    if outcome.cancelled or (feedback is not None and feedback.isCanceled()):
        raise NetError(tr("Cancelled."), detail=url)
    if outcome.timed_out:
        raise NetError(
            tr(
                "The server at {host} did not answer within {seconds} seconds. Try again later or raise the timeout."
            ).format(host=host, seconds=int(timeout_s)),
            detail=url,
        )
    if outcome.too_large:
        size = outcome.expected if outcome.expected is not None else outcome.received
        raise NetError(
            tr("The answer from {host} is larger than allowed ({size} bytes); it was not read further.").format(
                host=host, size=size
            ),
            detail=url,  # no status: the server did not fail, the answer was refused here
        )
    response = Response(url=url, status=outcome.status, headers=outcome.headers)
    if 200 <= outcome.status < 300 and outcome.cut_off:
        raise NetError(
            tr("The transfer from {host} was cut off after {received} of {expected} bytes. Try again.").format(
                host=host, received=outcome.received, expected=outcome.expected if outcome.expected is not None else "?"
            ),
            detail=f"{url}: {outcome.error}",
            status=outcome.status,
        )
    if outcome.status and (outcome.status < 400 or not raise_for_status):
        return response
    if outcome.status:
        raise http_error(url, outcome.status, response)
    raise NetError(
        tr("Cannot reach {host}: {reason}. Check the address, your network and QGIS's proxy settings.").format(
            host=host, reason=outcome.error or tr("no answer")
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
    """Stream ``url`` into ``destination`` atomically: the file appears whole or not at all (see fetch_file)."""
    path = fetch_file(url, destination, **kwargs).path
    assert path is not None
    return path


def fetch_file(
    url: str,
    destination: str | Path,
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    authcfg: str = "",
    feedback: QgsFeedback | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    allow_local: bool = True,
) -> Response:
    """Stream ``url`` into ``destination``; return the Response (status, headers) with ``path`` set.

    The body goes to a hidden part file next to the destination chunk by chunk (memory stays flat
    whatever the size); a transfer cut off mid-way is resumed with a Range request where the server
    accepts ranges; any failure removes the part file, and ``destination`` appears whole or not at all.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=destination.parent)
    try:
        with os.fdopen(fd, "w+b") as handle:
            if _is_local(url):
                if not allow_local:
                    raise NetError(
                        tr("Only web addresses (http, https) are followed here, not {url}.").format(url=url[:200])
                    )
                response = _copy_local(url, handle, max_bytes)
            else:
                final, outcome = _send(
                    url, "GET", headers, None, handle, timeout_s, authcfg, feedback, max_bytes, cache=False
                )
                response = _decode(final, outcome, timeout_s, feedback, True)
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    response.path = destination
    return response


def _copy_local(url: str, handle, max_bytes: int) -> Response:
    def copy(path: Path) -> Response:
        with path.open("rb") as src:
            shutil.copyfileobj(src, handle, CHUNK)
        return Response(url=url, status=200)

    return _read_local(url, max_bytes, copy)


def _host(url: str) -> str:
    return urlparse(url).netloc or url


def _user_agent() -> str:
    from .__about__ import name, version

    return f"{name()}-QGIS-plugin/{version()}"
