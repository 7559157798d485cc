"""The ranking's shortcuts change its speed, never its scores: records built for the test.

Headless. A long abstract is tested as a set of its words (not scanned per query term), rows that agree on
which columns hold each term and on the columns' lengths are scored once per search, and the prepared texts
kept between keystrokes are bounded by their size.
"""

from __future__ import annotations

import pytest

from dtfl_plugin.catalogue import ranking, scoring
from dtfl_plugin.catalogue.entry import Entry
from dtfl_plugin.catalogue.index import CatalogueIndex

FILLER = (
    "Deze dataset beschrijft de situatie zoals die door de beheerder is vastgelegd en wordt periodiek "
    "bijgewerkt op basis van metingen, modelberekeningen en waarnemingen in het veld; gebruik met zorg. "
)


def _records() -> list[Entry]:
    out = []
    topics = [
        ("Geluidbelasting spoorwegen nacht", "geluid_spoor_nacht", "Geluid van treinen in de nacht (Lnight)."),
        ("Geluidskaart wegen", "geluidskaart_wegen", "Geluidskaart van rijkswegen; geluid overdag."),
        ("Spoorwegen", "spoorwegen", "Het spoorwegnet met stations en emplacementen, ook 's nachts."),
        ("Nachtelijke verlichting", "licht_nacht", "Kunstlicht in de nacht boven natuurgebieden; geen geluid."),
        ("Wegen", "wegen", "Wegvakken van het Nationaal Wegenbestand; de nachtegaal, de ongeluidige nachtzwaluw."),
    ]
    for n, (title, name, lead) in enumerate(topics):
        for k in range(4):  # variants: one more word in the abstract each time (another length)
            abstract = " ".join([lead, FILLER * (2 + n % 2), *["alfa", "bravo", "charlie"][:k]])
            out.append(
                Entry(
                    id=f"r{n}-{k}:WMS",
                    title=title,
                    name=f"{name}_{k}",
                    service_type="WMS",
                    service_url=f"https://service.example.nl/{name}/{k}/wms",
                    abstract=abstract,
                    keywords=["geluid", "milieu"] if n < 2 else ["infrastructuur"],
                    organisation="Testdienst",
                )
            )
    return out


QUERIES = ["geluid spoorwegen nacht", "geluid", "spoorwegen nacht wegen", "nachtelijke geluidskaart", "geluidskaart"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    idx = CatalogueIndex(tmp_path_factory.mktemp("scoring") / "catalogue.sqlite")
    idx.apply_harvest("test", _records())
    assert len(scoring.Scorer(idx.parse_query("geluid spoorwegen nacht"), idx.statistics(), idx.vocabulary()).patterns)
    yield idx
    idx.close()


def _ranked(index, query: str) -> list[tuple[str, float, list[str], float]]:
    index.doc_cache().clear()
    return [(h.entry.id, h.score, list(h.matched), h.coverage) for h in index.search(query, 20)]


def test_the_abstract_as_a_set_of_words_scores_as_scanning_it(index, monkeypatch):
    monkeypatch.setattr(scoring, "LONG_COLUMN", 10)  # every abstract through the set
    monkeypatch.setattr(scoring, "SET_FROM_TERMS", 1)
    by_set = {q: _ranked(index, q) for q in QUERIES}
    monkeypatch.setattr(scoring, "LONG_COLUMN", 10**9)  # every abstract scanned
    scanned = {q: _ranked(index, q) for q in QUERIES}
    assert by_set == scanned
    assert all(scanned.values())


def test_the_set_is_used_for_long_abstracts_and_many_terms(index):
    many = scoring.Scorer(index.parse_query("geluid spoorwegen nacht"), index.statistics(), index.vocabulary())
    few = scoring.Scorer(index.parse_query("wegen"), index.statistics(), index.vocabulary())
    assert many.by_set and len(many.patterns) >= scoring.SET_FROM_TERMS > len(few.patterns) and not few.by_set
    assert max(len(r.abstract) for r in _records()) >= scoring.LONG_COLUMN


def test_rows_alike_but_for_a_length_are_scored_each(index):
    hits = {h.entry.id: h.score for h in index.search("geluid spoorwegen nacht", 20)}
    variants = [hits[f"r0-{k}:WMS"] for k in range(4)]
    # One more word in the abstract is a longer abstract: each variant its own score, longer ones lower.
    assert variants == sorted(variants, reverse=True) and len(set(variants)) == 4


def test_rows_alike_are_scored_once_per_search(index):
    scorer = scoring.Scorer(index.parse_query("spoorwegen"), index.statistics(), index.vocabulary())
    doc = " spoorwegen \x1f spoorwegen_1 \x1f \x1f \x1f het spoorwegnet \x1f "
    first = scorer.score(doc)
    again = scorer.score(doc)
    assert first == again and len(scorer.memo) == 1
    again[1].append("changed")  # each hit has its own list of matched words
    assert scorer.score(doc)[1] == first[1]


def test_prepared_texts_kept_are_bounded_by_size(monkeypatch):
    monkeypatch.setattr(ranking, "DOC_CACHE_CHARS", 100)
    cache = ranking.DocCache()
    for rowid in range(30):
        assert cache.add(rowid, "x" * 10) == "x" * 10
        assert cache.chars == sum(map(len, cache.values())) <= 100
    assert 29 in cache and 28 in cache and 0 not in cache  # the newest stay, the oldest went
    cache.clear()
    assert cache.chars == 0 and not cache


def test_an_option_holding_another_is_absorbed_with_the_same_rows_in_the_same_order():
    """An OR option that holds all the parts of another adds no row: it is left out of the FTS5 expression,
    and FTS5 returns the same rows in the same order as with it (fails when the option is kept)."""
    import sqlite3

    from dtfl_plugin.catalogue.query import Group, group_expression

    group = Group(("brt",), [("brt", "topografie"), ("top10nl",), ("top10nl", "brt", "kaart"), ("brt", "brt")])
    expression = group_expression(group)
    assert "topografie" not in expression and "kaart" not in expression
    full = '("brt" OR ("brt" AND "topografie") OR "top10nl" OR ("top10nl" AND "brt" AND "kaart") OR "brt")'
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, b)")
    words = ["brt", "brtkaart", "topografie", "top10nl", "kaart", "luchtfoto", "ahn"]
    rows = [(" ".join(words[(i * k) % 7] for k in (1, 3, 5)), words[(i * 2) % 7]) for i in range(60)]
    conn.executemany("INSERT INTO t(a, b) VALUES (?, ?)", rows)
    for limit in (5, 20, 100):
        sql = "SELECT rowid FROM t WHERE t MATCH ? LIMIT ?"
        want = conn.execute(sql, (full, limit)).fetchall()
        assert want and conn.execute(sql, (expression, limit)).fetchall() == want
        sql = "SELECT rowid FROM t WHERE t MATCH ? LIMIT ?"
        assert (
            conn.execute(sql, ("{b} : " + expression, limit)).fetchall()
            == conn.execute(sql, ("{b} : " + full, limit)).fetchall()
        )


def test_rows_read_from_the_cache_or_the_table_rank_alike(index, monkeypatch):
    """Without filters FTS5 alone finds the rows and the entries table is read only for rows not cached: the
    answer is the same from an empty cache, a full one, one holding every other row, and through the join that
    a filter uses."""
    from dtfl_plugin.catalogue.schema import SearchFilters

    def answer(q: str) -> list:
        return [(h.entry.id, h.score, list(h.matched), h.coverage, [s.id for s in h.services]) for h in index.search(q)]

    for q in QUERIES:
        cache = index.doc_cache()
        cache.clear()
        cold = answer(q)
        assert cache and set(cache.layers) == set(cache)  # every row read was kept with its layer
        warm = answer(q)
        for rowid in list(cache)[::2]:
            cache.chars -= len(cache.pop(rowid))
            cache.layers.pop(rowid)
        half = answer(q)
        joined = [(h.entry.id, h.score, list(h.matched), h.coverage, [s.id for s in h.services])
                  for h in index.search(q, filters=SearchFilters(service_types={"WMS"}))]  # fmt: skip
        assert cold and cold == warm == half == joined, q


def test_a_column_without_query_words_does_not_split_the_rows_alike(index):
    scorer = scoring.Scorer(index.parse_query("spoorwegen"), index.statistics(), index.vocabulary())
    short = " spoorwegen \x1f spoorwegen_1 \x1f \x1f \x1f het net \x1f "
    longer = " spoorwegen \x1f spoorwegen_1 \x1f \x1f \x1f het net met stations en emplacementen \x1f "
    assert scorer.score(short) == scorer.score(longer) and len(scorer.memo) == 1
    held = " spoorwegen \x1f spoorwegen_1 \x1f \x1f \x1f de spoorwegen met stations \x1f "
    longer_held = " spoorwegen \x1f spoorwegen_1 \x1f \x1f \x1f de spoorwegen met stations en emplacementen \x1f "
    assert scorer.score(held)[0] > scorer.score(longer_held)[0] > scorer.score(short)[0]  # the abstract's length counts
    assert len(scorer.memo) == 3
