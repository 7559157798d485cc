"""The fault-injecting front: delay, drop, truncate, error statuses, malformed bodies, before real servers."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request

import pytest

from sandbox.fault import FaultFront

pytestmark = pytest.mark.sandbox
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, timeout: float = 30, method: str = "GET"):
    return _OPENER.open(urllib.request.Request(url, method=method), timeout=timeout)


def test_passes_through_and_rewrites_links(sandbox, fault_front):
    front = fault_front(sandbox["ogcapi"])
    assert front.url.startswith("http://127.0.0.1:") and front.url != sandbox["ogcapi"]
    with _get(f"{front.url}/collections/bgt_pand?f=json") as resp:
        col = json.loads(resp.read())
    assert col["id"] == "bgt_pand"
    items = [lk["href"] for lk in col["links"] if lk["rel"] == "items"]
    assert items and all(h.startswith(front.base) for h in items), "links must lead back through the front"
    assert front.requests == [("GET", "/collections/bgt_pand?f=json", None)]


def test_status_with_retry_after_only_first_times(sandbox, fault_front):
    front = fault_front(sandbox["wms"])
    rule = front.add_rule(r"/ows", status=429, retry_after=7, times=2)
    url = f"{front.url}?SERVICE=WMS&REQUEST=GetCapabilities"
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(url)
        assert err.value.code == 429 and err.value.headers["Retry-After"] == "7"
    with _get(url) as resp:
        assert b"WMS_Capabilities" in resp.read()
    assert rule.hits == 2


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(sandbox, fault_front, status):
    front = fault_front(sandbox["csw"])
    front.add_rule(r"/csw", status=status, method="GET")
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(f"{front.url}?service=CSW&version=2.0.2&request=GetCapabilities")
    assert err.value.code == status


def test_method_filter(sandbox, fault_front):
    front = fault_front(sandbox["files"])
    front.add_rule(r"\.json$", method="POST", status=500)
    with _get(f"{front.url}/ept/ahn3_delft/ept.json") as resp:  # GET is not affected
        assert json.loads(resp.read())["points"] > 0


def test_delay(sandbox, fault_front):
    front = fault_front(sandbox["files"])
    front.add_rule(r"^/pdok/", delay=1.0)
    t0 = time.monotonic()
    with _get(f"{front.url}/pdok/layers-sandbox.json") as resp:
        assert json.loads(resp.read())
    assert time.monotonic() - t0 >= 1.0
    with pytest.raises(OSError):  # a client with a shorter timeout gives up
        _get(f"{front.url}/pdok/layers-sandbox.json", timeout=0.3).read()


def test_drop(sandbox, fault_front):
    front = fault_front(sandbox["ogcapi"])
    front.add_rule(r"/conformance", status=500)
    front.clear_rules()  # the 500 rule is gone: only the drop applies
    front.add_rule(r"/conformance", drop=True)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        _get(f"{front.url}/conformance?f=json")


def test_truncate(sandbox, fault_front):
    front = fault_front(sandbox["ogcapi"])
    front.add_rule(r"/items", truncate=64)
    with pytest.raises(http.client.IncompleteRead) as err:
        with _get(f"{front.url}/collections/bgt_pand/items?f=json") as resp:
            resp.read()
    assert len(err.value.partial) == 64


def test_malformed_bodies(sandbox, fault_front):
    front = fault_front(sandbox["csw"])
    front.add_rule(r"/csw\?.*GetCapabilities", body="<csw:Capabilities><unclosed>", content_type="application/xml")
    with _get(f"{front.url}?service=CSW&version=2.0.2&request=GetCapabilities") as resp:
        body = resp.read()
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/xml"
    import xml.etree.ElementTree as ET

    with pytest.raises(ET.ParseError):
        ET.fromstring(body)
    jfront = fault_front(sandbox["ogcapi"])
    jfront.add_rule(r"/collections$", body='{"collections": [', content_type="application/json")
    with _get(f"{jfront.url}/collections?f=json") as resp:
        with pytest.raises(json.JSONDecodeError):
            json.loads(resp.read())


def test_context_manager_closes(sandbox):
    with FaultFront(sandbox["files"]) as front:
        url = f"{front.url}/pdok/layers-sandbox.json"
        with _get(url) as resp:
            assert resp.status == 200
    with pytest.raises(urllib.error.URLError):
        _get(url, timeout=2)
