"""Where the sandbox keeps its state, finds its data and caches what it generates.

Everything generated lives under ``.sandbox/`` (gitignored): ``logs/``, ``pids/``, ``run/`` (per start) and
``cache/`` (artefacts keyed by a hash of their inputs, so a warm start rebuilds nothing).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Callable, Union

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("DTFL_SANDBOX_DIR", ROOT / ".sandbox"))
LOGS = STATE / "logs"
PIDS = STATE / "pids"
RUN = STATE / "run"
# The cache may be shared by several state folders (a test starting a second sandbox reuses the artefacts).
CACHE = Path(os.environ.get("DTFL_SANDBOX_CACHE_DIR", STATE / "cache"))
ENDPOINTS = STATE / "endpoints.json"
PORTS = STATE / "ports.json"
SHARED_DATA = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data"))
SERVERS_VENV = Path(os.environ.get("DTFL_SERVERS_VENV", ROOT / ".venv-servers"))
SERVERS_PYTHON = SERVERS_VENV / "bin" / "python"
# The QGIS project is built with Debian's Python, which has the qgis bindings (never a venv's).
QGIS_PYTHON = Path(os.environ.get("DTFL_QGIS_PYTHON", "/usr/bin/python3"))
HOST = "127.0.0.1"
TEMPLATE_PORT_RANGE = range(65001, 65011)  # placeholder ports in cached artefacts (sandbox.artefacts)
KEEP_VERSIONS = 3  # older cache versions kept besides the current one

Input = Union[Path, str, bytes]


def ensure_dirs() -> None:
    for d in (LOGS, PIDS, RUN, CACHE):
        d.mkdir(parents=True, exist_ok=True)


def digest(inputs: Iterable[Input]) -> str:
    """Hash of files (path + content; folders recursively), strings and bytes, in order."""
    h = hashlib.sha256()
    for item in inputs:
        if isinstance(item, Path):
            files = sorted(p for p in item.rglob("*") if p.is_file()) if item.is_dir() else [item]
            for f in files:
                h.update(str(f).encode())
                with open(f, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):  # noqa: B023 - fh is bound per loop
                        h.update(chunk)
        elif isinstance(item, str):
            h.update(item.encode())
        else:
            h.update(item)
        h.update(b"\0")
    return h.hexdigest()[:16]


def cached(name: str, inputs: Iterable[Input], build: Callable[[Path], None]) -> Path:
    """Folder ``cache/<name>-<hash>`` holding what ``build(folder)`` wrote; built once per input hash.

    The build writes into a temporary folder that is renamed into place only when it succeeded, so a crash
    never leaves a half-built artefact that a later start would trust. Older versions of the same artefact
    are removed except the most recent few (another sandbox sharing the cache may be using them).
    """
    ensure_dirs()
    key = digest(inputs)
    target = CACHE / f"{name}-{key}"
    if target.is_dir():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=CACHE))
    try:
        build(tmp)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    versions = sorted(
        (p for p in CACHE.glob(f"{name}-*") if p.is_dir() and p != target), key=lambda p: p.stat().st_mtime
    )
    for old in versions[:-KEEP_VERSIONS]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as the servers do: a port whose old connections linger in TIME_WAIT is free to listen on again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(avoid: Iterable[int] = ()) -> int:
    """A port on 127.0.0.1 the kernel hands out (bind to port 0); never a hard-coded number."""
    avoid = set(avoid) | set(TEMPLATE_PORT_RANGE)  # placeholders in cached artefacts (sandbox.artefacts)
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in avoid:
            return port


def write_atomic(path: Path, data: Union[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)
