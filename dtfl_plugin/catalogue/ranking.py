"""Search: FTS5 BM25 with field weights over the expanded query, then a light re-rank.

BM25 cannot tell a word the user typed from a synonym or a typo correction the query builder
added, so the best candidates are re-scored: words typed literally that appear in the title
or layer name lift a hit; a hit found only through synonyms or corrections keeps its BM25 score.
"""

from __future__ import annotations

import json
import sqlite3

from ..errors import CatalogueError
from ..i18n import tr
from .entry import Entry
from .query import ParsedQuery
from .text import index_terms, stem

CANDIDATES_MIN = 60  # rows fetched from FTS5 before re-ranking
TITLE_BONUS = 0.6  # per typed group found in title or name, relative to the BM25 score
ALL_TYPED_BONUS = 0.5  # every typed group found literally somewhere in title/name/keywords


def search(index, query: str, limit: int = 20, filters=None) -> list:
    from .index import WEIGHTS, SearchHit

    limit = max(1, int(limit))
    where, args = filters.sql() if filters is not None else ("", [])
    conn: sqlite3.Connection = index.conn
    parsed = index.parse_query(query or "")
    if parsed is None:
        sql = "SELECT e.data FROM entries e" + (f" WHERE {where}" if where else "") + " ORDER BY e.title LIMIT ?"
        rows = conn.execute(sql, (*args, limit)).fetchall()
        return [SearchHit(Entry.from_dict(json.loads(r[0])), 0.0, []) for r in rows]

    weights = ",".join(str(w) for w in WEIGHTS)
    sql = (
        f"SELECT e.data, bm25(fts, {weights}) AS r FROM fts JOIN entries e ON e.rowid = fts.rowid "
        f"WHERE fts MATCH ?{' AND ' + where if where else ''} ORDER BY r LIMIT ?"
    )
    candidates = max(CANDIDATES_MIN, limit * 3)
    try:
        rows = conn.execute(sql, (parsed.expression, *args, candidates)).fetchall()
    except sqlite3.OperationalError as err:
        raise CatalogueError(
            tr("The search could not be run: {reason}").format(reason=err), detail=parsed.expression
        ) from err
    hits = []
    for data, rank in rows:
        entry = Entry.from_dict(json.loads(data))
        score, matched = _rescore(entry, -float(rank), parsed)
        hits.append(SearchHit(entry, score, matched))
    hits.sort(key=lambda h: (-h.score, h.entry.title))
    return hits[:limit]


def _rescore(entry: Entry, bm25: float, parsed: ParsedQuery) -> tuple[float, list[str]]:
    head = set(index_terms(f"{entry.title} {entry.name}"))
    body = head | set(index_terms(" ".join([*entry.keywords, *entry.themes, entry.organisation, entry.abstract])))
    bonus = 0.0
    literal_groups = 0
    matched: list[str] = []
    for group in parsed.groups:
        typed_in_head = _alternative_in(group.typed, head, group.prefix)
        typed_in_body = typed_in_head or _alternative_in(group.typed, body, group.prefix)
        if typed_in_head:
            bonus += TITLE_BONUS
        if typed_in_body:
            literal_groups += 1
        for alt in [group.typed, *group.alternatives]:
            if _alternative_in(alt, body, group.prefix and alt is group.typed):
                matched.extend(w for w in alt if w not in matched)
    if literal_groups == len(parsed.groups):
        bonus += ALL_TYPED_BONUS
    return bm25 * (1.0 + bonus), matched


def _alternative_in(alt: tuple[str, ...], terms: set[str], prefix: bool) -> bool:
    for i, word in enumerate(alt):
        if word in terms or stem(word) in terms:
            continue
        if prefix and i == len(alt) - 1 and any(t.startswith(word) for t in terms):
            continue
        return False
    return True
