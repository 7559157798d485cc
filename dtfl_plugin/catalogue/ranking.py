"""Search: FTS5 BM25 with field weights, in two tiers, then a light re-rank.

Tier 1 matches what was typed (words, stems, the prefix of the word being typed). When that
already gives a full page, it is the answer: the user's own words are the best evidence, and
it keeps common words fast. Otherwise tier 2 adds thesaurus synonyms, compound parts and
one-typo corrections (query.py) and ranks everything together.

BM25 cannot tell a typed word from a synonym the query builder added, so the best candidates
are re-scored from the prepared text FTS5 already stores (no tokenising at query time): typed
words found in the title or layer name lift a hit. Entries are decoded from JSON only for the
page that is returned.
"""

from __future__ import annotations

import sqlite3

from ..errors import CatalogueError
from ..i18n import tr
from .query import Group, ParsedQuery
from .text import stem

CANDIDATES_MIN = 40  # rows fetched from FTS5 before re-ranking
MAX_RANKED = 200  # above this many matches, rank a bounded sample (see _ranked)
TITLE_BONUS = 0.6  # per typed group found in title or name, relative to the BM25 score
ALL_TYPED_BONUS = 0.5  # every typed group found literally somewhere in the entry


def _literal(parsed: ParsedQuery) -> ParsedQuery | None:
    """The query without synonyms and corrections; None when it equals the full query."""
    if all(not g.alternatives for g in parsed.groups):
        return None
    return ParsedQuery([Group(typed=g.typed, prefix=g.prefix) for g in parsed.groups])


def search(index, query: str, limit: int = 20, filters=None) -> list:
    from .index import ENTRY_COLUMNS, SearchHit, entry_from_row

    limit = max(1, int(limit))
    where, args = filters.sql() if filters is not None else ("", [])
    conn: sqlite3.Connection = index.conn
    parsed = index.parse_query(query or "")
    if parsed is None:
        sql = (
            f"SELECT {ENTRY_COLUMNS} FROM entries e"
            + (f" WHERE {where}" if where else "")
            + " ORDER BY e.title LIMIT ?"
        )
        return [SearchHit(entry_from_row(*r), 0.0, []) for r in conn.execute(sql, (*args, limit))]
    try:
        rows = _candidates(conn, parsed, where, args, limit)
    except sqlite3.OperationalError as err:
        raise CatalogueError(
            tr("The search could not be run: {reason}").format(reason=err), detail=parsed.expression
        ) from err
    scored = []
    for rowid, rank, title, name, keywords, organisation in rows.values():
        head = set(title.split()) | set(name.split())
        body = head | set(keywords.split()) | set(organisation.split())
        score, matched = _rescore(-float(rank), parsed, head, body)
        scored.append((score, rowid, matched))
    scored.sort(key=lambda s: (-s[0], s[1]))
    top = scored[:limit]
    marks = ",".join("?" * len(top))
    found = {
        r[0]: r[1:]
        for r in conn.execute(
            f"SELECT rowid, {ENTRY_COLUMNS} FROM entries WHERE rowid IN ({marks})", [s[1] for s in top]
        )
    }
    return [SearchHit(entry_from_row(*found[rowid]), score, matched) for score, rowid, matched in top]


def _candidates(conn, parsed: ParsedQuery, where: str, args: list, limit: int) -> dict[int, tuple]:
    """Candidate rows {rowid: (rowid, bm25, title, name, keywords, organisation)}.

    Tier 1: the typed words in title or layer name; when they fill the page, that is the answer.
    Tier 2: the full expanded query over all columns; the rows of tier 1 and of the expanded query
    restricted to title/name are always ranked too, so a bounded sample never loses them.
    """
    literal = _literal(parsed)
    head_literal = f"{{title name}} : ({(literal or parsed).expression})"
    first = _rowids(conn, head_literal, where, args)
    if len(first) >= limit:
        # The ranked sample below is these same rows (same expression, same order): nothing to add.
        return _ranked(conn, head_literal, where, args, limit, [])
    keep: list[int] = []
    if len(_rowids(conn, parsed.expression, where, args)) > MAX_RANKED:  # the sample will not see everything
        keep = first + [
            r for r in _rowids(conn, f"{{title name}} : ({parsed.expression})", where, args) if r not in first
        ]
    return _ranked(conn, parsed.expression, where, args, limit, keep)


def _rowids(conn, expression: str, where: str, args: list) -> list[int]:
    """Up to MAX_RANKED+1 matching rowids, unranked (cheap: no bm25, stops at the limit)."""
    sql = (
        f"SELECT fts.rowid FROM fts JOIN entries e ON e.rowid = fts.rowid "
        f"WHERE fts MATCH ?{' AND ' + where if where else ''} LIMIT ?"
    )
    return [r[0] for r in conn.execute(sql, (expression, *args, MAX_RANKED + 1))]


def _ranked(conn, expression: str, where: str, args: list, limit: int, also: list[int]) -> dict:
    """BM25-ranked rows of one MATCH expression, at a bounded cost.

    FTS5 computes bm25 for every matching row before it can sort, so a very generic query
    (thousands of matches) would cost tens of milliseconds. We rank at most the first MAX_RANKED
    matches in index order, plus the rows in ``also``; below that bound the ranking is exact.
    """
    from .index import WEIGHTS

    weights = ",".join(str(w) for w in WEIGHTS)
    base = (
        f"SELECT e.rowid, bm25(fts, {weights}) AS r, fts.title, fts.name, fts.keywords, fts.organisation "
        f"FROM fts JOIN entries e ON e.rowid = fts.rowid WHERE fts MATCH ?{' AND ' + where if where else ''}"
    )
    candidates = max(CANDIDATES_MIN, limit * 2)
    sql = f"SELECT * FROM ({base} LIMIT ?) ORDER BY r LIMIT ?"
    out = {r[0]: r for r in conn.execute(sql, (expression, *args, MAX_RANKED, candidates))}
    missing = [r for r in also if r not in out]
    if missing:
        extra = f"SELECT * FROM ({base} AND e.rowid IN ({','.join('?' * len(missing))})) ORDER BY r LIMIT ?"
        out.update({r[0]: r for r in conn.execute(extra, (expression, *args, *missing, candidates))})
    return out


def _rescore(bm25: float, parsed: ParsedQuery, head: set[str], body: set[str]) -> tuple[float, list[str]]:
    bonus = 0.0
    literal_groups = 0
    matched: list[str] = []
    for group in parsed.groups:
        typed_in_head = _alternative_in(group.typed, head, group.prefix)
        if typed_in_head:
            bonus += TITLE_BONUS
        if typed_in_head or _alternative_in(group.typed, body, group.prefix):
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
