"""Searching the index off the GUI thread, keeping only the answer to what the user typed last.

Measured (bench/bench_catalogue_gui.py): index search is milliseconds on an idle machine but reached
50-100 ms at the 95th percentile on a busy one with 10,000 records, more at 100,000 - several frames
of a frozen QGIS per pause in typing. So the dock asks this runner; one worker thread searches (the
index keeps one SQLite connection per thread) and the result comes back through a queued signal.
Requests carry a generation number: a result for an older request is dropped, and a request that
is already outdated when its turn comes is skipped.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ...catalogue.schema import SearchResult
from ...errors import CatalogueError, DtflError
from ...i18n import tr

RESULT_LIMIT = 50
FAVOURITES_SCAN_LIMIT = 5000  # "favourites only" with a query: rank over this many hits, keep the starred


class FavouriteHit:
    """A favourite shown without a query (the shape of the index's SearchHit)."""

    def __init__(self, entry) -> None:
        self.entry, self.score, self.matched = entry, 0.0, []


def search_hits(index, query: str, filters, favourites_only: bool, favourite_ids: set, favourite_entries: list):
    """What the result list shows. Runs in the worker thread: no widgets, no settings; an empty answer
    says whether the whole catalogue is empty (``catalogue_empty``), so the GUI thread need not ask."""
    hits = _hits(index, query, filters, favourites_only, favourite_ids, favourite_entries)
    if not hits:
        hits = SearchResult(hits)
        hits.catalogue_empty = index.count() == 0
    return hits


def _hits(index, query: str, filters, favourites_only: bool, favourite_ids: set, favourite_entries: list):
    if favourites_only:
        if query:
            found = index.search(query, limit=FAVOURITES_SCAN_LIMIT, filters=filters)
            return [h for h in found if h.entry.id in favourite_ids][:RESULT_LIMIT]
        # Fresh entries from the index where it knows them; the saved snapshots otherwise.
        return [FavouriteHit(index.get(e.id) or e) for e in favourite_entries]
    return index.search(query, limit=RESULT_LIMIT, filters=filters)


def query_notes(hits) -> str:
    """What the engine says about the query, for the line above the results: partial matches, the words
    no entry contains, the corrected query ("did you mean"); "" when there is nothing to say."""
    notes = []
    if getattr(hits, "relaxed", False) and hits:
        notes.append(tr("No result has all your words; these match part of them."))
    unmatched = getattr(hits, "unmatched", [])
    if unmatched:
        notes.append(tr("Not found: {words}.").format(words=", ".join(unmatched)))
    suggestion = getattr(hits, "suggestion", "")
    if suggestion:
        notes.append(tr("Did you mean: {query}?").format(query=suggestion))
    return " ".join(notes)


class SearchRunner(QObject):
    # generation, hits, milliseconds, error (DtflError or None), query
    finished = pyqtSignal(int, object, float, object, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dtfl-catalogue-search")
        self.generation = 0
        self.busy = False
        self.closed = False

    def request(self, index, query: str, filters, favourites_only: bool, favourite_ids: set, favourite_entries: list):
        """Queue a search; returns its generation number. Everything passed is read here, on the GUI thread."""
        self.generation += 1
        if self.closed:
            return self.generation  # the dock is going away (plugin unload): nothing to search for
        self.busy = True
        self._executor.submit(
            self._work, self.generation, index, query, filters, favourites_only, set(favourite_ids), favourite_entries
        )
        return self.generation

    def skip_pending(self) -> int:
        """Make every queued or running search outdated (e.g. the query was cleared)."""
        self.generation += 1
        self.busy = False
        return self.generation

    def _work(self, generation, index, query, filters, favourites_only, favourite_ids, favourite_entries) -> None:
        if generation != self.generation:
            return  # the user typed on; a newer request follows
        started = time.perf_counter()
        hits, error = [], None
        try:
            hits = search_hits(index, query, filters, favourites_only, favourite_ids, favourite_entries)
        except DtflError as err:
            error = err
        except Exception as err:  # noqa: BLE001 - a worker must always answer, or the dock waits forever
            error = CatalogueError(tr("The search failed: {reason}").format(reason=err), detail=repr(err))
        elapsed = (time.perf_counter() - started) * 1000.0
        try:
            self.finished.emit(generation, hits, elapsed, error, query)
        except RuntimeError:
            pass  # the dock was deleted while this search ran (plugin unloaded): nobody to tell

    def accept(self, generation: int) -> bool:
        """Called on the GUI thread with a result: True when it answers the latest request."""
        if generation != self.generation:
            return False
        self.busy = False
        return True

    def shutdown(self) -> None:
        """Stop: queued searches are dropped, a running one is waited for (milliseconds)."""
        self.generation += 1
        self.closed, self.busy = True, False
        self._executor.shutdown(wait=True, cancel_futures=True)
