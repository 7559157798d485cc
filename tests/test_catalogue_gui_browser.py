"""Favourites: the settings-backed core, and their entries in QGIS's Browser panel."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def _entries(pdok_index, *queries):
    return [pdok_index.search(q, limit=1)[0].entry for q in queries]


def test_favourites_persist_in_settings_without_limit(clean_favourites, pdok_index):
    from dtfl_plugin import settings
    from dtfl_plugin.catalogue.favourites import Favourites

    entries = [hit.entry for hit in pdok_index.search("", limit=40)]
    assert len(entries) == 40
    favourites = Favourites()
    for entry in entries:
        favourites.add(entry)
    # A fresh object (as after a restart) reads the same list, in the order starred.
    again = Favourites()
    assert again.ids() == [e.id for e in entries]
    assert again.get(entries[3].id) == entries[3]
    assert settings.get_json(settings.KEY_FAVOURITES, [])[0]["id"] == entries[0].id
    assert again.toggle(entries[0]) is False
    assert len(Favourites()) == 39
    # A damaged settings value does not break anything.
    settings.set_str(settings.KEY_FAVOURITES, "{not json")
    assert Favourites().entries() == []


def test_browser_root_lists_favourites_and_refreshes(clean_favourites, qgis_iface, pdok_index):
    from qgis.core import QgsApplication

    from dtfl_plugin.catalogue.favourites import Favourites
    from dtfl_plugin.gui.catalogue.browser import (
        PROVIDER_KEY,
        FavouriteItem,
        register_browser_provider,
        unregister_browser_provider,
    )

    bag, ahn = _entries(pdok_index, "gebouwen", "hoogtebestand")
    Favourites().add(bag)
    registry = QgsApplication.dataItemProviderRegistry()
    before = len(registry.providers())
    provider = register_browser_provider(qgis_iface)
    try:
        assert registry.provider(PROVIDER_KEY) is provider
        assert provider.capabilities()
        # QGIS's own Browser model builds our root from the registry, next to its Favorites and drives.
        from qgis.core import QgsBrowserModel

        model = QgsBrowserModel()
        model.initialize()
        names = [model.data(model.index(r, 0)) for r in range(model.rowCount())]
        assert "DTFL favourites" in names
        assert provider.createDataItem("/some/path", None) is None  # only a top-level root
        root = provider.createDataItem("", None)
        assert root.name() == "DTFL favourites"
        children = root.createChildren()
        assert [c.name() for c in children] == [bag.title]
        item = children[0]
        assert isinstance(item, FavouriteItem) and item.hasDragEnabled()
        uri = item.mimeUri()
        assert (uri.layerType, uri.providerKey, uri.uri) == ("custom", PROVIDER_KEY, bag.id)
        assert [a.text() for a in item.actions(None)] == ["Add to map", "Remove from favourites"]
        # Starring another entry elsewhere (the dock) shows up in the Browser.
        Favourites().add(ahn)
        assert [c.name() for c in root.createChildren()] == [bag.title, ahn.title]
    finally:
        unregister_browser_provider(provider)
    assert registry.provider(PROVIDER_KEY) is None
    assert len(registry.providers()) == before


def test_favourite_snapshots_follow_the_index_after_a_harvest(clean_favourites, pdok_index):
    import dataclasses

    from dtfl_plugin.catalogue.favourites import Favourites, resolve

    (bag,) = _entries(pdok_index, "gebouwen")
    stale = dataclasses.replace(bag, title="old title", service_url="https://old.example/wms")
    favourites = Favourites()
    favourites.add(stale)
    assert resolve(bag.id, pdok_index).service_url == bag.service_url  # the index wins over the snapshot
    assert resolve(bag.id, None).title == "old title"  # without an index the snapshot still loads
    assert favourites.update_from(pdok_index) == 1
    assert Favourites().get(bag.id) == bag
    assert favourites.update_from(pdok_index) == 0
