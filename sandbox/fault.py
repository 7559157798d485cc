"""A fault-injecting HTTP front on loopback, in front of any sandbox server (for reliability tests).

    with FaultFront("http://127.0.0.1:8123/ows") as front:
        front.add_rule(r"/ows", status=503, retry_after=2, times=1)   # first request: 503, then normal
        url = front.url                                              # http://127.0.0.1:<port>/ows

Requests to the front go to the upstream with the same path and query. Per rule (first match wins; matched
on the path, or path plus query when the pattern contains ``?``, with ``re.search``; optionally on the
method) the front can:

* ``delay=N``      wait N seconds before anything else (the rest of the rule still applies);
* ``drop=True``    close the connection without answering;
* ``truncate=N``   forward the upstream answer but send only its first N body bytes (Content-Length
                   still announces the full length) and close;
* ``status=S``     answer S itself (500, 429, 503 ...) with ``retry_after`` as Retry-After header;
* ``body=...``     answer this (malformed XML/JSON ...) body with ``content_type`` (status 200 unless given);
* ``location=...`` redirect there (status 302 unless given; relative or absolute, any scheme);
* ``size=N``       answer a generated body of N bytes (``pattern(offset, n)`` gives its bytes; 1 GB costs the
                   front nothing), honouring ``Range`` when ``ranges=True``;
* ``endless=True`` answer a generated body that never ends (no Content-Length) until the client goes;
* ``drip=S``       send the (generated) body one byte every S seconds;
* ``content_length=N`` announce N as Content-Length whatever is sent (a lying server);
* ``cut_at=N``     stop a generated body after N bytes of this answer and close the connection.

``times=N`` applies a rule to its first N matching requests only. Textual upstream answers are rewritten so
that absolute URLs of the upstream point at the front (clients that follow links stay behind it).
``front.requests`` logs (method, path, rule index or None).
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Union
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
        "transfer-encoding", "upgrade", "content-length", "accept-encoding"}  # fmt: skip
_TEXT = ("xml", "json", "html", "text", "javascript", "yaml")
_BLOCK = 64 * 1024
_PATTERN = bytes(range(251)) * (2 * _BLOCK // 251 + 2)  # 251 is prime: no block boundary aligns with it


def pattern(offset: int, n: int) -> bytes:
    """Bytes ``offset`` .. ``offset + n`` of every generated body (byte i is ``i % 251``)."""
    out = bytearray()
    while n > 0:
        i = offset % 251
        take = min(n, _BLOCK)
        out += _PATTERN[i : i + take]
        offset, n = offset + take, n - take
    return bytes(out)


@dataclass
class Rule:
    path: str
    method: Optional[str] = None
    delay: float = 0.0
    drop: bool = False
    truncate: Optional[int] = None
    status: Optional[int] = None
    retry_after: Optional[int] = None
    body: Optional[Union[str, bytes]] = None
    content_type: str = "text/plain; charset=utf-8"
    location: Optional[str] = None
    size: Optional[int] = None
    ranges: bool = False
    endless: bool = False
    drip: Optional[float] = None
    content_length: Optional[int] = None
    cut_at: Optional[int] = None
    times: Optional[int] = None
    hits: int = 0

    def matches(self, method: str, target: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        subject = target if "?" in self.path else target.split("?", 1)[0]
        return re.search(self.path, subject) is not None


class FaultFront:
    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0):
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._up_host = parts.hostname
        self._up_port = parts.port or 80
        self._up_prefix = parts.path.rstrip("/")
        self.rules: list[Rule] = []
        self.requests: list[tuple[str, str, Optional[int]]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server((host, port), _Handler, self)
        self._thread: Optional[threading.Thread] = None

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The upstream URL as seen through the front (same path)."""
        return self.base + self._up_prefix

    def add_rule(self, path: str, method: Optional[str] = None, **kwargs) -> Rule:
        rule = Rule(path=path, method=method, **kwargs)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        with self._lock:
            self.rules.clear()

    def _match(self, method: str, target: str) -> tuple[Optional[int], Optional[Rule]]:
        with self._lock:
            for i, rule in enumerate(self.rules):
                if rule.matches(method, target):
                    rule.hits += 1
                    return i, rule
        return None, None

    def start(self) -> FaultFront:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="fault-front", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FaultFront:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, front: FaultFront):
        self.front = front
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args) -> None:  # quiet: tests read front.requests instead
        pass

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET  # noqa: N815 - http.server names

    def _handle(self) -> None:
        front = self.server.front
        index, rule = front._match(self.command, self.path)
        front.requests.append((self.command, self.path, index))
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else None
        if rule and rule.delay and front._closing.wait(rule.delay):
            return
        if rule and rule.drop:
            self._drop()
            return
        if rule and rule.location is not None:
            self._answer(rule.status or 302, {"Location": rule.location, "Content-Type": "text/plain"}, b"")
            return
        if rule and (rule.size is not None or rule.endless or rule.drip is not None):
            self._generate(rule)
            return
        if rule and (rule.status is not None or rule.body is not None):
            body = rule.body if rule.body is not None else f"fault front: status {rule.status}\n"
            data = body.encode() if isinstance(body, str) else body
            headers = {"Content-Type": rule.content_type}
            if rule.retry_after is not None:
                headers["Retry-After"] = str(rule.retry_after)
            self._answer(rule.status or 200, headers, data)
            return
        try:
            status, headers, data = self._forward(payload)
        except OSError as exc:
            self._answer(502, {"Content-Type": "text/plain"}, f"fault front: upstream failed: {exc}\n".encode())
            return
        if rule and rule.truncate is not None:
            self._answer(status, headers, data, send=data[: rule.truncate])
            self._drop()
            return
        self._answer(status, headers, data)

    def _forward(self, payload: Optional[bytes]) -> tuple[int, dict, bytes]:
        front = self.server.front
        conn = http.client.HTTPConnection(front._up_host, front._up_port, timeout=300)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            conn.request(self.command, self.path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP}
        finally:
            conn.close()
        ctype = out.get("Content-Type", out.get("content-type", ""))
        if any(t in ctype for t in _TEXT):
            old = f"http://{front._up_host}:{front._up_port}".encode()
            data = data.replace(old, front.base.encode())
            if "Location" in out:
                out["Location"] = out["Location"].replace(old.decode(), front.base)
        return resp.status, out, data

    def _generate(self, rule: Rule) -> None:
        """A generated body: sized (optionally ranged), endless or dripping, streamed without holding it."""
        start, end = 0, rule.size  # end is exclusive; None = endless
        status, headers = 200, {"Content-Type": "application/octet-stream"}
        if rule.ranges and rule.size is not None:
            headers["Accept-Ranges"] = "bytes"
            headers["ETag"] = f'"gen-{rule.size}"'
            wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", "").strip())
            if wanted and int(wanted.group(1)) < rule.size:
                start, status = int(wanted.group(1)), 206
                headers["Content-Range"] = f"bytes {start}-{rule.size - 1}/{rule.size}"
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        announced = rule.content_length if rule.content_length is not None else (None if end is None else end - start)
        if announced is not None:
            self.send_header("Content-Length", str(announced))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        offset, sent = start, 0
        try:
            while (end is None or offset < end) and not self.server.front._closing.is_set():
                n = 1 if rule.drip is not None else _BLOCK
                if end is not None:
                    n = min(n, end - offset)
                if rule.cut_at is not None:
                    n = min(n, rule.cut_at - sent)
                    if n <= 0:
                        break
                self.wfile.write(pattern(offset, n))
                offset, sent = offset + n, sent + n
                if rule.drip is not None:
                    self.wfile.flush()
                    if self.server.front._closing.wait(rule.drip):
                        break
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return
        if rule.cut_at is not None and sent >= rule.cut_at:
            self._drop()

    def _answer(self, status: int, headers: dict, data: bytes, send: Optional[bytes] = None) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD":
            try:
                self.wfile.write(data if send is None else send)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
