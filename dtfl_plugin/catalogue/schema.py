"""The catalogue index's shared definitions: tables, FTS columns, row <-> Entry, filters, hits.

index.py (connections, reading), store.py (writing), ranking.py (search) and stale.py (moved
services) all work on these rows; keeping the definitions here lets each import them at module
level without importing one another.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field

from .entry import Entry, ServiceType

SCHEMA_VERSION = 9
# bm25 weights, in FTS column order: title, name, keywords, organisation, abstract, url
WEIGHTS = (10.0, 6.0, 4.0, 2.0, 1.0, 1.5)
FTS_COLUMNS = ("title", "name", "keywords", "organisation", "abstract", "url")
DOC_SEPARATOR = "\x1f"  # between the prepared FTS columns in entries.doc (str.split() treats it as a space)

# Size: the prepared text is stored once, compressed, in entries.doc, and the FTS table is contentless
# (content=''): FTS5 only finds rows, ranking reads entries.doc (one row read, not FTS5's per-column
# content look-ups). Keys that are only compared (entry id, layer, service URL, content hash) are 64-bit
# hashes; the texts they stand for live in the entry's JSON (entries.data, compressed with a dictionary
# built from the catalogue's own records: zdicts).
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS entries(
    rowid INTEGER PRIMARY KEY, idh INTEGER NOT NULL, source TEXT NOT NULL, hash INTEGER NOT NULL,
    title TEXT, service_type TEXT, organisation TEXT, dataset_id TEXT, is_3d INTEGER NOT NULL DEFAULT 0,
    layer INTEGER NOT NULL, url INTEGER NOT NULL, nameh INTEGER NOT NULL,
    minx REAL, miny REAL, maxx REAL, maxy REAL, harvested_at TEXT, zd INTEGER, data BLOB NOT NULL, doc BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS entries_id ON entries(idh);
CREATE INDEX IF NOT EXISTS entries_source ON entries(source);
CREATE INDEX IF NOT EXISTS entries_dataset ON entries(dataset_id);
CREATE INDEX IF NOT EXISTS entries_url ON entries(url, nameh);
CREATE INDEX IF NOT EXISTS entries_layer ON entries(layer);
CREATE TABLE IF NOT EXISTS zdicts(id INTEGER PRIMARY KEY, zdict BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS acronyms(source TEXT NOT NULL, acronym TEXT NOT NULL, phrase TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS acronyms_source ON acronyms(source);
CREATE TABLE IF NOT EXISTS entry_themes(entry INTEGER NOT NULL, theme TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entry_themes_theme ON entry_themes(theme, entry);
CREATE INDEX IF NOT EXISTS entry_themes_entry ON entry_themes(entry);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title, name, keywords, organisation, abstract, url,
    tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', columnsize = 0);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_vocab USING fts5vocab(fts, row);
CREATE TABLE IF NOT EXISTS harvests(
    id INTEGER PRIMARY KEY, time TEXT NOT NULL, source TEXT NOT NULL, kind TEXT, url TEXT,
    new INTEGER, changed INTEGER, removed INTEGER, skipped INTEGER, total INTEGER, note TEXT);
CREATE TABLE IF NOT EXISTS changes(
    id INTEGER PRIMARY KEY, harvest INTEGER NOT NULL, time TEXT NOT NULL, source TEXT NOT NULL,
    kind TEXT NOT NULL, entry_id TEXT NOT NULL, title TEXT, name TEXT, dataset_id TEXT,
    old_url TEXT, new_url TEXT, old_url_key TEXT);
CREATE INDEX IF NOT EXISTS changes_old_url ON changes(old_url_key, name);
"""

ENTRY_COLUMNS = "data, source, harvested_at, zd"

# Analysis-ready first: features for vectors, coverages/files for rasters, then the pictures.
SERVICE_PREFERENCE = (
    ServiceType.OAPIF.value, ServiceType.WFS.value, ServiceType.COG.value, ServiceType.WCS.value,
    ServiceType.CITYJSON.value, ServiceType.TILES3D.value, ServiceType.COPC.value, ServiceType.EPT.value,
    ServiceType.LAZ.value, ServiceType.OAPIT.value, ServiceType.WMTS.value, ServiceType.WMS.value,
    ServiceType.ATOM.value, ServiceType.DOWNLOAD.value,
)  # fmt: skip

# URL path segments that only name the protocol: the WMS and the WFS of one dataset differ only there.
_PROTOCOL_SEGMENTS = frozenset("wms wmts wfs wcs ows ogc api features tiles wmsc service services".split())
_VERSION_SEGMENT = re.compile(r"^v?\d+([._]\d+)*$")


def url_key(url: str) -> str:
    """A service URL reduced to what identifies the service: no scheme, query, fragment or trailing slash."""
    base = (url or "").strip().split("#", 1)[0].split("?", 1)[0].rstrip("/")
    if "://" in base:
        _scheme, rest = base.split("://", 1)
        host, _, path = rest.partition("/")
        base = host.lower() + ("/" + path if path else "")
    return base


def layer_key(entry: Entry) -> str:
    """What one dataset layer is called whatever service serves it: the services of one layer share it.

    The dataset id when the record has one, else the service path without its protocol and version
    segments; plus the layer name without a WFS namespace prefix.
    """
    name = (entry.name or "").rsplit(":", 1)[-1].strip().lower()
    if entry.dataset_id:
        return f"{entry.dataset_id.lower()}|{name}"
    path = url_key(entry.service_url).lower().split("/")
    kept = [p for p in path[1:] if p not in _PROTOCOL_SEGMENTS and not _VERSION_SEGMENT.match(p)]
    return "/".join([*path[:1], *kept]) + "|" + name


def service_rank(service_type: str, wanted: frozenset | set = frozenset()) -> tuple[int, int]:
    """Sort key of one service of a layer: the types the user asked for first, then analysis-ready."""
    pref = SERVICE_PREFERENCE.index(service_type) if service_type in SERVICE_PREFERENCE else len(SERVICE_PREFERENCE)
    return (0 if service_type in wanted else 1, pref)


def key_hash(text: str) -> int:
    """A 64-bit key for a text the index only compares (entry id, layer key, service URL, layer name)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


_PACKER: list = [b"", None]  # the last dictionary and a compressor primed with it (priming costs ~80 us)


def pack(data_json: str, zdict: bytes | None = None) -> bytes:
    """The stored form of an entry's JSON: zlib-compressed, with the harvest's dictionary when it has one
    (short records compress poorly alone; with strings common to the catalogue, to a third of that)."""
    if not zdict:
        return zlib.compress(data_json.encode("utf-8"), 6)
    if _PACKER[0] != zdict:
        _PACKER[:] = [zdict, zlib.compressobj(6, zdict=zdict)]
    packer = _PACKER[1].copy()
    return packer.compress(data_json.encode("utf-8")) + packer.flush()


def pack_doc(columns) -> bytes:
    """The prepared FTS columns of an entry as stored in entries.doc: each column with a space before and
    after its terms (so `" term " in column` is a test for the term), raw deflate, no dictionary (ranking
    inflates a few hundred per search: a dictionary would triple that cost)."""
    text = DOC_SEPARATOR.join(f" {c} " if c else "" for c in columns)
    return zlib.compress(text.encode("utf-8"), 6, wbits=-15)


def unpack_doc(doc: bytes) -> str:
    """entries.doc as ranking reads it (columns padded with spaces, DOC_SEPARATOR between them)."""
    return zlib.decompress(doc, -15).decode("utf-8")


def doc_columns(doc: bytes) -> list[str]:
    """The FTS columns an entry was indexed with, as given to FTS5."""
    return [c.strip() for c in unpack_doc(doc).split(DOC_SEPARATOR)]


def entry_from_row(
    data: bytes | str, source: str, harvested_at: str | None, zd: int | None = None, zdicts: dict | None = None
) -> Entry:
    if isinstance(data, bytes):
        if zd:
            data = zlib.decompressobj(zdict=zdicts[zd]).decompress(data)
        else:
            data = zlib.decompress(data)
        data = data.decode("utf-8")
    entry = Entry.from_dict(json.loads(data))
    entry.source = source
    entry.harvested_at = harvested_at or ""
    return entry


@dataclass
class SearchFilters:
    service_types: set[str] = field(default_factory=set)
    organisations: set[str] = field(default_factory=set)
    themes: set[str] = field(default_factory=set)
    is_3d: bool | None = None
    bbox_wgs84: tuple | None = None  # (minx, miny, maxx, maxy); entries without a bbox are kept

    def sql(self) -> tuple[str, list]:
        clauses: list[str] = []
        args: list = []
        if self.service_types:
            clauses.append(f"e.service_type IN ({','.join('?' * len(self.service_types))})")
            args.extend(sorted(self.service_types))
        if self.organisations:
            clauses.append(f"e.organisation IN ({','.join('?' * len(self.organisations))})")
            args.extend(sorted(self.organisations))
        if self.themes:
            marks = ",".join("?" * len(self.themes))
            clauses.append(f"e.rowid IN (SELECT entry FROM entry_themes WHERE theme IN ({marks}))")
            args.extend(sorted(self.themes))
        if self.is_3d is not None:
            clauses.append("e.is_3d = ?")
            args.append(1 if self.is_3d else 0)
        if self.bbox_wgs84:
            minx, miny, maxx, maxy = (float(v) for v in self.bbox_wgs84)
            # National services often publish no extent: keep them rather than hide them.
            clauses.append("(e.minx IS NULL OR (e.minx <= ? AND e.maxx >= ? AND e.miny <= ? AND e.maxy >= ?))")
            args.extend([maxx, minx, maxy, miny])
        return (" AND ".join(clauses), args)


@dataclass
class SearchHit:
    entry: Entry  # the service chosen by default for this layer (see ``services``)
    score: float
    matched: list[str]  # folded terms of the query (and their synonyms/corrections) found in the entry
    services: list[Entry] = field(default_factory=list)  # every service of this layer, the default first
    coverage: float = 1.0  # share of the query's words this layer matched (below 1: a relaxed match)


class SearchResult(list):
    """Ranked SearchHits, plus what the engine has to tell the user about the query."""

    def __init__(self, hits=(), unmatched=(), suggestion: str = "", relaxed: bool = False) -> None:
        super().__init__(hits)
        self.unmatched: list[str] = list(unmatched)  # words no entry contains (in any form we tried)
        self.suggestion = suggestion  # "did you mean": the query with corrected words, or ""
        self.relaxed = relaxed  # True when no entry matched every word and partial matches are shown
