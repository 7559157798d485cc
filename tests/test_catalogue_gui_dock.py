"""The catalogue search dock over a real index (the PDOK layer lists): typing, filters, favourites, details."""

from __future__ import annotations

import pytest
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtTest import QTest

from tests.fixtures.catalogue_gui import search, wait_until

pytestmark = pytest.mark.gui


def _titles(dock) -> list[str]:
    return [e.title for e in dock.model.entries()]


def _type(dock, text: str) -> None:
    dock.search_box.setFocus()
    dock.search_box.clear()
    QTest.keyClicks(dock.search_box, text)


def test_typing_shows_ranked_results_after_the_debounce(catalogue_dock, pdok_index):
    dock = catalogue_dock
    _type(dock, "gebouwen")
    # Typing only (re)starts the debounce timer: nothing is searched per keystroke.
    assert dock.model.rowCount() == 0
    assert dock._timer.isActive()
    assert wait_until(lambda: dock.model.rowCount() > 0, 5)
    titles = _titles(dock)
    # BAG ("Basisregistratie Adressen en Gebouwen") is the best answer; the dock keeps the index's ranking.
    assert "Gebouwen" in titles[0]
    assert [e.id for e in dock.model.entries()] == [h.entry.id for h in pdok_index.search("gebouwen", limit=50)]
    # The first hit is selected and described.
    assert dock.current_entry().title == titles[0]
    assert "Gebouwen" in dock.detail.toPlainText()
    assert dock.last_search_ms is not None


def test_words_in_any_order_and_a_typo(catalogue_dock):
    dock = catalogue_dock
    _type(dock, "visualisatie bgt")
    search(dock)
    first = _titles(dock)[:6]
    assert first and all("BGT" in t or "bgt" in t for t in first)
    _type(dock, "hoogtebestnd")  # one letter missing
    search(dock)
    assert any("Hoogtebestand" in t for t in _titles(dock)[:3])


def test_filters_narrow_results(catalogue_dock):
    dock = catalogue_dock
    _type(dock, "ahn")
    search(dock)
    everything = dock.model.entries()
    assert {e.service_type for e in everything} >= {"WCS", "WMTS"}
    dock.filters.set_checked("service_type", {"WCS"})
    assert wait_until(lambda: not dock.searching)
    narrowed = dock.model.entries()
    assert 0 < len(narrowed) < len(everything)
    assert {e.service_type for e in narrowed} == {"WCS"}
    # Organisation alone, without words: every record of that organisation.
    dock.search_box.clear()
    dock.filters.set_checked("service_type", set())
    dock.filters.set_checked("organisation", {"Rijkswaterstaat"})
    search(dock)
    assert dock.model.rowCount() > 0
    assert {e.organisation for e in dock.model.entries()} == {"Rijkswaterstaat"}
    # 3D only: this index holds no 3D services, so nothing is left (and the dock says so).
    dock.filters.set_checked("organisation", set())
    dock.filters.dimension.setCurrentIndex(dock.filters.DIM_3D)
    search(dock)
    assert dock.model.rowCount() == 0
    assert dock.count_label.text()


def test_filter_choices_come_from_the_index(catalogue_dock, pdok_index):
    combo = catalogue_dock.filters.service_types
    values = [combo.itemData(i) for i in range(combo.count())]
    assert values == [v for v, _ in pdok_index.facets()["service_type"]]
    assert combo.itemText(0).endswith(f"({pdok_index.facets()['service_type'][0][1]})")


def test_map_extent_is_sent_in_wgs84(catalogue_dock, qgis_iface):
    from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle

    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    canvas.resize(600, 400)
    canvas.setExtent(QgsRectangle(80000, 444000, 88000, 450000))  # Delft, in RD New
    catalogue_dock.filters.in_extent.setChecked(True)
    bbox = catalogue_dock.current_filters().bbox_wgs84
    assert bbox is not None
    minx, miny, maxx, maxy = bbox
    assert 4.1 < minx < maxx < 4.6 and 51.85 < miny < maxy < 52.15  # the canvas widens to its aspect ratio


def test_map_extent_filter_keeps_records_that_overlap(catalogue_dock, qgis_iface):
    from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle

    dock = catalogue_dock
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    canvas.resize(600, 400)
    dock.search_box.setText("luchtfoto")
    dock.filters.in_extent.setChecked(True)
    canvas.setExtent(QgsRectangle(4.3, 51.95, 4.4, 52.05))  # Delft: inside the Netherlands-wide record
    assert any("Luchtfoto" in e.title for e in search(dock))
    canvas.setExtent(QgsRectangle(-68.45, 12.0, -68.15, 12.35))  # Bonaire: outside it
    assert not any("Luchtfoto" in e.title for e in search(dock))


def test_details_show_the_record_with_a_link_to_the_metadata(catalogue_dock):
    dock = catalogue_dock
    _type(dock, "windsnelheden")
    search(dock)
    entry = dock.current_entry()
    assert entry is not None
    html = dock.detail.toHtml()
    text = dock.detail.toPlainText()
    assert entry.service_url in text
    assert "nationaalgeoregister.nl" in html and entry.dataset_id in html  # clickable record link


def test_favourites_survive_a_new_dock(catalogue_dock, qgis_iface, pdok_index):
    from dtfl_plugin.gui.catalogue.feature import CatalogueDock

    dock = catalogue_dock
    assert search(dock, "") == []  # no favourites yet: an empty box shows nothing
    _type(dock, "natura2000")
    search(dock)
    dock.results.setFocus()
    entry = dock.current_entry()
    QTest.keyClick(dock.results, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # star it
    assert dock.star_button.isChecked()
    assert dock.model.data(dock.model.index(0), Qt.ItemDataRole.UserRole + 3) is True

    # "Restart": a new dock reads the favourites from the settings.
    again = CatalogueDock(qgis_iface, index_factory=lambda: pdok_index)
    try:
        again.index()
        again.filters.favourites_only.setChecked(True)
        search(again)
        assert [e.id for e in again.model.entries()] == [entry.id]
        # With a query, favourites-only keeps only starred hits.
        again.search_box.setText("bgt")
        search(again)
        assert again.model.rowCount() == 0
    finally:
        again.runner.shutdown()
        again.deleteLater()
    # An empty search box shows the favourites.
    assert [e.id for e in search(dock, "")] == [entry.id]
    assert "favourites" in dock.count_label.text()
    # Unstar from the first dock: the favourite is gone for everyone.
    dock.toggle_favourite()
    assert not dock.star_button.isChecked()


def test_keyboard_down_from_the_search_box_and_escape_back(catalogue_dock):
    dock = catalogue_dock
    _type(dock, "top")
    search(dock)
    assert dock.model.rowCount() > 1
    QTest.keyClick(dock.search_box, Qt.Key.Key_Down)
    assert dock.results.hasFocus() or dock.focusWidget() is dock.results
    QTest.keyClick(dock.results, Qt.Key.Key_Down)
    assert dock.results.currentIndex().row() == 1
    QTest.keyClick(dock.results, Qt.Key.Key_Escape)
    assert dock.focusWidget() is dock.search_box


def test_results_can_be_dragged_onto_the_map(catalogue_dock):
    from qgis.core import QgsMimeDataUtils

    dock = catalogue_dock
    first = search(dock, "kadastrale kaart")[0]
    assert dock.model.flags(dock.model.index(0)) & Qt.ItemFlag.ItemIsDragEnabled
    (uri,) = QgsMimeDataUtils.decodeUriList(dock.model.mimeData([dock.model.index(0)]))
    assert (uri.layerType, uri.providerKey, uri.uri) == ("custom", "dtfl_catalogue", first.id)


def test_an_empty_catalogue_says_so_and_offers_update(qgis_iface, tmp_path, clean_favourites):
    from dtfl_plugin.catalogue.index import CatalogueIndex
    from dtfl_plugin.gui.catalogue.dock import CatalogueDock

    index = CatalogueIndex(tmp_path / "empty.sqlite")
    dock = CatalogueDock(qgis_iface, index_factory=lambda: index)
    dock.show()
    try:
        search(dock, "luchtfoto")
        assert dock.model.rowCount() == 0
        assert dock.count_label.text() == "The catalogue is empty: press Update to fill it."
        assert dock.harvest_bar.update_button.isVisible() and dock.harvest_bar.update_button.isEnabled()
    finally:
        dock.runner.shutdown()
        dock.close()
        dock.deleteLater()
        index.close()


def test_partial_matches_name_the_missing_word_and_the_correction(catalogue_dock):
    dock = catalogue_dock
    search(dock, "windsnelheden zzyzx")
    assert dock.model.rowCount() > 0 and dock.notice_label.isVisibleTo(dock)
    assert "zzyzx" in dock.notice_label.text()
    search(dock, "windsnelheden")
    assert not dock.notice_label.isVisibleTo(dock)
    assert len(dock.model.services(0)) > 1 and dock.service_box.isEnabled()  # the layer's services as choices
