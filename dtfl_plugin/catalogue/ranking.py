"""Search: FTS5 finds candidates, BM25F with field weights ranks them, in tiers; one row per layer.

Why not FTS5's own bm25(): before it can score a single row it computes each phrase's IDF by
walking the phrase's whole document list, so a common word at 100,000 records costs ~10 ms per
phrase per keystroke, and a query expanded with synonyms has many phrases. Instead FTS5 only
*finds* and we score every candidate with BM25F: per-field weights (title > name > keywords >
organisation > abstract/URL), length normalisation per field, IDF from the index vocabulary
(cached per index generation). The prepared text FTS5 stores is read back: nothing is
tokenised at query time.

A word as typed counts fully; a completion of a word still being typed, a thesaurus synonym, a
compound part or a typo correction counts less (they are guesses).

Tiers, most specific first: 1. the typed words in title or layer name; 2. the expanded query in
title or layer name; 3. the expanded query anywhere; 4. (relaxed) entries that match only part of
the query, ranked by how much of it they cover. A tier that fills the page ends the search.

Rows are layers, not services: the WMS, WFS, WMTS and OGC API of one layer (schema.layer_key)
are one hit whose default service is the one the query named, else the analysis-ready one.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time

from ..errors import CatalogueError
from ..i18n import tr
from .query import MECHANISMS, Group, ParsedQuery, group_expression
from .schema import ENTRY_COLUMNS, WEIGHTS, SearchHit, SearchResult, entry_from_row, service_rank
from .text import stem

YIELD_EVERY = 50  # candidates scored between two offers of the interpreter to the GUI thread
RELAX_BELOW = 3  # full matches below which partial ones are added after them
MAX_CANDIDATES = 500  # scored per tier: the best of a common word's thousands at 100,000 records are among them
K1 = 1.2
B = 0.75
TYPED, SAME, SYNONYM, CORRECTION = 1.0, 0.9, 0.7, 0.6
# A completion of a word still being typed; less when the word is already complete on its own.
PREFIX, PREFIX_OF_WORD = 0.8, 0.5
_EXPRESSION = object()  # where the tier's MATCH expression goes among the SQL arguments
COLUMNS = "fts.title, fts.name, fts.keywords, fts.organisation, fts.abstract, fts.url"


def _is_correction(group: Group, alt: tuple[str, ...]) -> bool:
    return alt[0] in group.corrected or "".join(alt) in group.corrected


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
    literal = _subset(parsed, lambda g, a: a in g.same or _is_correction(g, a)).expression
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
        return SearchResult([SearchHit(entry_from_row(*r), 0.0, []) for r in conn.execute(sql, (*args, limit))])
    wanted = sorted(parsed.service_types)
    # Whether the layer has a service of the type the query named, whichever of its services matched the words.
    has_wanted = (
        f"EXISTS(SELECT 1 FROM entries x WHERE x.layer_key = e.layer_key AND x.service_type IN ({','.join('?' * len(wanted))}))"
        if wanted
        else "0"
    )
    sql = (
        f"SELECT fts.rowid, e.layer_key, {has_wanted}, {COLUMNS} FROM fts JOIN entries e ON e.rowid = fts.rowid "
        f"WHERE fts MATCH ?{' AND ' + where if where else ''} LIMIT ?"
    )
    collector = _Collector(conn, sql, [*wanted, _EXPRESSION, *args], set(wanted), limit)
    try:
        collector.run(_tiers(parsed), _Scorer(parsed, index.statistics(), index.vocabulary()))
        relaxed = not collector.layers
        # Few or no entries have every word: rank those that have some of them after, by how much of the
        # query each covers (an empty page teaches nothing; one odd full match should not hide the rest).
        if len(collector.layers) < RELAX_BELOW and MECHANISMS["relaxed"]:
            loose = index.parse_query(query, phrases=False)
            if loose is not None and len(loose.required) > 1:
                collector.run([loose.relaxed_expression], _Scorer(loose, index.statistics(), index.vocabulary()))
    except sqlite3.OperationalError as err:
        raise CatalogueError(
            tr("The search could not be run: {reason}").format(reason=err), detail=parsed.expression
        ) from err
    hits = _layer_hits(conn, collector.ranked(), collector.wanted, where, args)
    unmatched = _unmatched(conn, parsed) if relaxed else []
    return SearchResult(hits, unmatched, parsed.suggestion() if relaxed or unmatched else "", relaxed)


class _Collector:
    """Candidates of successive tiers, scored, kept as the best-scoring service per layer."""

    def __init__(self, conn, sql: str, args: list, wanted: set, limit: int) -> None:
        self.conn, self.sql, self.args, self.wanted, self.limit = conn, sql, args, wanted, limit
        self.layers: dict[str, list] = {}  # layer_key -> [sort key, rowid, matched, coverage, has a wanted type]
        self.seen: set[int] = set()
        self.tier = 0

    def run(self, expressions: list[str], scorer: _Scorer) -> None:
        # Off the main thread (the dock's and the locator's workers), hand the interpreter to the GUI thread
        # now and then: scoring holds it, and QGIS must keep painting while someone types.
        polite = threading.current_thread() is not threading.main_thread()
        for expression in expressions:
            # Rows an earlier tier scored come again and are skipped: they must not use up this tier's budget.
            args = [expression if a is _EXPRESSION else a for a in self.args]
            rows = self.conn.execute(self.sql, (*args, MAX_CANDIDATES + len(self.seen)))
            for n, (rowid, key, has_wanted, *columns) in enumerate(rows):
                if polite and n % YIELD_EVERY == YIELD_EVERY - 1:
                    time.sleep(0)
                if rowid in self.seen:
                    continue
                if not MECHANISMS["layers"]:
                    key = f"#{rowid}"
                self.seen.add(rowid)
                score, matched, coverage = scorer.score(columns)
                rank = (-round(coverage, 3), self.tier, -score)
                best = self.layers.get(key)
                if best is None or rank < best[0]:
                    self.layers[key] = [rank, rowid, matched, coverage, bool(best and best[4])]
                self.layers[key][4] = bool(has_wanted)
            self.tier += 1
            if len(self.layers) >= self.limit:
                break

    def ranked(self) -> list:
        """(layer key, [rank, rowid, matched, coverage, typed]) best first: the service type the query
        named counts right after coverage."""
        order = sorted(self.layers.items(), key=lambda kv: (kv[1][0][0], not kv[1][4], *kv[1][0][1:]))
        return order[: self.limit]


def _layer_hits(conn, order: list, wanted: set, where: str, args: list) -> list[SearchHit]:
    """One SearchHit per layer: all its services (within the filters), the preferred one first."""
    if not order:
        return []
    if not MECHANISMS["layers"]:  # ablation: every service its own row
        out = []
        for _key, (rank, rowid, matched, coverage, _typed) in order:
            row = conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries WHERE rowid = ?", (rowid,)).fetchone()
            entry = entry_from_row(*row)
            out.append(SearchHit(entry, -rank[2], matched, [entry], coverage))
        return out
    keys = [k for k, _v in order]
    marks = ",".join("?" * len(keys))
    sql = f"SELECT e.layer_key, e.rowid, e.{ENTRY_COLUMNS.replace(', ', ', e.')} FROM entries e WHERE e.layer_key IN ({marks})"
    members: dict[str, list] = {}
    for key, rowid, *row in conn.execute(sql + (f" AND {where}" if where else ""), (*keys, *args)):
        members.setdefault(key, []).append((rowid, entry_from_row(*row)))
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


class _Scorer:
    """BM25F over the prepared columns of one candidate row.

    The columns hold space-separated terms; each query word becomes two term sets, its exact forms
    (word, stem) and, when it may be incomplete, the index's words it starts (from the vocabulary).
    A row is split into sets once and every test is a set intersection, in C.
    """

    def __init__(self, parsed: ParsedQuery, stats: dict, vocabulary) -> None:
        self.total = max(1, stats["rows"])
        self.avg = stats["avg"]  # average distinct terms per column
        self.df = stats["df"]  # term -> number of rows holding it
        self.vocabulary = vocabulary
        self.groups = []
        for group in parsed.required:
            options = [self._option(group.typed, TYPED, group.prefix)]
            for alt in group.alternatives:
                weight = CORRECTION if _is_correction(group, alt) else SYNONYM
                if alt in group.guessed:
                    weight = CORRECTION * SYNONYM
                elif alt in group.same:
                    weight = SAME
                options.append(self._option(alt, weight, False))
            self.groups.append(options)
        idfs = [max(n[2] for n in options[0][2]) for options in self.groups]
        self.group_idf = idfs
        self.total_idf = sum(idfs) or 1.0
        self.terms = frozenset(t for options in self.groups for o in options for n in o[2] for t in n[0] | n[1])

    def _option(self, words: tuple[str, ...], weight: float, prefix: bool) -> tuple:
        needles = []
        for word in words:
            s = stem(word)
            exact = frozenset({s, word})
            starts = frozenset()
            if prefix and len(word) >= 3:
                starts = frozenset(self.vocabulary.completions(word, COMPLETIONS)) - exact
            complete = s in self.df or word in self.df
            if complete:
                idf = self.idf(self.df.get(s, self.df.get(word, 1)))
            else:  # only completions: as rare as all of them together
                idf = self.idf(sum(self.df.get(t, 0) for t in starts) or 1)
            needles.append((exact, starts, idf, PREFIX_OF_WORD if complete else PREFIX))
        return (words, weight, needles)

    def idf(self, df: int) -> float:
        return math.log(1.0 + (self.total - df + 0.5) / (df + 0.5))

    def score(self, columns) -> tuple[float, list[str], float]:
        sets = [set(text.split()) if text else _EMPTY for text in columns]
        found = self.terms.intersection(set().union(*sets))
        if not found:
            return 0.0, [], 0.0
        norms = [1.0 - B + B * (len(c) / self.avg[i] if self.avg[i] else 1.0) for i, c in enumerate(sets)]
        total = covered = 0.0
        matched: list[str] = []
        for g, options in enumerate(self.groups):
            best = 0.0
            for o, (words, weight, needles) in enumerate(options):
                value = _option_score(needles, sets, norms, found)
                if not value:
                    continue
                if o and len(words) > 1:  # a many-word synonym must not outweigh the word it stands for
                    value /= len(words)
                matched.extend(w for w in words if w not in matched)
                best = max(best, value * weight)
            if best:
                covered += self.group_idf[g]
            total += best
        return total, matched, covered / self.total_idf


_EMPTY: set = set()
COMPLETIONS = 2000  # words a prefix may stand for; beyond this it is too short to mean much


def _option_score(needles, sets, norms, found) -> float:
    value = 0.0
    for exact, starts, idf, prefix_weight in needles:
        if exact.isdisjoint(found) and starts.isdisjoint(found):
            return 0.0
        tf = 0.0
        for i, terms in enumerate(sets):
            if not terms:
                continue
            if not exact.isdisjoint(terms):
                tf += WEIGHTS[i] / norms[i]
            elif starts and not starts.isdisjoint(terms):
                tf += prefix_weight * WEIGHTS[i] / norms[i]
        value += idf * tf * (K1 + 1.0) / (tf + K1)
    return value
