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
from zlib import decompress as inflate

from ..errors import CatalogueError
from ..i18n import tr
from .query import MECHANISMS, Group, ParsedQuery, group_expression
from .schema import DOC_SEPARATOR, ENTRY_COLUMNS, WEIGHTS, SearchHit, SearchResult, service_rank
from .text import stem

YIELD_EVERY = 50  # candidates scored between two offers of the interpreter to the GUI thread
RELAX_BELOW = 3  # full matches below which partial ones are added after them
DOC_CACHE = 10000  # prepared texts kept between keystrokes (~10 MB): typing on refines the same candidates
MAX_CANDIDATES = 500  # scored per tier: the best of a common word's thousands at 100,000 records are among them
LONG_COLUMN, SET_FROM_TERMS = 400, 6  # abstract length / query terms from which a term set beats scanning
K1 = 1.2
B = 0.75
TYPED, SAME, SYNONYM, CORRECTION = 1.0, 0.9, 0.7, 0.6
# A completion of a word still being typed; less when the word is already complete on its own.
PREFIX, PREFIX_OF_WORD = 0.8, 0.5
_EXPRESSION = object()  # where the tier's MATCH expression goes among the SQL arguments


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
        return SearchResult([SearchHit(e, 0.0, []) for e in index._entries(conn.execute(sql, (*args, limit)))])
    wanted = sorted(parsed.service_types)
    # Whether the layer has a service of the type the query named, whichever of its services matched the words.
    has_wanted = (
        f"EXISTS(SELECT 1 FROM entries x WHERE x.layer = e.layer AND x.service_type IN ({','.join('?' * len(wanted))}))"
        if wanted
        else "0"
    )
    sql = (
        f"SELECT e.rowid, e.layer, {has_wanted}, e.doc FROM fts JOIN entries e ON e.rowid = fts.rowid "
        f"WHERE fts MATCH ?{' AND ' + where if where else ''} LIMIT ?"
    )
    collector = _Collector(conn, sql, [*wanted, _EXPRESSION, *args], set(wanted), limit)
    collector.docs = index.doc_cache()
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
    hits = _layer_hits(index, collector.ranked(), collector.wanted, where, args)
    unmatched = _unmatched(conn, parsed) if relaxed else []
    return SearchResult(hits, unmatched, parsed.suggestion() if relaxed or unmatched else "", relaxed)


class _Collector:
    """Candidates of successive tiers, scored, kept as the best-scoring service per layer."""

    def __init__(self, conn, sql: str, args: list, wanted: set, limit: int) -> None:
        self.conn, self.sql, self.args, self.wanted, self.limit = conn, sql, args, wanted, limit
        self.layers: dict[str, list] = {}  # layer_key -> [sort key, rowid, matched, coverage, has a wanted type]
        self.seen: set[int] = set()
        self.tier = 0
        self.docs: dict[int, str] = {}  # rowid -> prepared text, shared by the searches on one index generation

    def run(self, expressions: list[str], scorer: _Scorer) -> None:
        # Off the main thread (the dock's and the locator's workers), hand the interpreter to the GUI thread
        # now and then: scoring holds it, and QGIS must keep painting while someone types.
        polite = threading.current_thread() is not threading.main_thread()
        for expression in expressions:
            # Rows an earlier tier scored come again and are skipped: they must not use up this tier's budget.
            args = [expression if a is _EXPRESSION else a for a in self.args]
            rows = self.conn.execute(self.sql, (*args, MAX_CANDIDATES + len(self.seen)))
            for n, (rowid, key, has_wanted, doc) in enumerate(rows):
                if polite and n % YIELD_EVERY == YIELD_EVERY - 1:
                    time.sleep(0)
                if rowid in self.seen:
                    continue
                if not MECHANISMS["layers"]:
                    key = f"#{rowid}"
                self.seen.add(rowid)
                text = self.docs.get(rowid)
                if text is None:
                    text = inflate(doc, -15).decode()
                    if len(self.docs) >= DOC_CACHE:  # bounded: start again rather than track what is oldest
                        self.docs.clear()
                    self.docs[rowid] = text
                score, matched, coverage = scorer.score(text)
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


class _Scorer:
    """BM25F over the prepared columns of one candidate row.

    The columns hold space-separated terms, each once, with a space before and after; each query word
    becomes its exact forms (word, stem) and, when it may be incomplete, a test for any term it starts
    (" word" in a column: the index's completions of it, however many). Every test is a substring
    search in C: a term found in the row gets a bit mask of the columns holding it, and only the ways of
    matching (options) those terms belong to are scored.
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
        self.terms = frozenset(t for options in self.groups for o in options for n in o[2] for t in n[0])
        self.patterns = [(t, f" {t} ") for t in sorted(self.terms)]
        # Set membership equals the padded-substring test only for terms that are one word; with few
        # terms scanning is cheaper than building the set.
        self.by_set = len(self.patterns) >= SET_FROM_TERMS and all(
            t and " " not in t and DOC_SEPARATOR not in t for t in self.terms
        )
        self._index_needles()
        self.memo: dict[tuple, tuple] = {}  # row signature -> score (bounded by the candidates of one search)

    def _index_needles(self) -> None:
        """Needles by id; exact term -> needle ids; the needles that take completions; per group its options."""
        self.needles: list[tuple] = []
        self.exact_of: dict[str, list[int]] = {}
        self.prefixed: list[tuple[int, str]] = []  # needle id, " word": a term starting with the word
        self.plan: list[list[tuple]] = []
        self.option_of: list[tuple[int, int]] = []  # needle id -> (group, option)
        for g, options in enumerate(self.groups):
            rows = []
            for o, (words, weight, needles) in enumerate(options):
                ids = []
                for needle in needles:
                    nid = len(self.needles)
                    self.needles.append(needle)
                    self.option_of.append((g, o))
                    ids.append(nid)
                    for term in needle[0]:
                        self.exact_of.setdefault(term, []).append(nid)
                    if needle[1]:
                        self.prefixed.append((nid, needle[1]))
                rows.append((words, weight, ids))
            self.plan.append(rows)

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
            needles.append((exact, f" {word}" if starts else "", idf, PREFIX_OF_WORD if complete else PREFIX))
        return (words, weight, needles)

    def idf(self, df: int) -> float:
        return math.log(1.0 + (self.total - df + 0.5) / (df + 0.5))

    def score(self, doc: str) -> tuple[float, list[str], float]:
        """(BM25F score, matched words, share of the query covered) of one candidate's prepared text."""
        columns = doc.split(DOC_SEPARATOR)
        whole, part = self._masks(doc, columns)
        if not (whole or part):
            return 0.0, [], 0.0
        # The score is a function of which columns hold each needle and of the columns' lengths: rows that
        # agree on those (the layers of one service, the variants of one dataset) are scored once a query.
        key = (tuple(whole.items()), tuple(part.items()), tuple(c.count(" ") for c in columns))
        done = self.memo.get(key)
        if done is None:
            done = self.memo[key] = self._bm25f(whole, part, _Weights(columns, self.avg, key[2]))
        return done[0], list(done[1]), done[2]

    def _bm25f(self, whole: dict, part: dict, weights: _Weights) -> tuple[float, list[str], float]:
        tfs: dict = {}
        best = [0.0] * len(self.plan)
        matched: list[str] = []
        option_of = self.option_of
        # Only the options one of whose words the row holds; in query order, so "matched" reads as typed.
        for g, o in sorted({option_of[nid] for nid in whole} | {option_of[nid] for nid in part}):
            words, weight, ids = self.plan[g][o]
            value = 0.0
            for nid in ids:
                exact_mask = whole.get(nid, 0)
                start_mask = part.get(nid, 0) & ~exact_mask
                if not (exact_mask or start_mask):
                    value = 0.0
                    break
                idf, prefix_weight = self.needles[nid][2:]
                key = (exact_mask, start_mask, prefix_weight)
                tf = tfs.get(key)
                if tf is None:
                    tf = tfs[key] = _tf(exact_mask, start_mask, prefix_weight, weights)
                value += idf * tf * (K1 + 1.0) / (tf + K1)
            if not value:
                continue
            if o and len(words) > 1:  # a many-word synonym must not outweigh the word it stands for
                value /= len(words)
            for w in words:
                if w not in matched:
                    matched.append(w)
            value *= weight
            if value > best[g]:
                best[g] = value
        covered = sum(idf for idf, b in zip(self.group_idf, best) if b)
        return sum(best), matched, covered / self.total_idf

    def _masks(self, doc: str, columns: list[str]) -> tuple[dict, dict]:
        """Needle id -> columns (bit mask) holding one of its exact forms / a term the word starts."""
        c0, c1, c2, c3, c4, c5 = columns
        whole: dict[int, int] = {}
        exact_of = self.exact_of
        if self.by_set and len(c4) >= LONG_COLUMN:
            # A long abstract: one set of its terms instead of a scan of it per query term (a padded column
            # holds " term " exactly when the term is one of its space-separated words).
            abstract = set(c4.split(" "))
            rest = DOC_SEPARATOR.join((c0, c1, c2, c3, c5))
            for term, pattern in self.patterns:
                mask = (term in abstract) << 4
                if pattern in rest:
                    mask |= (pattern in c0) | (pattern in c1) << 1 | (pattern in c2) << 2 | (pattern in c3) << 3
                    mask |= (pattern in c5) << 5
                if mask:
                    for nid in exact_of[term]:
                        whole[nid] = whole.get(nid, 0) | mask
        else:
            for term, pattern in self.patterns:
                if pattern in doc:
                    mask = (
                        (pattern in c0)
                        | (pattern in c1) << 1
                        | (pattern in c2) << 2
                        | (pattern in c3) << 3
                        | (pattern in c4) << 4
                        | (pattern in c5) << 5
                    )
                    for nid in exact_of[term]:
                        whole[nid] = whole.get(nid, 0) | mask
        part = {
            nid: (p in c0) | (p in c1) << 1 | (p in c2) << 2 | (p in c3) << 3 | (p in c4) << 4 | (p in c5) << 5
            for nid, p in self.prefixed
            if p in doc
        }
        return whole, part


class _Weights(dict):
    """Column -> field weight over BM25 length normalisation, worked out for the columns a query word is
    in only. A padded column " a b c " holds each term once, so its length is its number of spaces less one."""

    __slots__ = ("columns", "avg", "spaces")

    def __init__(self, columns: list[str], avg: list[float], spaces: tuple[int, ...]) -> None:
        super().__init__()
        self.columns, self.avg, self.spaces = columns, avg, spaces  # spaces: c.count(" ") per column

    def __missing__(self, i: int) -> float:
        c, avg = self.columns[i], self.avg[i]
        weight = WEIGHTS[i] / (1.0 - B + B * ((self.spaces[i] - 1) / avg if avg else 1.0)) if c else 0.0
        self[i] = weight
        return weight


COMPLETIONS = 2000  # words a prefix may stand for; beyond this it is too short to mean much
_MASKS = tuple(1 << i for i in range(len(WEIGHTS)))
_BITS = tuple(enumerate(_MASKS))


def _tf(exact_mask: int, start_mask: int, prefix_weight: float, weights: list[float]) -> float:
    """Weighted term frequency over the columns: a column with the word counts fully, one with only a
    completion of it counts ``prefix_weight``."""
    tf = 0.0
    for i, bit in _BITS:
        if exact_mask & bit:
            tf += weights[i]
        elif start_mask & bit:
            tf += prefix_weight * weights[i]
    return tf
