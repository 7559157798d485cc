"""The dock's Update button: HarvestTask in the background, the outcome in the message bar, stale layers after.

Sources are the real PDOK layer lists (files), configured as the user's catalogue sources.
"""

from __future__ import annotations

import pytest

from tests.fixtures.catalogue_gui import search, wait_until

pytestmark = pytest.mark.gui
DATASET = "d845cef6-0e23-4212-a951-b69763e39ef0"  # Windsnelheden 100m hoogte: WFS in 2022, OGC API today


@pytest.fixture()
def sources(qgis_app):
    from dtfl_plugin import settings
    from dtfl_plugin.catalogue.harvest import SETTINGS_KEY, SourceConfig, save_sources

    def configure(*paths) -> None:
        save_sources([SourceConfig(kind="pdok-layers", url=str(p), name="pdok-layers") for p in paths])

    yield configure
    settings.remove(SETTINGS_KEY)


@pytest.fixture()
def index_2022(qgis_app, shared_data, tmp_path):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex

    index = CatalogueIndex(tmp_path / "catalogue.sqlite")
    path = shared_data / "catalogue" / "pdok-layers" / "layers-pdok-2022.json"
    harvest(SourceConfig(kind="pdok-layers", url=str(path), name="pdok-layers"), index)
    yield index
    index.close()


@pytest.fixture()
def dock(qgis_iface, index_2022, clean_favourites):
    from dtfl_plugin.gui.catalogue.feature import CatalogueDock

    qgis_iface.messageBar().clear_messages()
    qgis_iface.messageBar().clearWidgets()
    dock = CatalogueDock(qgis_iface, index_factory=lambda: index_2022)
    dock.show()
    dock.index()
    yield dock
    dock.harvest_bar.cancel()
    wait_until(lambda: dock.harvest_bar.task is None, 30)
    dock.runner.shutdown()
    dock.close()
    dock.deleteLater()


def _old_wfs_layer(project):
    from qgis.core import QgsVectorLayer

    from dtfl_plugin.provenance.layer_props import LayerSource, set_layer_source

    layer = QgsVectorLayer("Polygon?crs=EPSG:28992", "Windsnelheden 100m hoogte", "memory")
    set_layer_source(
        layer,
        LayerSource(
            dataset_id=DATASET,
            service_type="WFS",
            service_url="https://geodata.nationaalgeoregister.nl/windkaart/wfs",
            name="windkaart:windsnelheden100m",
        ),
    )
    project.addMapLayer(layer)
    return layer


def test_update_harvests_in_background_then_reports_stale_layers(
    dock, qgis_iface, qgis_new_project, shared_data, sources, index_2022
):
    from qgis.core import Qgis, QgsProject
    from qgis.gui import QgsMessageBarItem

    layer = _old_wfs_layer(QgsProject.instance())
    sources(shared_data / "catalogue" / "pdok-layers" / "layers-pdok-current-sample.json")
    bar = dock.harvest_bar
    assert bar.label.text().startswith("Catalogue updated on")
    dock.search_box.setText("windsnelheden")
    search(dock)
    assert "WFS" in {e.service_type for e in dock.model.entries()}

    bar.update_button.click()
    assert bar.task is not None and bar.progress.isVisible() and not bar.update_button.isEnabled()
    assert wait_until(lambda: bar.task is None, 60)
    assert bar.update_button.isEnabled() and not bar.progress.isVisible()
    success = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Success)
    assert any("3 new" in m and "76 removed" in m for m in success), success
    assert index_2022.count() == 3
    # The dock shows the new catalogue at once: facets, results, the 'updated' line.
    assert wait_until(lambda: not dock.searching)
    assert {e.service_type for e in dock.model.entries()} == {"OGC API Features"}
    assert [v for v, _ in index_2022.facets()["service_type"]] == [
        dock.filters.service_types.itemData(i) for i in range(dock.filters.service_types.count())
    ]
    # ...and the project's layer on the retired WFS is named with its replacement.
    items = [w for w in qgis_iface.messageBar().items() if isinstance(w, QgsMessageBarItem)]
    assert any(layer.name() in item.text() and "api.pdok.nl" in item.text() for item in items)


def test_a_damaged_source_keeps_the_index_and_says_why(dock, qgis_iface, shared_data, sources, tmp_path, index_2022):
    from qgis.core import Qgis

    full = (shared_data / "catalogue" / "pdok-layers" / "layers-pdok-2022.json").read_bytes()
    truncated = tmp_path / "layers-truncated.json"
    truncated.write_bytes(full[: len(full) // 2])  # a download cut off half-way
    sources(truncated)
    before = index_2022.count()
    dock.harvest_bar.start()
    assert wait_until(lambda: dock.harvest_bar.task is None, 60)
    warnings = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning)
    assert warnings and "previous index is kept" in warnings[-1]
    assert "Traceback" not in warnings[-1]
    assert index_2022.count() == before
    assert qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Success) == []
