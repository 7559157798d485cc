"""Who uses the running sandbox: the starter (owner), test-session leases, and the code it was built from.

Several test sessions (and people) share one working tree and so one sandbox. A session takes a lease
while it uses the sandbox; the sandbox is stopped at the end of a session only when a test session started
it and no other live session holds a lease. A running sandbox built from other sandbox code is restarted
by the next start only when nobody uses it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .paths import ROOT, STATE, digest

OWNER = STATE / "owner.json"
LEASES = STATE / "leases"
FINGERPRINT = STATE / "fingerprint"


def owner() -> dict:
    """{"pid", "kind"} of whoever started the running sandbox ({} when unknown)."""
    with contextlib.suppress(OSError, ValueError):
        return json.loads(OWNER.read_text())
    return {}


def code_fingerprint() -> str:
    """Hash of the sandbox's own code (servers, generators, processes): a running sandbox built from other
    code is stale."""
    return digest(sorted((ROOT / "sandbox").rglob("*.py")))


def recorded_fingerprint() -> str:
    with contextlib.suppress(OSError):
        return FINGERPRINT.read_text().strip()
    return ""


def live_leases(exclude: int | None = None) -> list[int]:
    pids = []
    for lease in LEASES.glob("*.lease"):
        try:
            pid = int(lease.stem)
        except ValueError:
            continue
        if pid == exclude:
            continue
        if pid_alive(pid):
            pids.append(pid)
        else:
            lease.unlink(missing_ok=True)  # a crashed session's lease
    return pids


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lease() -> Path:
    """Mark this process as a user of the running sandbox (several test sessions may share one)."""
    LEASES.mkdir(parents=True, exist_ok=True)
    path = LEASES / f"{os.getpid()}.lease"
    path.write_text(str(os.getpid()))
    return path


def release_lease(path: Path) -> bool:
    """Drop this process's lease and stop the sandbox when nobody needs it any more; True if it stopped it.

    That is: no other live process holds a lease and a test session started the sandbox (whichever: one
    that gave up its lease is done with it). A sandbox started from the command line (`make sandbox`,
    scripts/test.sh) is never stopped here. Checking and stopping happen under the start/stop lock, so a
    session that takes a lease meanwhile either is seen or finds no sandbox and starts its own.
    """
    from .runner import _lock, _stop_locked

    with _lock():
        path.unlink(missing_ok=True)
        if live_leases() or owner().get("kind") != "pytest":
            return False
        _stop_locked(quiet=True)
        return True
