"""Harvesting over HTTP: CSW 2.0.2 paging and OGC API - Records "next" links against a small server on
loopback built from the real NGR records, and every failure a catalogue can produce (HTTP errors, a slow
server, truncated and malformed answers, XML bombs): a clear CatalogueError and the previous index intact."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from dtfl_plugin.errors import CatalogueError

PAGE_CAP = 4  # the server pages by 4 whatever the client asks: paging must be followed


def _records(shared_data) -> list[bytes]:
    out = []
    for path in sorted((shared_data / "catalogue/iso19139").glob("*.xml")):
        text = path.read_bytes()
        out.append(re.sub(rb"^<\?xml[^>]*\?>\s*", b"", text))
    return out


def _getrecords(records: list[bytes], start: int, max_records: int) -> bytes:
    page = records[start - 1 : start - 1 + min(max_records, PAGE_CAP)]
    nxt = start + len(page)
    nxt = 0 if nxt > len(records) else nxt
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" version="2.0.2">'
        b'<csw:SearchStatus timestamp="2026-01-01T00:00:00Z"/>'
        + f'<csw:SearchResults numberOfRecordsMatched="{len(records)}" numberOfRecordsReturned="{len(page)}" '
        f'nextRecord="{nxt}" elementSet="full">'.encode()
        + b"".join(page)
        + b"</csw:SearchResults></csw:GetRecordsResponse>"
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    records: list[bytes] = []
    features: list[dict] = []
    requests: list[str] = []

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = urlsplit(self.path)
        query = {k.lower(): v[0] for k, v in parse_qs(parts.query).items()}
        type(self).requests.append(self.path)
        if parts.path == "/csw":
            assert query["version"] == "2.0.2" and query["outputschema"] == "http://www.isotc211.org/2005/gmd"
            body = _getrecords(self.records, int(query["startposition"]), int(query["maxrecords"]))
            self._send(200, body)
        elif parts.path == "/csw-fails-on-page-2":
            start = int(query["startposition"])
            if start > 1:
                self._send(500, b"")
            else:
                self._send(200, _getrecords(self.records, start, int(query["maxrecords"])))
        elif parts.path == "/csw-exception":
            self._send(
                200,
                b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.0.0"><ows:Exception '
                b'exceptionCode="InvalidParameterValue"><ows:ExceptionText>Invalid outputSchema</ows:ExceptionText>'
                b"</ows:Exception></ows:ExceptionReport>",
            )
        elif parts.path == "/slow":
            time.sleep(3)
            self._send(200, b"<x/>")
        elif parts.path.endswith("/items"):
            offset = int(query.get("offset", "0"))
            page = self.features[offset : offset + 2]
            links = []
            if offset + 2 < len(self.features):
                host = self.headers["Host"]
                links.append(
                    {
                        "rel": "next",
                        "type": "application/geo+json",
                        "href": f"http://{host}{parts.path}?offset={offset + 2}&limit=2&f=json",
                    }
                )
            body = {"type": "FeatureCollection", "features": page, "numberMatched": len(self.features), "links": links}
            self._send(200, json.dumps(body).encode(), "application/geo+json")
        elif parts.path == "/records/collections":
            body = {"collections": [{"id": "ngr", "itemType": "record"}, {"id": "roads", "itemType": "feature"}]}
            self._send(200, json.dumps(body).encode(), "application/json")
        else:
            self._send(404, b"")


@pytest.fixture(scope="module")
def server(shared_data):
    _Handler.records = _records(shared_data)
    data = json.loads(
        (shared_data / "catalogue/ogcapi-records/ngr-sample-records.ogcapi-records.tinydb.json").read_text()
    )
    _Handler.features = list(data["_default"].values())
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def index(qgis_app, tmp_path):
    from dtfl_plugin.catalogue.index import CatalogueIndex

    idx = CatalogueIndex(tmp_path / "catalogue.sqlite")
    yield idx
    idx.close()


def test_csw_paging_reads_every_record(server, index):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest

    _Handler.requests.clear()
    report = harvest(SourceConfig("csw", server + "/csw", "ngr"), index)
    assert report.records == 11 and report.pages == 3 and report.skipped == 0
    assert [int(parse_qs(urlsplit(r).query)["startPosition"][0]) for r in _Handler.requests] == [1, 5, 9]
    assert report.new == report.total > 10
    assert index.search("wandelknooppunten", 1)[0].entry.name == "wandelknooppunten"


def test_csw_page_limit_marks_partial_and_keeps_older_entries(server, index):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest

    full = harvest(SourceConfig("csw", server + "/csw", "ngr"), index)
    partial = harvest(SourceConfig("csw", server + "/csw", "ngr"), index, max_pages=1)
    assert partial.truncated and partial.removed == 0 and partial.total == full.total


def test_ogcapi_records_follows_next_links(server, index):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest

    report = harvest(SourceConfig("ogcapi-records", server + "/records", "rec"), index)
    assert report.records == 3 and report.pages == 2  # 2 + 1 records; only the "record" collection
    assert index.search("keileem", 1)[0].entry.organisation


@pytest.mark.parametrize(
    "path, message",
    [
        ("/csw-fails-on-page-2", "problem (HTTP 500)"),
        ("/nothing-here", "HTTP 404"),
        ("/csw-exception", "Invalid outputSchema"),
        ("/slow", "did not answer within 1 seconds"),
    ],
)
def test_failures_leave_the_index_intact(server, index, path, message):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest

    harvest(SourceConfig("csw", server + "/csw", "ngr"), index)
    before = (index.count(), index.last_harvest(), index.changes())
    with pytest.raises(CatalogueError) as info:
        harvest(SourceConfig("csw", server + path, "ngr"), index, timeout_s=1)
    assert message in str(info.value)
    assert (index.count(), index.last_harvest(), index.changes()) == before


def test_unreachable_catalogue(index):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest

    with pytest.raises(CatalogueError, match="Cannot reach"):
        harvest(SourceConfig("csw", f"http://127.0.0.1:{port}/csw", "ngr"), index, timeout_s=5)
    assert index.count() == 0


def test_harvest_task_reports_back(server, tmp_path, qgis_app):
    from qgis.core import QgsApplication

    from dtfl_plugin.catalogue.harvest import SourceConfig
    from dtfl_plugin.catalogue.tasks import HarvestTask

    sources = [SourceConfig("csw", server + "/csw", "ngr"), SourceConfig("csw", server + "/nothing-here", "broken")]
    task = HarvestTask(tmp_path / "task.sqlite", sources)
    got = []
    task.harvested.connect(lambda reports, errors: got.append((reports, errors)))
    QgsApplication.taskManager().addTask(task)
    deadline = time.monotonic() + 30
    while not got and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.02)
    assert got, "the task did not finish"
    reports, errors = got[0]
    assert [r["source"] for r in reports] == ["ngr"] and reports[0]["new"] > 10
    assert len(errors) == 1 and "HTTP 404" in errors[0]
    assert task.error is not None
