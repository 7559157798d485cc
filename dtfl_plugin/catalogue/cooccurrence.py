"""Synonyms the catalogue teaches itself: acronyms and what they stand for (pure Python).

Records define their own abbreviations ("Actueel Hoogtebestand Nederland (AHN)", "Kaderrichtlijn Water
(KRW)"), while other records of the same data say only the short form (a layer called ``ahn3_05m_dtm``,
a title "KRW"). A definition found in any record makes the two forms one concept for searching, so this
vocabulary grows with the catalogue instead of with a hand list.
"""

from __future__ import annotations

import re

from .text import fold

# "<words> (<ACRONYM>)": an all-capitals abbreviation in brackets; the words before it are read after.
_ABBREVIATION = re.compile(r"\(\s*([A-Z][A-Z0-9]{2,7})\s*\)")
_WORD = re.compile(r"[^\W\d_][\w'-]*")
MAX_WORDS = 8
_SKIP = frozenset("de het een van der voor en in op the of and for to".split())
MAX_PER_ACRONYM = 3  # phrases kept per abbreviation: the commonest definitions


def _stands_for(acronym: str, words: list[str]) -> list[str] | None:
    """The shortest tail of ``words`` that ``acronym`` abbreviates, or None.

    Each content word's initial must appear in the acronym in order, the first one first, and every
    letter of the acronym in the words in order ("KRW" = Kader-Richtlijn Water: compounds give more letters).
    """
    letters = [c for c in fold(acronym) if c.isalpha()]
    if len(letters) < 3:  # two letters stand for too many things ("GO", "BL")
        return None
    for start in range(len(words) - 1, -1, -1):
        tail = words[start:]
        content = [w for w in tail if w not in _SKIP]
        if not content or fold(content[0])[0] != letters[0]:
            continue
        if len(content) > len(letters):
            return None
        if _initials_fit(letters, content) and _subsequence(letters, " ".join(content)):
            return tail
    return None


def _initials_fit(letters: list[str], words: list[str]) -> bool:
    i = 0
    for word in words:
        while i < len(letters) and letters[i] != word[0]:
            i += 1
        if i == len(letters):
            return False
        i += 1
    return True


def _subsequence(letters: list[str], text: str) -> bool:
    it = iter(text)
    return all(c in it for c in letters)


def acronyms(texts) -> dict[str, list[str]]:
    """{acronym (folded): [phrases it stands for, commonest first]} from titles, abstracts, keywords."""
    counts: dict[tuple[str, str], int] = {}
    for text in texts:
        if not text or "(" not in text:
            continue
        for match in _ABBREVIATION.finditer(text):
            acronym = match.group(1)
            before = text[max(0, match.start() - 160) : match.start()]
            words = [fold(w) for w in _WORD.findall(before)[-MAX_WORDS:]]
            tail = _stands_for(acronym, words)
            if tail:
                key = (fold(acronym), " ".join(tail))
                counts[key] = counts.get(key, 0) + 1
    out: dict[str, list[str]] = {}
    for (acronym, phrase), _n in sorted(counts.items(), key=lambda kv: -kv[1]):
        if len(out.setdefault(acronym, [])) < MAX_PER_ACRONYM:
            out[acronym].append(phrase)
    return out


def concepts(found: dict[str, list[str]]) -> list[dict]:
    """Thesaurus concepts (see thesaurus.py) from ``acronyms()``: the abbreviation and its phrases are one."""
    return [{"src": "catalogue", "nl": [acronym, *phrases]} for acronym, phrases in sorted(found.items())]
