"""The local catalogue index: SQLite FTS5 in the user's profile, offline-first.

Text is prepared in Python (text.py: folding, stems, compound parts); a contentless FTS5 table
finds candidates and ranking.py scores them with BM25F and field weights (title > name >
keywords > organisation > abstract/URL) on the prepared text kept once, compressed, in the entry
row (schema.py). Queries are expanded with the thesaurus and corrected for typos (query.py).
Writes of one harvest happen in one transaction (store.py), so a failed harvest leaves the
previous index intact. An index of the previous layout is carried over when opened (its entries
re-indexed, harvests and change log kept); an older one is rebuilt (it is a cache).

One SQLite connection per thread: the locator filter searches from its own thread, harvest
tasks write from theirs. WAL mode lets searches run while a harvest writes.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CatalogueError
from ..i18n import tr
from . import cooccurrence, ranking, stale, store
from .entry import Entry
from .query import MECHANISMS, ParsedQuery, parse
from .schema import (  # noqa: F401 - re-exported: the index's public names
    ENTRY_COLUMNS,
    FTS_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    WEIGHTS,
    SearchFilters,
    SearchHit,
    SearchResult,
    doc_columns,
    entry_from_row,
    key_hash,
    url_key,
)
from .text import CompoundSplitter
from .thesaurus import Thesaurus, default_thesaurus
from .vocabulary import Vocabulary

if TYPE_CHECKING:  # numpy, which it needs, is optional for the catalogue
    from .forward import ForwardIndex

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
        self._carried: list[Entry] = []
        self._connect()  # create the schema now, so errors surface where the index is opened
        if self._carried:  # entries of an index written by the previous version, kept through the upgrade
            store.restore(self, self._carried)
            self._carried = []

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
                if version == 8:  # the previous layout: its entries are re-indexed in the new one
                    self._carried = _carry_v8(conn)
                elif version:  # an index of an older plugin version: it is a cache, rebuild it
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
        """Load the vocabulary, ranking statistics and forward index now (after a harvest, in the worker), so
        the first keystroke in the dock does not pay for it. Shared by every CatalogueIndex on this file."""
        self.statistics()
        self.query_thesaurus()
        self.build_forward()

    def build_forward(self) -> ForwardIndex | None:
        """The forward index of this generation (forward.py), built now if it is not yet; None when a write
        came while building (the next warm builds it)."""
        ready = self.forward()
        if ready is not None:
            return ready
        try:
            from .forward import ForwardIndex
        except ImportError:  # numpy: every QGIS installer has it; without it searches rank from the text
            return None
        gen = self.generation()
        built = ForwardIndex.build(self.conn, cancelled=lambda: self.generation() != gen)
        if built is not None and self.generation() == gen:
            with _CACHE_LOCK:
                _CACHE[(self._key, "forward")] = (gen, built)
        return built

    def forward(self) -> ForwardIndex | None:
        """The forward index if it is ready for this generation; searches never wait for it."""
        with _CACHE_LOCK:
            cached = _CACHE.get((self._key, "forward"))
        return cached[1] if cached is not None and cached[0] == self.generation() else None

    def statistics(self) -> dict:
        """What BM25F needs (ranking.py): row count, average terms per FTS column, document frequencies."""
        return self._cached("statistics", self._compute_statistics)

    def _compute_statistics(self) -> dict:
        rows = self.count()
        sample = [doc_columns(d) for (d,) in self.conn.execute("SELECT doc FROM entries LIMIT 5000")]
        # The prepared columns hold each term once: terms per column = words in it.
        avg = [sum(len(r[i].split()) for r in sample) / max(1, len(sample)) for i in range(len(FTS_COLUMNS))]
        return {"rows": rows, "avg": avg, "df": self.vocabulary().counts}

    def doc_cache(self) -> ranking.DocCache:
        """rowid -> prepared text (entries.doc inflated) for ranking, shared until the next write."""
        return self._cached("docs", ranking.DocCache)

    def zdicts(self) -> dict[int, bytes]:
        """The compression dictionaries of the entries' JSON (store.build_zdict), by id."""
        return self._cached("zdicts", lambda: dict(self.conn.execute("SELECT id, zdict FROM zdicts")))

    def entry(self, row, zdicts: dict | None = None) -> Entry:
        """An Entry from the ENTRY_COLUMNS of one row (``zdicts``: self.zdicts(), when already at hand)."""
        zdicts = self.zdicts() if zdicts is None else zdicts
        try:
            return entry_from_row(*row, zdicts)
        except KeyError:  # written by a harvest that committed after the dictionaries were read
            return entry_from_row(*row, dict(self.conn.execute("SELECT id, zdict FROM zdicts")))

    def _entries(self, rows) -> list[Entry]:
        zdicts = self.zdicts()
        return [self.entry(r, zdicts) for r in rows]

    def stored(self, rowid: int) -> Entry:
        """The entry stored at ``rowid`` (inside a harvest's transaction too: it reads the dictionaries afresh)."""
        data, source, harvested_at, zd = self.conn.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE rowid = ?", (rowid,)
        ).fetchone()
        zdicts = dict(self.conn.execute("SELECT id, zdict FROM zdicts WHERE id = ?", (zd,))) if zd else {}
        return entry_from_row(data, source, harvested_at, zd, zdicts)

    # -- reading -------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    def get(self, entry_id: str) -> Entry | None:
        rows = self.conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE idh = ?", (key_hash(entry_id),))
        return next((e for e in self._entries(rows) if e.id == entry_id), None)

    def entries(self, source: str | None = None) -> list[Entry]:
        sql = f"SELECT {ENTRY_COLUMNS} FROM entries" + (" WHERE source = ?" if source else "") + " ORDER BY rowid"
        return self._entries(self.conn.execute(sql, (source,) if source else ()))

    def by_dataset(self, dataset_id: str) -> list[Entry]:
        rows = self.conn.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE dataset_id = ? ORDER BY rowid", (dataset_id,)
        )
        return self._entries(rows)

    def by_service(self, service_url: str, name: str | None = None) -> list[Entry]:
        key = url_key(service_url)
        sql = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE url = ?"
        if name is None:
            rows = self.conn.execute(sql + " ORDER BY rowid", (key_hash(key),))
        else:
            rows = self.conn.execute(sql + " AND nameh = ? ORDER BY rowid", (key_hash(key), key_hash(name)))
        # The keys are hashes: keep only what really is at that URL (and name).
        return [e for e in self._entries(rows) if url_key(e.service_url) == key and (name is None or e.name == name)]

    def parse_query(self, query: str, phrases: bool = True) -> ParsedQuery | None:
        thesaurus = self.query_thesaurus() if MECHANISMS["acronyms"] else self.thesaurus
        return parse(query, thesaurus, self.vocabulary(), self.splitter(), phrases)

    def query_thesaurus(self) -> Thesaurus:
        """The bundled thesaurus plus the abbreviations the catalogue's own records define (cooccurrence.py)."""
        return self._cached("thesaurus", self._build_query_thesaurus)

    def _build_query_thesaurus(self) -> Thesaurus:
        found: dict[str, list[str]] = {}
        for acronym, phrase in self.conn.execute("SELECT acronym, phrase FROM acronyms ORDER BY rowid"):
            if phrase not in found.setdefault(acronym, []):
                found[acronym].append(phrase)
        return self.thesaurus.with_concepts(cooccurrence.concepts(found)) if found else self.thesaurus

    def search(self, query: str, limit: int = 20, filters: SearchFilters | None = None) -> SearchResult:
        """Ranked layers for what the user typed (empty query: filtered entries by title)."""
        return ranking.search(self, query, limit, filters)

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
        return stale.replacement_for(self, service_url, name)

    # -- writing -------------------------------------------------------------------------------
    def apply_harvest(self, source: str, entries: list[Entry], **kwargs):
        """Replace the entries of ``source`` by ``entries`` in one transaction (see store.py)."""
        return store.apply_harvest(self, source, entries, **kwargs)


def _drop_all(conn: sqlite3.Connection) -> None:
    names = conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
    )
    for kind, name in list(names):
        if not name.startswith("fts_"):  # fts shadow tables go with their virtual table
            conn.execute(f'DROP {"VIEW" if kind == "view" else "TABLE"} IF EXISTS "{name}"')


def _carry_v8(conn: sqlite3.Connection) -> list[Entry]:
    """The entries of a version-8 index (harvests, change log and abbreviations keep their tables); its
    entry and text tables are dropped, to be created anew and refilled (store.restore)."""
    carried = [
        entry_from_row(*r) for r in conn.execute("SELECT data, source, harvested_at FROM entries ORDER BY rowid")
    ]
    for table in ("fts_vocab", "fts", "entry_themes", "entries"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    return carried


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
