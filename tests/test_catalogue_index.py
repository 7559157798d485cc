"""The index: harvest into SQLite FTS5, search (ranking, typos, synonyms, filters), change log, stale layers."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dtfl_plugin.errors import CatalogueError

LIST_2022 = "catalogue/pdok-layers/layers-pdok-2022.json"


def test_fts5_is_available():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a)")  # raises when FTS5 is not compiled in


@pytest.fixture()
def index(qgis_app, tmp_path, shared_data):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex

    idx = CatalogueIndex(tmp_path / "catalogue.sqlite")
    harvest(SourceConfig("pdok-layers", str(shared_data / LIST_2022), "pdok-layers"), idx)
    harvest(
        SourceConfig(
            "pdok-layers", str(shared_data / "catalogue/pdok-layers/layers-pdok-current-sample.json"), "current"
        ),
        idx,
    )
    for xml in sorted((shared_data / "catalogue/iso19139").glob("*.xml")):
        harvest(SourceConfig("csw", str(xml), f"ngr:{xml.stem}"), idx)
    yield idx
    idx.close()


def _top(index, query, n=3):
    return [h.entry for h in index.search(query, n)]


@pytest.mark.parametrize(
    "query, expect_name",
    [
        ("bgt pastel", "pastelvisualisatie"),
        ("pastel bgt", "pastelvisualisatie"),  # word order free
        ("ahn3 dtm 0.5", "ahn3_05m_dtm"),
        ("kadastrale kaart", "Kadastralekaart"),  # compound typed as two words
        ("kadastralekaart", "Kadastralekaart"),
        ("gemeentegrenzen", "bestuurlijkegebieden:Gemeentegebied"),  # thesaurus: gemeentegrenzen ~ gemeentegebied
        ("schelpdieren", "schelpdierenpercelen"),  # compound head/prefix of a longer word
        ("natura200", "natura2000:natura2000"),  # typing in progress: prefix
        ("schelpdierenperclen", "schelpdierenpercelen"),  # one typo
        ("natura2000gebieden", "natura2000:natura2000"),
        (
            "kaart van de gemeenten",
            "bestuurlijkegebieden:Gemeentegebied",
        ),  # generic and function words are optional  # a compound the index lacks, split into known words
    ],
)
def test_search_finds_expected_layer_in_top3(index, query, expect_name):
    names = [e.name for e in _top(index, query)]
    assert expect_name in names, names


@pytest.mark.parametrize(
    "query, expect_in_title",
    [
        ("soil", "bodem"),  # English -> Dutch
        ("aerial photo", "Luchtfoto"),
        ("railway noise", "lnight"),  # spoorweg + geluid in the layer's name/service
        ("flood", "overstroming"),
        ("walking routes", "wandelnetwerken"),
        ("geology", "Geologisch"),
        ("luchtfoto's", "Luchtfoto"),  # possessive plural
        ("overstromngen", "overstroming"),  # typo
    ],
)
def test_search_crosses_languages_and_forgives(index, query, expect_in_title):
    titles = [f"{e.title} {e.name} {e.service_url}" for e in _top(index, query)]
    assert any(expect_in_title.lower() in t.lower() for t in titles), titles


def test_service_urls_and_layer_names_are_searchable(index):
    assert any("kadastralekaart" in e.service_url for e in _top(index, "kadastralekaart wmts"))
    hits = index.search("service.pdok.nl/kadaster/bestuurlijkegebieden", 5)
    assert hits and all("bestuurlijkegebieden" in h.entry.service_url for h in hits)


def test_matched_terms_for_highlighting(index):
    hit = index.search("soil", 1)[0]
    assert "bodem" in hit.matched or "grond" in hit.matched


def test_filters_and_facets(index):
    from dtfl_plugin.catalogue.index import SearchFilters

    wfs = index.search("gebied", 50, SearchFilters(service_types={"WFS"}))
    assert wfs and all(h.entry.service_type == "WFS" for h in wfs)
    facets = index.facets()
    assert dict(facets["service_type"])["WMTS"] == 43
    assert "Kadaster" in dict(facets["organisation"])
    theme = "Vervoersnetwerken"
    assert theme in dict(facets["theme"])
    themed = index.search("", 50, SearchFilters(themes={theme}))
    assert themed and all(theme in h.entry.themes for h in themed)
    # A map extent around Groningen: entries with a bbox elsewhere drop out, national ones without bbox stay.
    far = index.search("", 500, SearchFilters(bbox_wgs84=(6.4, 53.1, 6.7, 53.3)))
    assert all(h.entry.bbox is None or h.entry.bbox[2] >= 6.4 for h in far)
    assert index.search("", 5, SearchFilters(is_3d=True)) == []


def test_get_count_and_last_harvest(index, shared_data):
    assert index.count() > 76
    entry = index.search("bgt pastel", 1)[0].entry
    assert index.get(entry.id) == entry
    last = index.last_harvest()
    assert set(last) >= {"time", "source", "new", "changed", "removed", "skipped"}


def _write(tmp_path, records, name="list.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records), "utf-8")
    return path


def test_reharvest_logs_changes_and_finds_replacement(qgis_app, tmp_path, shared_data):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex
    from dtfl_plugin.catalogue.stale import LayerRef, find_stale

    records = json.loads((shared_data / LIST_2022).read_text("utf-8"))
    idx = CatalogueIndex(tmp_path / "i.sqlite")
    source = SourceConfig("pdok-layers", str(_write(tmp_path, records)), "pdok")
    first = harvest(source, idx)
    assert (first.new, first.changed, first.removed) == (76, 0, 0)
    assert idx.changes() == []  # a first harvest is not a list of 76 "new" rows

    # PDOK moves the Kadastralekaart WMTS and retires the schelpdierenpercelen WMS.
    moved = next(r for r in records if r["name"] == "Kadastralekaart")
    old_url = moved["service_url"].split("?")[0]
    moved["service_url"] = "https://service.pdok.nl/kadaster/kadastralekaart/wmts/v5_0?request=GetCapabilities"
    retired = next(r for r in records if r["name"] == "schelpdierenpercelen")
    records.remove(retired)
    second = harvest(SourceConfig("pdok-layers", str(_write(tmp_path, records, "v2.json")), "pdok"), idx)
    assert (second.new, second.changed, second.removed) == (0, 1, 1)
    kinds = {c["kind"]: c for c in idx.changes()}
    assert kinds["changed"]["old_url"] == old_url and "v5_0" in kinds["changed"]["new_url"]
    assert kinds["removed"]["title"] == "schelpdierenpercelen"

    replacement = idx.replacement_for(old_url + "?request=GetCapabilities&service=WMTS", "Kadastralekaart")
    assert replacement is not None and "v5_0" in replacement.service_url
    assert idx.replacement_for(replacement.service_url, "Kadastralekaart") is None  # current: nothing to replace

    refs = [
        LayerRef("l1", "Kadastrale kaart", old_url, "Kadastralekaart", "wms"),
        LayerRef("l2", "Schelpdieren", retired["service_url"], "schelpdierenpercelen", "wms"),
        LayerRef("l3", "BGT", "https://service.pdok.nl/lv/bgt/wmts/v1_0", "pastelvisualisatie", "wms"),
        LayerRef("l4", "Own WMS", "https://example.org/wms", "x", "wms"),
    ]
    stale = {s.ref.layer_id: s for s in find_stale(refs, idx)}
    assert set(stale) == {"l1", "l2"}
    assert stale["l1"].status == "moved" and stale["l1"].replacement.id == replacement.id
    assert stale["l2"].status == "retired" and stale["l2"].replacement is None
    idx.close()


def test_failed_harvest_keeps_previous_index(qgis_app, tmp_path, shared_data):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex

    idx = CatalogueIndex(tmp_path / "i.sqlite")
    path = tmp_path / "list.json"
    path.write_bytes((shared_data / LIST_2022).read_bytes())
    harvest(SourceConfig("pdok-layers", str(path), "pdok"), idx)
    before = (idx.count(), idx.last_harvest())
    raw = (shared_data / LIST_2022).read_bytes()
    path.write_bytes(raw[: len(raw) // 2])  # truncated download
    with pytest.raises(CatalogueError, match="not valid JSON"):
        harvest(SourceConfig("pdok-layers", str(path), "pdok"), idx)
    path.write_text("[]")  # a source that suddenly has nothing is not believed
    with pytest.raises(CatalogueError, match="previous index is kept"):
        harvest(SourceConfig("pdok-layers", str(path), "pdok"), idx)
    assert (idx.count(), idx.last_harvest()) == before
    assert idx.search("bgt pastel", 1)


def test_write_error_rolls_back(qgis_app, tmp_path, shared_data):
    from dtfl_plugin.catalogue.entry import Entry
    from dtfl_plugin.catalogue.index import CatalogueIndex

    idx = CatalogueIndex(tmp_path / "i.sqlite")
    idx.apply_harvest(
        "s", [Entry(id="a", title="Bodemkaart", service_type="WMS", service_url="https://x/wms", name="a")]
    )
    bad = Entry(id="b", title="Kapot", service_type="WMS", service_url="https://x/wms", name="b")
    bad.keywords = [object()]  # cannot be serialised: fails half-way through the write
    with pytest.raises(TypeError):
        idx.apply_harvest("s", [Entry(id="c", title="Nieuw", service_type="WMS", service_url="u", name="c"), bad])
    assert [e.id for e in idx.entries()] == ["a"] and len(idx.harvests()) == 1
    idx.close()


def test_searches_from_another_thread(index):
    import threading

    out = []
    thread = threading.Thread(target=lambda: out.append(index.search("bodem", 3)))
    thread.start()
    thread.join(10)
    assert out and out[0]


def test_snapshot_round_trip_seeds_an_empty_index(qgis_app, tmp_path, index):
    from dtfl_plugin.catalogue.index import CatalogueIndex
    from dtfl_plugin.catalogue.snapshot import seed_from_snapshot, write_snapshot

    groups = {"pdok-layers": {"kind": "pdok-layers", "url": "x", "entries": index.entries("pdok-layers")}}
    path = write_snapshot(groups, tmp_path / "snap.json.gz", built="2026-01-01T00:00:00+00:00")
    fresh = CatalogueIndex(tmp_path / "fresh.sqlite")
    assert seed_from_snapshot(fresh, tmp_path / "missing.json.gz") == 0
    assert seed_from_snapshot(fresh, path) == 76
    assert fresh.last_harvest()["time"] == "2026-01-01T00:00:00+00:00"
    assert [e.id for e in fresh.entries()] == [e.id for e in index.entries("pdok-layers")]
    fresh.close()


def test_default_index_seeds_from_the_bundled_snapshot(qgis_app, tmp_path, monkeypatch, index):
    from dtfl_plugin.catalogue import index as index_module
    from dtfl_plugin.catalogue import snapshot

    groups = {"pdok-layers": {"kind": "pdok-layers", "url": "", "entries": index.entries("pdok-layers")}}
    monkeypatch.setattr(
        snapshot, "SNAPSHOT", snapshot.write_snapshot(groups, tmp_path / "s.json.gz", built="2026-01-02T00:00:00+00:00")
    )
    monkeypatch.setattr(index_module, "default_index_path", lambda: tmp_path / "profile" / "catalogue.sqlite")
    monkeypatch.setattr(index_module, "_DEFAULT", None)
    seeded = index_module.default_index()
    assert seeded.count() == 76 and seeded.last_harvest()["time"] == "2026-01-02T00:00:00+00:00"
    assert index_module.default_index() is seeded  # one per profile
    seeded.close()
    monkeypatch.setattr(snapshot, "SNAPSHOT", tmp_path / "absent.json.gz")
    monkeypatch.setattr(index_module, "default_index_path", lambda: tmp_path / "other" / "catalogue.sqlite")
    empty = index_module.default_index()
    assert empty.count() == 0 and empty.last_harvest() is None
    empty.close()
