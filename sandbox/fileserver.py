"""Static, read-only file server with HTTP Range support (what GDAL's /vsicurl/ and QGIS's EPT reader need).

Serves folders under URL prefixes WITHOUT copying them (the shared sample data stays where it is)::

    python -m sandbox.fileserver --port 0 --map /ahn=/path/to/cog/folder --map /ept/ahn3_delft=/path/to/ept

GET and HEAD only; ``Range: bytes=a-b`` (also ``a-`` and ``-n``) answers 206 with ``Content-Range``; an
unsatisfiable range 416. A path that leaves its mapped folder (``..``, symlinks out, absolute) is 404.
With ``--port 0`` the kernel picks a free port; the chosen port is printed as ``PORT <n>`` on stdout.
"""

from __future__ import annotations

import argparse
import email.utils
import mimetypes
import os
import posixpath
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/city+json-seq",
    ".geojson": "application/geo+json",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".laz": "application/vnd.laszip",
    ".las": "application/vnd.las",
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".b3dm": "application/octet-stream",
    ".xml": "application/xml",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".city.json"):
        return "application/city+json"
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class FileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], mapping: dict[str, Path]):
        # longest prefix first so /ept/ahn3 wins over /ept
        self.mapping = sorted(
            ((p.rstrip("/"), Path(d).resolve()) for p, d in mapping.items()), key=lambda x: -len(x[0])
        )
        super().__init__(address, _Handler)

    def resolve(self, url_path: str) -> Path | None:
        path = posixpath.normpath(unquote(url_path))
        for prefix, folder in self.mapping:
            if path == prefix or path.startswith(prefix + "/"):
                rest = path[len(prefix) :].lstrip("/")
                target = (folder / rest).resolve() if folder.is_dir() else folder
                if folder.is_dir() and folder != target and folder not in target.parents:
                    return None  # traversal or a symlink leaving the served folder
                return target if target.is_file() else None
        return None


class _Handler(BaseHTTPRequestHandler):
    server: FileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args) -> None:
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _error(self, status: int, message: str, extra: dict | None = None) -> None:
        data = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _serve(self, body: bool) -> None:
        path = self.server.resolve(urlsplit(self.path).path)
        if path is None:
            self._error(404, "not found\n")
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        status = 200
        header = self.headers.get("Range")
        if header:
            m = _RANGE.match(header.strip())
            if not m or (m.group(1) == "" and m.group(2) == ""):
                self._error(416, "bad range\n", {"Content-Range": f"bytes */{size}"})
                return
            if m.group(1) == "":  # suffix: the last n bytes
                start = max(0, size - int(m.group(2)))
            else:
                start = int(m.group(1))
                if m.group(2):
                    end = min(int(m.group(2)), size - 1)
            if start >= size or start > end:
                self._error(416, "range not satisfiable\n", {"Content-Range": f"bytes */{size}"})
                return
            status = 206
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", content_type(path))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
        self.send_header("Access-Control-Allow-Origin", "*")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not body:
            return
        with open(path, "rb") as fh:
            fh.seek(start)
            try:
                _copy(fh, self.wfile, length)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading (GDAL often closes after the bytes it needs)


def _copy(src, dst, length: int) -> None:
    remaining = length
    while remaining > 0:
        chunk = src.read(min(1 << 16, remaining))
        if not chunk:
            break
        dst.write(chunk)
        remaining -= len(chunk)


def serve(mapping: dict[str, Path], host: str = "127.0.0.1", port: int = 0) -> FileServer:
    return FileServer((host, port), mapping)


def serve_until_interrupted(server) -> int:
    """Serve until the process is interrupted; the exit status of a server script's main()."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--map", action="append", default=[], help="/url/prefix=/folder/or/file")
    args = ap.parse_args(argv)
    mapping = {}
    for item in args.map:
        prefix, _, folder = item.partition("=")
        if not prefix.startswith("/") or not os.path.exists(folder):
            ap.error(f"bad --map {item!r}: needs /prefix=<existing path>")
        mapping[prefix] = Path(folder)
    server = serve(mapping, args.host, args.port)
    print(f"PORT {server.server_address[1]}", flush=True)
    return serve_until_interrupted(server)


if __name__ == "__main__":
    sys.exit(main())
