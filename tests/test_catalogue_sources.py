"""Parsing the real catalogue material in ../shared/data/catalogue, and refusing unsafe XML."""

from __future__ import annotations

import json

import pytest

from dtfl_plugin.errors import CatalogueError


def _iso(shared_data, name):
    from dtfl_plugin.catalogue.sources.iso19139 import find_records, parse_record
    from dtfl_plugin.catalogue.xmlsafe import parse

    root = parse((shared_data / "catalogue" / "iso19139" / name).read_bytes())
    return parse_record(find_records(root)[0])


def test_pdok_layer_list_2022_shape(shared_data):
    from dtfl_plugin.catalogue.sources.pdok_layers import parse_layer_list

    data = json.loads((shared_data / "catalogue/pdok-layers/layers-pdok-2022.json").read_text("utf-8"))
    result = parse_layer_list(data, "pdok-layers")
    assert result.records == 76 and result.skipped == 0 and len(result.entries) == 76
    by_name = {e.name: e for e in result.entries}
    wms = by_name["AM.NoiseRestrictionZone"]
    assert wms.service_type == "WMS"
    assert wms.service_url == "https://service.pdok.nl/provincies/geluidzones-rondom-vliegvelden/wms/v1_0"
    assert "EPSG:28992" in wms.crs and wms.styles[0]["id"] == "AM.NoiseRestrictionZone.Default"
    assert wms.dataset_id == "41023936-009d-48ec-a90d-c966895463c1"
    assert by_name["ahn3_05m_dtm"].title  # WCS records without a title get one from the service
    assert len({e.id for e in result.entries}) == 76  # ids are unique


def test_pdok_layer_list_current_shape(shared_data):
    from dtfl_plugin.catalogue.sources.pdok_layers import parse_layer_list

    data = json.loads((shared_data / "catalogue/pdok-layers/layers-pdok-current-sample.json").read_text("utf-8"))
    entries = {e.name: e for e in parse_layer_list(data).entries}
    tiles = entries["Basisregistratie Adressen en Gebouwen - Tiles"]
    assert tiles.service_type == "OGC API Tiles"
    assert tiles.tile_matrix_sets == ["NetherlandsRDNewQuad", "EuropeanETRS89_LAEAQuad", "WebMercatorQuad"]
    assert "EPSG:28992" in tiles.crs and len(tiles.styles) == 6 and tiles.styles[0]["url"].startswith("https://")
    assert entries["coastline"].service_type == "OGC API Features"
    assert entries["coastline"].organisation == "Kadaster"


def test_pdok_layer_list_bad_records_are_skipped_not_fatal():
    from dtfl_plugin.catalogue.sources.pdok_layers import parse_layer_list

    result = parse_layer_list(
        [{"name": "x"}, "nonsense", {"name": "a", "service_url": "https://x/wms", "service_type": "wms"}]
    )
    assert (result.records, result.skipped, len(result.entries)) == (3, 2, 1)
    with pytest.raises(CatalogueError):
        parse_layer_list({"something": "else"})


def test_iso_dataset_record_with_anchors(shared_data):
    from dtfl_plugin.catalogue.sources.iso19139 import to_entries

    rec = _iso(shared_data, "ngr_record_with_anchors.xml")
    assert rec.title == "Eemsmonding volgens het Eems-Dollardverdrag"
    assert rec.organisation.startswith("Ministerie van Defensie")
    assert rec.licence == "http://creativecommons.org/publicdomain/mark/1.0/deed.nl"  # gmx:Anchor href
    assert "Berichten aan Zeevarenden" in rec.use_constraints
    assert rec.inspire_themes and rec.bbox == pytest.approx((2.4506, 50.9152, 7.9872, 54.0807))
    assert rec.date and rec.lineage
    entries = to_entries(rec, "ngr")
    kinds = sorted(e.service_type for e in entries)
    assert kinds == ["ATOM", "WFS", "WMS"]  # protocols written as gmx:Anchor
    wfs = next(e for e in entries if e.service_type == "WFS")
    assert wfs.name == "MarineRegion:ManagementRestrictionOrRegulationZone"
    assert wfs.service_url == "https://inspire1.bathy.online/geoserver/MarineRegion/wfs"
    assert wfs.dataset_id == rec.file_id and wfs.id.startswith(rec.file_id + ":wfs:")


def test_iso_service_record_couples_to_dataset(shared_data):
    from dtfl_plugin.catalogue.sources.iso19139 import to_entries

    rec = _iso(shared_data, "392e6a4e-5274-11ea-954f-080027325297.xml")
    assert rec.hierarchy == "service" and rec.operates_on == ["25d77eb3-c4f6-4e6a-b974-8a93a1ace20a"]
    entries = to_entries(rec)
    assert {e.name for e in entries} >= {"wandelknooppunten", "wandelnetwerken"}
    assert all(e.dataset_id == "25d77eb3-c4f6-4e6a-b974-8a93a1ace20a" for e in entries)
    assert all(e.service_id == rec.file_id for e in entries)


def test_iso_record_without_loadable_resource_gives_no_entry(shared_data):
    from dtfl_plugin.catalogue.sources.iso19139 import to_entries

    rec = _iso(shared_data, "500d396f-5ec6-4e4b-a151-5fb3cddd8082.xml")  # only an OGC:SOS link
    assert rec.title and to_entries(rec) == []


def test_csw_summary_records_are_counted_as_skipped(shared_data):
    from dtfl_plugin.catalogue.sources.base import SourceResult
    from dtfl_plugin.catalogue.sources.csw import parse_page

    result = SourceResult()
    data = (shared_data / "catalogue/csw-responses/CSW_GetRecordsResponse_Dataset.xml").read_bytes()
    matched, returned, next_record = parse_page(data, result, "ngr")
    assert (matched, returned, next_record) == (123, 10, 11)
    assert result.skipped == 10 and not result.entries


def test_ogcapi_records_links_become_entries(shared_data):
    from dtfl_plugin.catalogue.sources.base import SourceResult
    from dtfl_plugin.catalogue.sources.ogcapi_records import add_records, features_of

    data = json.loads(
        (shared_data / "catalogue/ogcapi-records/ngr-sample-records.ogcapi-records.tinydb.json").read_text()
    )
    result = SourceResult()
    add_records(features_of(data), result, "records")
    assert result.records == 3 and result.skipped == 0
    kaartboeck = [e for e in result.entries if e.dataset_id == "35149dfb-31d3-431c-a8bc-12a4034dac48"]
    assert {e.service_type for e in kaartboeck} == {"WMS", "WFS", "Download"}
    wms = next(e for e in kaartboeck if e.service_type == "WMS")
    assert wms.name == "geo:kaartboeck" and wms.organisation == "Gemeente Zaanstad"
    assert wms.bbox == pytest.approx((4.690751953125, 52.358740234375, 5.020341796875, 52.6333984375))
    assert "MONUMENTEN" in wms.themes


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2">&lol3;</csw:GetRecordsResponse>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""


@pytest.mark.parametrize("layer", ["lxml", "expat"])
@pytest.mark.parametrize("payload", [BOMB, XXE, BOMB.decode().encode("utf-16")], ids=["bomb", "xxe", "utf16-bomb"])
def test_unsafe_xml_is_refused(monkeypatch, payload, layer):
    """Each parser refuses by itself (no byte scan in front of it; see dtfl_plugin/safexml.py)."""
    from dtfl_plugin.catalogue import xmlsafe

    if layer == "expat":
        monkeypatch.setattr(xmlsafe, "_lxml", None)
    with pytest.raises(xmlsafe.UnsafeXmlError) as info:
        xmlsafe.parse(payload, "test answer")
    assert "document type declaration" in str(info.value)


@pytest.mark.parametrize("use_lxml", [True, False], ids=["lxml", "expat"])
def test_malformed_and_truncated_xml(monkeypatch, shared_data, use_lxml):
    from dtfl_plugin.catalogue import xmlsafe

    if not use_lxml:
        monkeypatch.setattr(xmlsafe, "_lxml", None)
    good = (shared_data / "catalogue/iso19139/ngr_record_with_anchors.xml").read_bytes()
    root = xmlsafe.parse(good)
    assert xmlsafe.local(root.tag) == "MD_Metadata"
    with pytest.raises(CatalogueError, match="not well-formed"):
        xmlsafe.parse(good[: len(good) // 2])
    with pytest.raises(CatalogueError, match="empty"):
        xmlsafe.parse(b"  ")
    with pytest.raises(CatalogueError, match="larger"):
        xmlsafe.parse(good, max_bytes=1000)


def test_expat_fallback_reads_iso_record_like_lxml(monkeypatch, shared_data):
    from dtfl_plugin.catalogue import xmlsafe
    from dtfl_plugin.catalogue.sources.iso19139 import find_records, parse_record, to_entries

    data = (shared_data / "catalogue/iso19139/ngr_record_with_anchors.xml").read_bytes()
    with_lxml = to_entries(parse_record(find_records(xmlsafe.parse(data))[0]))
    monkeypatch.setattr(xmlsafe, "_lxml", None)
    with_expat = to_entries(parse_record(find_records(xmlsafe.parse(data))[0]))
    assert [e.to_dict() for e in with_expat] == [e.to_dict() for e in with_lxml]


@pytest.mark.parametrize(
    "hints, expected",
    [
        (("OGC:WMS",), "WMS"),
        (("OGC:WMTS",), "WMTS"),
        (("OGC:WFS",), "WFS"),
        (("OGC:WCS",), "WCS"),
        (("OGC API features",), "OGC API Features"),
        (("OGC:API features",), "OGC API Features"),
        (("api tiles",), "OGC API Tiles"),
        (("INSPIRE Atom",), "ATOM"),
        (("", "http://www.opengis.net/def/serviceType/ogc/wfs"), "WFS"),  # only the gmx:Anchor href says it
        (("download",), "Download"),
        (("WWW:LINK-1.0-http--link",), "Other"),
        (("OGC:SOS",), "Other"),
    ],
)
def test_protocol_mapping(hints, expected):
    from dtfl_plugin.catalogue.protocols import service_type

    assert service_type(*hints).value == expected


def test_service_url_cleaning_and_ids():
    from dtfl_plugin.catalogue.entry import ServiceType
    from dtfl_plugin.catalogue.protocols import clean_service_url, entry_id

    assert (
        clean_service_url(" https://service.pdok.nl/x/wms/v1_0?request=GetCapabilities&service=WMS&token=a ")
        == "https://service.pdok.nl/x/wms/v1_0?token=a"
    )
    assert entry_id("abc", ServiceType.WMS, "laag") == "abc:wms:laag"
    assert entry_id("abc", ServiceType.WMS, "", "https://a/wms") == "abc:wms:"  # keeps its id when the URL moves
    one, two = (entry_id("abc", ServiceType.DOWNLOAD, "", u) for u in ("https://a/x.zip", "https://a/y.zip"))
    assert one != two and one.startswith("abc:download:#")
