"""Search: FTS5 finds candidates, BM25F with field weights ranks them, in tiers; one row per layer.

Why not FTS5's own bm25(): before it can score a single row it computes each phrase's IDF by
walking the phrase's whole document list, so a common word at 100,000 records costs ~10 ms per
phrase per keystroke, and a query expanded with synonyms has many phrases. Instead FTS5 only
*finds* and we score every candidate with BM25F (scoring.py): per-field weights (title > name >
keywords > organisation > abstract/URL), length normalisation per field, IDF from the index
vocabulary (cached per index generation). Once the index is warm (forward.py: every row's terms as ids in
memory, built per generation by the harvest task) a tier's candidates are scored together in a few numpy
passes; until then each is scored from the prepared text stored with its entry (kept between keystrokes,
DocCache). Both give the same scores; nothing is tokenised at query time.

A word as typed counts fully; a completion of a word still being typed, a thesaurus synonym, a
compound part or a typo correction counts less (they are guesses).

Tiers, most specific first: 1. the typed words in title or layer name; 2. the expanded query in
title or layer name; 3. the expanded query anywhere; 4. (relaxed) entries that match only part of
the query, ranked by how much of it they cover. A tier that fills the page ends the search.

Rows are layers, not services: the WMS, WFS, WMTS and OGC API of one layer (schema.layer_key)
are one hit whose default service is the one the query named, else the analysis-ready one.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from zlib import decompress as inflate

from ..errors import CatalogueError
from ..i18n import tr
from .query import MECHANISMS, Group, ParsedQuery, group_expression
from .schema import ENTRY_COLUMNS, SearchHit, SearchResult, service_rank
from .scoring import Scorer, is_correction

YIELD_EVERY = 50  # candidates scored between two offers of the interpreter to the GUI thread
RELAX_BELOW = 3  # full matches below which partial ones are added after them
DOC_CACHE_CHARS = 16_000_000  # prepared text kept between keystrokes (~16 MB): typing refines the same candidates
MAX_CANDIDATES = 500  # scored per tier: the best of a common word's thousands at 100,000 records are among them
FORWARD = True  # score from the forward index when it is ready (off: the text path, to compare them)
_EXPRESSION = object()  # where the tier's MATCH expression goes among the SQL arguments


def _subset(parsed: ParsedQuery, keep) -> ParsedQuery:
    groups = [
        Group(
            typed=g.typed,
            alternatives=[a for a in g.alternatives if keep(g, a)],
            prefix=g.prefix,
            corrected=g.corrected,
            optional=g.optional,
        )
        for g in parsed.groups
    ]
    return ParsedQuery(groups, parsed.service_types)


def _tiers(parsed: ParsedQuery) -> list[str]:
    """MATCH expressions, most specific first: what was typed (other spellings and corrections
    included) in title or name; with synonyms in title or name; what was typed anywhere; all anywhere."""
    literal = _subset(parsed, lambda g, a: a in g.same or is_correction(g, a)).expression
    direct = _subset(parsed, lambda g, a: a not in g.guessed).expression
    tiers = [f"{{title name}} : ({literal})", f"{{title name}} : ({direct})", literal, parsed.expression]
    return list(dict.fromkeys(tiers))


def search(index, query: str, limit: int = 20, filters=None) -> SearchResult:
    limit = max(1, int(limit))
    where, args = filters.sql() if filters is not None else ("", [])
    conn: sqlite3.Connection = index.conn
    parsed = index.parse_query(query or "")
    if parsed is None:
        sql = f"SELECT {ENTRY_COLUMNS} FROM entries e{' WHERE ' + where if where else ''} ORDER BY e.title LIMIT ?"
        return SearchResult([SearchHit(e, 0.0, []) for e in index._entries(conn.execute(sql, (*args, limit)))])
    wanted = sorted(parsed.service_types)
    # Whether the layer has a service of the type the query named, whichever of its services matched the words.
    has_wanted = (
        f"EXISTS(SELECT 1 FROM entries x WHERE x.layer = e.layer AND x.service_type IN ({','.join('?' * len(wanted))}))"
        if wanted
        else "0"
    )
    if where or wanted:
        sql = (
            f"SELECT e.rowid, e.layer, {has_wanted}, e.doc FROM fts JOIN entries e ON e.rowid = fts.rowid "
            f"WHERE fts MATCH ?{' AND ' + where if where else ''} LIMIT ?"
        )
    else:  # nothing but the words: FTS5 alone finds the rows; the entries table is read for rows not cached
        sql = "SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ?"
    collector = _Collector(conn, sql, [*wanted, _EXPRESSION, *args], set(wanted), limit)
    collector.fts_only = not (where or wanted)
    collector.docs = index.doc_cache()
    collector.forward = index.forward() if FORWARD else None
    try:
        collector.run(_tiers(parsed), Scorer(parsed, index.statistics(), index.vocabulary()))
        relaxed = not collector.layers
        # Few or no entries have every word: rank those that have some of them after, by how much of the
        # query each covers (an empty page teaches nothing; one odd full match should not hide the rest).
        if len(collector.layers) < RELAX_BELOW and MECHANISMS["relaxed"]:
            loose = index.parse_query(query, phrases=False)
            if loose is not None and len(loose.required) > 1:
                collector.run([loose.relaxed_expression], Scorer(loose, index.statistics(), index.vocabulary()))
    except sqlite3.OperationalError as err:
        raise CatalogueError(
            tr("The search could not be run: {reason}").format(reason=err), detail=parsed.expression
        ) from err
    hits = _layer_hits(index, collector.ranked(), collector.wanted, where, args)
    unmatched = _unmatched(conn, parsed) if relaxed else []
    return SearchResult(hits, unmatched, parsed.suggestion() if relaxed or unmatched else "", relaxed)


class DocCache(dict):
    """rowid -> prepared text (and, in ``layers``, its layer key), bounded by its characters: when full, the
    older half goes (insertion order), so the candidates of the last few queries stay."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0
        self.layers: dict[int, int] = {}

    def add(self, rowid: int, text: str, layer: int | None = None) -> str:
        if self.chars + len(text) > DOC_CACHE_CHARS:
            for old in list(itertools.islice(self, (len(self) + 1) // 2)):
                self.chars -= len(self.pop(old))
                self.layers.pop(old, None)
        self[rowid] = text
        self.chars += len(text)
        if layer is not None:
            self.layers[rowid] = layer
        return text

    def clear(self) -> None:
        super().clear()
        self.layers.clear()
        self.chars = 0


class _Collector:
    """Candidates of successive tiers, scored, kept as the best-scoring service per layer."""

    def __init__(self, conn, sql: str, args: list, wanted: set, limit: int) -> None:
        self.conn, self.sql, self.args, self.wanted, self.limit = conn, sql, args, wanted, limit
        self.layers: dict[str, list] = {}  # layer_key -> [sort key, rowid, matched, coverage, has a wanted type]
        self.seen: set[int] = set()
        self.tier = 0
        self.docs = DocCache()  # rowid -> prepared text, shared by the searches on one index generation
        self.fts_only = False  # the statement reads FTS5 alone: rowids, the rest from the cache or entries
        self.forward = None  # the index's ForwardIndex when ready: candidates scored together

    def run(self, expressions: list[str], scorer: Scorer) -> None:
        for expression in expressions:
            # Rows an earlier tier scored come again and are skipped: they must not use up this tier's budget.
            args = [expression if a is _EXPRESSION else a for a in self.args]
            rows = self.conn.execute(self.sql, (*args, MAX_CANDIDATES + len(self.seen))).fetchall()
            fresh = [r for r in rows if r[0] not in self.seen]
            forward = self.forward
            if forward is not None and all(forward.covers(r[0]) for r in fresh):
                self._together(fresh, scorer, forward)
            else:
                self._one_by_one(self._rows([r for (r,) in fresh]) if self.fts_only else fresh, scorer)
            self.tier += 1
            if len(self.layers) >= self.limit:
                break

    def _together(self, rows: list[tuple], scorer: Scorer, forward) -> None:
        """The tier's candidates scored at once from the forward index (forward.py)."""
        polite = threading.current_thread() is not threading.main_thread()
        if polite:  # a few ms in numpy next, holding the interpreter: let the GUI thread have it first
            time.sleep(0)
        scored, layers = forward.score(scorer, [r[0] for r in rows])
        if polite:
            time.sleep(0)
        for row, key, done in zip(rows, layers, scored):
            self._keep(row[0], key, row[2] if len(row) > 2 else 0, done)

    def _one_by_one(self, rows, scorer: Scorer) -> None:
        """The candidates scored from their prepared text (before the forward index is ready)."""
        # Off the main thread (the dock's and the locator's workers), hand the interpreter to the GUI thread
        # now and then: scoring holds it, and QGIS must keep painting while someone types.
        polite = threading.current_thread() is not threading.main_thread()
        for n, (rowid, key, has_wanted, doc) in enumerate(rows):
            if polite and n % YIELD_EVERY == YIELD_EVERY - 1:
                time.sleep(0)
            if rowid in self.seen:
                continue
            text = self.docs.get(rowid)
            if text is None:
                text = self.docs.add(rowid, inflate(doc, -15).decode(), key)
            self._keep(rowid, key, has_wanted, scorer.scored(text))

    def _keep(self, rowid: int, key, has_wanted, done: tuple) -> None:
        """The row as its layer's best service, if it is."""
        if not MECHANISMS["layers"]:
            key = f"#{rowid}"
        self.seen.add(rowid)
        score, matched, coverage, covered = done
        rank = (covered, self.tier, -score)
        best = self.layers.get(key)
        if best is None:
            self.layers[key] = [rank, rowid, list(matched), coverage, bool(has_wanted)]
        else:
            if rank < best[0]:
                best[:4] = rank, rowid, list(matched), coverage
            best[4] = bool(has_wanted)

    def _rows(self, rowids: list[int]) -> list[tuple]:
        """(rowid, layer key, 0, stored text or None) in FTS5's order; the entries table is read only for rows
        whose prepared text and layer are not cached (one statement for all of them)."""
        layers = self.docs.layers
        missing = [r for r in rowids if r not in layers and r not in self.seen]
        stored: dict[int, tuple] = {}
        for start in range(0, len(missing), 900):  # within SQLite's smallest limit on bound parameters
            chunk = missing[start : start + 900]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT rowid, layer, doc FROM entries WHERE rowid IN ({marks})"
            stored.update((rowid, (layer, doc)) for rowid, layer, doc in self.conn.execute(sql, chunk))
        out = []
        for rowid in rowids:
            if rowid in stored:
                layer, doc = stored[rowid]
            elif rowid in layers or rowid in self.seen:
                layer, doc = layers.get(rowid), None
            else:
                continue  # an FTS5 row without an entry (never written so): nothing to show
            out.append((rowid, layer, 0, doc))
        return out

    def ranked(self) -> list:
        """(layer key, [rank, rowid, matched, coverage, typed]) best first: the service type the query
        named counts right after coverage."""
        order = sorted(self.layers.items(), key=lambda kv: (kv[1][0][0], not kv[1][4], *kv[1][0][1:]))
        return order[: self.limit]


def _layer_hits(index, order: list, wanted: set, where: str, args: list) -> list[SearchHit]:
    """One SearchHit per layer: all its services (within the filters), the preferred one first."""
    if not order:
        return []
    conn, zdicts = index.conn, index.zdicts()
    if not MECHANISMS["layers"]:  # ablation: every service its own row
        out = []
        for _key, (rank, rowid, matched, coverage, _typed) in order:
            row = conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE rowid = ?", (rowid,)).fetchone()
            entry = index.entry(row, zdicts)
            out.append(SearchHit(entry, -rank[2], matched, [entry], coverage))
        return out
    keys = [k for k, _v in order]
    marks = ",".join("?" * len(keys))
    sql = f"SELECT e.layer, e.rowid, e.{ENTRY_COLUMNS.replace(', ', ', e.')} FROM entries e WHERE e.layer IN ({marks})"
    members: dict[int, list] = {}
    for key, rowid, *row in conn.execute(sql + (f" AND {where}" if where else ""), (*keys, *args)):
        members.setdefault(key, []).append((rowid, index.entry(row, zdicts)))
    hits = []
    for key, (rank, best_rowid, matched, coverage, _typed) in order:
        found = members.get(key) or []
        found.sort(key=lambda m: (*service_rank(m[1].service_type, wanted), m[0] != best_rowid, m[0]))
        services = [e for _r, e in found]
        if services:
            hits.append(SearchHit(services[0], -rank[2], matched, services, coverage))
    return hits


def _unmatched(conn, parsed: ParsedQuery) -> list[str]:
    """Typed words that no entry contains in any form tried: the user should hear which."""
    out = []
    for group in parsed.required:
        try:
            found = conn.execute("SELECT 1 FROM fts WHERE fts MATCH ? LIMIT 1", (group_expression(group),)).fetchone()
        except sqlite3.OperationalError:
            found = None
        if found is None:
            out.append(" ".join(group.typed))
    return out
