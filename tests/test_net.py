"""net.py against a real HTTP server on loopback: statuses, timeouts, refused connections."""

from __future__ import annotations

import http.server
import socket
import time

import pytest

from tests.loopback import reply, serving


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/ok":
            reply(self, 200, b'{"hello": "wereld"}', "application/json")
        elif self.path == "/slow":
            time.sleep(3)
            self.send_response(200)
            self.end_headers()
        elif self.path == "/busy":
            reply(self, 429, Retry_After="2")
        elif self.path == "/broken":
            reply(self, 500)
        else:
            reply(self, 404)


@pytest.fixture(scope="module")
def server():
    with serving(_Handler) as httpd:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"


def test_get_json(qgis_app, server):
    from dtfl_plugin import net

    assert net.get_json(server + "/ok") == {"hello": "wereld"}


def test_http_errors_are_clear(qgis_app, server):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    with pytest.raises(NetError) as err:
        net.get(server + "/missing")
    assert err.value.status == 404 and "404" in str(err.value)
    with pytest.raises(NetError) as err:
        net.get(server + "/broken")
    assert err.value.status == 500
    with pytest.raises(NetError) as err:
        net.get(server + "/busy")
    assert err.value.status == 429 and err.value.retry_after == 2.0
    assert net.get(server + "/missing", raise_for_status=False).status == 404


def test_timeout(qgis_app, server):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    start = time.monotonic()
    with pytest.raises(NetError) as err:
        net.get(server + "/slow", timeout_s=0.5)
    assert time.monotonic() - start < 2.5
    assert "1" in str(err.value) or "0" in str(err.value)


def test_refused(qgis_app):
    from dtfl_plugin import net
    from dtfl_plugin.errors import NetError

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(NetError) as err:
        net.get(f"http://127.0.0.1:{port}/x", timeout_s=5)
    assert "127.0.0.1" in str(err.value)


def test_local_file(qgis_app, tmp_path):
    from dtfl_plugin import net

    path = tmp_path / "a.json"
    path.write_text('{"a": 1}')
    assert net.get_json(str(path)) == {"a": 1}
    assert net.get_json(path.as_uri()) == {"a": 1}


def test_replies_are_freed(qgis_app, server):
    """Each request's QNetworkReply is freed by the next exchange's own event loop (deleteLater): a long session
    keeps at most the last one per thread, never a pile of them."""
    from qgis.core import QgsNetworkAccessManager
    from qgis.PyQt.QtNetwork import QNetworkReply

    from dtfl_plugin import net

    manager = QgsNetworkAccessManager.instance()
    before = len(manager.findChildren(QNetworkReply))
    for _ in range(30):
        net.get(server + "/ok")
        net.get(server + "/missing", raise_for_status=False)
    assert len(manager.findChildren(QNetworkReply)) <= before + 1
