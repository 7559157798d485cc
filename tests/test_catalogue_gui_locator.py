"""The catalogue's locator filter, run by a real QgsLocator (fetchResults in its worker thread)."""

from __future__ import annotations

import pytest

from tests.fixtures.catalogue_gui import wait_until

pytestmark = pytest.mark.gui


def _locate(index_path, text: str) -> list[tuple[str, str, float, str]]:
    """Run a real QgsLocator with our filter; (display, description, score, user data) per result.

    The locator owns (and deletes) the filter: it is created here and never touched afterwards.
    """
    from qgis.core import QgsLocator, QgsLocatorContext

    from dtfl_plugin.gui.catalogue.locator import CatalogueLocatorFilter, _user_data

    locator = QgsLocator()
    locator.registerFilter(CatalogueLocatorFilter(None, index_path=str(index_path)))
    found: list = []
    done: list = []
    locator.foundResult.connect(
        lambda r: found.append((r.displayString, r.description, r.score, str(_user_data(r) or "")))
    )
    locator.finished.connect(lambda: done.append(True))
    locator.fetchResults(text, QgsLocatorContext())
    assert wait_until(lambda: bool(done), 20), "the locator did not finish"
    return found


def test_prefix_and_names(qgis_iface, pdok_index_path):
    from dtfl_plugin.gui.catalogue.locator import CatalogueLocatorFilter

    locator_filter = CatalogueLocatorFilter(qgis_iface, index_path=str(pdok_index_path))
    assert locator_filter.prefix() == "dtfl"
    assert locator_filter.name() == "dtfl_catalogue"
    assert locator_filter.useWithoutPrefix()
    clone = locator_filter.clone()
    assert clone is not locator_filter and clone.index_path == locator_filter.index_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dtfl luchtfoto", "Luchtfoto"),
        ("dtfl gebouwen", "Gebouwen"),
        ("gebouwen", "Gebouwen"),  # without the prefix too
        ("dtfl aerial photo", "Luchtfoto"),  # English words find the Dutch record (thesaurus)
    ],
)
def test_results_come_from_the_index_in_a_worker_thread(pdok_index_path, pdok_index, text, expected):
    results = _locate(pdok_index_path, text)
    assert results, f"no locator results for {text!r}"
    display, description, _score, entry_id = results[0]
    assert expected in display
    assert description  # service type · organisation
    assert pdok_index.get(entry_id).title == display  # the entry id, resolved again on trigger
    scores = [r[2] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_short_queries_give_nothing(pdok_index_path):
    assert _locate(pdok_index_path, "dtfl ah") == []
