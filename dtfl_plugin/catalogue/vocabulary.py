"""The index's own terms, for the query side: prefix look-ups and typo candidates (pure Python).

Typo candidates come from a character-trigram index over the terms: an edit destroys at most
four trigrams (a swap), so a term within ``k`` edits shares all but ``4k`` of the query word's trigrams.
Only the few terms that pass that filter get an exact (Damerau-Levenshtein) distance.
"""

from __future__ import annotations

import bisect
from collections import Counter

MAX_CANDIDATES = 6
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def max_edits(word: str) -> int:
    """Typo tolerance grows with the word: none below 4 letters, one up to 9, two from 10 (at nine letters
    two edits already turn "zwemwater" into "zeewater")."""
    n = len(word)
    return 0 if n < 4 else 1 if n < 10 else 2


def _grams(word: str) -> list[str]:
    padded = f"^{word}$"
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def distance(a: str, b: str, cap: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, stopping early above ``cap``."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > cap:
            return cap + 1
        prev2, prev = prev, cur
    return prev[-1]


class Vocabulary:
    """The index's terms (from fts5vocab) with their document counts."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        # Tuples, not lists: the garbage collector stops walking a tuple of strings or numbers, never a list,
        # and its full collections hold the interpreter, so QGIS's GUI thread, for as long as they walk.
        self._sorted: tuple[str, ...] | None = None
        self._grams: dict[str, tuple[int, ...]] | None = None
        self._terms: tuple[str, ...] = ()

    @property
    def sorted(self) -> tuple[str, ...]:
        if self._sorted is None:  # only prefix checks need it: build on first use
            self._sorted = tuple(sorted(self.counts))
        return self._sorted

    def __contains__(self, term: str) -> bool:
        return term in self.counts

    def has_prefix(self, prefix: str) -> bool:
        """True when a term other than ``prefix`` itself starts with it."""
        terms = self.sorted
        i = bisect.bisect_right(terms, prefix)
        return i < len(terms) and terms[i].startswith(prefix)

    def completions(self, prefix: str, limit: int = 50) -> list[str]:
        terms = self.sorted
        i = bisect.bisect_left(terms, prefix)
        out: list[str] = []
        while i < len(terms) and terms[i].startswith(prefix) and len(out) < limit:
            out.append(terms[i])
            i += 1
        return out

    def _gram_index(self) -> dict[str, tuple[int, ...]]:
        if self._grams is None:
            self._terms = tuple(t for t in self.counts if len(t) >= 3 and t.isalpha())
            grams: dict[str, list[int]] = {}
            for i, term in enumerate(self._terms):
                for g in set(_grams(term)):
                    grams.setdefault(g, []).append(i)
            self._grams = {g: tuple(ids) for g, ids in grams.items()}
        return self._grams

    def near(self, word: str, edits: int | None = None, prefix: bool = False) -> list[str]:
        """Known terms within the word's typo tolerance, closest and most frequent first.

        ``prefix``: the word may also be a misspelt start of a longer term ("bestemingsplan" ->
        bestemmingsplangebied), as when typing with a typo.
        """
        k = max_edits(word) if edits is None else edits
        if k <= 0 or not word.isalpha():
            return []
        index = self._gram_index()
        mine = set(_grams(word))
        start = mine - {f"{word[-2:]}$"}
        need = len(mine) - 4 * k  # a swap of two letters touches four trigrams
        shared: Counter = Counter()
        for g in start if prefix else mine:
            shared.update(index.get(g, ()))
        found: list[tuple[int, int, int, str]] = []
        for i, count in shared.items():
            term = self._terms[i]
            if term == word or count < need - (1 if prefix else 0):
                continue
            if abs(len(term) - len(word)) <= k:
                d = distance(word, term, k)
                if d <= k:
                    found.append((d, 0, -self.counts[term], term))
                    continue
            if prefix and len(term) > len(word):
                # The start of a longer word is a weaker guess than a whole word: one edit less below 12 letters.
                kp = k if len(word) >= 12 else min(k, 1)
                d = min(distance(word, term[: len(word) + j], kp) for j in (-1, 0, 1))
                if d <= kp:
                    found.append((d, 1, -self.counts[term], term))
        if len(word) < 8:  # short words share too few trigrams for the filter: generate their neighbours
            known = {f[-1] for f in found}
            found += [(1, 0, -self.counts[t], t) for t in self._one_edit(word) if t not in known]
        found.sort()
        return [f[-1] for f in found[:MAX_CANDIDATES]]

    def _one_edit(self, word: str) -> set[str]:
        """Known terms one deletion, insertion, substitution or swap away (generated, then looked up)."""
        counts = self.counts
        out: set[str] = set()
        for i in range(len(word) + 1):
            left, right = word[:i], word[i:]
            if right:
                out.add(left + right[1:])
                if len(right) > 1:
                    out.add(left + right[1] + right[0] + right[2:])
            for ch in _ALPHABET:
                out.add(left + ch + right)
                if right:
                    out.add(left + ch + right[1:])
        out.discard(word)
        return {t for t in out if t in counts and t.isalpha()}
