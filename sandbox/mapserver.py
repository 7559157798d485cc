"""WFS 2.0 server from MapServer's Python bindings (Debian's python3-mapscript), run with Debian's Python:

    /usr/bin/python3 -m sandbox.mapserver --port N --mapfile sandbox.map

Each request is dispatched with ``mapObj.OWSDispatch`` on a fresh map object; MapServer's stdout buffer is
process-wide state, so requests are served one at a time (a lock), like a single mapserv worker.
"""

from __future__ import annotations

import argparse
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import mapscript

from sandbox.fileserver import serve_until_interrupted

_LOCK = threading.Lock()


def dispatch(mapfile: str, query: str, body: bytes | None = None, content_type: str = "") -> tuple[int, str, bytes]:
    with _LOCK:
        request = mapscript.OWSRequest()
        if body:
            request.loadParamsFromPost(body.decode("utf-8"), content_type or "application/xml")
        if query:
            request.loadParamsFromURL(query)
        mapscript.msIO_installStdoutToBuffer()
        try:
            status = mapscript.mapObj(mapfile).OWSDispatch(request)
            ctype = mapscript.msIO_stripStdoutBufferContentType() or "text/plain"
            data = mapscript.msIO_getStdoutBufferBytes()
        finally:
            mapscript.msIO_resetHandlers()
    if status != mapscript.MS_SUCCESS and not data:
        return 400, "text/plain; charset=utf-8", b"not an OGC request for this server\n"
    return 200, ctype, data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    def _reply(self, body: bytes | None) -> None:
        try:
            status, ctype, data = dispatch(self.server.mapfile, urlsplit(self.path).query, body,
                                           self.headers.get("Content-Type", ""))  # fmt: skip
        except mapscript.MapServerError as exc:
            status, ctype, data = 500, "text/plain; charset=utf-8", f"MapServer error: {exc}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply(None)

    def do_HEAD(self) -> None:
        self._reply(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._reply(self.rfile.read(length))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, mapfile: str):
        self.mapfile = mapfile
        super().__init__(address, _Handler)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="WFS 2.0 from a MapServer mapfile")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mapfile", required=True)
    args = ap.parse_args(argv)
    mapscript.mapObj(args.mapfile)  # fail at start, with MapServer's message, when the mapfile is wrong
    server = _Server((args.host, args.port), args.mapfile)
    return serve_until_interrupted(server)


if __name__ == "__main__":
    sys.exit(main())
