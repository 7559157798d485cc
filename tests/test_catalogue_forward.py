"""The forward index (catalogue/forward.py) ranks exactly as the text path does, on a catalogue built for the
test: many services per layer, long and short abstracts, words that start other words, more candidates than
one tier scores. Headless: the catalogue core needs no QGIS."""

from __future__ import annotations

import json
import random
import sys

import pytest

from dtfl_plugin.catalogue import forward, ranking
from dtfl_plugin.catalogue.entry import Entry
from dtfl_plugin.catalogue.index import CatalogueIndex, SearchFilters

TOPICS = [
    "geluid", "geluidskaart", "geluidzone", "spoorweg", "spoorwegen", "nacht", "gemeente", "gemeenten", "grens",
    "grenzen", "bodem", "bodemgebruik", "water", "waterkering", "waterdiepte", "hoogte", "hoogtebestand",
    "luchtfoto", "natuur", "natura2000", "gebied", "gebieden", "pand", "panden", "weg", "wegen", "noise", "railway",
]  # fmt: skip
FILLER = "de het van en op in voor met kaart gegevens bestand actueel landelijk provincie kwaliteit".split()
OWNERS = ["Kadaster", "Rijkswaterstaat", "RIVM", "Provincie Utrecht", "CBS"]
KINDS = ["WMS", "WFS", "WMTS", "OGC API Features", "WCS"]


def _records(n_layers: int, seed: int = 7) -> list[Entry]:
    rng = random.Random(seed)
    out = []
    for i in range(n_layers):
        words = rng.sample(TOPICS, rng.randint(1, 3))
        title = " ".join(w.capitalize() for w in words) + f" {rng.randint(2000, 2024)}"
        abstract = " ".join(rng.choice(TOPICS + FILLER * 3) for _ in range(rng.choice((3, 12, 40, 90))))
        name = "_".join(words[:2]) + f"_{i}"
        for kind in rng.sample(KINDS, rng.randint(1, 3)):
            out.append(
                Entry(
                    id=f"l{i}:{kind}",
                    title=title,
                    name=name,
                    service_type=kind,
                    abstract=abstract,
                    organisation=rng.choice(OWNERS),
                    dataset_id=f"ds-{i}",
                    keywords=rng.sample(TOPICS, 2),
                    service_url=f"https://service.example.nl/{words[0]}/{kind.split()[0].lower()}/v1_0",
                )  # fmt: skip
            )
    return out


QUERIES = [
    "geluid", "geluid spoorwegen nacht", "railway noise", "gemeentegrenzen", "gemeente grenzen", "bodem gebruik",
    "water", "waterdiepte kaart", "hoogtebestand actueel", "natura2000 gebieden", "luchtfoto 2015", "panden",
    "wfs geluid", "ogc api water", "wmts luchtfoto", "geluidskart", "spoorwgen", "pand waterkering onbekendwoord",
    "zzzz", "kaart", "noise map", "natura 2000",
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    idx = CatalogueIndex(tmp_path_factory.mktemp("forward") / "catalogue.sqlite")
    idx.apply_harvest("test", _records(900))
    yield idx
    idx.close()


def _dump(index, query: str, limit: int, filters=None) -> str:
    result = index.search(query, limit, filters)
    hits = [(h.entry.id, repr(h.score), h.matched, repr(h.coverage), [s.id for s in h.services]) for h in result]
    return json.dumps([hits, result.unmatched, result.suggestion, result.relaxed])


def _both(index, monkeypatch, query: str, limit: int, filters=None) -> tuple[str, str]:
    monkeypatch.setattr(ranking, "FORWARD", True)
    together = _dump(index, query, limit, filters)
    monkeypatch.setattr(ranking, "FORWARD", False)
    index.doc_cache().clear()
    one_by_one = _dump(index, query, limit, filters)
    return together, one_by_one


def test_forward_ranks_exactly_as_the_text(index, monkeypatch):
    assert index.build_forward() is not None and index.forward() is not None
    calls = []
    score = forward.ForwardIndex.score
    monkeypatch.setattr(forward.ForwardIndex, "score", lambda self, *a: calls.append(1) or score(self, *a))
    keystrokes = sorted({q[:k] for q in QUERIES[:6] for k in range(2, len(q) + 1)})
    for query in QUERIES + keystrokes:
        for limit in (1, 3, 20):
            together, one_by_one = _both(index, monkeypatch, query, limit)
            assert together == one_by_one, (query, limit)
    assert calls, "the forward index was never used"


def test_more_candidates_than_a_tier_scores(index, monkeypatch):
    monkeypatch.setattr(ranking, "MAX_CANDIDATES", 40)  # tiers cut short: the next tiers and the relaxed step run
    for query in ("geluid water", "gemeente bodem pand", "kaart", "noise water grens"):
        together, one_by_one = _both(index, monkeypatch, query, 20)
        assert together == one_by_one, query


def test_filters_and_service_types_rank_alike(index, monkeypatch):
    filters = SearchFilters(service_types={"WFS", "WCS"}, organisations={"Kadaster", "RIVM"})
    for query in ("geluid", "wfs water", "hoogte"):
        together, one_by_one = _both(index, monkeypatch, query, 10, filters)
        assert together == one_by_one, query
        assert json.loads(together)[0], query


def test_a_write_makes_it_stale_and_searches_go_on_from_the_text(tmp_path):
    idx = CatalogueIndex(tmp_path / "catalogue.sqlite")
    try:
        idx.apply_harvest("test", _records(30))
        built = idx.build_forward()
        assert built is not None and idx.forward() is built
        new = Entry(id="n1:WFS", title="Schelpdierwater", name="schelpdierwater", service_type="WFS",
                    service_url="https://service.example.nl/schelpdier/wfs")  # fmt: skip
        idx.apply_harvest("other", [new])
        assert idx.forward() is None  # a search never waits for it, nor uses one of an older generation
        assert [h.entry.id for h in idx.search("schelpdierwater", 5)] == ["n1:WFS"]
        idx.warm()
        assert idx.forward() is not None and idx.forward() is not built
        assert [h.entry.id for h in idx.search("schelpdierwater", 5)] == ["n1:WFS"]
    finally:
        idx.close()


def test_a_build_stops_when_a_write_comes(tmp_path):
    idx = CatalogueIndex(tmp_path / "catalogue.sqlite")
    try:
        idx.apply_harvest("test", _records(3000))
        assert forward.ForwardIndex.build(idx.conn, cancelled=lambda: True) is None
        empty = CatalogueIndex(tmp_path / "empty.sqlite")
        built = empty.build_forward()
        assert built is not None and built.score(None, []) == ([], [])
        assert list(empty.search("geluid", 5)) == []
        empty.close()
    finally:
        idx.close()


def test_four_bytes_a_term(index):
    built = index.build_forward()
    assert built.ids.dtype.itemsize == 4
    assert built.ids.size == int(built.lens.sum())
    assert built.nbytes < 4 * built.ids.size + 80 * len(built.lens) + 4 * len(built.position) + 64


def test_without_numpy_searches_rank_from_the_text(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)  # numpy is optional for the catalogue (docs/platforms.md)
    monkeypatch.delitem(sys.modules, "dtfl_plugin.catalogue.forward")
    idx = CatalogueIndex(tmp_path / "catalogue.sqlite")
    try:
        idx.apply_harvest("test", _records(40))
        idx.warm()
        assert idx.build_forward() is None and idx.forward() is None
        assert idx.search("geluid", 5)
    finally:
        idx.close()
