"""Harvesting the sandbox's real servers (pycsw CSW 2.0.2, pygeoapi OGC API - Records, the layer list on the
file server), and the same through the fault-injecting front: every failure gives a clear CatalogueError and
leaves the previous index exactly as it was."""

from __future__ import annotations

import pytest

from dtfl_plugin.errors import CatalogueError

pytestmark = pytest.mark.sandbox

BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    '<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2">&lol2;</csw:GetRecordsResponse>'
)
XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'


@pytest.fixture()
def index(qgis_app, tmp_path):
    from dtfl_plugin.catalogue.index import CatalogueIndex

    idx = CatalogueIndex(tmp_path / "catalogue.sqlite")
    yield idx
    idx.close()


def _source(kind, url, name="s"):
    from dtfl_plugin.catalogue.harvest import SourceConfig

    return SourceConfig(kind, url, name)


def test_pycsw_harvest(sandbox, index):
    from dtfl_plugin.catalogue.harvest import harvest

    report = harvest(_source("csw", sandbox["csw"], "ngr-csw"), index)
    assert report.records >= 10 and report.skipped == 0 and report.total > 0
    assert index.search("wandelknooppunten", 3)
    again = harvest(_source("csw", sandbox["csw"], "ngr-csw"), index)
    assert (again.new, again.changed, again.removed) == (0, 0, 0)


def test_pygeoapi_records_harvest(sandbox, index):
    from dtfl_plugin.catalogue.harvest import harvest

    report = harvest(_source("ogcapi-records", sandbox["ogcapi_records"], "ngr-records"), index)
    assert report.records >= 3 and report.total > 0


def test_sandbox_layer_list_and_default_sources(sandbox, index):
    from dtfl_plugin import settings
    from dtfl_plugin.catalogue.harvest import configured_sources, harvest

    settings.apply_endpoints({k: sandbox[k] for k in ("csw", "ogcapi_records", "pdok_layers")})
    try:
        sources = {s.name: s for s in configured_sources()}
        assert sources["ngr-csw"].url == sandbox["csw"] and sources["ngr-records"].enabled
        report = harvest(sources["pdok-layers"], index)
        assert report.total == report.records and report.skipped == 0
        hit = index.search("bgt pand", 5)
        assert hit and any(h.entry.service_url.startswith("http://127.0.0.1") for h in hit)
    finally:
        settings.reset_endpoints()
    assert configured_sources()[0].url.startswith("https://")  # back to the national endpoints


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"status": 500}, "HTTP 500"),
        ({"status": 503, "retry_after": 5}, "HTTP 503"),
        ({"truncate": 700}, "cut off"),
        ({"body": "<csw:GetRecordsResponse><broken", "content_type": "application/xml"}, "not well-formed"),
        ({"body": BOMB, "content_type": "application/xml"}, "document type declaration"),
        ({"body": XXE, "content_type": "application/xml"}, "document type declaration"),
        ({"delay": 4}, "did not answer within 2 seconds"),
        ({"drop": True}, "Cannot reach"),
    ],
    ids=["500", "503", "truncated", "malformed", "bomb", "xxe", "slow", "dropped"],
)
def test_csw_faults_keep_previous_index(sandbox, fault_front, index, rule, message):
    from dtfl_plugin.catalogue.harvest import harvest

    harvest(_source("csw", sandbox["csw"], "ngr-csw"), index)
    before = (index.count(), index.last_harvest(), index.changes())
    front = fault_front(sandbox["csw"])
    front.add_rule(r"/csw", **rule)
    # 2 s is what the slow rule (4 s) must run into; the other faults answer at once, and a busy machine (a CI run
    # failed 500 and 503 on a 2 s budget) must not turn them into timeouts.
    with pytest.raises(CatalogueError) as info:
        harvest(_source("csw", front.url, "ngr-csw"), index, timeout_s=2 if "delay" in rule else 15)
    assert message in str(info.value), str(info.value)
    assert (index.count(), index.last_harvest(), index.changes()) == before
    assert front.requests  # the request really went through the front


def test_records_truncated_or_malformed_json(sandbox, fault_front, index):
    from dtfl_plugin.catalogue.harvest import harvest

    front = fault_front(sandbox["ogcapi_records"].rsplit("/collections", 1)[0])
    front.add_rule(r"/items", truncate=200)
    with pytest.raises(CatalogueError, match="cut off"):
        harvest(_source("ogcapi-records", front.url + "/collections/records", "r"), index, timeout_s=5)
    front.clear_rules()
    front.add_rule(r"/items", body='{"type": "FeatureCollection", "features": [', content_type="application/geo+json")
    with pytest.raises(CatalogueError, match="not valid JSON"):
        harvest(_source("ogcapi-records", front.url + "/collections/records", "r"), index, timeout_s=5)
    assert index.count() == 0
