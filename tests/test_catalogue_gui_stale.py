"""Stale services after a harvest: the message names the layer and offers the replacement (same dataset id).

Real data: PDOK retired the geodata.nationaalgeoregister.nl WFS of "Windsnelheden 100m hoogte"
(the 2022 layer list) and publishes the dataset today as OGC API Features at api.pdok.nl (the
current list). Harvesting the 2022 list and then today's list as the same source is that move.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui

OLD_WFS = "https://geodata.nationaalgeoregister.nl/windkaart/wfs"
DATASET = "d845cef6-0e23-4212-a951-b69763e39ef0"


@pytest.fixture()
def moved_index(qgis_app, shared_data, tmp_path):
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex

    index = CatalogueIndex(tmp_path / "catalogue.sqlite")
    folder = shared_data / "catalogue" / "pdok-layers"
    for name in ("layers-pdok-2022.json", "layers-pdok-current-sample.json"):
        harvest(SourceConfig(kind="pdok-layers", url=str(folder / name), name="pdok-layers"), index)
    yield index
    index.close()


def _project_with_old_layer(project, name: str = "Windsnelheden 100m hoogte"):
    """A project layer that DTFL loaded from the old WFS (its dtfl/source says where it came from)."""
    from qgis.core import QgsVectorLayer

    from dtfl_plugin.provenance.layer_props import LayerSource, set_layer_source

    layer = QgsVectorLayer("Polygon?crs=EPSG:28992", name, "memory")
    set_layer_source(
        layer,
        LayerSource(
            record_id=f"{DATASET}:wfs:windkaart:windsnelheden100m",
            dataset_id=DATASET,
            title=name,
            service_type="WFS",
            service_url=OLD_WFS,
            name="windkaart:windsnelheden100m",
        ),
    )
    project.addMapLayer(layer)
    return layer


def test_moved_service_message_offers_the_replacement(qgis_iface, qgis_new_project, moved_index):
    from qgis.core import QgsProject
    from qgis.gui import QgsMessageBarItem
    from qgis.PyQt.QtWidgets import QPushButton

    from dtfl_plugin.gui.catalogue.stale import check_project

    project = QgsProject.instance()
    layer = _project_with_old_layer(project)
    bar = qgis_iface.messageBar()
    bar.clearWidgets()
    stale = check_project(qgis_iface, moved_index, project)

    assert [s.ref.layer_id for s in stale] == [layer.id()]
    replacement = stale[0].replacement
    assert replacement is not None and replacement.dataset_id == DATASET
    assert replacement.service_type == "OGC API Features"
    assert replacement.service_url == "https://api.pdok.nl/rvo/windsnelheden/ogc/v1"

    items = [w for w in bar.items() if isinstance(w, QgsMessageBarItem)]
    assert len(items) == 1
    item = items[0]
    assert "Windsnelheden 100m hoogte" in item.text()
    assert "api.pdok.nl" in item.text() and "OGC API Features" in item.text()
    assert "https://api.pdok.nl/rvo/windsnelheden/ogc/v1" in item.toolTip()
    button = item.findChild(QPushButton, "dtflStaleReplace")
    assert button is not None and button.isEnabled()


def test_layers_of_current_services_are_not_reported(qgis_iface, qgis_new_project, moved_index):
    from qgis.core import QgsProject

    from dtfl_plugin.gui.catalogue.stale import check_project
    from dtfl_plugin.provenance.layer_props import get_layer_source, set_layer_source

    project = QgsProject.instance()
    layer = _project_with_old_layer(project, "Windsnelheden (OGC API)")
    source = get_layer_source(layer)
    source.service_url, source.name = "https://api.pdok.nl/rvo/windsnelheden/ogc/v1", "windsnelheden100m"
    set_layer_source(layer, source)
    qgis_iface.messageBar().clearWidgets()
    assert check_project(qgis_iface, moved_index, project) == []
    assert qgis_iface.messageBar().items() == []


def test_retired_without_replacement_says_so(qgis_iface, qgis_new_project, moved_index):
    """A 2022 layer whose dataset has no current entry: reported as retired, no replace button."""
    from qgis.core import QgsProject, QgsVectorLayer
    from qgis.PyQt.QtWidgets import QPushButton

    from dtfl_plugin.gui.catalogue.stale import check_project
    from dtfl_plugin.provenance.layer_props import LayerSource, set_layer_source

    layer = QgsVectorLayer("Polygon?crs=EPSG:28992", "Natura 2000", "memory")
    set_layer_source(
        layer,
        LayerSource(
            service_type="WFS",
            service_url="https://geodata.nationaalgeoregister.nl/natura2000/wfs",
            name="natura2000:natura2000",
            dataset_id="8829e5dd-c861-4639-a6c8-fdbb6e3440d2",
        ),
    )
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.messageBar().clearWidgets()
    stale = check_project(qgis_iface, moved_index, QgsProject.instance())
    assert [(s.ref.layer_id, s.status, s.replacement) for s in stale] == [(layer.id(), "retired", None)]
    item = qgis_iface.messageBar().items()[0]
    assert "Natura 2000" in item.text()
    assert item.findChild(QPushButton, "dtflStaleReplace") is None


def test_opening_a_saved_project_checks_its_layers(qgis_iface, qgis_new_project, moved_index, tmp_path):
    """The PDOK plugin's users meet retired URLs when they open an old project: check on open."""
    from qgis.core import QgsProject
    from qgis.gui import QgsMessageBarItem

    from dtfl_plugin.plugin import DtflPlugin
    from tests.fixtures.catalogue_gui import wait_until

    project = QgsProject.instance()
    _project_with_old_layer(project)
    path = tmp_path / "old-project.qgz"
    assert project.write(str(path))
    project.clear()

    plugin = DtflPlugin(qgis_iface)
    plugin.initGui()
    try:
        feature = next(f for f in plugin.features if type(f).__name__ == "CatalogueFeature")
        feature.dock._index_factory = lambda: moved_index
        bar = qgis_iface.messageBar()
        bar.clearWidgets()
        assert project.read(str(path))

        def stale_items():
            return [w for w in bar.items() if isinstance(w, QgsMessageBarItem) and "Windsnelheden" in w.text()]

        assert wait_until(lambda: bool(stale_items()), 10)
        assert "api.pdok.nl" in stale_items()[0].text()
    finally:
        plugin.unload()
    # After unload, opening a project no longer triggers the check.
    bar.clearWidgets()
    assert project.read(str(path))
    wait_until(lambda: False, 1.0)
    assert bar.items() == []


def test_several_moved_layers_share_one_message(qgis_iface, qgis_new_project, moved_index):
    from qgis.core import QgsProject
    from qgis.gui import QgsMessageBarItem
    from qgis.PyQt.QtWidgets import QPushButton

    from dtfl_plugin.gui.catalogue.stale import check_project

    project = QgsProject.instance()
    first = _project_with_old_layer(project, "Wind (kaart 1)")
    second = _project_with_old_layer(project, "Wind (kaart 2)")
    bar = qgis_iface.messageBar()
    bar.clearWidgets()
    stale = check_project(qgis_iface, moved_index, project)
    assert {s.ref.layer_id for s in stale} == {first.id(), second.id()}
    (item,) = [w for w in bar.items() if isinstance(w, QgsMessageBarItem)]
    assert "Wind (kaart 1)" in item.text() and "Wind (kaart 2)" in item.text()
    assert item.findChild(QPushButton, "dtflStaleReplace").text() == "Use the replacements"
    assert item.toolTip().count("api.pdok.nl/rvo/windsnelheden") == 2
