"""Dutch-aware text preparation, thesaurus expansion and query building (pure Python)."""

from __future__ import annotations

import pytest

from dtfl_plugin.catalogue.query import Vocabulary, parse
from dtfl_plugin.catalogue.text import CompoundSplitter, fold, index_terms, stem, url_text, words
from dtfl_plugin.catalogue.thesaurus import default_thesaurus


def test_fold_removes_diacritics_and_case():
    assert fold("België Één Coördinaat") == "belgie een coordinaat"


def test_words_split_layer_names_and_possessives():
    assert words("bestuurlijkegebieden:Gemeentegebied") == ["bestuurlijkegebieden", "gemeentegebied"]
    assert words("Luchtfoto's 2015") == ["luchtfotos", "2015"]
    assert words("ahn3_05m_dtm") == ["ahn3", "05m", "dtm"]


@pytest.mark.parametrize(
    "word, expected",
    [
        ("plannen", "plan"),
        ("wegen", "weg"),
        ("gebieden", "gebied"),
        ("luchtfotos", "luchtfoto"),
        ("windsnelheden", "windsnelheid"),
        ("provincies", "provincie"),
        ("gas", "gas"),  # too short to touch
        ("status", "status"),  # -us is no plural
    ],
)
def test_stem(word, expected):
    assert stem(word) == expected


def test_compounds_split_on_known_heads_and_linking_s():
    splitter = CompoundSplitter(default_thesaurus().vocabulary())
    assert splitter.split("bestemmingsplannen") == ("bestemming", "plannen")
    assert splitter.split("hoogtekaart") == ("hoogte", "kaart")
    assert splitter.split("gemeentegebied") == ("gemeente", "gebied")
    assert splitter.split("kaart") == ()  # not a compound


def test_index_terms_hold_words_stems_parts():
    terms = index_terms("Luchtfoto's ahn3 Bestemmingsplannen", CompoundSplitter(default_thesaurus().vocabulary()))
    for term in ("luchtfotos", "luchtfoto", "ahn3", "ahn", "3", "bestemmingsplannen", "bestemmingsplan", "plan"):
        assert term in terms


def test_url_text_keeps_host_and_path_words():
    text = url_text("https://service.pdok.nl/kadaster/kadastralekaart/wms/v5_0?request=GetCapabilities")
    assert "kadastralekaart" in text.split() and "pdok" in text.split()
    assert "getcapabilities" not in text


def test_thesaurus_both_directions_and_phrases():
    th = default_thesaurus()
    assert ("bodem",) in th.synonyms(("soil",))
    assert ("soil",) in th.synonyms(("bodem",))
    assert ("spoorweg",) in th.synonyms(("railway",))
    assert ("overstroming",) in th.synonyms(("flood",))
    exp = th.expand(["aerial", "photo", "delft"])
    assert (exp[0].start, exp[0].end) == (0, 2) and ("luchtfoto",) in exp[0].alternatives
    assert exp[1].alternatives == ()


def test_query_expression_ands_groups_and_every_word_may_be_a_prefix():
    q = parse("bodem kaa", default_thesaurus(), None)
    expr = q.expression
    assert '"soil"' in expr and '"kaa"*' in expr and " AND " in expr
    # People stop typing anywhere, not only in the last word: "bestuurl grenz".
    assert '"bestuurl"*' in parse("bestuurl grenz", default_thesaurus(), None).expression
    assert '"ka"*' not in parse("bodem ka", default_thesaurus(), None).expression  # too short to mean anything


def test_typo_gets_one_edit_candidates_from_vocabulary():
    vocab = Vocabulary({"spoorweg": 5, "spoorwegen": 3, "kadastralekaart": 2})
    q = parse("spoorwge ", default_thesaurus(), vocab)
    assert q.groups[0].corrected[0] == "spoorweg"  # the closest first; eight letters allow two edits
    assert ("railway",) in q.groups[0].alternatives  # the correction is expanded too
    assert parse("spoorweg ", default_thesaurus(), vocab).groups[0].corrected == []


def test_nothing_searchable():
    assert parse("  ,.; ", default_thesaurus(), None) is None


def test_function_words_are_dropped_unless_alone():
    th = default_thesaurus()
    assert [g.typed for g in parse("kaart van de bodem ", th, None).groups] == [("kaart",), ("bodem",)]
    assert [g.typed for g in parse("flora en fauna ", th, None).groups] == [("flora", "en", "fauna")]
    assert [g.typed for g in parse("van de ", th, None).groups] == [("van",), ("de",)]


def test_typo_tolerance_by_length_and_known_words():
    from dtfl_plugin.catalogue.vocabulary import max_edits

    assert [max_edits("x" * n) for n in (3, 4, 9, 10)] == [0, 1, 1, 2]
    vocab = Vocabulary({"zeewater": 4, "verkeersongevallen": 2, "waterschap": 3})
    assert parse("zwemwater ", default_thesaurus(), vocab).groups[0].corrected == []  # two edits at nine letters
    assert parse("verkersongevalen ", default_thesaurus(), vocab).groups[0].corrected == ["verkeersongevallen"]
    # "waste" is an English word the thesaurus knows: translated, never "corrected" into waterschap
    assert parse("waste ", default_thesaurus(), vocab).groups[0].corrected == []
