"""The index's layout changes between versions: an index the previous version wrote is carried over
(entries, harvests, change log kept, searchable at once); an older one is rebuilt, never a crash or a
silently empty search. And the contentless FTS table forgets changed and removed entries."""

from __future__ import annotations

import json
import sqlite3
import zlib

# The layout version 8 wrote (schema.py of that version): entries with the record's JSON compressed,
# the prepared text stored by FTS5 itself.
V8_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE entries(
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, source TEXT NOT NULL, hash TEXT NOT NULL,
    title TEXT, name TEXT, service_type TEXT, service_url TEXT, url_key TEXT, organisation TEXT,
    dataset_id TEXT, is_3d INTEGER NOT NULL DEFAULT 0, layer_key TEXT,
    minx REAL, miny REAL, maxx REAL, maxy REAL, harvested_at TEXT, data BLOB NOT NULL);
CREATE TABLE acronyms(source TEXT NOT NULL, acronym TEXT NOT NULL, phrase TEXT NOT NULL);
CREATE TABLE entry_themes(entry INTEGER NOT NULL, theme TEXT NOT NULL);
CREATE VIRTUAL TABLE fts USING fts5(
    title, name, keywords, organisation, abstract, url,
    tokenize = 'unicode61 remove_diacritics 0', detail = column);
CREATE VIRTUAL TABLE fts_vocab USING fts5vocab(fts, row);
CREATE TABLE harvests(
    id INTEGER PRIMARY KEY, time TEXT NOT NULL, source TEXT NOT NULL, kind TEXT, url TEXT,
    new INTEGER, changed INTEGER, removed INTEGER, skipped INTEGER, total INTEGER, note TEXT);
CREATE TABLE changes(
    id INTEGER PRIMARY KEY, harvest INTEGER NOT NULL, time TEXT NOT NULL, source TEXT NOT NULL,
    kind TEXT NOT NULL, entry_id TEXT NOT NULL, title TEXT, name TEXT, dataset_id TEXT,
    old_url TEXT, new_url TEXT, old_url_key TEXT);
"""

RECORDS = [
    ("ds-1:wfs:zwemplekken", "pdok", "Zwemplekken in open water", "zwemplekken", "WFS", "https://example.org/zwem/wfs"),
    ("ds-1:wms:zwemplekken", "pdok", "Zwemplekken in open water", "zwemplekken", "WMS", "https://example.org/zwem/wms"),
    ("ds-2:wms:dijkringen", "ngr", "Dijkringgebieden", "dijkringen", "WMS", "https://example.org/dijk/wms"),
]


def _write_v8(path, version: int = 8) -> None:
    conn = sqlite3.connect(str(path))
    conn.executescript(V8_SCHEMA)
    for rowid, (entry_id, source, title, name, kind, url) in enumerate(RECORDS, 1):
        data = {"id": entry_id, "title": title, "service_type": kind, "service_url": url, "name": name,
                "abstract": "Badlocaties van de provincie.", "dataset_id": entry_id.split(":")[0]}  # fmt: skip
        conn.execute(
            "INSERT INTO entries(rowid, id, source, hash, title, name, service_type, service_url, harvested_at, data) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (rowid, entry_id, source, "x", title, name, kind, url, "2026-11-01T10:00:00+00:00",
             zlib.compress(json.dumps(data).encode("utf-8"))),
        )  # fmt: skip
        conn.execute("INSERT INTO fts(rowid, title, name) VALUES (?,?,?)", (rowid, title.lower(), name))
    conn.execute("INSERT INTO harvests(time, source, kind, new, total) VALUES ('2026-11-01T10:00:00+00:00', 'pdok', 'pdok-layers', 2, 2)")  # fmt: skip
    conn.execute(
        "INSERT INTO changes(harvest, time, source, kind, entry_id, title, name, old_url, new_url, old_url_key) "
        "VALUES (1, '2026-11-01T10:00:00+00:00', 'pdok', 'changed', 'ds-1:wms:zwemplekken', 'Zwemplekken', "
        "'zwemplekken', 'https://old.example.org/zwem/wms', 'https://example.org/zwem/wms', 'old.example.org/zwem/wms')"
    )
    conn.execute("INSERT INTO meta(key, value) VALUES ('generation', '3')")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def test_an_index_of_the_previous_version_is_carried_over(qgis_app, tmp_path):
    from dtfl_plugin.catalogue.index import SCHEMA_VERSION, CatalogueIndex

    path = tmp_path / "catalogue.sqlite"
    _write_v8(path)
    index = CatalogueIndex(path)
    assert index.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert index.count() == 3
    entries = {e.id: e for e in index.entries()}
    assert entries["ds-2:wms:dijkringen"].source == "ngr"
    assert entries["ds-1:wfs:zwemplekken"].harvested_at == "2026-11-01T10:00:00+00:00"
    # Searchable at once, one row per layer (WFS first), through the new text tables.
    hits = index.search("zwemplek")
    assert [h.entry.service_type for h in hits] == ["WFS"] and len(hits[0].services) == 2
    assert [h.entry.name for h in index.search("dijkring")] == ["dijkringen"]
    # Harvest history and change log are kept; carrying over is not a harvest.
    assert len(index.harvests()) == 1 and index.last_harvest()["new"] == 2
    assert index.changes()[0]["old_url"] == "https://old.example.org/zwem/wms"
    assert index.get("ds-1:wms:zwemplekken").service_url == "https://example.org/zwem/wms"
    assert [e.id for e in index.by_service("https://example.org/zwem/wfs", "zwemplekken")] == ["ds-1:wfs:zwemplekken"]
    index.close()
    # Opening it again changes nothing.
    again = CatalogueIndex(path)
    assert again.count() == 3 and len(again.harvests()) == 1
    again.close()


def test_an_older_index_is_rebuilt_empty_not_broken(qgis_app, tmp_path):
    from dtfl_plugin.catalogue.index import CatalogueIndex

    path = tmp_path / "old.sqlite"
    _write_v8(path, version=5)
    index = CatalogueIndex(path)
    assert index.count() == 0 and index.last_harvest() is None  # default_index() then seeds from the snapshot
    result = index.search("zwemplekken")
    assert list(result) == [] and result.unmatched == ["zwemplekken"]
    index.close()


def test_changed_and_removed_entries_leave_the_text_index(qgis_app, tmp_path):
    from dtfl_plugin.catalogue.entry import Entry
    from dtfl_plugin.catalogue.index import CatalogueIndex

    index = CatalogueIndex(tmp_path / "i.sqlite")
    # Enough entries for a compression dictionary (store.ZDICT_MIN), plus two to change and remove.
    many = [
        Entry(f"e{i}", f"Grondwaterstand meetpunt {i}", "WFS", f"https://example.org/gw{i}/wfs") for i in range(250)
    ]
    index.apply_harvest("s", [*many, Entry("a", "Zandwinplassen", "WMS", "https://example.org/a/wms"),
                              Entry("b", "Kwelkaart", "WMS", "https://example.org/b/wms")])  # fmt: skip
    assert index.conn.execute("SELECT count(*) FROM zdicts").fetchone()[0] == 1
    assert index.get("e7").title == "Grondwaterstand meetpunt 7"
    assert [h.entry.id for h in index.search("zandwinplassen")] == ["a"]  # its text is now in the ranking's cache
    result = index.apply_harvest("s", [*many, Entry("a", "Slibdepots", "WMS", "https://example.org/a/wms")])
    assert (result.changed, result.removed) == (1, 1)
    assert not index.search("zandwinplassen") and not index.search("kwelkaart")
    hits = index.search("slibdepots")  # scored on the new text, not the one cached before the write
    assert [h.entry.id for h in hits] == ["a"] and "slibdepots" in hits[0].matched
    assert {c["kind"]: c["title"] for c in index.changes()} == {"changed": "Slibdepots", "removed": "Kwelkaart"}
    # A harvest that commits between reading the dictionaries and reading its entries: still readable.
    stale = CatalogueIndex(index.path)
    stale.zdicts = dict
    assert len(stale.entries()) == 251 and stale.search("grondwaterstand meetpunt 7")[0].entry.id == "e7"
    stale.close()
    vocab = dict(
        index.conn.execute("SELECT term, doc FROM fts_vocab WHERE term IN ('zandwinplassen', 'grondwaterstand')")
    )
    assert vocab == {"grondwaterstand": 250}  # the old text's terms are gone from the index, not only hidden
    index.close()
