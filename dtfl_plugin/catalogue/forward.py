"""A forward index in memory: every row's prepared terms as ids in one numpy array, so a tier's candidates are
scored together instead of one by one from their text.

Why: from its prepared text a candidate costs ~10-20 µs of Python (a substring test per query term and
column, then a signature of the result), and a search ranks up to 500 candidates a tier; at 100,000 records
that set the search's p95. Here which needles each candidate holds, and in which columns, is a few vectorised
passes over the candidates' term ids; candidates with the same signature share one BM25F, computed by the
same function as the text path (Scorer._bm25f), so the scores are the same to the bit.

Built per index generation off the GUI thread (``CatalogueIndex.warm``: the harvest task, the dock's first
start); a search that comes before it is ready ranks from the text (ranking.py). Size: 4 bytes per term of
a row (the prepared columns hold each term once), about 36 MB at 100,000 records, 3.5 MB for PDOK's layer list.
"""

from __future__ import annotations

import bisect
from array import array
from zlib import decompress as inflate

import numpy as np

from .schema import DOC_SEPARATOR, FTS_COLUMNS

_COLUMNS = len(FTS_COLUMNS)
_NOTHING = (0.0, (), 0.0, 0.0)


class _Ids(dict):
    """term -> id; a term not met before gets the next id."""

    def __missing__(self, term: str) -> int:
        self[term] = value = len(self)
        return value


class ForwardIndex:
    """Term ids of every row, by column, in rowid order; ids in the order of the sorted terms, so the terms a
    word starts are one range of ids."""

    def __init__(self, terms: list[str], ids: np.ndarray, lens: np.ndarray, rowids: np.ndarray, layers: np.ndarray):
        self.terms = tuple(terms)  # sorted; a tuple: the garbage collector does not walk it
        self.ids = ids  # int32, every row's terms, column after column
        self.lens = lens  # (rows, 6) int32: terms per column
        self.starts = np.concatenate(([0], np.cumsum(lens.sum(axis=1))[:-1])).astype(np.int64)
        self.layers = layers  # layer key per row (entries.layer)
        self.position = np.full(int(rowids.max()) + 1 if len(rowids) else 0, -1, dtype=np.int32)  # rowids are dense
        self.position[rowids] = np.arange(len(rowids))
        self.nbytes = sum(a.nbytes for a in (ids, lens, self.starts, self.position, layers))

    @classmethod
    def build(cls, conn, cancelled=lambda: False) -> ForwardIndex | None:
        """From entries.doc (None when ``cancelled`` says stop: a harvest wrote meanwhile)."""
        ids = _Ids()
        term_ids = bytearray()  # int32s: a compact buffer while reading (a list of ints would take ~8 times more)
        lens = array("i")
        rowids = array("q")
        layers = array("q")
        flat = np.dtype(np.int32)
        for n, (rowid, layer, doc) in enumerate(conn.execute("SELECT rowid, layer, doc FROM entries ORDER BY rowid")):
            if n % 4096 == 4095 and cancelled():
                return None
            for column in inflate(doc, -15).decode().split(DOC_SEPARATOR):
                words = column.split()
                lens.append(len(words))
                term_ids += np.fromiter(map(ids.__getitem__, words), flat, len(words)).tobytes()
            rowids.append(rowid)
            layers.append(layer)
        terms = sorted(ids)
        order = np.empty(len(ids), dtype=np.int32)  # id as met -> id in sorted order
        order[np.fromiter((ids[t] for t in terms), np.int64, len(terms))] = np.arange(len(terms), dtype=np.int32)
        flat_ids = order[np.frombuffer(term_ids, dtype=np.int32)] if term_ids else np.zeros(0, np.int32)
        del term_ids
        return cls(
            terms,
            flat_ids,
            np.frombuffer(lens, dtype=np.int32).reshape(-1, _COLUMNS).copy(),
            np.frombuffer(rowids, dtype=np.int64).copy(),
            np.frombuffer(layers, dtype=np.int64).copy(),
        )

    def covers(self, rowid: int) -> bool:
        return 0 <= rowid < len(self.position) and self.position[rowid] >= 0

    def score(self, scorer, rowids: list[int]) -> tuple[list[tuple], list[int]]:
        """Scorer.scored of each row (all must be ``covers``ed), computed together, and the rows' layer keys."""
        if not rowids:
            return [], []
        rows = self.position[np.asarray(rowids, dtype=np.int64)]
        lens = self.lens[rows]
        counts = lens.sum(axis=1)
        total = int(counts.sum())
        first = np.repeat(self.starts[rows] - np.cumsum(counts) + counts, counts)
        ids = self.ids[first + np.arange(total)]
        row_of = np.repeat(np.arange(len(rows)), counts)
        bits = np.repeat(np.tile(1 << np.arange(_COLUMNS, dtype=np.uint8), len(rows)), lens.ravel())
        needles = len(scorer.needles)
        masks = np.zeros((len(rows), needles + len(scorer.prefixed)), dtype=np.uint8)
        self._exact(scorer, ids, row_of, bits, masks)
        for k, (_nid, pattern) in enumerate(scorer.prefixed):
            lo, hi = self._starting(pattern[1:])
            if hi > lo:
                hit = (ids >= lo) & (ids < hi)
                np.bitwise_or.at(masks[:, needles + k], row_of[hit], bits[hit])
        return _signatures(scorer, masks, lens), self.layers[rows].tolist()

    def _exact(self, scorer, ids, row_of, bits, masks) -> None:
        """Column bits of the needles' exact terms; a term several needles share takes one pass per needle."""
        pending: dict[int, list[int]] = {}
        for term, _pattern, nids in scorer.tests:
            i = bisect.bisect_left(self.terms, term)
            if i < len(self.terms) and self.terms[i] == term:
                pending.setdefault(i, []).extend(nids)
        lut = np.zeros(len(self.terms) + 1, dtype=np.int32)  # per search: the locator and the dock search at once
        while pending:
            for tid in list(pending):
                lut[tid] = pending[tid].pop() + 1
                if not pending[tid]:
                    del pending[tid]
            slot = lut[ids]
            hit = slot > 0
            np.bitwise_or.at(masks, (row_of[hit], slot[hit] - 1), bits[hit])
            lut[:] = 0

    def _starting(self, word: str) -> tuple[int, int]:
        """The ids of the terms that start with ``word`` (the word itself included)."""
        lo = bisect.bisect_left(self.terms, word)
        hi = bisect.bisect_left(self.terms, word[:-1] + chr(ord(word[-1]) + 1)) if word else len(self.terms)
        return lo, hi


def _signatures(scorer, masks: np.ndarray, lens: np.ndarray) -> list[tuple]:
    """Each row's scored tuple: rows alike in needle masks and in the lengths of the columns they use share one."""
    used = np.bitwise_or.reduce(masks, axis=1) if masks.shape[1] else np.zeros(len(masks), np.uint8)
    held = (used[:, None] >> np.arange(_COLUMNS, dtype=np.uint8)) & 1
    # A column's padded text " a b " has one space more than terms: the text path's length measure.
    spaces = np.where(held.astype(bool), lens + 1, 0).astype(np.int32)
    signature = np.ascontiguousarray(np.concatenate([masks.astype(np.int32), spaces], axis=1))
    keyed = signature.view(np.dtype((np.void, signature.shape[1] * 4))).ravel()
    _unique, first, inverse = np.unique(keyed, return_index=True, return_inverse=True)
    needles = len(scorer.needles)
    prefixed = [nid for nid, _p in scorer.prefixed]
    done = []
    for row in signature[first].tolist():
        whole = {nid: m for nid, m in enumerate(row[:needles]) if m}
        part = {}
        for nid, m in zip(prefixed, row[needles : needles + len(prefixed)]):
            if m:
                part[nid] = part.get(nid, 0) | m
        done.append(scorer.signed(whole, part, row[-_COLUMNS:]) if whole or part else _NOTHING)
    return [done[i] for i in inverse.ravel().tolist()]
