"""BM25F of one candidate row for one query: field weights, length normalisation per field, IDF from the
index vocabulary; a word as typed counts fully, a completion, synonym or correction less (ranking.py
decides which rows are candidates and in which tier).

Cost: a search scores up to a few hundred rows in Python. Each query term is tested with a substring
search in C on the padded columns, or, when the abstract is long and the query has many terms, by one
set of the abstract's words; rows that agree on which columns hold each term and on the columns' lengths
get the same score, which is worked out once per search.
"""

from __future__ import annotations

import math

from .query import Group, ParsedQuery
from .schema import DOC_SEPARATOR, WEIGHTS
from .text import stem

LONG_COLUMN, SET_FROM_TERMS = 120, 6  # abstract length / query terms from which finding terms by set beats scanning
K1 = 1.2
B = 0.75
TYPED, SAME, SYNONYM, CORRECTION = 1.0, 0.9, 0.7, 0.6
# A completion of a word still being typed; less when the word is already complete on its own.
PREFIX, PREFIX_OF_WORD = 0.8, 0.5


def is_correction(group: Group, alt: tuple[str, ...]) -> bool:
    return alt[0] in group.corrected or "".join(alt) in group.corrected


class Scorer:
    """BM25F over the prepared columns of one candidate row.

    The columns hold space-separated terms, each once, with a space before and after; each query word
    becomes its exact forms (word, stem) and, when it may be incomplete, a test for any term it starts
    (" word" in a column: the index's completions of it, however many). Every test is a substring
    search in C: a term found in the row gets a bit mask of the columns holding it, and only the ways of
    matching (options) those terms belong to are scored.
    """

    def __init__(self, parsed: ParsedQuery, stats: dict, vocabulary) -> None:
        self.total = max(1, stats["rows"])
        self.avg = stats["avg"]  # average distinct terms per column
        self.df = stats["df"]  # term -> number of rows holding it
        self.vocabulary = vocabulary
        self.groups = []
        for group in parsed.required:
            options = [self._option(group.typed, TYPED, group.prefix)]
            for alt in group.alternatives:
                weight = CORRECTION if is_correction(group, alt) else SYNONYM
                if alt in group.guessed:
                    weight = CORRECTION * SYNONYM
                elif alt in group.same:
                    weight = SAME
                options.append(self._option(alt, weight, False))
            self.groups.append(options)
        idfs = [max(n[2] for n in options[0][2]) for options in self.groups]
        self.group_idf = idfs
        self.total_idf = sum(idfs) or 1.0
        self.terms = frozenset(t for options in self.groups for o in options for n in o[2] for t in n[0])
        self.patterns = [(t, f" {t} ") for t in sorted(self.terms)]
        # Set membership equals the padded-substring test only for terms that are one word; with few
        # terms scanning is cheaper than building the set.
        self.by_set = len(self.patterns) >= SET_FROM_TERMS and all(
            t and " " not in t and DOC_SEPARATOR not in t for t in self.terms
        )
        self._index_needles()
        self.tests = [(t, p, tuple(self.exact_of[t])) for t, p in self.patterns]
        self.termset = frozenset(self.terms)
        self.memo: dict[tuple, tuple] = {}  # row signature -> score (bounded by the candidates of one search)

    def _index_needles(self) -> None:
        """Needles by id; exact term -> needle ids; the needles that take completions; per group its options."""
        self.needles: list[tuple] = []
        self.exact_of: dict[str, list[int]] = {}
        self.prefixed: list[tuple[int, str]] = []  # needle id, " word": a term starting with the word
        self.plan: list[list[tuple]] = []
        self.option_of: list[tuple[int, int]] = []  # needle id -> (group, option)
        for g, options in enumerate(self.groups):
            rows = []
            for o, (words, weight, needles) in enumerate(options):
                ids = []
                for needle in needles:
                    nid = len(self.needles)
                    self.needles.append(needle)
                    self.option_of.append((g, o))
                    ids.append(nid)
                    for term in needle[0]:
                        self.exact_of.setdefault(term, []).append(nid)
                    if needle[1]:
                        self.prefixed.append((nid, needle[1]))
                rows.append((words, weight, ids))
            self.plan.append(rows)

    def _option(self, words: tuple[str, ...], weight: float, prefix: bool) -> tuple:
        needles = []
        for word in words:
            s = stem(word)
            exact = frozenset({s, word})
            starts = frozenset()
            if prefix and len(word) >= 3:
                starts = frozenset(self.vocabulary.completions(word, COMPLETIONS)) - exact
            complete = s in self.df or word in self.df
            if complete:
                idf = self.idf(self.df.get(s, self.df.get(word, 1)))
            else:  # only completions: as rare as all of them together
                idf = self.idf(sum(self.df.get(t, 0) for t in starts) or 1)
            needles.append((exact, f" {word}" if starts else "", idf, PREFIX_OF_WORD if complete else PREFIX))
        return (words, weight, needles)

    def idf(self, df: int) -> float:
        return math.log(1.0 + (self.total - df + 0.5) / (df + 0.5))

    def score(self, doc: str) -> tuple[float, list[str], float]:
        """(BM25F score, matched words, share of the query covered) of one candidate's prepared text."""
        done = self.scored(doc)
        return done[0], list(done[1]), done[2]

    def scored(self, doc: str) -> tuple:
        """(score, matched words, coverage, rank key part) of a row, shared by the rows alike: not to be changed."""
        columns = doc.split(DOC_SEPARATOR)
        whole, part = self._masks(doc, columns)
        if not (whole or part):
            return _NOTHING
        held = _held(whole, part)
        return self._memoised(whole, part, held, tuple([columns[i].count(" ") for i in held]))

    def signed(self, whole: dict, part: dict, spaces: list[int]) -> tuple:
        """``scored`` of a row whose needle masks are known (forward.py), ``spaces`` its columns' lengths as
        the text path measures them (the spaces of a padded column: terms + 1, 0 when empty)."""
        held = _held(whole, part)
        return self._memoised(whole, part, held, tuple([spaces[i] for i in held]))

    def _memoised(self, whole: dict, part: dict, held: tuple, lengths: tuple) -> tuple:
        # The score is a function of which columns hold each needle and of the lengths of those columns only:
        # rows that agree on those (the layers of one service, the variants of one dataset) are scored once
        # a query, however long their other columns are.
        key = (tuple(whole.items()), tuple(part.items()), held, lengths)
        done = self.memo.get(key)
        if done is None:
            spaces = [0] * len(WEIGHTS)
            for i, n in zip(held, lengths):
                spaces[i] = n
            score, matched, coverage = self._bm25f(whole, part, _Weights(self.avg, spaces))
            done = self.memo[key] = (score, tuple(matched), coverage, -round(coverage, 3))
        return done

    def _bm25f(self, whole: dict, part: dict, weights: _Weights) -> tuple[float, list[str], float]:
        tfs: dict = {}
        best = [0.0] * len(self.plan)
        matched: list[str] = []
        option_of = self.option_of
        # Only the options one of whose words the row holds; in query order, so "matched" reads as typed.
        for g, o in sorted({option_of[nid] for nid in whole} | {option_of[nid] for nid in part}):
            words, weight, ids = self.plan[g][o]
            value = 0.0
            for nid in ids:
                exact_mask = whole.get(nid, 0)
                start_mask = part.get(nid, 0) & ~exact_mask
                if not (exact_mask or start_mask):
                    value = 0.0
                    break
                idf, prefix_weight = self.needles[nid][2:]
                key = (exact_mask, start_mask, prefix_weight)
                tf = tfs.get(key)
                if tf is None:
                    tf = tfs[key] = _tf(exact_mask, start_mask, prefix_weight, weights)
                value += idf * tf * (K1 + 1.0) / (tf + K1)
            if not value:
                continue
            if o and len(words) > 1:  # a many-word synonym must not outweigh the word it stands for
                value /= len(words)
            for w in words:
                if w not in matched:
                    matched.append(w)
            value *= weight
            if value > best[g]:
                best[g] = value
        covered = sum(idf for idf, b in zip(self.group_idf, best) if b)
        return sum(best), matched, covered / self.total_idf

    def _masks(self, doc: str, columns: list[str]) -> tuple[dict, dict]:
        """Needle id -> columns (bit mask) holding one of its exact forms / a term the word starts."""
        c0, c1, c2, c3, c4, c5 = columns
        whole: dict[int, int] = {}
        get = whole.get
        if self.by_set and len(c4) >= LONG_COLUMN:
            # A long abstract: the query terms among its words (one pass in C) instead of a scan of it per
            # query term; a padded column holds " term " exactly when the term is one of its words.
            abstract = self.termset.intersection(c4.split(" "))
            short = self.termset.intersection((c0 + c1 + c2 + c3 + c5).split(" "))
            for term, pattern, nids in self.tests:
                if term in short:
                    mask = (
                        (pattern in c0)
                        | (pattern in c1) << 1
                        | (pattern in c2) << 2
                        | (pattern in c3) << 3
                        | (term in abstract) << 4
                        | (pattern in c5) << 5
                    )
                elif term in abstract:
                    mask = 16
                else:
                    continue
                for nid in nids:
                    whole[nid] = get(nid, 0) | mask
        else:
            for _term, pattern, nids in self.tests:
                if pattern in doc:
                    mask = (
                        (pattern in c0)
                        | (pattern in c1) << 1
                        | (pattern in c2) << 2
                        | (pattern in c3) << 3
                        | (pattern in c4) << 4
                        | (pattern in c5) << 5
                    )
                    for nid in nids:
                        whole[nid] = get(nid, 0) | mask
        part = {
            nid: (p in c0) | (p in c1) << 1 | (p in c2) << 2 | (p in c3) << 3 | (p in c4) << 4 | (p in c5) << 5
            for nid, p in self.prefixed
            if p in doc
        }
        return whole, part


class _Weights(dict):
    """Column -> field weight over BM25 length normalisation, worked out for the columns a query word is
    in only. A padded column " a b c " holds each term once, so its length is its number of spaces less one."""

    __slots__ = ("avg", "spaces")

    def __init__(self, avg: list[float], spaces: list[int]) -> None:
        super().__init__()
        self.avg, self.spaces = avg, spaces  # c.count(" ") of the columns the query uses (0: empty)

    def __missing__(self, i: int) -> float:
        avg, spaces = self.avg[i], self.spaces[i]
        weight = WEIGHTS[i] / (1.0 - B + B * ((spaces - 1) / avg if avg else 1.0)) if spaces else 0.0
        self[i] = weight
        return weight


_NOTHING = (0.0, (), 0.0, 0.0)
COMPLETIONS = 2000  # words a prefix may stand for; beyond this it is too short to mean much
_MASKS = tuple(1 << i for i in range(len(WEIGHTS)))
_BITS = tuple(enumerate(_MASKS))
_HELD = tuple(tuple(i for i in range(len(WEIGHTS)) if used >> i & 1) for used in range(1 << len(WEIGHTS)))


def _held(whole: dict, part: dict) -> tuple[int, ...]:
    """The columns holding any needle of the row."""
    used = 0
    for mask in whole.values():
        used |= mask
    for mask in part.values():
        used |= mask
    return _HELD[used]


def _tf(exact_mask: int, start_mask: int, prefix_weight: float, weights: list[float]) -> float:
    """Weighted term frequency over the columns: a column with the word counts fully, one with only a
    completion of it counts ``prefix_weight``."""
    tf = 0.0
    for i, bit in _BITS:
        if exact_mask & bit:
            tf += weights[i]
        elif start_mask & bit:
            tf += prefix_weight * weights[i]
    return tf
