"""Start, stop and inspect the sandbox: `python -m sandbox start|stop|status` and the Python API.

State: ``.sandbox/pids/<server>.json`` ({pid, pgid, port, marker, log}) for each server we started,
``.sandbox/endpoints.json``, ``.sandbox/ports.json`` (ports reused when still free so URLs, and with them
the cached artefacts, stay the same between starts). Every server runs in its own process group
(``start_new_session``) so `stop` ends exactly it and its children. A lock file serialises start/stop of
concurrent callers (several test sessions share one working tree).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .endpoints import SERVERS, make_endpoints
from .paths import (
    ENDPOINTS,
    LOGS,
    PIDS,
    PORTS,
    SERVERS_PYTHON,
    STATE,
    TEMPLATE_PORT_RANGE,
    ensure_dirs,
    free_port,
    port_is_free,
    write_atomic,
)
from .sessions import (  # noqa: F401 - re-exported: scripts and the fixture use runner.*
    FINGERPRINT,
    OWNER,
    acquire_lease,
    code_fingerprint,
    live_leases,
    owner,
    pid_alive,
    recorded_fingerprint,
    release_lease,
)

START_TIMEOUT = float(os.environ.get("DTFL_SANDBOX_START_TIMEOUT", "90"))


class SandboxError(RuntimeError):
    """A server could not be started or answered wrongly; the message names it and its log."""


def servers_venv_problem() -> str | None:
    """Why the servers cannot be started from this Python (None when they can).

    The servers' venv is built for the host's Python; inside the other Debian release's chroot (another
    Python) the sandbox must be started on the host (scripts/test.sh does) and is reused from there.
    """
    venv = SERVERS_PYTHON.parent.parent
    cfg = venv / "pyvenv.cfg"
    if not SERVERS_PYTHON.exists() or not cfg.is_file():
        return f"the servers' virtual environment {venv} is missing: run `make setup`"
    version = ""
    for line in cfg.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "version":
            version = value.strip()
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if version and not version.startswith(here + "."):
        return (f"the servers' virtual environment {venv} is for Python {version}, this is Python {here} "
                "(another Debian release?): start the sandbox on the host with `make sandbox`")  # fmt: skip
    return None


@contextlib.contextmanager
def _lock():
    ensure_dirs()
    with open(STATE / "lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alive(pid: int, marker: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        state = "?"
    return marker in cmdline and state != "Z"


def _records() -> dict[str, dict]:
    out = {}
    for path in sorted(PIDS.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            out[path.stem] = json.loads(path.read_text())
    return out


def _healthy_endpoints(patience: float = 30.0) -> dict | None:
    """The running sandbox's endpoints if every server runs and answers, else None.

    A server that runs but is slow to answer (qgis_mapserver serves one request at a time, and several
    test sessions may be using it) gets ``patience`` seconds before the sandbox counts as broken.
    """
    from .servers import check

    recs = _records()
    if set(recs) != set(SERVERS) or not ENDPOINTS.is_file():
        return None
    deadline = time.monotonic() + patience
    pending = dict(recs)
    while pending:
        if not all(_alive(r["pid"], r["marker"]) for r in recs.values()):
            return None
        for name, r in list(pending.items()):
            if check(r["health_url"], r["health_marker"], timeout=10)[0]:
                del pending[name]
        if pending:
            if time.monotonic() > deadline:
                _event(f"servers running but not answering: {', '.join(pending)}")
                return None
            time.sleep(0.5)
    return json.loads(ENDPOINTS.read_text())


def _event(message: str) -> None:
    """One line in .sandbox/logs/sandbox.log: who started/stopped what (several sessions share a sandbox)."""
    with contextlib.suppress(OSError):
        LOGS.mkdir(parents=True, exist_ok=True)
        with open(LOGS / "sandbox.log", "a") as fh:
            fh.write(
                f"{time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} ({' '.join(sys.argv)[:160]}): {message}\n"
            )


def running() -> dict | None:
    """Endpoints of a running, healthy sandbox (started by anyone), or None."""
    ensure_dirs()
    return _healthy_endpoints()


def _choose_ports() -> dict[str, int]:
    previous = {}
    with contextlib.suppress(OSError, ValueError):
        previous = json.loads(PORTS.read_text())
    ports: dict[str, int] = {}
    for name in SERVERS:
        port = previous.get(name)
        if not (
            isinstance(port, int)
            and port not in ports.values()
            and port not in TEMPLATE_PORT_RANGE
            and port_is_free(port)
        ):
            port = free_port(avoid=ports.values())
        ports[name] = port
    write_atomic(PORTS, json.dumps(ports))
    return ports


def _tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _launch(spec) -> dict:
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    with open(spec.log, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(spec.cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(spec.cmd, cwd=spec.cwd, env=spec.env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    rec = {"pid": proc.pid, "pgid": proc.pid, "marker": spec.marker, "log": str(spec.log),
           "health_url": spec.health_url, "health_marker": spec.health_marker, "cmd": spec.cmd}  # fmt: skip
    write_atomic(PIDS / f"{spec.name}.json", json.dumps(rec, indent=1))
    return rec


_ABORTED = "not waited for: another server failed"


def _wait(spec, rec: dict, deadline: float, abort: threading.Event) -> str | None:
    """None when the server answers; else why it did not. Sets ``abort`` on failure so the others stop waiting."""
    from .servers import check

    why = "no answer"
    t0 = time.monotonic()
    while time.monotonic() < deadline:
        if abort.is_set():
            return _ABORTED
        if not _alive(rec["pid"], rec["marker"]):
            abort.set()
            return "the process exited"
        ok, why = check(spec.health_url, spec.health_marker, timeout=10)
        if ok:
            rec["ready_s"] = round(time.monotonic() - t0, 1)
            return None
        time.sleep(0.1)
    abort.set()
    return f"no proper answer within {START_TIMEOUT:.0f} s ({why})"


def _launch_all(server_specs: list, wait: bool) -> tuple[dict, list]:
    """Launch every server; with ``wait``, the (spec, why) of those that did not come up."""
    recs = {s.name: _launch(s) for s in server_specs}
    if not wait:
        return recs, []
    deadline = time.monotonic() + START_TIMEOUT
    abort = threading.Event()
    with ThreadPoolExecutor(max_workers=len(server_specs)) as pool:
        results = dict(zip([s.name for s in server_specs],
                           pool.map(lambda s: _wait(s, recs[s.name], deadline, abort), server_specs)))  # fmt: skip
    return recs, [(s, results[s.name]) for s in server_specs if results[s.name] not in (None, _ABORTED)]


def start(wait: bool = True, quiet: bool = True, owner: str = "cli") -> dict:  # noqa: F811 - owner: who starts
    """Start every server (or reuse a healthy running sandbox); returns the endpoints dict.

    ``owner`` is recorded with the pid of the caller ("cli" for make sandbox, "pytest" for a test session)
    so that a test session stops only a sandbox that a test session started (see tests/fixtures/sandbox.py).

    Raises SandboxError naming the server that failed and the path of its log; what was started is
    stopped again in that case.
    """
    with _lock():
        existing = _healthy_endpoints()
        if existing:
            if recorded_fingerprint() == code_fingerprint():
                if not quiet:
                    print("sandbox already running")
                    _print_status(existing)
                return existing
            users = live_leases(exclude=os.getpid())
            if users:
                # restarting would pull the servers from under running test sessions
                print(f"sandbox: running with older sandbox code, in use by {len(users)} test session(s): reused as is; "
                      "`make sandbox-stop` and start again to update", file=sys.stderr)  # fmt: skip
                return existing
            _event("restarting: the sandbox code changed since it started")
            if not quiet:
                print("sandbox running with older sandbox code: restarting")
        problem = servers_venv_problem()
        if problem:
            raise SandboxError(problem)
        _stop_locked(quiet=True)  # leftovers of a half-dead sandbox
        t0 = time.monotonic()
        ports = _choose_ports()
        endpoints = make_endpoints(ports)
        from .artefacts import prepare
        from .servers import specs

        try:
            art = prepare(endpoints, ports)
        except Exception as exc:
            raise SandboxError(f"preparing the sandbox data failed: {exc}") from exc
        built = time.monotonic()
        server_specs = specs(endpoints, ports, art)
        write_atomic(OWNER, json.dumps({"pid": os.getpid(), "kind": owner}))
        recs, failed = _launch_all(server_specs, wait)
        if failed and all(why == "the process exited" for _s, why in failed):
            # A server that died at once (seen on a loaded machine right after another sandbox stopped, with
            # nothing in its log): once more, before failing the whole test session.
            _event(f"start retried: {', '.join(s.name for s, _ in failed)} exited at once")
            _stop_locked(quiet=True)
            write_atomic(OWNER, json.dumps({"pid": os.getpid(), "kind": owner}))
            recs, failed = _launch_all(server_specs, wait)
        if failed:
            _event(f"start failed: {', '.join(s.name for s, _ in failed)}")
            _stop_locked(quiet=True)
            lines = [f"sandbox server {s.name!r} failed to start: {why}; log: {s.log}\n{_tail(s.log)}"
                     for s, why in failed]  # fmt: skip
            raise SandboxError("\n".join(lines))
        write_atomic(ENDPOINTS, json.dumps(endpoints, indent=2))
        write_atomic(FINGERPRINT, code_fingerprint())
        _event(f"started ({owner}) in {time.monotonic() - t0:.1f} s: {json.dumps(ports)}")
        if not quiet:
            total = time.monotonic() - t0
            ready = ", ".join(f"{n} {r.get('ready_s', '?')} s" for n, r in recs.items())
            print(f"sandbox started in {total:.1f} s (data {built - t0:.1f} s; servers answering after: {ready})")
            _print_status(endpoints)
        return endpoints


def _kill_group(rec: dict) -> None:
    if not _alive(rec["pid"], rec["marker"]):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(rec["pgid"], signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(rec["pid"], rec["marker"]):
        time.sleep(0.05)
    if _alive(rec["pid"], rec["marker"]):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(rec["pgid"], signal.SIGKILL)


def _stop_locked(quiet: bool) -> list[str]:
    stopped = []
    for name, rec in _records().items():
        was_alive = _alive(rec["pid"], rec["marker"])
        _kill_group(rec)
        (PIDS / f"{name}.json").unlink(missing_ok=True)
        if was_alive:
            stopped.append(name)
    ENDPOINTS.unlink(missing_ok=True)
    OWNER.unlink(missing_ok=True)
    if stopped:
        _event(f"stopped {', '.join(stopped)}")
    if not quiet:
        print(f"stopped: {', '.join(stopped)}" if stopped else "sandbox was not running")
    return stopped


def stop(quiet: bool = True) -> list[str]:
    """Stop exactly the servers the sandbox started (by their process groups); returns their names."""
    with _lock():
        return _stop_locked(quiet)


def status(quiet: bool = True) -> dict:
    """{server: {"pid", "alive", "healthy", "url", "log"}}; printed as a table unless quiet."""
    from .servers import check

    ensure_dirs()
    recs = _records()
    out = {}
    for name in SERVERS:
        rec = recs.get(name)
        if rec is None:
            out[name] = {"pid": None, "alive": False, "healthy": False, "url": None, "log": None}
            continue
        alive = _alive(rec["pid"], rec["marker"])
        healthy = alive and check(rec["health_url"], rec["health_marker"], timeout=5)[0]
        out[name] = {"pid": rec["pid"], "alive": alive, "healthy": healthy, "url": rec["health_url"], "log": rec["log"]}
    if not quiet:
        for name, st in out.items():
            state = "healthy" if st["healthy"] else ("running, not answering" if st["alive"] else "not running")
            print(f"{name:10} {state:24} pid {st['pid'] or '-':<8} {st['log'] or ''}")
        if ENDPOINTS.is_file():
            _print_status(json.loads(ENDPOINTS.read_text()))
    return out


def _print_status(endpoints: dict) -> None:
    print(f"endpoints ({ENDPOINTS}):")
    for key, url in endpoints.items():
        print(f"  {key:15} {url}")
