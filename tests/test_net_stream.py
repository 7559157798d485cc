"""net.py against hostile answers from the sandbox's fault front: bounded memory, limits while reading,
resumed downloads, redirects (relative, loops, non-web schemes), nothing half-written.

The fault front generates the bodies itself (1 GB costs it nothing), so no upstream server is needed.
Peak memory is this process's VmHWM after resetting it (/proc/self/clear_refs), so earlier tests do not
hide a peak.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from sandbox.fault import pattern

GB = 1024**3
MB = 1024**2


def _peak_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _peak() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


def _rss() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.slow
def test_download_1gb_streams_with_flat_memory(qgis_app, front, tmp_path, record_property):
    from dtfl_plugin import net

    front.add_rule(r"^/big$", size=GB)
    dest = tmp_path / "big.bin"
    before = _rss()
    _peak_reset()
    t0 = time.monotonic()
    net.download(front.base + "/big", dest, timeout_s=300, max_bytes=2 * GB)
    grew = _peak() - before
    record_property("download_1gb_peak_growth_mb", round(grew / MB, 1))
    print(f"1 GB download: peak memory growth {grew / MB:.1f} MB in {time.monotonic() - t0:.1f} s")
    assert dest.stat().st_size == GB
    with dest.open("rb") as handle:
        for offset in (0, 12345, GB // 2 + 7, GB - 100):
            handle.seek(offset)
            assert handle.read(100) == pattern(offset, 100)[: min(100, GB - offset)]
    assert grew < 64 * MB, f"memory grew by {grew / MB:.0f} MB for a 1 GB download"
    assert _leftovers(tmp_path) == ["big.bin"]


def test_request_refuses_while_reading_not_after(qgis_app, front):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    front.add_rule(r"^/big$", endless=True)  # announces no length: the limit must hold in flight
    before = _rss()
    _peak_reset()
    with pytest.raises(NetError) as err:
        net.get(front.base + "/big", max_bytes=4 * MB, timeout_s=60)
    assert "larger than allowed" in str(err.value)
    assert _peak() - before < 48 * MB


def test_announced_size_refused_before_reading(qgis_app, front):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    front.add_rule(r"^/huge$", size=GB)
    t0 = time.monotonic()
    with pytest.raises(NetError) as err:
        net.get(front.base + "/huge", max_bytes=MB)
    assert "larger than allowed" in str(err.value) and str(GB) in str(err.value)
    assert time.monotonic() - t0 < 5


def test_endless_download_leaves_nothing(qgis_app, front, tmp_path):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    front.add_rule(r"^/endless$", endless=True)
    with pytest.raises(NetError) as err:
        net.download(front.base + "/endless", tmp_path / "x.bin", max_bytes=8 * MB, timeout_s=60)
    assert "larger than allowed" in str(err.value)
    assert _leftovers(tmp_path) == []


def test_slow_drip_ends_at_the_deadline(qgis_app, front, tmp_path):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    front.add_rule(r"^/drip$", size=10_000, drip=0.05)
    t0 = time.monotonic()
    with pytest.raises(NetError) as err:
        net.download(front.base + "/drip", tmp_path / "d.bin", timeout_s=1.5)
    took = time.monotonic() - t0
    assert "did not answer within 1 seconds" in str(err.value)
    assert 1.4 < took < 4
    assert _leftovers(tmp_path) == []


def test_cancel_stops_an_endless_body(qgis_app, front, tmp_path):
    import threading

    from qgis.core import QgsFeedback

    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    front.add_rule(r"^/endless$", endless=True)
    feedback = QgsFeedback()
    threading.Timer(0.5, feedback.cancel).start()  # as a cancel button would, from another thread than the call
    t0 = time.monotonic()
    with pytest.raises(NetError) as err:
        net.download(front.base + "/endless", tmp_path / "c.bin", feedback=feedback, max_bytes=100 * GB)
    assert "Cancelled" in str(err.value) and time.monotonic() - t0 < 5
    assert _leftovers(tmp_path) == []


def test_lying_content_length(qgis_app, front, tmp_path):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    # Announces less than it sends: HTTP ends the body at the announcement, nothing more is read.
    front.add_rule(r"^/less$", endless=True, content_length=1000)
    assert net.get(front.base + "/less").content == pattern(0, 1000)
    # Announces more than it sends: a cut-off transfer, never "answered with HTTP 200", nothing written.
    front.add_rule(r"^/more$", size=5000, content_length=50_000)
    with pytest.raises(NetError) as err:
        net.download(front.base + "/more", tmp_path / "m.bin", timeout_s=20)
    assert "cut off after 5000 of 50000 bytes" in str(err.value)
    assert "HTTP 200" not in str(err.value)
    assert _leftovers(tmp_path) == []


def test_cut_off_download_resumes_with_ranges(qgis_app, front, tmp_path):
    from dtfl_plugin import net

    size = 20 * MB
    cut = front.add_rule(r"^/tile$", size=size, ranges=True, cut_at=3 * MB, times=2)
    front.add_rule(r"^/tile$", size=size, ranges=True)
    dest = net.download(front.base + "/tile", tmp_path / "tile.bin", timeout_s=60)
    assert cut.hits == 2 and len(front.requests) == 3  # cut twice, the third answer completes it
    assert dest.read_bytes() == pattern(0, size)
    assert _leftovers(tmp_path) == ["tile.bin"]


def test_cut_off_without_ranges_is_a_clear_error(qgis_app, front):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    front.add_rule(r"^/tile$", size=2 * MB, cut_at=MB)
    with pytest.raises(NetError) as err:
        net.get(front.base + "/tile")
    # the front closes the socket after 1 MB; bytes still in flight may be lost with it
    got = re.search(r"cut off after (\d+) of 2097152 bytes", str(err.value))
    assert got and 0 < int(got.group(1)) <= MB, str(err.value)
    assert len(front.requests) == 1


def test_relative_redirect_is_resolved(qgis_app, front):
    from dtfl_plugin import net

    front.add_rule(r"^/a/start$", location="../b/there?x=1", status=301)
    front.add_rule(r"^/b/there$", size=10)
    response = net.get(front.base + "/a/start")
    assert response.content == pattern(0, 10)
    assert response.url == front.base + "/b/there?x=1"


def test_redirect_loop_is_capped(qgis_app, front):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    front.add_rule(r"^/ping$", location="/pong")
    front.add_rule(r"^/pong$", location="/ping")
    with pytest.raises(NetError) as err:
        net.get(front.base + "/ping", timeout_s=5)
    assert "keeps redirecting" in str(err.value)
    assert len(front.requests) <= 3
    front.clear_rules()
    front.requests.clear()
    for n in range(30):  # a chain that never repeats: capped by count
        front.add_rule(rf"^/step/{n}$", location=f"/step/{n + 1}")
    with pytest.raises(NetError) as err:
        net.get(front.base + "/step/0", timeout_s=5)
    assert "keeps redirecting" in str(err.value)
    assert len(front.requests) == net.MAX_REDIRECTS + 1


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "/etc/passwd"])
def test_redirect_leaves_the_web_refused(qgis_app, front, tmp_path, target):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    if target.startswith("/"):
        # A path is a relative redirect on the same host: allowed, and it stays on the web.
        front.add_rule(r"^/go$", location=target)
        assert net.get(front.base + "/go", raise_for_status=False).url == front.base + target
        return
    front.add_rule(r"^/go$", location=target)
    with pytest.raises(NetError) as err:
        net.download(front.base + "/go", tmp_path / "leak.bin")
    assert "not a web address" in str(err.value)
    assert _leftovers(tmp_path) == []


def test_follow_link_only_web(qgis_app):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    base = "https://example.org/csw?page=1"
    assert net.follow_link(base, "?page=2") == "https://example.org/csw?page=2"
    assert net.follow_link(base, "http://other.example/x") == "http://other.example/x"
    for bad in ("file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)", "data:text/plain,hi"):
        with pytest.raises(NetError):
            net.follow_link(base, bad)
    with pytest.raises(NetError):
        net.request("file:///etc/hostname", allow_local=False)


def test_a_main_thread_request_never_runs_the_main_event_loop(qgis_app, front):
    """A request made on the main thread must not hand Qt the main thread's queued events mid-call: a queued
    call, a deferred delete (a layer's provider, a finished reply) would run inside our caller. QGIS 3.40
    crashed in such a nested loop. The request runs in a thread of its own; the main thread only waits."""
    from qgis.PyQt.QtCore import QObject, QTimer

    from dtfl_plugin import net

    front.add_rule(r"^/slow$", size=20, drip=0.05)  # one byte each 50 ms: a second of waiting
    fired: list[str] = []
    QTimer.singleShot(0, lambda: fired.append("timer"))
    doomed = QObject()
    doomed.destroyed.connect(lambda *_: fired.append("deleted"))
    doomed.deleteLater()
    response = net.get(front.base + "/slow", timeout_s=30)
    assert len(response.content) == 20
    assert fired == [], f"the main event loop ran during the request: {fired}"
    qgis_app.processEvents()
    assert "timer" in fired


def _in_a_fresh_qgis(tmp_path: Path, body: str, content_type: str, code: str, init: bool = True):
    """Run ``code`` in a new Python process with QGIS (initialised or not) and a loopback server answering
    every GET with ``body`` (a Python expression); ``server`` is in scope. A crash there cannot take the test session down."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    script = tmp_path / "fresh_qgis.py"
    script.write_text(
        "import sys, time, http.server\n"
        f"sys.path[:0] = [{str(root)!r}, {str(root / 'tests')!r}]\n"
        "from qgis.core import QgsApplication\n"
        "app = QgsApplication([], False)\n"
        + ("app.initQgis()\n" if init else "")
        + "from loopback import reply, serving\n"
        "class Handler(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        f"        reply(self, 200, {body}, {content_type!r})\n"
        "    def log_message(self, *args):\n"
        "        pass\n"
        "with serving(Handler) as server:\n" + "".join(f"    {line}\n" for line in code.splitlines())
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)


def test_a_script_whose_first_network_call_is_ours_does_not_crash(tmp_path):
    """A fresh process (qgis_process, a bench, a user's script) may make our request before anything touched
    QGIS's network manager on the main thread; the request's own thread then has no main manager to link to
    unless we create it first (bench_remote crashed that way, with a QgsApplication never initialised)."""
    proc = _in_a_fresh_qgis(
        tmp_path,
        """b'{"ok": true}'""",
        "application/json",
        "from dtfl_plugin import net\nprint(net.get(f'http://127.0.0.1:{server.server_address[1]}/x').json())",
        init=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "{'ok': True}" in proc.stdout
    assert "invalid nullptr parameter" not in proc.stderr


def test_a_full_disk_during_a_download_is_a_message_not_a_crash(tmp_path):
    """The sink's OSError (here /dev/full: no space left) used to escape from a Qt slot, and PyQt aborts the
    process on that: QGIS would close with the user's unsaved work. Now it is a clear error for the caller."""
    code = """from dtfl_plugin import net, net_transfer
from dtfl_plugin.errors import NetError
request = net._build(f'http://127.0.0.1:{server.server_address[1]}/x', None, '')
try:
    with open('/dev/full', 'wb', buffering=0) as full:
        net_transfer.exchange(request, 'GET', None, full, max_bytes=10**9, deadline=time.monotonic() + 30,
                              feedback=None)
    print('NO ERROR')
except NetError as err:
    print('MESSAGE', err)"""
    proc = _in_a_fresh_qgis(tmp_path, "b'x' * 2_000_000", "application/octet-stream", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "MESSAGE" in proc.stdout and "disk space" in proc.stdout, proc.stdout + proc.stderr[-2000:]
