"""The local catalogue index: SQLite FTS5 in the user's profile, offline-first.

Text is prepared in Python (text.py: folding, stems, compound parts) and FTS5 ranks with BM25
and field weights (title > name > keywords > organisation > abstract/URL). Queries are
expanded with the thesaurus and corrected for one typo (query.py). Writes of one harvest
happen in one transaction (store.py), so a failed harvest leaves the previous index intact.

One SQLite connection per thread: the locator filter searches from its own thread, harvest
tasks write from theirs. WAL mode lets searches run while a harvest writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CatalogueError
from ..i18n import tr
from .entry import Entry
from .query import ParsedQuery, Vocabulary, parse
from .thesaurus import Thesaurus, default_thesaurus

SCHEMA_VERSION = 5
# bm25 weights, in FTS column order: title, name, keywords, organisation, abstract, url
WEIGHTS = (10.0, 6.0, 4.0, 2.0, 1.0, 1.5)
FTS_COLUMNS = ("title", "name", "keywords", "organisation", "abstract", "url")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS entries(
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, source TEXT NOT NULL, hash TEXT NOT NULL,
    title TEXT, name TEXT, service_type TEXT, service_url TEXT, url_key TEXT, organisation TEXT,
    dataset_id TEXT, is_3d INTEGER NOT NULL DEFAULT 0,
    minx REAL, miny REAL, maxx REAL, maxy REAL, harvested_at TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_source ON entries(source);
CREATE INDEX IF NOT EXISTS entries_dataset ON entries(dataset_id);
CREATE INDEX IF NOT EXISTS entries_url ON entries(url_key, name);
CREATE INDEX IF NOT EXISTS entries_type ON entries(service_type);
CREATE INDEX IF NOT EXISTS entries_org ON entries(organisation);
CREATE INDEX IF NOT EXISTS entries_title ON entries(title);
CREATE TABLE IF NOT EXISTS entry_themes(entry INTEGER NOT NULL, theme TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entry_themes_theme ON entry_themes(theme, entry);
CREATE INDEX IF NOT EXISTS entry_themes_entry ON entry_themes(entry);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    title, name, keywords, organisation, abstract, url,
    tokenize = 'unicode61 remove_diacritics 0', detail = column);
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
    entry: Entry
    score: float
    matched: list[str]  # folded terms of the query (and their synonyms/corrections) found in the entry


def url_key(url: str) -> str:
    """A service URL reduced to what identifies the service: no scheme, query, fragment or trailing slash."""
    base = (url or "").strip().split("#", 1)[0].split("?", 1)[0].rstrip("/")
    if "://" in base:
        scheme, rest = base.split("://", 1)
        host, _, path = rest.partition("/")
        base = host.lower() + ("/" + path if path else "")
    return base


_CACHE: dict[tuple[str, str], tuple[int, object]] = {}
_CACHE_LOCK = threading.Lock()


class CatalogueIndex:
    def __init__(self, path: str | Path, thesaurus: Thesaurus | None = None) -> None:
        self.path = Path(path)
        self.thesaurus = thesaurus or default_thesaurus()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._splitter = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._key = str(self.path.resolve())
        self._connect()  # create the schema now, so errors surface where the index is opened

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                if version:  # an index of an older plugin version: it is a cache, rebuild it
                    _drop_all(conn)
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: set once with the schema
                conn.executescript(SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as err:
            raise CatalogueError(
                tr("The catalogue index {path} cannot be opened: {reason}. Delete the file to rebuild it.").format(
                    path=self.path, reason=err
                ),
                detail=str(err),
            ) from err
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        return self._connect()

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass  # closing a connection that is already gone is not an error worth reporting
            self._connections.clear()
        self._local = threading.local()

    def generation(self) -> int:
        """Bumped by every write: caches (vocabulary, facets) compare against it."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def splitter(self):
        if self._splitter is None:
            from .text import CompoundSplitter

            self._splitter = CompoundSplitter(self.thesaurus.vocabulary())
        return self._splitter

    def _cached(self, kind: str, build):
        """A value derived from the index, shared by every CatalogueIndex on the same file until the next write.

        The locator filter opens a CatalogueIndex per keystroke; this keeps that cheap.
        """
        gen = self.generation()
        key = (self._key, kind)
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is not None and cached[0] == gen:
            return cached[1]
        value = build()
        with _CACHE_LOCK:
            _CACHE[key] = (gen, value)
        return value

    def vocabulary(self) -> Vocabulary:
        return self._cached(
            "vocabulary", lambda: Vocabulary(dict(self.conn.execute("SELECT term, doc FROM fts_vocab")))
        )

    def warm(self) -> None:
        """Load the vocabulary and ranking statistics now (after a harvest, in the worker), so the
        first keystroke in the dock does not pay for it. Shared by every CatalogueIndex on this file."""
        self.statistics()

    def statistics(self) -> dict:
        """What BM25F needs (ranking.py): row count, average terms per FTS column, document frequencies."""
        return self._cached("statistics", self._compute_statistics)

    def _compute_statistics(self) -> dict:
        rows = self.count()
        sample = self.conn.execute(f"SELECT {', '.join(FTS_COLUMNS)} FROM fts LIMIT 5000").fetchall()
        avg = [
            sum(len(set((r[i] or "").split())) for r in sample) / max(1, len(sample)) for i in range(len(FTS_COLUMNS))
        ]
        return {"rows": rows, "avg": avg, "df": self.vocabulary().counts}

    # -- reading -------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    def get(self, entry_id: str) -> Entry | None:
        row = self.conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return entry_from_row(*row) if row else None

    def entries(self, source: str | None = None) -> list[Entry]:
        sql = f"SELECT {ENTRY_COLUMNS} FROM entries" + (" WHERE source = ?" if source else "") + " ORDER BY rowid"
        return [entry_from_row(*r) for r in self.conn.execute(sql, (source,) if source else ())]

    def by_dataset(self, dataset_id: str) -> list[Entry]:
        rows = self.conn.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE dataset_id = ? ORDER BY rowid", (dataset_id,)
        )
        return [entry_from_row(*r) for r in rows]

    def by_service(self, service_url: str, name: str | None = None) -> list[Entry]:
        key = url_key(service_url)
        sql = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE url_key = ?"
        if name is None:
            rows = self.conn.execute(sql, (key,))
        else:
            rows = self.conn.execute(sql + " AND name = ?", (key, name))
        return [entry_from_row(*r) for r in rows]

    def parse_query(self, query: str) -> ParsedQuery | None:
        return parse(query, self.thesaurus, self.vocabulary(), self.splitter())

    def search(self, query: str, limit: int = 20, filters: SearchFilters | None = None) -> list[SearchHit]:
        """Ranked entries for what the user typed (empty query: filtered entries by title)."""
        from .ranking import search

        return search(self, query, limit, filters)

    def facets(self) -> dict[str, list[tuple[str, int]]]:
        """Value counts for the filter widgets, most frequent first: service_type, organisation, theme."""
        return self._cached("facets", self._compute_facets)

    def _compute_facets(self) -> dict[str, list[tuple[str, int]]]:
        conn = self.conn
        out = {
            "service_type": conn.execute(
                "SELECT service_type, count(*) c FROM entries GROUP BY service_type ORDER BY c DESC, service_type"
            ).fetchall(),
            "organisation": conn.execute(
                "SELECT organisation, count(*) c FROM entries WHERE organisation != '' "
                "GROUP BY organisation ORDER BY c DESC, organisation"
            ).fetchall(),
            "theme": conn.execute(
                "SELECT theme, count(*) c FROM entry_themes GROUP BY theme ORDER BY c DESC, theme"
            ).fetchall(),
        }
        return {k: [(str(v), int(c)) for v, c in rows] for k, rows in out.items()}

    def last_harvest(self, source: str | None = None) -> dict | None:
        sql = "SELECT id, time, source, kind, url, new, changed, removed, skipped, total, note FROM harvests"
        sql += (" WHERE source = ?" if source else "") + " ORDER BY id DESC LIMIT 1"
        row = self.conn.execute(sql, (source,) if source else ()).fetchone()
        return _harvest_dict(row) if row else None

    def harvests(self, limit: int = 50) -> list[dict]:
        rows = self.conn.execute(
            "SELECT id, time, source, kind, url, new, changed, removed, skipped, total, note FROM harvests "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [_harvest_dict(r) for r in rows]

    def changes(self, limit: int = 100) -> list[dict]:
        rows = self.conn.execute(
            "SELECT time, source, kind, entry_id, title, name, dataset_id, old_url, new_url, harvest FROM changes "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        keys = ("time", "source", "kind", "entry_id", "title", "name", "dataset_id", "old_url", "new_url", "harvest")
        return [dict(zip(keys, r)) for r in rows]

    def replacement_for(self, service_url: str, name: str) -> Entry | None:
        """The entry that now serves what was at ``service_url``/``name`` (same dataset id), if it moved."""
        from .stale import replacement_for

        return replacement_for(self, service_url, name)

    # -- writing -------------------------------------------------------------------------------
    def apply_harvest(self, source: str, entries: list[Entry], **kwargs):
        """Replace the entries of ``source`` by ``entries`` in one transaction (see store.py)."""
        from .store import apply_harvest

        return apply_harvest(self, source, entries, **kwargs)


def _drop_all(conn: sqlite3.Connection) -> None:
    names = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
    )
    for kind, name in list(names):
        if not name.startswith("fts_"):  # fts shadow tables go with their virtual table
            conn.execute(f'DROP {"VIEW" if kind == "view" else "TABLE"} IF EXISTS "{name}"')


ENTRY_COLUMNS = "data, source, harvested_at"


def entry_from_row(data: str, source: str, harvested_at: str | None) -> Entry:
    entry = Entry.from_dict(json.loads(data))
    entry.source = source
    entry.harvested_at = harvested_at or ""
    return entry


def _harvest_dict(row) -> dict:
    keys = ("id", "time", "source", "kind", "url", "new", "changed", "removed", "skipped", "total", "note")
    return dict(zip(keys, row))


def default_index_path() -> Path:
    from .. import settings

    return settings.data_dir() / "catalogue.sqlite"


_DEFAULT: CatalogueIndex | None = None
_DEFAULT_LOCK = threading.Lock()


def default_index() -> CatalogueIndex:
    """The user's index (<profile>/dtfl/catalogue.sqlite), seeded from the bundled snapshot when empty."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        path = default_index_path()
        if _DEFAULT is None or _DEFAULT.path != path:
            index = CatalogueIndex(path)
            if index.count() == 0 and index.last_harvest() is None:
                from .snapshot import seed_from_snapshot

                if not seed_from_snapshot(index):
                    from qgis.core import Qgis, QgsMessageLog

                    QgsMessageLog.logMessage(
                        tr("The catalogue is empty: this installation has no bundled snapshot. Update the catalogue."),
                        "DTFL",
                        Qgis.MessageLevel.Warning,
                    )
            _DEFAULT = index
            # Load vocabulary and ranking statistics off the GUI thread (about a second at 100,000
            # records); a search that comes first simply computes them itself.
            threading.Thread(target=_warm, args=(path,), name="dtfl-catalogue-warm", daemon=True).start()
        return _DEFAULT


def _warm(path: Path) -> None:
    index = CatalogueIndex(path)
    try:
        index.warm()
    except (CatalogueError, sqlite3.Error) as err:  # a damaged index reports itself at the first real search
        from qgis.core import Qgis, QgsMessageLog

        QgsMessageLog.logMessage(str(err), "DTFL", Qgis.MessageLevel.Warning)
    finally:
        index.close()
