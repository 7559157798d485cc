"""Process descriptions cached on disk: <data_dir>/remote/<server>.json.

The provider builds remote algorithms from this cache only, so QGIS and qgis_process start
without a network call. ``refresh()`` (run by dtfl:remote_refresh, in a worker thread) is the
only code here that touches the network. Files are replaced atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

from qgis.core import QgsFeedback

from ... import settings
from ...errors import NetError
from ...files import write_json_atomic
from ...i18n import tr
from ...provenance.record import now_iso
from .client import ProcessesClient, RemoteModelError
from .servers import Server, sanitize, timeout_s

FORMAT = 1


def cache_dir() -> Path:
    path = settings.data_dir() / "remote"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_path(server_name: str) -> Path:
    return cache_dir() / f"{sanitize(server_name)}.json"


def load(server_name: str) -> dict | None:
    """The cached document of one server, or None when absent or unreadable."""
    path = cache_path(server_name)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("processes"), dict):
        return None
    return doc


def save(server: Server, processes: dict[str, dict], errors: dict[str, str] | None = None) -> Path:
    doc = {
        "format": FORMAT,
        "server": server.name,
        "url": server.url,
        "fetched": now_iso(),
        "processes": processes,
        "errors": errors or {},
    }
    return write_json_atomic(cache_path(server.name), doc)


def refresh(server: Server, feedback: QgsFeedback | None = None) -> dict:
    """Fetch the process list and every description of ``server`` into the cache.

    A description that fails is reported and skipped, so one broken process does not
    hide the others; a server that cannot be listed leaves the old cache untouched.
    """
    client = ProcessesClient(server.url, authcfg=server.authcfg, timeout_s=timeout_s(), feedback=feedback)
    summaries = client.processes()
    processes: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for i, summary in enumerate(summaries):
        pid = str(summary["id"])
        if feedback is not None:
            if feedback.isCanceled():
                raise RemoteModelError(tr("Cancelled."))
            feedback.setProgress(100.0 * i / max(1, len(summaries)))
        try:
            processes[pid] = client.describe(pid)
        except (RemoteModelError, NetError) as err:
            errors[pid] = str(err)
            if feedback is not None:
                feedback.reportError(
                    tr("Process {id} on {server} skipped: {error}").format(id=pid, server=server.name, error=err)
                )
    save(server, processes, errors)
    return processes


def cached_descriptions() -> list[tuple[Server, dict]]:
    """(server, description) for every configured server's cached processes. No network."""
    from .servers import servers

    out = []
    for server in servers():
        doc = load(server.name)
        if doc is None:
            continue
        for pid in sorted(doc["processes"]):
            desc = doc["processes"][pid]
            if isinstance(desc, dict):
                out.append((server, desc))
    return out
