"""The bundled domain thesaurus: Dutch <-> English search terms (INSPIRE themes, GEMET-style
terms, Dutch base-registry vocabulary), used to expand queries and to split compounds.

The data lives in ``data/thesaurus.json``: a list of concepts, each with English and Dutch
terms. Every term of a concept is equivalent for searching: "soil" finds "bodem" and back.
Terms are compared in their normalised form (folded, stemmed words; see text.py), so
"Luchtfoto's", "luchtfotos" and "luchtfoto" are one key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .text import stem, words

DATA = Path(__file__).resolve().parent / "data" / "thesaurus.json"
MAX_PHRASE = 5  # longest term, in words, that a query phrase is matched against


def term_key(term: str) -> tuple[str, ...]:
    """The normalised key of a term: its stemmed words."""
    return tuple(stem(w) for w in words(term))


@dataclass(frozen=True)
class Expansion:
    """A stretch of the query (words ``start``..``end``-1) and the terms it may also be written as."""

    start: int
    end: int
    alternatives: tuple[tuple[str, ...], ...]  # each a sequence of (unstemmed, folded) words
    concept: int  # index of the concept, -1 when none


class Thesaurus:
    def __init__(self, concepts: list[dict]) -> None:
        self.concepts: list[tuple[tuple[str, ...], ...]] = []
        self.inspire: dict[str, int] = {}
        self._by_key: dict[tuple[str, ...], list[int]] = {}
        for raw in concepts:
            terms: list[tuple[str, ...]] = []
            for term in [*raw.get("en", []), *raw.get("nl", [])]:
                tokens = tuple(words(term))
                if tokens and tokens not in terms:
                    terms.append(tokens)
            if not terms:
                continue
            index = len(self.concepts)
            self.concepts.append(tuple(terms))
            if raw.get("inspire"):
                self.inspire[str(raw["inspire"])] = index
            for tokens in terms:
                self._by_key.setdefault(tuple(stem(w) for w in tokens), []).append(index)

    @classmethod
    def load(cls, path: str | Path = DATA) -> Thesaurus:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return cls(list(data.get("concepts", [])))

    def vocabulary(self) -> set[str]:
        """Every single word of every term (for the compound splitter)."""
        return {w for concept in self.concepts for term in concept for w in term}

    def synonyms(self, tokens: tuple[str, ...]) -> list[tuple[str, ...]]:
        """All terms equivalent to ``tokens`` (itself excluded), across every concept it belongs to."""
        key = tuple(stem(w) for w in tokens)
        out: list[tuple[str, ...]] = []
        for index in self._by_key.get(key, ()):
            for term in self.concepts[index]:
                if tuple(stem(w) for w in term) != key and term not in out:
                    out.append(term)
        return out

    def expand(self, query_words: list[str]) -> list[Expansion]:
        """Cover the query with expansions, longest matching phrase first, left to right.

        Words not in the thesaurus get an Expansion with no alternatives, so the result always
        covers every query word exactly once (the query builder relies on that).
        """
        out: list[Expansion] = []
        i = 0
        n = len(query_words)
        while i < n:
            for size in range(min(MAX_PHRASE, n - i), 0, -1):
                chunk = tuple(query_words[i : i + size])
                key = tuple(stem(w) for w in chunk)
                concepts = self._by_key.get(key)
                if concepts:
                    out.append(Expansion(i, i + size, tuple(self.synonyms(chunk)), concepts[0]))
                    i += size
                    break
            else:
                out.append(Expansion(i, i + 1, (), -1))
                i += 1
        return out


@lru_cache(maxsize=1)
def default_thesaurus() -> Thesaurus:
    return Thesaurus.load(DATA)
