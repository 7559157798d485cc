"""A loopback HTTP server for the tests that need one of their own (not the sandbox): a request handler served
on 127.0.0.1 (a free port) by a background thread, and the plain answer those handlers write.

Shared by test_net and the recipe reach fixtures, not a test module.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[http.server.ThreadingHTTPServer]:
    """Serve ``handler`` on 127.0.0.1 until the block ends; the server's port is ``server_address[1]``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def reply(handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"", content_type: str = "",
          **headers: str) -> None:  # fmt: skip
    """Answer with ``status`` and ``body`` (Content-Length always set); ``headers`` e.g. ``Retry_After="2"``."""
    handler.send_response(status)
    if content_type:
        handler.send_header("Content-Type", content_type)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
