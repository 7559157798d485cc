"""Writing one harvest into the index: diff against what the source gave last time, in one transaction.

A harvest either lands whole (entries, FTS rows, themes, change log, harvest row) or not at
all: an error rolls the transaction back and the previous index stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..errors import CatalogueError
from ..i18n import tr
from .cooccurrence import acronyms
from .entry import Entry
from .schema import doc_columns, key_hash, layer_key, pack, pack_doc, url_key
from .text import CompoundSplitter, index_text, url_text, words

MAX_CHANGE_ROWS = 5000  # per harvest: a change log is for people, not a second index
KEEP_HARVESTS = 30  # change rows of older harvests are pruned


@dataclass
class WriteResult:
    harvest_id: int
    time: str
    new: int
    changed: int
    removed: int
    unchanged: int
    total: int
    merged: int = 0  # entries another source had listed, now also listed by this one (not a change)


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


_VOLATILE = ("harvested_at", "source")  # kept in columns: they change without the record changing


def entry_json(entry: Entry) -> str:
    """The JSON of an entry without when/where it was harvested and without empty fields (from_dict
    restores their defaults); its hash is the content hash."""
    data = {k: v for k, v in entry.to_dict().items() if v not in ("", None, []) and k not in _VOLATILE}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def entry_hash(entry: Entry, data_json: str | None = None) -> int:
    digest = hashlib.sha1((data_json or entry_json(entry)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def fts_row(entry: Entry, splitter) -> tuple[str, ...]:
    """The six FTS columns of an entry, each prepared by text.index_text."""
    keywords = " ".join([*entry.keywords, *entry.themes])
    return (
        index_text(entry.title, splitter),
        index_text(entry.name, splitter),
        index_text(keywords, splitter),
        index_text(entry.organisation, splitter),
        index_text(entry.abstract, splitter),
        url_text(entry.service_url, splitter),
    )


def _entry_row(rowid: int, entry: Entry, digest: int, data_json: str, source: str, zdict: tuple, doc) -> tuple:
    bbox = entry.bbox or (None, None, None, None)
    zd, zbytes = zdict
    return (
        rowid, key_hash(entry.id), source, digest, entry.title, entry.service_type, entry.organisation,
        entry.dataset_id, 1 if entry.is_3d else 0, key_hash(layer_key(entry)), key_hash(url_key(entry.service_url)),
        key_hash(entry.name or ""), *bbox, entry.harvested_at, zd, pack(data_json, zbytes), pack_doc(doc),
    )  # fmt: skip


_INSERT = (
    "INSERT OR REPLACE INTO entries(rowid, idh, source, hash, title, service_type, organisation, dataset_id, is_3d, "
    "layer, url, nameh, minx, miny, maxx, maxy, harvested_at, zd, data, doc) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
ZDICT_MIN = 200  # entries written at once from which a compression dictionary pays for itself
ZDICT_SIZE = 32768  # zlib's window: a longer dictionary is not used


def build_zdict(jsons: list[str]) -> bytes:
    """A zlib dictionary from records spread over the harvest: the strings its records share (keys, hosts,
    organisations, the boilerplate of an abstract) cost a back-reference instead of their letters."""
    step = max(1, len(jsons) // 200)
    out = bytearray()
    for data_json in jsons[::step]:
        raw = data_json.encode("utf-8")
        if len(out) + len(raw) > ZDICT_SIZE:
            break
        out += raw
    return bytes(out)


@dataclass
class HarvestPlan:
    """What one harvest will do to the index, decided without touching it (``plan_harvest``)."""

    write: list[tuple[int, Entry, int, str]] = field(default_factory=list)  # rowid, entry, hash, json
    replaced: list[int] = field(default_factory=list)  # rowids whose text rows are rewritten
    adopted: list[int] = field(default_factory=list)  # rowids of unchanged entries taken over from a source
    removed: dict[int, tuple] = field(default_factory=dict)  # id hash -> (rowid, content hash)
    log: list[tuple[str, Entry, str, str]] = field(default_factory=list)  # kind, entry, old url, new url
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    merged: int = 0


def plan_harvest(
    incoming: dict[str, Entry],
    existing: dict[int, tuple],
    others: dict[int, tuple],
    next_rowid: int,
    partial: bool,
    previous=None,
) -> HarvestPlan:
    """Diff a source's entries against what it gave last time (``existing``: id hash -> (rowid, content
    hash)) and against entries other sources list under the same ids (``others``: the same shape).
    ``previous(rowid)``: the Entry stored there, read only for the change log (changed and removed
    entries). A source that had no entries yet changes nothing: all its entries are new, and entries it
    shares with another source are merged, not "changed"."""
    plan = HarvestPlan()
    existing = dict(existing)
    first_harvest = not existing
    for entry in incoming.values():
        data_json = entry_json(entry)
        digest = entry_hash(entry, data_json)
        idh = key_hash(entry.id)
        mine = existing.pop(idh, None)
        old = mine or others.get(idh)
        if old is not None and old[1] == digest:
            plan.unchanged += 1
            if mine is None:
                plan.adopted.append(old[0])
            continue
        if old is None:
            rowid = next_rowid
            next_rowid += 1
            plan.new += 1
            if not first_harvest:
                plan.log.append(("new", entry, "", entry.service_url))
        else:
            rowid = old[0]
            plan.replaced.append(rowid)
            if mine is None:
                plan.merged += 1
            else:
                plan.changed += 1
                plan.log.append(("changed", entry, previous(mine[0]).service_url, entry.service_url))
        plan.write.append((rowid, entry, digest, data_json))
    if not partial:
        plan.removed = existing
    for rowid, _digest in plan.removed.values():
        gone = previous(rowid)
        plan.log.append(("removed", gone, gone.service_url, ""))
    return plan


def harvest_splitter(index, entries) -> CompoundSplitter:
    """The compound splitter for indexing ``entries``: the thesaurus' words plus the words the catalogue
    itself writes on their own, so "cbsvierkanten" splits where another record says "vierkanten"."""
    own: dict[str, int] = {}
    for entry in entries:
        for word in set(words(f"{entry.title} {entry.name} {' '.join(entry.keywords)}")):
            if len(word) >= 4 and word.isalpha():
                own[word] = own.get(word, 0) + 1
    vocab = set(index.thesaurus.vocabulary())
    vocab.update(w for w, n in own.items() if n >= 2)
    return CompoundSplitter(vocab)


def apply_harvest(
    index,
    source: str,
    entries: list[Entry],
    *,
    kind: str = "",
    url: str = "",
    skipped: int = 0,
    note: str = "",
    partial: bool = False,
    when: str = "",
) -> WriteResult:
    """Make ``source``'s entries in the index exactly ``entries``; log new/changed/removed.

    ``partial``: the source was not read to its end (page limit), so entries it did not return
    are kept rather than removed.
    """
    conn: sqlite3.Connection = index.conn
    time = when or now_iso()
    # Last one wins for duplicate ids inside one harvest (a layer listed twice).
    incoming: dict[str, Entry] = {}
    for entry in entries:
        entry.source = source
        entry.harvested_at = entry.harvested_at or time
        incoming[entry.id] = entry
    splitter = harvest_splitter(index, incoming.values())
    try:
        conn.execute("BEGIN IMMEDIATE")
        existing = {
            row[0]: row[1:] for row in conn.execute("SELECT idh, rowid, hash FROM entries WHERE source = ?", (source,))
        }
        keys = {key_hash(i) for i in incoming}
        others = {
            row[0]: row[1:]
            for row in conn.execute("SELECT idh, rowid, hash FROM entries WHERE source != ?", (source,))
            if row[0] in keys
        }
        next_rowid = int(conn.execute("SELECT coalesce(max(rowid), 0) FROM entries").fetchone()[0]) + 1
        plan = plan_harvest(incoming, existing, others, next_rowid, partial, index.stored)
        harvest_id = _write(conn, plan, source, splitter, (time, source, kind, url, skipped, len(incoming), note))
        _write_acronyms(conn, source, incoming.values(), partial)
        conn.execute("COMMIT")
    except sqlite3.Error as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise CatalogueError(
            tr("Writing the catalogue index failed ({reason}); the previous index is kept.").format(reason=err),
            detail=str(index.path),
        ) from err
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    removed = len(plan.removed)
    return WriteResult(harvest_id, time, plan.new, plan.changed, removed, plan.unchanged, len(incoming), plan.merged)


def _write(conn, plan: HarvestPlan, source: str, splitter, harvest_row: tuple) -> int:
    """Carry out ``plan`` inside the caller's transaction; returns the harvest id."""
    cur = conn.execute(
        "INSERT INTO harvests(time, source, kind, url, new, changed, removed, skipped, total, note) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        (*harvest_row[:4], plan.new, plan.changed, len(plan.removed), *harvest_row[4:]),
    )
    harvest_id = int(cur.lastrowid)
    time = harvest_row[0]
    _write_entries(conn, plan, source, splitter)
    gone = [v[0] for v in plan.removed.values()]
    _delete_text(conn, gone)
    conn.executemany("DELETE FROM entries WHERE rowid = ?", [(r,) for r in gone])
    if plan.replaced or gone:
        conn.execute("DELETE FROM zdicts WHERE id NOT IN (SELECT DISTINCT zd FROM entries WHERE zd IS NOT NULL)")
    conn.executemany(
        "INSERT INTO changes(harvest, time, source, kind, entry_id, title, name, dataset_id, old_url, new_url, "
        "old_url_key) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (harvest_id, time, source, k, e.id, e.title, e.name, e.dataset_id, o, n, url_key(o) if o else "")
            for k, e, o, n in plan.log[:MAX_CHANGE_ROWS]
        ],
    )
    conn.execute(
        "DELETE FROM changes WHERE harvest NOT IN (SELECT id FROM harvests ORDER BY id DESC LIMIT ?)", (KEEP_HARVESTS,)
    )
    _bump_generation(conn)
    return harvest_id


def _bump_generation(conn) -> None:
    conn.execute(
        "INSERT INTO meta(key, value) VALUES('generation', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def _write_entries(conn, plan: HarvestPlan, source: str, splitter) -> None:
    """The entry, text and theme rows of ``plan`` (its removals are the caller's)."""
    conn.executemany("UPDATE entries SET source = ? WHERE rowid = ?", [(source, r) for r in plan.adopted])
    _delete_text(conn, plan.replaced)
    zdict = _new_zdict(conn, [j for _r, _e, _d, j in plan.write])
    docs = [fts_row(e, splitter) for _r, e, _d, _j in plan.write]
    conn.executemany(_INSERT, [_entry_row(*w, source=source, zdict=zdict, doc=t) for w, t in zip(plan.write, docs)])
    conn.executemany(
        "INSERT INTO fts(rowid, title, name, keywords, organisation, abstract, url) VALUES (?,?,?,?,?,?,?)",
        [(w[0], *t) for w, t in zip(plan.write, docs)],
    )
    conn.executemany(
        "INSERT INTO entry_themes(entry, theme) VALUES (?, ?)",
        [(r, t) for r, e, _d, _j in plan.write for t in sorted({t.strip() for t in e.themes if t and t.strip()})],
    )


def restore(index, entries: list[Entry]) -> None:
    """Re-index entries carried over from an index of the previous layout, as they were: no harvest row,
    no change-log rows (nothing changed), their sources and harvest times kept."""
    by_source: dict[str, dict[str, Entry]] = {}
    for entry in entries:
        by_source.setdefault(entry.source, {})[entry.id] = entry
    conn = index.conn
    splitter = harvest_splitter(index, entries)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for source, incoming in by_source.items():
            next_rowid = int(conn.execute("SELECT coalesce(max(rowid), 0) FROM entries").fetchone()[0]) + 1
            _write_entries(conn, plan_harvest(incoming, {}, {}, next_rowid, True), source, splitter)
        _bump_generation(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _write_acronyms(conn, source: str, entries, partial: bool) -> None:
    """The abbreviations this source's records define (cooccurrence.py), replacing what it defined before."""
    found = acronyms(t for e in entries for t in (e.title, e.abstract, *e.keywords))
    if not partial:
        conn.execute("DELETE FROM acronyms WHERE source = ?", (source,))
    conn.executemany(
        "INSERT INTO acronyms(source, acronym, phrase) VALUES (?,?,?)",
        [(source, a, p) for a, phrases in found.items() for p in phrases],
    )


def _new_zdict(conn, jsons: list[str]) -> tuple[int | None, bytes | None]:
    """(id, bytes) of the compression dictionary for the entries written now; (None, None) for a few."""
    if len(jsons) < ZDICT_MIN:
        return (None, None)
    zdict = build_zdict(jsons)
    return (int(conn.execute("INSERT INTO zdicts(zdict) VALUES (?)", (zdict,)).lastrowid), zdict)


def _delete_text(conn, rowids: list[int]) -> None:
    """The FTS table is contentless: a row is deleted by giving FTS5 the text it was indexed with."""
    rows = []
    for rowid in rowids:
        found = conn.execute("SELECT doc FROM entries WHERE rowid = ?", (rowid,)).fetchone()
        if found is not None:
            rows.append((rowid, *doc_columns(found[0])))
    conn.executemany(
        "INSERT INTO fts(fts, rowid, title, name, keywords, organisation, abstract, url) VALUES ('delete',?,?,?,?,?,?,?)",
        rows,
    )
    conn.executemany("DELETE FROM entry_themes WHERE entry = ?", [(r,) for r in rowids])
