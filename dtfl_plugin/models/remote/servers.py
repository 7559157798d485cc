"""Remote OGC API - Processes servers configured in settings, and a per-server job limit.

A server is {name, url, authcfg, max_jobs}. ``authcfg`` is a QGIS authentication
configuration id: credentials stay in QGIS's encrypted auth database, never in our settings.
When the sandbox (or an organisation's set-up script) puts a ``processes`` endpoint into
``settings.apply_endpoints()``, it appears as a server named "sandbox".
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass

from ... import settings
from ...i18n import tr
from .client import RemoteModelError

DEFAULT_MAX_JOBS = 4
SANDBOX_NAME = "sandbox"
_NAME_RE = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    authcfg: str = ""
    max_jobs: int = DEFAULT_MAX_JOBS

    @property
    def key(self) -> str:
        """The name as used in algorithm ids: [a-z0-9_]."""
        return sanitize(self.name)


def sanitize(text: str) -> str:
    return _NAME_RE.sub("_", text.lower()).strip("_") or "x"


def _from_dict(item: dict) -> Server | None:
    name, url = str(item.get("name", "")).strip(), str(item.get("url", "")).strip()
    if not name or not url:
        return None
    try:
        max_jobs = max(1, int(item.get("max_jobs", DEFAULT_MAX_JOBS)))
    except (TypeError, ValueError):
        max_jobs = DEFAULT_MAX_JOBS
    return Server(name=name, url=url.rstrip("/"), authcfg=str(item.get("authcfg", "") or ""), max_jobs=max_jobs)


def configured() -> list[Server]:
    """Servers the user (or organisation) configured, without the sandbox."""
    raw = settings.get_json(settings.REMOTE_SERVERS_KEY, [])
    out = [s for s in (_from_dict(i) for i in raw if isinstance(i, dict)) if s is not None]
    return out


def servers() -> list[Server]:
    """All servers: configured ones, plus "sandbox" when the endpoints name a processes server."""
    out = configured()
    url = settings.endpoints().get("processes", "")
    if url and not any(s.key == SANDBOX_NAME for s in out):
        out.append(Server(name=SANDBOX_NAME, url=url.rstrip("/")))
    return out


def get(name: str) -> Server:
    for server in servers():
        if server.name == name or server.key == sanitize(name):
            return server
    raise RemoteModelError(
        tr(
            "No remote model server named {name} is configured. Add it with 'Configure a remote model server' (dtfl:remote_server)."
        ).format(name=name)
    )


def save(server: Server) -> None:
    """Add or replace a configured server (by name)."""
    if not server.url.lower().startswith(("http://", "https://")):
        raise RemoteModelError(
            tr("A remote model server needs an http or https URL, not {url}.").format(url=server.url)
        )
    items = [asdict(s) for s in configured() if s.key != server.key]
    items.append(asdict(server))
    settings.set_json(settings.REMOTE_SERVERS_KEY, items)


def remove(name: str) -> None:
    items = [asdict(s) for s in configured() if s.key != sanitize(name)]
    settings.set_json(settings.REMOTE_SERVERS_KEY, items)


def timeout_s() -> float:
    return float(settings.get_int(settings.REMOTE_TIMEOUT_KEY, 60))


def max_wait_s() -> float:
    return float(settings.get_int(settings.REMOTE_MAX_WAIT_KEY, 6 * 3600))


# --- per-server concurrency limit (shared by every run in this QGIS process) -------------
class JobSlots:
    """A counting semaphore per server that also records how many jobs ran at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._cond = threading.Condition()
        self.active = 0
        self.peak = 0

    def acquire(self, is_cancelled) -> bool:
        with self._cond:
            while self.active >= self.limit:
                if is_cancelled():
                    return False
                self._cond.wait(0.1)
            self.active += 1
            self.peak = max(self.peak, self.active)
            return True

    def release(self) -> None:
        with self._cond:
            self.active = max(0, self.active - 1)
            self._cond.notify()


_slots: dict[str, JobSlots] = {}
_slots_lock = threading.Lock()


def slots(server: Server) -> JobSlots:
    """The slots of a server; a changed max_jobs takes effect for the next runs."""
    with _slots_lock:
        current = _slots.get(server.key)
        if current is None:
            current = _slots[server.key] = JobSlots(server.max_jobs)
        else:
            with current._cond:
                current.limit = server.max_jobs
                current._cond.notify_all()
        return current


def wait_for_slot(server: Server, feedback) -> JobSlots:
    """Block (cancellably) until a job slot is free on ``server``; tell the user while waiting."""
    js = slots(server)
    start = time.monotonic()
    with js._cond:
        busy = js.active >= js.limit
    if busy and feedback is not None:
        feedback.pushInfo(
            tr("Waiting for a free job slot on {name} (at most {n} jobs at once).").format(name=server.name, n=js.limit)
        )
    cancelled = (lambda: feedback.isCanceled()) if feedback is not None else (lambda: False)
    if not js.acquire(cancelled):
        raise RemoteModelError(tr("Cancelled."))
    if busy and feedback is not None:
        feedback.pushInfo(tr("Job slot free after {s:.1f} s.").format(s=time.monotonic() - start))
    return js


def run_job(client, server: Server, process_id: str, inputs: dict, feedback, on_status, write, on_submitted=None):
    """One job on ``server``: wait for a free slot, submit asynchronously, follow it (``on_status``), fetch the
    results and write them with ``write(results, base_url)``. Returns (job URL, what ``write`` returned).

    An error after submission carries the job URL (``err.job_url``), so the caller can dismiss the job and
    record it; a disk error while writing (nothing was moved into place) becomes a RemoteModelError."""
    job_url = ""
    slot = wait_for_slot(server, feedback)
    try:
        job_url = client.execute_async(process_id, inputs)
        feedback.pushInfo(tr("Job submitted: {url}").format(url=job_url))
        if on_submitted is not None:
            on_submitted(job_url)
        status = client.wait(job_url, on_status=on_status, max_wait_s=max_wait_s())
        results = client.results(status)
        try:
            return job_url, write(results, status.url)
        except OSError as err:  # disk full, no permission
            raise RemoteModelError(
                tr("Writing the results failed: {error}").format(error=err.strerror or err), job_url=job_url
            ) from err
    except Exception as err:
        if job_url and not getattr(err, "job_url", ""):
            err.job_url = job_url
        raise
    finally:
        slot.release()
