"""Harvesting from hostile catalogue servers: only http(s) links are followed, answers are capped while they
are read (flat memory), paging stops on a repeat or at the page limit, and a harvest can be cancelled.

The servers are the sandbox's fault front (fixed answers) and a small generator of never-ending CSW pages.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

MB = 1024**2
SECRET = "GEHEIM-lokaal-bestand-7731"


def _record(ident: str, title: str) -> dict:
    return {
        "id": ident,
        "type": "Feature",
        "geometry": None,
        "properties": {"title": title, "type": "dataset"},
        "links": [{"rel": "item", "href": "https://service.pdok.nl/x/wms/v1_0", "type": "OGC:WMS", "name": "laag"}],
    }


def _page(records: list[dict], next_href: str | None) -> str:
    links = [{"rel": "next", "href": next_href, "type": "application/geo+json"}] if next_href else []
    return json.dumps({"type": "FeatureCollection", "features": records, "links": links, "numberMatched": 99})


@pytest.fixture
def secret_file(tmp_path) -> Path:
    path = tmp_path / "private.json"
    path.write_text(_page([_record("secret", SECRET)], None))
    return path


def _fetch(kind: str, url: str, **options):
    from dtfl_plugin.catalogue.harvest import fetch
    from dtfl_plugin.catalogue.sources.base import SourceConfig

    return fetch(SourceConfig(kind=kind, url=url, name="hostile"), **options)


@pytest.mark.parametrize("scheme", ["file", "path"])
def test_records_next_link_to_a_local_file_is_not_followed(qgis_app, front, secret_file, scheme):
    from dtfl_plugin.errors import CatalogueError

    target = secret_file.as_uri() if scheme == "file" else str(secret_file)
    front.add_rule(r"/items$", body=_page([_record("a", "Gewone kaart")], target), content_type="application/json")
    with pytest.raises(CatalogueError) as err:
        _fetch("ogcapi-records", front.base + "/collections/md/items")
    assert SECRET not in str(err.value)
    if scheme == "file":
        assert "not a web address" in str(err.value) and len(front.requests) == 1
    else:  # a bare path is a link relative to the server: asked of the server, never read from the disk
        assert [r[1] for r in front.requests][1] == str(secret_file)


def test_redirect_to_a_local_file_is_not_followed(qgis_app, front, secret_file):
    from dtfl_plugin.errors import CatalogueError

    front.add_rule(r"/layers\.json$", location=secret_file.as_uri())
    with pytest.raises(CatalogueError) as err:
        _fetch("pdok-layers", front.base + "/layers.json")
    assert "not a web address" in str(err.value) and SECRET not in str(err.value)


def test_relative_next_links_still_page(qgis_app, front):
    front.add_rule(r"/items\?.*page=2", body=_page([_record("b", "Tweede")], None), content_type="application/json")
    front.add_rule(r"/items", body=_page([_record("a", "Eerste")], "items?page=2"), content_type="application/json")
    result = _fetch("ogcapi-records", front.base + "/collections/md/items")
    assert result.pages == 2 and result.records == 2


def test_a_huge_answer_is_refused_while_read_with_flat_memory(qgis_app, front):
    from dtfl_plugin.errors import CatalogueError

    front.add_rule(r"/items", endless=True)  # a 200 MB (or endless) answer: refused at the page cap
    before = _rss()
    Path("/proc/self/clear_refs").write_text("5")
    t0 = time.monotonic()
    with pytest.raises(CatalogueError) as err:
        _fetch("ogcapi-records", front.base + "/collections/md/items")
    grew = _peak() - before
    print(f"endless records answer: refused after {time.monotonic() - t0:.1f} s, peak growth {grew / MB:.0f} MB")
    assert "larger than allowed" in str(err.value)
    assert grew < 120 * MB


def test_cancel_stops_a_slow_harvest(qgis_app, front):
    import threading

    from qgis.core import QgsFeedback

    from dtfl_plugin.errors import CatalogueError

    front.add_rule(r"/items", size=10_000, drip=0.05)
    feedback = QgsFeedback()
    threading.Timer(0.4, feedback.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(CatalogueError):
        _fetch("ogcapi-records", front.base + "/collections/md/items", feedback=feedback)
    assert time.monotonic() - t0 < 5


class _EndlessCsw(http.server.BaseHTTPRequestHandler):
    """A CSW whose paging never ends: every page announces a next record. ``repeat``: always the same page."""

    record = b""
    repeat = False
    hits: list[int] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        start = int(query.get("startposition", "1"))
        self.hits.append(start)
        ident = "fixed" if self.repeat else f"rec-{start}"
        record = re.sub(
            rb"(<gmd:fileIdentifier>\s*<gco:CharacterString>)[^<]*", rb"\g<1>" + ident.encode(), self.record
        )
        nxt = start + 1
        body = (
            b'<?xml version="1.0"?><csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2">'
            b'<csw:SearchStatus/><csw:SearchResults numberOfRecordsMatched="100000000" numberOfRecordsReturned="1" '
            + (b'nextRecord="%d">' % nxt)
            + record
            + b"</csw:SearchResults></csw:GetRecordsResponse>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def endless_csw(shared_data):
    record = (shared_data / "catalogue" / "iso19139" / "ngr_record_with_anchors.xml").read_bytes()
    record = re.sub(rb"^<\?xml[^>]*\?>", b"", record.strip())

    def start(repeat: bool):
        handler = type("H", (_EndlessCsw,), {"record": record, "repeat": repeat, "hits": []})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/csw", handler

    servers: list = []
    yield start
    for httpd in servers:
        httpd.shutdown()


def test_csw_paging_that_never_ends_stops_at_the_page_limit(qgis_app, endless_csw):
    url, handler = endless_csw(repeat=False)
    result = _fetch("csw", url, max_pages=7)
    assert result.pages == 7 and result.truncated and len(handler.hits) == 7


def test_csw_paging_stops_on_a_repeated_page(qgis_app, endless_csw):
    url, handler = endless_csw(repeat=True)
    result = _fetch("csw", url, max_pages=50)
    assert result.pages == 1 and result.truncated and len(handler.hits) == 2


def _rss() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024


def _peak() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024
