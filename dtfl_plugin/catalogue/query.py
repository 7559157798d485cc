"""From what a user typed to an FTS5 MATCH expression (pure Python, no QGIS).

Every query word becomes a group of alternatives, ANDed with the other groups (word order
free):  the word itself (its stem, as the index holds stems too), a prefix match for the
word still being typed, thesaurus synonyms (multi-word terms matched as phrases of the
query: "aerial photo" -> luchtfoto), and, for a word the index does not know, the known
words one edit away (typo tolerance).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from .text import stem, words
from .thesaurus import Thesaurus

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
MAX_TYPO_CANDIDATES = 6
MIN_TYPO_LENGTH = 4  # shorter words have too many neighbours to guess from
# Words that say "a map of something": most records never write them, so requiring them loses the
# record the user wants ("kaart van de gemeenten" must find "Gemeenten").
GENERIC = frozenset(
    "kaart kaarten map maps data dataset datasets gegevens laag lagen layer layers service services dienst "
    "diensten bestand bestanden file files nederland netherlands nl".split()
)
STOPWORDS = frozenset(
    "de het een van voor in op met en of te bij uit naar over als dan the a an of for in on to and or by with at "
    "from per".split()
)


class Vocabulary:
    """The index's terms (from fts5vocab), sorted for prefix look-ups, with document counts."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self._sorted: list[str] | None = None

    @property
    def sorted(self) -> list[str]:
        if self._sorted is None:  # only prefix checks of unknown words need it: build on first use
            self._sorted = sorted(self.counts)
        return self._sorted

    def __contains__(self, term: str) -> bool:
        return term in self.counts

    def has_prefix(self, prefix: str) -> bool:
        i = bisect.bisect_left(self.sorted, prefix)
        return i < len(self.sorted) and self.sorted[i].startswith(prefix)

    def one_edit(self, word: str) -> list[str]:
        """Known terms at Damerau-Levenshtein distance one, most frequent first."""
        found: set[str] = set()
        n = len(word)
        counts = self.counts
        for i in range(n + 1):
            left, right = word[:i], word[i:]
            if right:
                cand = left + right[1:]  # deletion
                if cand in counts:
                    found.add(cand)
                if len(right) > 1:  # transposition
                    cand = left + right[1] + right[0] + right[2:]
                    if cand in counts:
                        found.add(cand)
            for ch in _ALPHABET:
                if right and ch != right[0]:
                    cand = left + ch + right[1:]  # substitution
                    if cand in counts:
                        found.add(cand)
                cand = left + ch + right  # insertion
                if cand in counts:
                    found.add(cand)
        found.discard(word)
        return sorted(found, key=lambda t: (-counts[t], t))[:MAX_TYPO_CANDIDATES]


@dataclass
class Group:
    """One stretch of the query and every way it may match."""

    typed: tuple[str, ...]  # the words as typed (folded)
    alternatives: list[tuple[str, ...]] = field(default_factory=list)  # each ANDed words
    prefix: bool = False  # the last typed word may be incomplete
    corrected: list[str] = field(default_factory=list)  # typo corrections used
    optional: bool = False  # a generic word ("kaart", "map"): ranks when present, never required


@dataclass
class ParsedQuery:
    groups: list[Group]

    @property
    def expression(self) -> str:
        required = [g for g in self.groups if not g.optional] or self.groups
        return " AND ".join(_group_expression(g) for g in required)

    def terms(self) -> list[str]:
        """Every term the query may match (for highlighting): typed words, synonyms, corrections."""
        out: list[str] = []
        for group in self.groups:
            for alt in [group.typed, *group.alternatives]:
                for w in alt:
                    if w not in out:
                        out.append(w)
        return out


def _quote(term: str) -> str:
    return '"' + term.replace('"', "") + '"'


def _word_expression(word: str, prefix: bool) -> str:
    s = stem(word)
    options = [_quote(s)]
    if prefix and len(word) >= 2:
        options.append(_quote(word) + "*")
    elif s != word:
        options.append(_quote(word))
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def _alternative_expression(alt: tuple[str, ...], prefix_last: bool) -> str:
    parts = [_word_expression(w, prefix_last and i == len(alt) - 1) for i, w in enumerate(alt)]
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _group_expression(group: Group) -> str:
    options = [_alternative_expression(group.typed, group.prefix)]
    options.extend(_alternative_expression(alt, False) for alt in group.alternatives)
    options = list(dict.fromkeys(options))
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def parse(query: str, thesaurus: Thesaurus, vocabulary: Vocabulary | None, splitter=None) -> ParsedQuery | None:
    """Build the query; None when nothing searchable was typed."""
    typed = words(query)
    if not typed:
        return None
    # The last word is still being typed unless the user ended with a space or punctuation.
    typing = bool(query) and query[-1].isalnum()
    groups: list[Group] = []
    for exp in thesaurus.expand(typed):
        chunk = tuple(typed[exp.start : exp.end])
        is_last = exp.end == len(typed)
        alternatives = list(exp.alternatives)
        if vocabulary is not None:  # a synonym the index does not contain can only cost time
            alternatives = [alt for alt in alternatives if all(w in vocabulary or stem(w) in vocabulary for w in alt)]
        group = Group(typed=chunk, alternatives=alternatives, prefix=typing and is_last)
        group.optional = len(chunk) == 1 and chunk[0] in GENERIC and not group.prefix
        if vocabulary is not None and len(chunk) == 1 and not group.alternatives:
            _add_compound_alternative(group, chunk[0], vocabulary, splitter)
            _add_typo_alternatives(group, chunk[0], thesaurus, vocabulary)
        groups.append(group)
    # Function words ("kaart van de bodem", "map of the dikes") would demand to be in every hit; drop
    # them unless they are all there is, or part of a thesaurus phrase ("flora en fauna").
    content = [g for g in groups if not (len(g.typed) == 1 and g.typed[0] in STOPWORDS and not g.prefix)]
    return ParsedQuery(content or groups)


def _add_compound_alternative(group: Group, word: str, vocabulary: Vocabulary, splitter) -> None:
    """A compound the index does not hold as one word may still be there in parts: AND the parts."""
    if word in vocabulary or stem(word) in vocabulary:
        return
    parts = splitter.split(word) if splitter is not None else ()
    if not (parts and all(p in vocabulary or stem(p) in vocabulary for p in parts)):
        parts = segment(word, vocabulary)
    if parts:
        group.alternatives.append(tuple(parts))


def segment(word: str, vocabulary: Vocabulary, min_part: int = 3) -> tuple[str, ...]:
    """Split ``word`` into the fewest words the index knows (each >= min_part, digits >= 1); () if none.

    Dynamic programming over split points: a 25-letter word costs a few hundred set look-ups.
    """
    n = len(word)
    if n < 2 * min_part or n > 40:
        return ()
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(1, n + 1):
        for start in range(end):
            prev = best[start]
            if prev is None:
                continue
            part = word[start:end]
            if (len(part) >= min_part or part.isdigit()) and part in vocabulary:
                if best[end] is None or len(prev) + 1 < len(best[end]):
                    best[end] = (*prev, part)
    result = best[n]
    return result if result is not None and len(result) > 1 else ()


def _add_typo_alternatives(group: Group, word: str, thesaurus: Thesaurus, vocabulary: Vocabulary) -> None:
    if word in vocabulary or stem(word) in vocabulary or len(word) < MIN_TYPO_LENGTH or not word.isalpha():
        return
    if group.prefix and vocabulary.has_prefix(word):
        return
    for candidate in vocabulary.one_edit(word):
        group.corrected.append(candidate)
        group.alternatives.append((candidate,))
        # A corrected word may itself be a thesaurus term: "spoorwge" -> spoorweg -> railway.
        for synonym in thesaurus.synonyms((candidate,)):
            if synonym not in group.alternatives:
                group.alternatives.append(synonym)
