"""The sandbox describes each dataset consistently everywhere, as PDOK and NGR do: the CSW record's online
resources lead to WMS/WFS layers, OGC API collections, files and PDOK-list entries that carry the same
dataset id, title and licence (the record is the reference; every other source is checked against it)."""

from __future__ import annotations

import json
import re
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from tests.fixtures.sandbox import NS, iso_records_url, online_resources

pytestmark = pytest.mark.sandbox

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, method: str = "GET") -> bytes:
    with _OPENER.open(urllib.request.Request(url, method=method), timeout=60) as resp:
        return resp.read()


@pytest.fixture(scope="module")
def csw_datasets(sandbox) -> dict[str, dict]:
    """uuid -> {title, licence, use, online: [(protocol, url, name)]} of the sandbox's dataset records."""
    out = {}
    for md in ET.fromstring(_get(iso_records_url(sandbox["csw"]))).iterfind(".//gmd:MD_Metadata", NS):
        if md.find(".//gmd:MD_DataIdentification", NS) is None:
            continue
        online = online_resources(md)
        if not any(url and url.startswith("http://127.0.0.1:") for _, url, _ in online):
            continue  # a real NGR record: points at PDOK
        uid = md.findtext("gmd:fileIdentifier/gco:CharacterString", namespaces=NS)
        out[uid] = {
            "title": md.findtext(".//gmd:citation/gmd:CI_Citation/gmd:title/gco:CharacterString", namespaces=NS),
            "licence": [e.text for e in md.iterfind(".//gmd:otherConstraints/gco:CharacterString", NS)],
            "use": md.findtext(".//gmd:useLimitation/gco:CharacterString", namespaces=NS),
            "online": online,
        }
    assert len(out) >= 8
    return out


def _by_protocol(csw_datasets, protocol: str) -> dict[str, str]:
    """layer/collection name -> uuid for a protocol."""
    return {name: uid for uid, d in csw_datasets.items() for p, _, name in d["online"] if p == protocol}


def test_wms_layers_match_records(sandbox, csw_datasets):
    caps = ET.fromstring(_get(f"{sandbox['wms']}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities"))
    layers = {}
    for layer in caps.iterfind(".//wms:Layer", NS):
        name = layer.findtext("wms:Name", namespaces=NS)
        href = layer.find("wms:MetadataURL/wms:OnlineResource", NS)
        if name and href is not None:
            layers[name] = (layer.findtext("wms:Title", namespaces=NS), href.get(f"{{{NS['xlink']}}}href"))
    expected = _by_protocol(csw_datasets, "OGC:WMS")
    assert set(expected) == set(layers)
    for name, uid in expected.items():
        title, href = layers[name]
        assert title == csw_datasets[uid]["title"]
        assert re.search(rf"[?&]id={uid}(&|$)", href), href
        assert href.startswith(sandbox["csw"])
        assert uid.encode() in _get(href)  # the MetadataURL resolves to the record


def test_wfs_feature_types_match_records(sandbox, csw_datasets):
    caps = ET.fromstring(_get(f"{sandbox['wfs']}?SERVICE=WFS&VERSION=1.1.0&REQUEST=GetCapabilities"))
    types = {ft.findtext("wfs:Name", namespaces=NS): ft.findtext("wfs:Title", namespaces=NS)
             for ft in caps.iterfind(".//wfs:FeatureType", NS)}  # fmt: skip
    expected = _by_protocol(csw_datasets, "OGC:WFS")
    assert set(expected) == set(types)
    for name, uid in expected.items():
        assert types[name] == csw_datasets[uid]["title"]


def test_wfs2_feature_types_match_records(sandbox, csw_datasets):
    """MapServer's WFS 2.0 publishes the same datasets as the WFS in the records, with the same metadata."""
    caps = ET.fromstring(_get(f"{sandbox['wfs2']}?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetCapabilities"))
    ns = {"wfs": "http://www.opengis.net/wfs/2.0"}
    types = {}
    for ft in caps.iterfind(".//wfs:FeatureType", ns):
        href = ft.find("wfs:MetadataURL", ns).get(f"{{{NS['xlink']}}}href")
        types[ft.findtext("wfs:Name", namespaces=ns).split(":")[-1]] = (ft.findtext("wfs:Title", namespaces=ns), href)
    expected = _by_protocol(csw_datasets, "OGC:WFS")
    assert set(expected) == set(types)
    for name, uid in expected.items():
        assert types[name][0] == csw_datasets[uid]["title"]
        assert types[name][1].endswith(f"id={uid}")


def test_ogcapi_collections_match_records(sandbox, csw_datasets):
    cols = {c["id"]: c for c in json.loads(_get(f"{sandbox['ogcapi']}/collections?f=json"))["collections"]}
    expected = _by_protocol(csw_datasets, "OGC:API features")
    assert set(expected) <= set(cols)
    for name, uid in expected.items():
        col = cols[name]
        assert col["title"] == csw_datasets[uid]["title"]
        described = [lk["href"] for lk in col["links"] if lk["rel"] == "describedby"]
        assert any(f"id={uid}" in h for h in described) and any(h.endswith(f"/items/{uid}") for h in described)
        licence = [lk for lk in col["links"] if lk["rel"] == "license"]
        assert licence and licence[0]["title"].split(" (")[0] in csw_datasets[uid]["licence"]


def test_ogcapi_tiles_match_records(sandbox, csw_datasets):
    expected = _by_protocol(csw_datasets, "OGC:API tiles")
    assert expected
    for name, uid in expected.items():
        col = json.loads(_get(f"{sandbox['ogcapi']}/collections/{name}?f=json"))
        assert col["title"] == csw_datasets[uid]["title"]
        assert any(lk["rel"] == "stylesheet" for lk in col["links"])
        assert any("/tiles" in lk["href"] for lk in col["links"])


def test_records_match_csw(sandbox, csw_datasets):
    for uid, d in csw_datasets.items():
        item = json.loads(_get(f"{sandbox['ogcapi_records']}/items/{uid}?f=json"))
        assert item["id"] == uid
        assert item["properties"]["title"] == d["title"]
        assert item["properties"]["license"] in d["licence"]
        assert {(lk["type"], lk["href"], lk["title"]) for lk in item["links"] if lk["rel"] == "item"} == set(
            d["online"]
        )


def test_pdok_layer_list_matches_csw(sandbox, csw_datasets):
    layers = json.loads(_get(sandbox["pdok_layers"]))
    assert layers
    for rec in layers:
        d = csw_datasets[rec["dataset_md_id"]]
        assert rec["title"] == d["title"]
        assert rec["licence"] in d["licence"]
        assert any(rec["name"] == name and rec["service_url"].startswith(url) for _, url, name in d["online"])
        for key in ("name", "title", "abstract", "service_url", "service_type", "service_md_id"):
            assert rec[key]


def test_licences_and_attribution(csw_datasets):
    by_title = {d["title"]: d for d in csw_datasets.values()}
    bgt = next(d for t, d in by_title.items() if t.startswith("BGT Pand"))
    assert "CC0 1.0" in bgt["licence"] and "Geen beperkingen" in bgt["use"]
    bag = next(d for t, d in by_title.items() if t.startswith("3DBAG"))
    assert "CC BY 4.0" in bag["licence"] and bag["use"] == "© 3DBAG by tudelft3d and 3DGI"


def test_download_links_resolve(sandbox, csw_datasets):
    files = [(p, url) for d in csw_datasets.values() for p, url, _ in d["online"] if url.startswith(sandbox["files"])]
    assert {p for p, _ in files} >= {"COG", "EPT", "CityJSON", "CityJSONSeq", "3D Tiles"}
    for _, url in files:
        _get(url, method="HEAD")  # raises on 404
