"""From what a user typed to groups of alternatives and an FTS5 MATCH expression (pure Python).

Every query word becomes a group of alternatives, ANDed with the other groups (word order free):
- the word itself (and its stem: the index holds stems too), and any word it starts: people stop
  typing anywhere, not only in the last word ("bestuurl grenz");
- thesaurus synonyms (multi-word terms matched as phrases of the query: "aerial photo" -> luchtfoto);
- compounds both ways: a word the index does not hold split into words it does
  ("wijkenbuurten" -> wijken buurten), and two typed words joined ("bodem gebruik" -> bodemgebruik);
- for a word the index does not know, the known words within its typo tolerance (one edit for
  short words, two from eight letters), also for the letters of a letters+digits word ("natrua2000").
Service-type words ("wfs", "wmts", "ogc api") are not matched as text: they name the service the
user wants, which ranking prefers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .entry import ServiceType
from .text import stem, words
from .thesaurus import Thesaurus
from .vocabulary import Vocabulary, max_edits

__all__ = ["Group", "ParsedQuery", "Vocabulary", "parse", "segment", "SERVICE_WORDS"]

MIN_PREFIX = 3  # a shorter fragment starts too many words to mean anything
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
# Query words (and pairs) that name a service type.
SERVICE_WORDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("wms",): (ServiceType.WMS.value,),
    ("wmts",): (ServiceType.WMTS.value,),
    ("wfs",): (ServiceType.WFS.value,),
    ("wcs",): (ServiceType.WCS.value,),
    ("oapif",): (ServiceType.OAPIF.value,),
    ("ogc", "api"): (ServiceType.OAPIF.value, ServiceType.OAPIT.value),
    ("api", "features"): (ServiceType.OAPIF.value,),
    ("api", "tiles"): (ServiceType.OAPIT.value,),
    ("vector", "tiles"): (ServiceType.OAPIT.value,),
    ("cog",): (ServiceType.COG.value,),
    ("geotiff",): (ServiceType.COG.value,),
    ("3d", "tiles"): (ServiceType.TILES3D.value,),
    ("cityjson",): (ServiceType.CITYJSON.value,),
    ("atom",): (ServiceType.ATOM.value,),
}
_LINKS = ("", "s", "en", "e")
# Every mechanism can be switched off, for the ablation in bench/bench_catalogue_eval.py only.
MECHANISMS = {
    "prefix": True,  # every word may be incomplete
    "typo": True,  # corrections within the tolerance of the word's length
    "compounds": True,  # query words joined and split against the index's words
    "inflections": True,  # singular/plural forms the index holds
    "thesaurus": True,  # synonyms and translations (GEMET, INSPIRE, base registries)
    "acronyms": True,  # abbreviations the catalogue's records define (cooccurrence.py)
    "service_types": True,  # "wfs", "wmts"... name the service instead of being matched as text
    "relaxed": True,  # partial matches, ranked by coverage, when nothing has every word
    "layers": True,  # one row per layer with its services as choices
}
_ALNUM = re.compile(r"[a-z]+|[0-9]+")


@dataclass
class Group:
    """One stretch of the query and every way it may match."""

    typed: tuple[str, ...]  # the words as typed (folded)
    alternatives: list[tuple[str, ...]] = field(default_factory=list)  # each ANDed words
    prefix: bool = False  # the typed words may be incomplete
    corrected: list[str] = field(default_factory=list)  # typo corrections used
    guessed: list[tuple[str, ...]] = field(default_factory=list)  # synonyms of corrections: two guesses deep
    same: list[tuple[str, ...]] = field(default_factory=list)  # the typed words written otherwise (compounds, plurals)
    optional: bool = False  # a generic word ("kaart", "map"): ranks when present, never required


@dataclass
class ParsedQuery:
    groups: list[Group]
    service_types: tuple[str, ...] = ()  # service types the query named ("wfs bag" -> WFS)

    @property
    def required(self) -> list[Group]:
        return [g for g in self.groups if not g.optional] or self.groups

    @property
    def expression(self) -> str:
        """Every required group must match (AND)."""
        return " AND ".join(group_expression(g) for g in self.required)

    @property
    def relaxed_expression(self) -> str:
        """Any group may match (OR): for ranking by how much of the query an entry covers."""
        return " OR ".join(group_expression(g) for g in self.required)

    def terms(self) -> list[str]:
        """Every term the query may match (for highlighting): typed words, synonyms, corrections."""
        out: list[str] = []
        for group in self.groups:
            for alt in [group.typed, *group.alternatives]:
                for w in alt:
                    if w not in out:
                        out.append(w)
        return out

    def suggestion(self) -> str:
        """The query with each unknown word replaced by its best correction ("" when none was corrected)."""
        if not any(g.corrected for g in self.groups):
            return ""
        out = []
        for g in self.groups:
            out.append(g.corrected[0] if g.corrected else " ".join(g.typed))
        return " ".join(out)


def _quote(term: str) -> str:
    return '"' + term.replace('"', "") + '"'


def _word_expression(word: str, prefix: bool) -> str:
    s = stem(word)
    options = [_quote(s)] if s != word else []
    # "word"* holds "word" itself: FTS5 would read the word's postings twice.
    options.append(_quote(word) + "*" if prefix and len(word) >= MIN_PREFIX else _quote(word))
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def _alternative_parts(alt: tuple[str, ...], prefix: bool) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_word_expression(w, prefix) for w in alt))  # "a" AND "a" is "a"


def group_expression(group: Group) -> str:
    alts = [_alternative_parts(group.typed, group.prefix)]
    alts.extend(_alternative_parts(alt, False) for alt in group.alternatives)
    # Absorption: an option holding all the parts of another matches only rows that one matches, so it
    # adds no row but costs FTS5 a read of its postings. Same rows, in the same (rowid) order.
    kept: list[tuple[str, ...]] = []
    for parts in sorted(dict.fromkeys(alts), key=len):
        if not any(set(k) <= set(parts) for k in kept):
            kept.append(parts)
    options = [p[0] if len(p) == 1 else "(" + " AND ".join(p) + ")" for p in alts if p in kept]
    options = list(dict.fromkeys(options))
    return options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")"


def _service_types(typed: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """The query words without service-type words, and the types they named."""
    kept: list[str] = []
    types: list[str] = []
    i = 0
    while i < len(typed):
        for size in (2, 1):
            key = tuple(typed[i : i + size])
            if len(key) == size and key in SERVICE_WORDS:
                types.extend(t for t in SERVICE_WORDS[key] if t not in types)
                i += size
                break
        else:
            kept.append(typed[i])
            i += 1
    return kept, tuple(types)


def _known(word: str, vocabulary: Vocabulary) -> bool:
    return word in vocabulary or stem(word) in vocabulary


def parse(
    query: str, thesaurus: Thesaurus, vocabulary: Vocabulary | None, splitter=None, phrases: bool = True
) -> ParsedQuery | None:
    """Build the query; None when nothing searchable was typed.

    ``phrases=False``: every word on its own (no thesaurus phrases, no joined compounds), for ranking
    by how many of the words an entry has when none has them all.
    """
    if not MECHANISMS["thesaurus"]:
        thesaurus = Thesaurus([])
    typed, types = _service_types(words(query)) if MECHANISMS["service_types"] else (words(query), ())
    if not typed:
        if not types:
            return None
        typed = [w for w in words(query)]  # only a service type: search for it as text too
    groups: list[Group] = []
    stretches = _phrases(typed, thesaurus, vocabulary) if phrases else []
    if not phrases:
        for word in typed:
            stretches.extend(_phrases([word], thesaurus, vocabulary))
    for chunk, synonyms, same in stretches:
        group = Group(typed=chunk, alternatives=synonyms, prefix=MECHANISMS["prefix"], same=list(same))
        group.optional = len(chunk) == 1 and chunk[0] in GENERIC
        groups.append(group)
    if vocabulary is not None:
        groups = _join_compounds(groups, vocabulary) if phrases and MECHANISMS["compounds"] else groups
        for group in groups:
            if len(group.typed) == 1:
                word = group.typed[0]
                if MECHANISMS["inflections"]:
                    _add_inflections(group, word, vocabulary)
                if MECHANISMS["compounds"]:
                    _add_compound_alternative(group, word, vocabulary, splitter)
                if MECHANISMS["typo"]:
                    _add_typo_alternatives(group, word, thesaurus, vocabulary)
    # Function words ("kaart van de bodem", "map of the dikes") would demand to be in every hit; drop
    # them unless they are all there is, or part of a thesaurus phrase ("flora en fauna").
    content = [g for g in groups if not (len(g.typed) == 1 and g.typed[0] in STOPWORDS)]
    return ParsedQuery(content or groups, types)


def _phrases(typed: list[str], thesaurus: Thesaurus, vocabulary: Vocabulary | None) -> list[tuple]:
    """(typed words, synonyms) per stretch of the query, thesaurus phrases first.

    A synonym the index does not hold is written the index's way when it can be (split into known
    words: "afvalwaterbehandeling" -> afvalwater behandeling) and dropped otherwise; a phrase left
    with no synonym falls back to its single words, which may still match on their own.
    """
    out: list[tuple] = []
    for exp in thesaurus.expand(typed):
        chunk = tuple(typed[exp.start : exp.end])
        synonyms = list(exp.alternatives)
        same = thesaurus.translations(chunk)
        if vocabulary is not None:
            indexed = {a: _indexed(a, vocabulary) for a in synonyms}
            synonyms = list(dict.fromkeys(alt for alt in indexed.values() if alt))
            same = [indexed[a] for a in same if indexed.get(a)]
        if len(chunk) > 1 and not synonyms:
            for word in chunk:
                out.extend(_phrases([word], thesaurus, vocabulary))
            continue
        out.append((chunk, synonyms, same))
    return out


def _indexed(alt: tuple[str, ...], vocabulary: Vocabulary) -> tuple[str, ...]:
    """``alt`` in words the index holds, or () when it holds none of its forms: the word, a plural the
    index has ("elektriciteitsnet" -> elektriciteitsnetten), or its parts of four letters or more."""
    out: list[str] = []
    for word in alt:
        if _known(word, vocabulary):
            out.append(word)
            continue
        form = next((f for f in _forms(word) if f in vocabulary), None) if word.isalpha() and len(word) >= 4 else None
        if form:
            out.append(form)
            continue
        parts = segment(word, vocabulary, min_part=4)
        if not parts:
            return ()
        out.extend(parts)
    return tuple(out)


def _join_compounds(groups: list[Group], vocabulary: Vocabulary) -> list[Group]:
    """Two typed words the index holds as one ("bodem gebruik" -> bodemgebruik): one group for both."""
    out: list[Group] = []
    i = 0
    while i < len(groups):
        g = groups[i]
        nxt = groups[i + 1] if i + 1 < len(groups) else None
        if nxt is not None and len(g.typed) == 1 and len(nxt.typed) == 1 and g.typed[0] not in STOPWORDS:
            left, right = g.typed[0], nxt.typed[0]
            joined = [left + link + right for link in _LINKS if _known(left + link + right, vocabulary)]
            if joined and len(left) >= 2 and len(right) >= 2:
                merged = Group(typed=(left, right), alternatives=[(j,) for j in joined], prefix=g.prefix)
                merged.same = [(j,) for j in joined]
                pairs = [(a[0], b[0]) for a in [(left,), *g.alternatives] for b in [(right,), *nxt.alternatives]]
                merged.alternatives += [p for p in pairs if p != (left, right)][:6]
                out.append(merged)
                i += 2
                continue
        out.append(g)
        i += 1
    return out


def _add_compound_alternative(group: Group, word: str, vocabulary: Vocabulary, splitter) -> None:
    """A compound the index does not hold as one word may still be there in parts: AND the parts."""
    if _known(word, vocabulary):
        return
    parts = splitter.split(word) if splitter is not None else ()
    if not (parts and all(_known(p, vocabulary) for p in parts)):
        parts = segment(word, vocabulary)
    if not parts and len(_ALNUM.findall(word)) > 1:  # "100m", "ahn2": letters and digits as the index splits them
        parts = tuple(_ALNUM.findall(word))
    if parts:
        group.alternatives.append(tuple(parts))
        group.same.append(tuple(parts))


def _forms(word: str) -> list[str]:
    """Dutch and English singular/plural forms of ``word`` to look up in the index."""
    forms = [word[:-1]] if word.endswith(("n", "s")) else []
    return [*forms, word + "n", word + "en", word + "s", word + word[-1] + "en"]


def _add_inflections(group: Group, word: str, vocabulary: Vocabulary) -> None:
    """Singular and plural forms the index holds ("gemeenten" -> gemeente, "stuw" -> stuwen): the light
    stemmer cannot know that Dutch "-e" words take only "-n", so the index's own words decide."""
    if len(word) < 4 or not word.isalpha():
        return
    for form in _forms(word):
        if form in vocabulary and (form,) not in group.same:
            if (form,) not in group.alternatives:
                group.alternatives.append((form,))
            group.same.append((form,))


def segment(word: str, vocabulary: Vocabulary, min_part: int = 3) -> tuple[str, ...]:
    """Split ``word`` into the fewest words the index knows (each >= min_part, digits >= 1); () if none.

    A Dutch linking -s- or -e- between parts is dropped ("geluidskaart" -> geluid kaart). Dynamic
    programming over split points: a 25-letter word costs a few hundred set look-ups.
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
            if not (len(part) >= min_part or part.isdigit()):
                continue
            known = part if _known(part, vocabulary) else None
            if (
                known is None
                and end < n
                and part[-1] in "se"
                and _known(part[:-1], vocabulary)
                and len(part) > min_part
            ):
                known = part[:-1]
            if known is not None and (best[end] is None or len(prev) + 1 < len(best[end])):
                best[end] = (*prev, known)
    result = best[n]
    return result if result is not None and len(result) > 1 else ()


def _add_typo_alternatives(group: Group, word: str, thesaurus: Thesaurus, vocabulary: Vocabulary) -> None:
    if _known(word, vocabulary) or max_edits(word) == 0:
        return
    if thesaurus.synonyms((word,)):  # a real word (GEMET, INSPIRE...) the index lacks is not a typo
        return
    if len(word) >= MIN_PREFIX and vocabulary.has_prefix(word):
        return
    runs = _ALNUM.findall(word)
    if len(runs) > 1:  # letters and digits ("natrua2000"): correct the letters, keep the digits
        letters = max((r for r in runs if r.isalpha()), key=len, default="")
        for candidate in vocabulary.near(letters) if letters and not _known(letters, vocabulary) else ():
            fixed = word.replace(letters, candidate, 1)
            alt = (fixed,) if _known(fixed, vocabulary) else tuple(candidate if r == letters else r for r in runs)
            group.corrected.append(fixed)
            group.alternatives.append(alt)
        return
    # A misspelt start of a longer word only from seven letters: shorter starts fit too many words.
    candidates = vocabulary.near(word, prefix=group.prefix and len(word) >= 7)
    if "y" in word:  # Dutch "ij" typed as "y" ("vogelrichtlyn"): one slip, though two edits
        spelled = word.replace("y", "ij")
        candidates = (
            [spelled] if _known(spelled, vocabulary) else vocabulary.near(spelled, 1, prefix=True)
        ) + candidates
    for candidate in list(dict.fromkeys(candidates))[:6]:
        group.corrected.append(candidate)
        group.alternatives.append((candidate,))
        # A corrected word may itself be a thesaurus term: "spoorwge" -> spoorweg -> railway.
        for synonym in thesaurus.synonyms((candidate,)):
            if synonym not in group.alternatives:
                group.alternatives.append(synonym)
                group.guessed.append(synonym)
