"""Search: FTS5 finds candidates, BM25F with field weights ranks them, in tiers.

Why not FTS5's own bm25(): before it can score a single row it computes each phrase's IDF by
walking the phrase's whole document list, so a common word ("kaart", "provincies") at 100,000
records costs ~10 ms per phrase per keystroke, and a query expanded with synonyms has many
phrases. Instead FTS5 only *finds* (MATCH with LIMIT stops early, well under a millisecond),
and we score the candidates with BM25F: per-field weights (title > name > keywords >
organisation > abstract/URL), length normalisation per field, IDF from the index vocabulary
(fts5vocab document counts, cached per index generation). The prepared text FTS5 stores is
read back, so nothing is tokenised at query time.

A word the user typed counts fully; a thesaurus synonym, a compound part or a one-typo
correction counts less (they are guesses). Each query group scores by its best alternative.

Tiers, most specific first; a tier that fills the page ends the search:
1. the typed words in title or layer name; 2. the expanded query in title or layer name;
3. the expanded query anywhere. Earlier tiers rank first: a synonym in the title says more
than a typed word deep in an abstract. Within a tier at most MAX_RANKED candidates (the first
in index order) are scored, which bounds the cost of very generic queries.
"""

from __future__ import annotations

import math
import sqlite3

from ..errors import CatalogueError
from ..i18n import tr
from .query import Group, ParsedQuery
from .text import stem

MAX_RANKED = 60
# BM25F: field weights in FTS column order (title, name, keywords, organisation, abstract, url)
from .index import WEIGHTS as FIELD_WEIGHTS  # noqa: E402 - one definition of the weights

K1 = 1.2
B = 0.75
TYPED, SYNONYM, CORRECTION = 1.0, 0.7, 0.6
COLUMNS = "fts.title, fts.name, fts.keywords, fts.organisation, fts.abstract, fts.url"


def _literal(parsed: ParsedQuery) -> ParsedQuery | None:
    """The query without synonyms and corrections; None when it equals the full query."""
    if all(not g.alternatives for g in parsed.groups):
        return None
    return ParsedQuery([Group(typed=g.typed, prefix=g.prefix, optional=g.optional) for g in parsed.groups])


def _tiers(parsed: ParsedQuery) -> list[str]:
    literal = _literal(parsed)
    tiers = [f"{{title name}} : ({literal.expression})"] if literal is not None else []
    return [*tiers, f"{{title name}} : ({parsed.expression})", parsed.expression]


def search(index, query: str, limit: int = 20, filters=None) -> list:
    from .index import ENTRY_COLUMNS, SearchHit, entry_from_row

    limit = max(1, int(limit))
    where, args = filters.sql() if filters is not None else ("", [])
    conn: sqlite3.Connection = index.conn
    parsed = index.parse_query(query or "")
    if parsed is None:
        sql = f"SELECT {ENTRY_COLUMNS} FROM entries e{' WHERE ' + where if where else ''} ORDER BY e.title LIMIT ?"
        return [SearchHit(entry_from_row(*r), 0.0, []) for r in conn.execute(sql, (*args, limit))]
    stats = index.statistics()
    scorer = _Scorer(parsed, stats)
    hits: list[tuple[float, int, list[str]]] = []
    seen: set[int] = set()
    join = " JOIN entries e ON e.rowid = fts.rowid" if where else ""
    sql = f"SELECT fts.rowid, {COLUMNS} FROM fts{join} WHERE fts MATCH ?{' AND ' + where if where else ''} LIMIT ?"
    try:
        for expression in _tiers(parsed):
            rows = conn.execute(sql, (expression, *args, max(MAX_RANKED, 3 * limit))).fetchall()
            tier = [(*scorer.score(row[1:]), row[0]) for row in rows if row[0] not in seen]
            tier.sort(key=lambda t: (-t[0], t[2]))
            hits.extend((score, rowid, matched) for score, matched, rowid in tier)
            seen.update(row[0] for row in rows)
            if len(seen) >= limit:
                break
    except sqlite3.OperationalError as err:
        raise CatalogueError(
            tr("The search could not be run: {reason}").format(reason=err), detail=parsed.expression
        ) from err
    top = hits[:limit]
    marks = ",".join("?" * len(top))
    found = {
        r[0]: r[1:]
        for r in conn.execute(
            f"SELECT rowid, {ENTRY_COLUMNS} FROM entries WHERE rowid IN ({marks})", [t[1] for t in top]
        )
    }
    return [SearchHit(entry_from_row(*found[rowid]), score, matched) for score, rowid, matched in top]


class _Scorer:
    """BM25F over the prepared columns of one candidate row.

    Membership is tested as substring search on " " + column + " " (C speed, no sets to build):
    the columns hold space-separated terms, so " term " matches a whole term and " term" a prefix.
    """

    def __init__(self, parsed: ParsedQuery, stats: dict) -> None:
        self.total = max(1, stats["rows"])
        self.avg = stats["avg"]  # average terms per column
        self.df = stats["df"]  # term -> number of rows holding it
        self.groups = []
        for group in parsed.groups:
            options = [self._option(group.typed, TYPED, group.prefix)]
            corrected = set(group.corrected)
            for alt in group.alternatives:
                weight = CORRECTION if len(alt) == 1 and alt[0] in corrected else SYNONYM
                options.append(self._option(alt, weight, False))
            self.groups.append(options)

    def _option(self, words: tuple[str, ...], weight: float, prefix: bool) -> tuple:
        needles = []
        for i, word in enumerate(words):
            s = stem(word)
            exact = tuple({f" {s} ", f" {word} "})
            starts = f" {word}" if prefix and i == len(words) - 1 else ""
            needles.append((exact, starts, self.idf(s if s in self.df else word)))
        return (words, weight, needles)

    def idf(self, term: str) -> float:
        df = self.df.get(term, 1)
        return math.log(1.0 + (self.total - df + 0.5) / (df + 0.5))

    def score(self, columns: tuple) -> tuple[float, list[str]]:
        padded = [f" {text} " if text else "" for text in columns]
        norms = [
            1.0 - B + B * ((text.count(" ") - 1) / self.avg[i] if self.avg[i] else 1.0) if text else 1.0
            for i, text in enumerate(padded)
        ]
        joined = "".join(padded)  # one test first: most alternatives do not occur in a given row at all
        total = 0.0
        matched: list[str] = []
        for options in self.groups:
            best = 0.0
            for words, weight, needles in options:
                value = 0.0
                for exact, starts, idf in needles:
                    if not any(n in joined for n in exact) and not (starts and starts in joined):
                        value = 0.0
                        break
                    tf = 0.0
                    for i, text in enumerate(padded):
                        if not text:
                            continue
                        if any(n in text for n in exact) or (starts and i < 4 and starts in text):
                            tf += FIELD_WEIGHTS[i] / norms[i]
                    if not tf:
                        value = 0.0
                        break
                    value += idf * tf * (K1 + 1.0) / (tf + K1)
                if value:
                    matched.extend(w for w in words if w not in matched)
                best = max(best, value * weight)
            total += best
        return total, matched
