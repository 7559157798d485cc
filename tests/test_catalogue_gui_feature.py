"""The catalogue feature inside the real plugin: what init_gui() adds, unload() takes away."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


@pytest.fixture()
def plugin(qgis_iface, clean_favourites):
    from dtfl_plugin.plugin import DtflPlugin

    qgis_iface.registerLocatorFilter.reset_mock()
    qgis_iface.deregisterLocatorFilter.reset_mock()
    plugin = DtflPlugin(qgis_iface)
    plugin.initGui()
    yield plugin
    if plugin.features:
        plugin.unload()


def _feature(plugin):
    from dtfl_plugin.gui.catalogue.feature import CatalogueFeature

    found = [f for f in plugin.features if isinstance(f, CatalogueFeature)]
    assert len(found) == 1
    return found[0]


def test_init_gui_adds_dock_action_locator_and_browser(plugin, qgis_iface, pdok_index):
    from qgis.core import QgsApplication

    from dtfl_plugin.gui.catalogue.browser import PROVIDER_KEY
    from dtfl_plugin.gui.catalogue.locator import CatalogueLocatorFilter

    feature = _feature(plugin)
    assert feature.dock in plugin.docks
    assert feature.action in plugin.actions and feature.action.isCheckable()
    assert feature.dock.isHidden()  # start-up stays cheap: nothing shown, no index opened
    assert feature.dock._index is None
    (registered,), _ = qgis_iface.registerLocatorFilter.call_args
    assert isinstance(registered, CatalogueLocatorFilter)
    assert QgsApplication.dataItemProviderRegistry().provider(PROVIDER_KEY) is feature.browser_provider

    # The action shows the dock and puts the cursor in the search box.
    feature.dock._index_factory = lambda: pdok_index
    feature.action.trigger()
    assert not feature.dock.isHidden() and feature.dock._index is pdok_index
    assert feature.dock.harvest_bar.label.text()  # "Catalogue updated on …"


def test_unload_removes_everything(plugin, qgis_iface):
    from qgis.core import QgsApplication

    from dtfl_plugin.gui.catalogue.browser import PROVIDER_KEY

    feature = _feature(plugin)
    locator = feature.locator_filter
    plugin.unload()
    qgis_iface.deregisterLocatorFilter.assert_called_once_with(locator)
    assert QgsApplication.dataItemProviderRegistry().provider(PROVIDER_KEY) is None
    assert feature.dock is None and feature.locator_filter is None and feature.browser_provider is None
    assert plugin.docks == [] and plugin.actions == []
