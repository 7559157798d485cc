"""Favourite catalogue entries, kept in the user's QGIS settings (survive restarts, no limit).

Each favourite is stored as a full Entry snapshot, not only its id: the Browser panel and the
locator can then show and load favourites before the index exists (first start, index deleted)
or after the record left the catalogue. When the index knows the id, callers prefer the index's
(fresher) entry through :func:`resolve`.

Pure core: QtCore only (a change signal), no qgis.gui, no iface. Every instance reads the
settings on each call, so the dock, the Browser provider and the locator stay consistent
without sharing an object.
"""

from __future__ import annotations

from typing import Protocol

from qgis.PyQt.QtCore import QObject, pyqtSignal

from .. import settings
from .entry import Entry


class _Notifier(QObject):
    """Process-wide 'favourites changed' signal (the Browser root refreshes on it)."""

    changed = pyqtSignal()


_notifier: _Notifier | None = None


def notifier() -> _Notifier:
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    return _notifier


class _HasGet(Protocol):
    def get(self, entry_id: str) -> Entry | None: ...


class Favourites:
    """Ordered set of favourite entries (oldest first), persisted under settings.KEY_FAVOURITES."""

    def __init__(self, key: str = settings.KEY_FAVOURITES) -> None:
        self._key = key

    # --- reading ---
    def _raw(self) -> list[dict]:
        data = settings.get_json(self._key, [])
        # A hand-edited or foreign value must not break the dock: keep only well-formed records.
        return [d for d in data if isinstance(d, dict) and d.get("id")] if isinstance(data, list) else []

    def entries(self) -> list[Entry]:
        result = []
        for data in self._raw():
            try:
                result.append(Entry.from_dict(data))
            except (TypeError, ValueError):
                continue  # a snapshot written by an older/newer Entry shape: skip it, keep the rest
        return result

    def ids(self) -> list[str]:
        return [d["id"] for d in self._raw()]

    def contains(self, entry_id: str) -> bool:
        return entry_id in self.ids()

    def get(self, entry_id: str) -> Entry | None:
        for entry in self.entries():
            if entry.id == entry_id:
                return entry
        return None

    def __len__(self) -> int:
        return len(self._raw())

    # --- writing ---
    def _write(self, records: list[dict]) -> None:
        settings.set_json(self._key, records)
        notifier().changed.emit()

    def add(self, entry: Entry) -> None:
        """Add (or refresh the snapshot of) a favourite; its position is kept if it exists."""
        records = self._raw()
        snapshot = entry.to_dict()
        for i, data in enumerate(records):
            if data["id"] == entry.id:
                records[i] = snapshot
                break
        else:
            records.append(snapshot)
        self._write(records)

    def remove(self, entry_id: str) -> bool:
        records = self._raw()
        kept = [d for d in records if d["id"] != entry_id]
        if len(kept) == len(records):
            return False
        self._write(kept)
        return True

    def toggle(self, entry: Entry) -> bool:
        """Star or unstar; returns True when the entry is a favourite afterwards."""
        if self.remove(entry.id):
            return False
        self.add(entry)
        return True

    def update_from(self, index: _HasGet) -> int:
        """Refresh snapshots from the index (after a harvest); returns how many changed."""
        records = self._raw()
        changed = 0
        for i, data in enumerate(records):
            fresh = index.get(data["id"])
            if fresh is not None and fresh.to_dict() != data:
                records[i] = fresh.to_dict()
                changed += 1
        if changed:
            self._write(records)
        return changed


def resolve(entry_id: str, index: _HasGet | None, favourites: Favourites | None = None) -> Entry | None:
    """The freshest entry for an id: the index's, else the favourite snapshot."""
    if index is not None:
        entry = index.get(entry_id)
        if entry is not None:
            return entry
    return (favourites or Favourites()).get(entry_id)
