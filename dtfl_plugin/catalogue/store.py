"""Writing one harvest into the index: diff against what the source gave last time, in one transaction.

A harvest either lands whole (entries, FTS rows, themes, change log, harvest row) or not at
all: an error rolls the transaction back and the previous index stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

from ..errors import CatalogueError
from ..i18n import tr
from .entry import Entry
from .text import index_text, url_text

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


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


_VOLATILE = ("harvested_at", "source")  # kept in columns: they change without the record changing


def entry_json(entry: Entry) -> str:
    """The JSON of an entry without when/where it was harvested and without empty fields (from_dict
    restores their defaults); its hash is the content hash."""
    data = {k: v for k, v in entry.to_dict().items() if v not in ("", None, []) and k not in _VOLATILE}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def entry_hash(entry: Entry, data_json: str | None = None) -> str:
    return hashlib.sha1((data_json or entry_json(entry)).encode("utf-8")).hexdigest()


def fts_row(entry: Entry, splitter) -> tuple[str, ...]:
    """The six FTS columns of an entry, each prepared by text.index_text."""
    keywords = " ".join([*entry.keywords, *entry.themes])
    return (
        index_text(entry.title, splitter),
        index_text(entry.name, splitter),
        index_text(keywords, splitter),
        index_text(entry.organisation, splitter),
        index_text(entry.abstract, splitter),
        url_text(entry.service_url),
    )


def _entry_row(rowid: int, entry: Entry, source: str, digest: str, data_json: str) -> tuple:
    from .index import url_key

    bbox = entry.bbox or (None, None, None, None)
    return (
        rowid, entry.id, source, digest, entry.title, entry.name, entry.service_type, entry.service_url,
        url_key(entry.service_url), entry.organisation, entry.dataset_id, 1 if entry.is_3d else 0, *bbox,
        entry.harvested_at, data_json,
    )  # fmt: skip


_INSERT = (
    "INSERT OR REPLACE INTO entries(rowid, id, source, hash, title, name, service_type, service_url, url_key, "
    "organisation, dataset_id, is_3d, minx, miny, maxx, maxy, harvested_at, data) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


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
    from .index import url_key

    conn: sqlite3.Connection = index.conn
    splitter = index.splitter()
    time = when or now_iso()
    # Last one wins for duplicate ids inside one harvest (a layer listed twice).
    incoming: dict[str, Entry] = {}
    for entry in entries:
        entry.source = source
        entry.harvested_at = entry.harvested_at or time
        incoming[entry.id] = entry
    try:
        conn.execute("BEGIN IMMEDIATE")
        existing = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT id, rowid, hash, service_url, title, name, dataset_id FROM entries WHERE source = ?", (source,)
            )
        }
        first_harvest = not existing
        cur = conn.execute(
            "INSERT INTO harvests(time, source, kind, url, new, changed, removed, skipped, total, note) "
            "VALUES (?,?,?,?,0,0,0,?,?,?)",
            (time, source, kind, url, skipped, len(incoming), note),
        )
        harvest_id = int(cur.lastrowid)
        log: list[tuple] = []
        new = changed = unchanged = 0
        # Ids other sources own (a layer both in the PDOK list and the NGR): this source takes them over.
        others = {
            row[0]: row[1:]
            for row in conn.execute("SELECT id, rowid, hash FROM entries WHERE source != ?", (source,))
            if row[0] in incoming
        }
        next_rowid = int(conn.execute("SELECT coalesce(max(rowid), 0) FROM entries").fetchone()[0]) + 1
        rows: list[tuple] = []
        texts: list[tuple] = []
        themes: list[tuple] = []
        replaced: list[int] = []
        for entry in incoming.values():
            data_json = entry_json(entry)
            digest = entry_hash(entry, data_json)
            old = existing.pop(entry.id, None) or others.get(entry.id)
            if old is not None and old[1] == digest:
                unchanged += 1
                if entry.id in others:  # same content, now owned by this source
                    conn.execute("UPDATE entries SET source = ? WHERE rowid = ?", (source, old[0]))
                continue
            if old is None:
                rowid = next_rowid
                next_rowid += 1
                new += 1
                if not first_harvest:
                    log.append(("new", entry, "", entry.service_url))
            else:
                rowid = old[0]
                replaced.append(rowid)
                changed += 1
                if entry.id not in others:
                    log.append(("changed", entry, old[2], entry.service_url))
            rows.append(_entry_row(rowid, entry, source, digest, data_json))
            texts.append((rowid, *fts_row(entry, splitter)))
            themes.extend((rowid, t) for t in sorted({t.strip() for t in entry.themes if t and t.strip()}))
        _delete_text(conn, replaced)
        conn.executemany(_INSERT, rows)
        conn.executemany(
            "INSERT INTO fts(rowid, title, name, keywords, organisation, abstract, url) VALUES (?,?,?,?,?,?,?)", texts
        )
        conn.executemany("INSERT INTO entry_themes(entry, theme) VALUES (?, ?)", themes)
        if partial:
            existing = {}
        removed = len(existing)
        _delete_text(conn, [v[0] for v in existing.values()])
        conn.executemany("DELETE FROM entries WHERE rowid = ?", [(v[0],) for v in existing.values()])
        for entry_id, (_rowid, _digest, old_url, title, name, dataset_id) in existing.items():
            gone = Entry(id=entry_id, title=title or "", service_type="", service_url=old_url or "", name=name or "")
            gone.dataset_id = dataset_id or ""
            log.append(("removed", gone, old_url, ""))
        conn.executemany(
            "INSERT INTO changes(harvest, time, source, kind, entry_id, title, name, dataset_id, old_url, new_url, "
            "old_url_key) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (harvest_id, time, source, k, e.id, e.title, e.name, e.dataset_id, o, n, url_key(o) if o else "")
                for k, e, o, n in log[:MAX_CHANGE_ROWS]
            ],
        )
        conn.execute("UPDATE harvests SET new=?, changed=?, removed=? WHERE id=?", (new, changed, removed, harvest_id))
        conn.execute(
            "DELETE FROM changes WHERE harvest NOT IN (SELECT id FROM harvests ORDER BY id DESC LIMIT ?)",
            (KEEP_HARVESTS,),
        )
        conn.execute(
            "INSERT INTO meta(key, value) VALUES('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )
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
    return WriteResult(harvest_id, time, new, changed, removed, unchanged, len(incoming))


def _delete_text(conn, rowids: list[int]) -> None:
    conn.executemany("DELETE FROM fts WHERE rowid = ?", [(r,) for r in rowids])
    conn.executemany("DELETE FROM entry_themes WHERE entry = ?", [(r,) for r in rowids])
