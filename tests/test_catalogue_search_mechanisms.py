"""Each search mechanism on records built for the test (not on the development set's queries).

Headless: the catalogue core needs no QGIS. The records are small and made up, shaped like PDOK's:
terse titles, layer names with ``_`` and ``:``, the dataset's name in the URL path.
"""

from __future__ import annotations

import pytest

from dtfl_plugin.catalogue.entry import Entry
from dtfl_plugin.catalogue.index import CatalogueIndex
from dtfl_plugin.catalogue.query import MECHANISMS

BASE = "https://service.example.nl"


def _entry(n: int, title: str, name: str, path: str, kind: str = "WMS", **kw) -> Entry:
    return Entry(id=f"e{n}:{kind}", title=title, name=name, service_type=kind, service_url=f"{BASE}/{path}", **kw)


RECORDS = [
    _entry(1, "Gemeenten", "gemeenten", "bestuurlijkegrenzen/wfs/v1_0", "WFS"),
    _entry(2, "Gemeenten", "gemeenten", "bestuurlijkegrenzen/wms/v1_0", "WMS"),
    _entry(3, "Gemeenten", "gemeenten", "bestuurlijkegrenzen/ogc/v1_0", "OGC API Features"),
    _entry(4, "Verkeersongevallen 2008-2017", "ongevallen:ongevallen_2017", "rws/ongevallen/wfs", "WFS"),
    _entry(5, "cbs_buurten_2013", "wijkenbuurten2013:cbs_buurten_2013", "wijkenbuurten2013/wfs", "WFS"),
    _entry(6, "Wijken en buurten 2013", "cbs_wijken_2013", "wijkenbuurten2013/wms", "WMS"),
    _entry(7, "ahn2_05m_dtm", "ahn2_05m_dtm", "ahn2/wcs", "WCS"),
    _entry(8, "Geluidkaart wegen", "geluidkaart_wegen", "geluid/wms", "WMS"),
    _entry(9, "Vogelrichtlijn verspreiding aalscholver", "vr_aalscholver", "vogelrichtlijn/wms", "WMS"),
    _entry(10, "Bestemmingsplangebied", "bestemmingsplangebied", "plu/wms", "WMS"),
    _entry(11, "Pand", "bag:pand", "bag/wfs/v1_1", "WFS"),
    _entry(12, "Pand", "pand", "bag/wms/v1_1", "WMS"),
    _entry(13, "Bodemgebruik", "bbg2015", "bestandbodemgebruik2015/wfs", "WFS"),
    _entry(14, "Gemeente", "gemeente_grens", "cbsgebiedsindelingen/wfs", "WFS"),
    _entry(15, "Stuwen", "stuw", "hwh/kunstwerken/wms", "WMS"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    idx = CatalogueIndex(tmp_path_factory.mktemp("mechanisms") / "catalogue.sqlite")
    idx.apply_harvest("test", [Entry.from_dict(e.to_dict()) for e in RECORDS])
    yield idx
    idx.close()


def _names(index, query: str, n: int = 3) -> list[str]:
    return [h.entry.name for h in index.search(query, n)]


def test_every_word_may_be_a_prefix(index):
    assert _names(index, "bestuurl gemeent", 1) == ["gemeenten"]  # both words cut short
    assert "ongevallen:ongevallen_2017" in _names(index, "verkeersong 2017")


def test_typo_tolerance_grows_with_word_length(index):
    assert _names(index, "verkeersongevalen", 1) == ["ongevallen:ongevallen_2017"]  # one edit
    assert _names(index, "verkersongevalen", 1) == ["ongevallen:ongevallen_2017"]  # two edits in a long word
    parsed = index.parse_query("pnad ")  # four letters: one edit only, and no guess at all below four
    assert parsed.groups[0].corrected == ["pand"]
    assert index.parse_query("pnd ").groups[0].corrected == []


def test_misspelt_start_of_a_longer_word(index):
    assert _names(index, "bestemingsplang", 1) == ["bestemmingsplangebied"]


def test_dutch_ij_typed_as_y(index):
    assert _names(index, "vogelrichtlyn aalscholver", 1) == ["vr_aalscholver"]


def test_compounds_joined_and_split(index):
    assert _names(index, "geluid kaart", 1) == ["geluidkaart_wegen"]  # the record writes one word
    assert _names(index, "bodem gebruik", 1) == ["bestandbodemgebruik2015:bbg2015".split(":")[1]]
    assert "wijkenbuurten2013:cbs_buurten_2013" in _names(index, "wijkenbuurten")


def test_url_path_segments_and_layer_names_are_split(index):
    assert "gemeenten" in _names(index, "bestuurlijke grenzen", 2)  # only in the URL path, as one word
    assert _names(index, "buurten 2013", 2)[0] in ("wijkenbuurten2013:cbs_buurten_2013", "cbs_wijken_2013")


def test_acronyms_and_years_are_tokens(index):
    assert _names(index, "ahn2", 1) == ["ahn2_05m_dtm"]
    assert _names(index, "ahn 2 dtm", 1) == ["ahn2_05m_dtm"]


def test_plural_and_singular_from_the_index(index):
    assert "stuw" in _names(index, "stuw")
    assert "gemeente_grens" in _names(index, "gemeenten", 5)


def test_one_row_per_layer_with_the_analysis_ready_service_first(index):
    hits = index.search("gemeenten", 10)
    rows = [h for h in hits if h.entry.name == "gemeenten"]
    assert len(rows) == 1
    assert [s.service_type for s in rows[0].services] == ["OGC API Features", "WFS", "WMS"]


def test_service_type_word_picks_the_service(index):
    assert index.search("wms gemeenten", 1)[0].entry.service_type == "WMS"
    assert index.search("wfs pand", 1)[0].entry.service_type == "WFS"
    parsed = index.parse_query("wfs pand")
    assert parsed.service_types == ("WFS",) and [g.typed for g in parsed.groups] == [("pand",)]


def test_relaxed_query_names_the_missing_word_and_suggests(index):
    hits = index.search("pand zzyzx", 5)
    assert hits.relaxed and hits.unmatched == ["zzyzx"]
    assert hits and hits[0].entry.name in ("bag:pand", "pand") and hits[0].coverage < 1
    corrected = index.search("verkeersongevallne qqqqqq", 5)
    assert corrected.suggestion.startswith("verkeersongevallen")


def test_every_candidate_is_ranked(tmp_path):
    # 150 weak matches first in index order, the strong one last: it must still come first.
    weak = [
        _entry(100 + i, f"Kaartlaag {i}", f"laag_{i}", f"diverse/{i}/wms", abstract="over water") for i in range(150)
    ]
    strong = _entry(999, "Water", "water", "water/wfs", "WFS")
    idx = CatalogueIndex(tmp_path / "many.sqlite")
    try:
        idx.apply_harvest("test", [*weak, strong])
        assert idx.search("water", 3)[0].entry.name == "water"
    finally:
        idx.close()


def test_a_mechanism_switched_off_changes_the_answer(index):
    MECHANISMS["typo"] = False
    try:
        assert _names(index, "verkersongevalen ", 1) != ["ongevallen:ongevallen_2017"]
    finally:
        MECHANISMS["typo"] = True


def test_gemet_and_inspire_translate(index):
    assert ("bodemgebruik",) in index.parse_query("land use").groups[0].alternatives  # GEMET: land use
    assert "bbg2015" in _names(index, "land use", 2)


def test_abbreviations_the_catalogue_defines_itself(tmp_path):
    """One record spells out "Zoutwaterindringing Kustgebied Nederland (ZKN)"; another only says "ZKN"."""
    records = [
        _entry(
            1,
            "Kustkaart",
            "kust",
            "kust/wms",
            abstract="Gegevens van de Zoutwaterindringing Kustgebied Nederland (ZKN).",
        ),
        _entry(2, "ZKN meetpunten", "zkn_meetpunten", "zkn/wfs", "WFS"),
    ]
    idx = CatalogueIndex(tmp_path / "abbr.sqlite")
    try:
        idx.apply_harvest("test", records)
        assert ("zkn",) in idx.parse_query("zoutwaterindringing kustgebied nederland").groups[0].alternatives
        assert "zkn_meetpunten" in _names(idx, "zoutwaterindringing kustgebied nederland", 3)
        idx.apply_harvest("test", records[1:])  # the defining record is gone: so is the abbreviation
        assert ("zkn",) not in idx.parse_query("zoutwaterindringing kustgebied nederland").groups[0].alternatives
    finally:
        idx.close()


def test_long_lived_search_data_is_not_walked_by_the_garbage_collector():
    """A full garbage collection holds the interpreter, and QGIS's GUI thread with it, for as long as it walks
    the tracked objects: the vocabulary and thesaurus (hundreds of thousands of words at 100,000 records) must
    not add to that walk, or typing stutters whenever one runs (measured: 109-123 ms GUI steps at 100k)."""
    import gc
    import itertools

    from dtfl_plugin.catalogue.thesaurus import default_thesaurus
    from dtfl_plugin.catalogue.vocabulary import Vocabulary

    def walked() -> int:
        gc.collect()
        gc.collect()  # a dict leaves the walk once its tuples did, a collection later
        return sum(len(gc.get_referents(o)) for o in gc.get_objects())

    def vocabulary(n: int) -> Vocabulary:
        words = itertools.islice(itertools.product("abcdefghij", repeat=6), n)
        made = Vocabulary({"".join(w): 1 + i % 7 for i, w in enumerate(words)})
        assert made.completions("aab", 5) and "aaabcd" in made.near("aaabcdd", 1)  # builds its search data
        return made

    thesaurus = default_thesaurus().with_concepts([{"nl": ["proefwoord"], "en": ["test word"]}])
    assert thesaurus.synonyms(("proefwoord",))
    walked()
    assert not any(gc.is_tracked(x) for x in (thesaurus.concepts, *thesaurus._by_key.values()))
    base = walked()
    small = vocabulary(10_000)
    with_small = walked() - base
    large = vocabulary(90_000)
    with_both = walked() - base - with_small
    assert not any(gc.is_tracked(x) for x in (large.sorted, large._terms, *large._grams.values()))
    # Python 3.14 walks every dict (older versions drop dicts of plain values too): two references an entry
    # of the vocabulary's own dicts is the floor; lists added about six a word more.
    floor = 2 * (len(large.counts) + len(large._grams))
    assert with_both < floor + 1_000, f"90,000 words add {with_both} references to every full collection's walk"
    assert small
