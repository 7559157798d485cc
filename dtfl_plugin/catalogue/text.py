"""Dutch-aware text normalisation for the catalogue index (pure Python, no QGIS).

SQLite's FTS5 tokenisers know nothing about Dutch: "Luchtfoto's", "luchtfoto" and "luchtfotos"
would be three words, "bestemmingsplannen" never matches "plan", "België" never matches
"belgie". So the index does its own preparation before the text reaches FTS5 (which then only
splits on spaces, ``unicode61 remove_diacritics 0``):

- lower case and diacritics folded (unicodedata NFKD, combining marks dropped);
- words split on anything that is not a letter or digit (layer names such as
  ``ahn3_05m_dtm`` or ``bestuurlijkegebieden:Gemeentegebied`` become words), and letters split
  from digits as extra words (``ahn3`` -> ``ahn3 ahn 3``);
- a light stem (Dutch/English plurals and possessives: -'s, -s, -en, -es) added beside the word;
- compounds split into known parts (``bestemmingsplannen`` -> ``bestemming plan``), using the
  thesaurus vocabulary and common Dutch compound heads (-kaart, -gebied, -hoogte, ...).

Queries pass through the same functions, so the index and the query always agree.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import chain

_WORD = re.compile(r"[a-z0-9]+")
_DECIMAL = re.compile(r"(?<=\d)[.,](?=\d)")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_ALPHA_NUM = re.compile(r"[a-z]+|[0-9]+")

# Common Dutch compound heads (the last part of a compound word). Sub-words of compounds that
# end in one of these are indexed too: "hoogtekaart" -> "hoogte", "kaart".
COMPOUND_HEADS: tuple[str, ...] = (
    "kaart",
    "kaarten",
    "gebied",
    "gebieden",
    "hoogte",
    "hoogten",
    "bestand",
    "bestanden",
    "register",
    "registratie",
    "netwerk",
    "netwerken",
    "plan",
    "plannen",
    "grens",
    "grenzen",
    "zone",
    "zones",
    "lijn",
    "lijnen",
    "vlak",
    "vlakken",
    "punt",
    "punten",
    "kering",
    "keringen",
    "weg",
    "wegen",
    "deel",
    "delen",
    "water",
    "wateren",
    "gang",
    "gangen",
    "model",
    "modellen",
    "foto",
    "fotos",
    "beeld",
    "beelden",
    "dienst",
    "diensten",
    "laag",
    "lagen",
    "perceel",
    "percelen",
    "gebouw",
    "gebouwen",
    "object",
    "objecten",
    "visualisatie",
    "belasting",
    "bescherming",
    "risico",
    "kwaliteit",
    "snelheid",
    "snelheden",
    "terrein",
    "terreinen",
    "grond",
    "bodem",
    "kade",
    "dijk",
    "dijken",
    "spoor",
    "baan",
    "banen",
    "route",
    "routes",
    "locatie",
    "locaties",
    "kwetsbaar",
    "gebruik",
    "hoogtebestand",
    "natuur",
    "monument",
    "monumenten",
    "adres",
    "adressen",
)

# Linking sounds between the parts of a Dutch compound ("bestemming-s-plan", "zee-en-gebied").
_LINKS = ("s", "en", "e")
_MIN_PART = 3


def fold(text: str) -> str:
    """Lower case with diacritics removed: 'België Één' -> 'belgie een'."""
    if not text:
        return ""
    text = text.lower()
    if text.isascii():
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def words(text: str) -> list[str]:
    """Folded words of ``text`` (letters and digits), in order, duplicates kept."""
    # "0,5 m" and "0.5m" are one number, as in layer names like ahn3_05m_dtm
    return _WORD.findall(_DECIMAL.sub("", fold(text).replace("'s", "s").replace("\u2019s", "s")))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light plural/possessive stem for Dutch and English; never shorter than 3 letters.

    Deliberately conservative: a wrong stem that merges unrelated words costs more relevance
    than a missed plural (the typo and prefix matching catch many of those anyway).
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 5:  # Dutch plural of -ie: provincies -> provincie
        return word[:-1]
    if word.endswith("heden") and len(word) > 6:  # snelheden -> snelheid
        return word[:-5] + "heid"
    if word.endswith("en") and len(word) >= 5:
        base = word[:-2]
        # Dutch doubles a consonant after a short vowel: plannen -> plan, wegen -> weg
        if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "aeiou":
            base = base[:-1]
        return base
    if word.endswith("es") and len(word) > 5 and word[-3] in "sxz":  # English: boxes -> box
        return word[:-2]
    if word.endswith("s") and len(word) > 4 and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def variants(word: str) -> list[str]:
    """The word, its stem and its letter/digit parts: what one surface word is indexed as."""
    out = [word]
    s = stem(word)
    if s != word:
        out.append(s)
    if not word.isalpha() and not word.isdigit():
        parts = _ALPHA_NUM.findall(word)
        if len(parts) > 1:
            out.extend(p for p in parts if p not in out)
    return out


class CompoundSplitter:
    """Split Dutch compounds into known parts, greedily from the end (Dutch compounds are head-final)."""

    def __init__(self, vocabulary: set[str] | None = None) -> None:
        # Three-letter words from a thesaurus ("ice", "ver") cut real words into nonsense: heads only.
        vocab = {w for w in (vocabulary or set()) if len(w) > _MIN_PART and w.isalpha()}
        vocab.update(COMPOUND_HEADS)
        self.vocabulary = frozenset(vocab)
        self._max = max((len(w) for w in self.vocabulary), default=0)
        self._cache: dict[str, tuple[str, ...]] = {}
        self._terms: _TermCache | None = None

    @property
    def terms(self) -> _TermCache:
        """word -> its index terms (variants and compound parts), cached: words repeat a lot."""
        if self._terms is None:
            self._terms = _TermCache(self)
        return self._terms

    def split(self, word: str) -> tuple[str, ...]:
        """Parts of ``word`` (without the word itself), () when it is not a known compound."""
        if len(word) < 2 * _MIN_PART or not word.isalpha():
            return ()
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        parts = self._split(word, 0)
        result = tuple(parts) if parts and len(parts) > 1 else ()
        if len(self._cache) < 200000:
            self._cache[word] = result
        return result

    def _split(self, word: str, depth: int) -> list[str] | None:
        if depth and word in self.vocabulary:  # a known word is a part, but the whole word is no split
            return [word]
        if depth > 3:
            return None
        # Longest known head first, then the rest (with an optional linking -s-/-en-/-e-).
        for size in range(min(len(word) - _MIN_PART, self._max), _MIN_PART - 1, -1):
            head = word[-size:]
            if head not in self.vocabulary:
                continue
            rest = word[:-size]
            for candidate in (rest, *(rest[: -len(link)] for link in _LINKS if rest.endswith(link))):
                if len(candidate) < _MIN_PART:
                    continue
                sub = self._split(candidate, depth + 1)
                if sub:
                    return [*sub, head]
            # An unknown modifier is still worth indexing when it is long enough to mean something.
            if len(rest) >= _MIN_PART:
                # -ing, -heid, -teit, -schap, -tie take a linking s: "bestemming-s-plan".
                if rest.endswith(("ings", "heids", "teits", "schaps", "ties")):
                    rest = rest[:-1]
                return [rest, head]
        return None


def index_terms(text: str, splitter: CompoundSplitter | None = None) -> list[str]:
    """All terms ``text`` is indexed under: words, stems, letter/digit parts, compound parts."""
    # Loops in C (dict.fromkeys, map, chain): indexing 100,000 records runs this 500,000 times.
    cache = splitter.terms if splitter is not None else _TERMS
    return list(dict.fromkeys(chain.from_iterable(map(cache.__getitem__, dict.fromkeys(words(text))))))


class _TermCache(dict):
    """word -> what it is indexed as; filled on first use (``__missing__``)."""

    def __init__(self, splitter: CompoundSplitter | None = None) -> None:
        super().__init__()
        self.splitter = splitter

    def __missing__(self, word: str) -> tuple[str, ...]:
        found = list(variants(word))
        if self.splitter is not None:
            for part in self.splitter.split(word):
                for term in (part, stem(part)):
                    if term not in found:
                        found.append(term)
        terms = tuple(found)
        if len(self) < 500000:
            self[word] = terms
        return terms


_TERMS = _TermCache()


def index_text(text: str, splitter: CompoundSplitter | None = None) -> str:
    """``index_terms`` as one space-separated string for an FTS5 column."""
    return " ".join(index_terms(text, splitter))


def url_text(url: str, splitter: CompoundSplitter | None = None) -> str:
    """Searchable words of a service URL: host and path parts, without scheme and query noise.

    Path segments are often the dataset's name written as one word (``/bestuurlijkegrenzen/``):
    with a splitter they are split into their parts like any other compound.
    """
    if not url:
        return ""
    base = url.split("?", 1)[0]
    base = re.sub(r"^[a-z]+://", "", base, flags=re.IGNORECASE)
    kept = " ".join(w for w in words(base) if w not in ("www", "https", "http"))
    return index_text(kept, splitter) if splitter is not None else kept


def contained(label: str, title: str) -> bool:
    """True when every word of ``label`` already appears in ``title`` (no point repeating it)."""
    have = set(words(title))
    return all(w in have for w in words(label))
