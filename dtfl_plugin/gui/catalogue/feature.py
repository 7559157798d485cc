"""GUI feature: the catalogue search dock, locator filter, Browser favourites and drop handler.

Thin glue: the dock is catalogue_panel.py, the locator catalogue_locator.py, the Browser items
catalogue_browser.py; this feature registers them with QGIS and unload() takes all of it away.
"""

from __future__ import annotations

from qgis.core import QgsProject

from ...catalogue.favourites import notifier
from ...errors import DtflError
from ...i18n import tr
from .dock import CatalogueDock
from .loader import push_error

__all__ = ["CatalogueDock", "CatalogueFeature"]


class CatalogueFeature:
    """Dock + toolbar action, locator filter, Browser favourites and drag-and-drop handler."""

    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin
        self.dock: CatalogueDock | None = None
        self.action = None
        self.locator_filter = None
        self.browser_provider = None
        self.drop_handler = None

    def init_gui(self) -> None:
        from .browser import FavouritesDropHandler, register_browser_provider
        from .locator import CatalogueLocatorFilter

        self.dock = CatalogueDock(self.iface, parent=self.iface.mainWindow())
        self.dock.setVisible(False)
        self.plugin.add_dock(self.dock)
        self.action = self.plugin.add_action(
            tr("Search the catalogue"),
            self.toggle_dock,
            object_name="dtflCatalogueAction",
            checkable=True,
        )
        self.dock.visibilityChanged.connect(self._visibility_changed)
        QgsProject.instance().readProject.connect(self.dock.project_opened)
        self.locator_filter = CatalogueLocatorFilter(self.iface)
        self.iface.registerLocatorFilter(self.locator_filter)
        self.browser_provider = register_browser_provider(self.iface)
        if hasattr(self.iface, "registerCustomDropHandler"):
            self.drop_handler = FavouritesDropHandler(self.iface)
            self.iface.registerCustomDropHandler(self.drop_handler)

    def toggle_dock(self, checked: bool) -> None:
        if self.dock is None:
            return
        self.dock.setUserVisible(checked)
        if checked:
            try:
                self.dock.index()  # open the index now that the user wants it
            except DtflError as err:
                push_error(self.iface, str(err), err)
            self.dock.search_box.setFocus()

    def _visibility_changed(self, visible: bool) -> None:
        if self.action is not None:
            self.action.setChecked(visible)

    def unload(self) -> None:
        from .browser import unregister_browser_provider

        if self.dock is not None:
            self.dock.harvest_bar.cancel()
            self.dock.runner.shutdown()
            self.dock._timer.stop()
            self.dock._project_timer.stop()
            notifier().changed.disconnect(self.dock._favourites_changed)
            QgsProject.instance().readProject.disconnect(self.dock.project_opened)
            self.dock = None  # plugin.unload removes and deletes the dock itself
        if self.locator_filter is not None:
            self.iface.deregisterLocatorFilter(self.locator_filter)
            self.locator_filter = None
        if self.browser_provider is not None:
            unregister_browser_provider(self.browser_provider)
            self.browser_provider = None
        if self.drop_handler is not None:
            self.iface.unregisterCustomDropHandler(self.drop_handler)
            self.drop_handler = None
