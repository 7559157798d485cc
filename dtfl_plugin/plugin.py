"""QGIS glue: menu, toolbar, docks, Processing provider, locator filter.

Every room's GUI is a *feature* object (see gui/) with ``init_gui()`` and ``unload()``;
this class owns the menu/toolbar bookkeeping so unload() removes everything it added.
Start-up stays cheap: no network, no heavy imports; features build their widgets lazily.
"""

from __future__ import annotations

import importlib

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QDockWidget, QMenu, QToolBar

from .__about__ import name, resource_path
from .i18n import install_translator, remove_translator, tr

FEATURES = (
    "dtfl_plugin.gui.catalogue_dock:CatalogueFeature",
    "dtfl_plugin.gui.view3d:View3DFeature",
    "dtfl_plugin.gui.recipe_dialog:RecipeFeature",
    "dtfl_plugin.gui.provenance_panel:ProvenanceFeature",
)


class DtflPlugin:
    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider = None
        self.menu: QMenu | None = None
        self.toolbar: QToolBar | None = None
        self.actions: list[QAction] = []
        self.docks: list[QDockWidget] = []
        self.features: list = []
        install_translator()

    # --- Processing (also called by qgis_process, where iface is None) ---
    def initProcessing(self) -> None:  # noqa: N802 - QGIS's name
        if self.provider is not None:
            return
        from .processing.provider import DtflProvider

        self.provider = DtflProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    # --- GUI ---
    def initGui(self) -> None:  # noqa: N802 - QGIS's name
        self.initProcessing()
        self.menu = QMenu(name(), self.iface.mainWindow())
        self.menu.setObjectName("dtflMenu")
        self.iface.mainWindow().menuBar().insertMenu(self.iface.firstRightStandardMenu().menuAction(), self.menu)
        self.toolbar = self.iface.addToolBar(name())
        self.toolbar.setObjectName("dtflToolbar")
        for dotted in FEATURES:
            module_name, class_name = dotted.split(":")
            feature = getattr(importlib.import_module(module_name), class_name)(self.iface, self)
            feature.init_gui()
            self.features.append(feature)

    def add_action(
        self,
        text: str,
        callback,
        *,
        icon: str = "icon.svg",
        object_name: str = "",
        toolbar: bool = True,
        checkable: bool = False,
    ) -> QAction:
        """Create an action in the DTFL menu (and toolbar); it is removed on unload."""
        action = QAction(QIcon(str(resource_path(icon))), text, self.iface.mainWindow())
        action.setObjectName(object_name or f"dtfl_action_{len(self.actions)}")
        action.setCheckable(checkable)
        action.triggered.connect(callback)
        if self.menu is not None:
            self.menu.addAction(action)
        if toolbar and self.toolbar is not None:
            self.toolbar.addAction(action)
        self.actions.append(action)
        return action

    def add_dock(self, dock: QDockWidget, area=Qt.DockWidgetArea.RightDockWidgetArea) -> None:
        self.iface.addDockWidget(area, dock)
        self.docks.append(dock)

    def unload(self) -> None:
        for feature in reversed(self.features):
            feature.unload()
        self.features.clear()
        for dock in self.docks:
            self.iface.removeDockWidget(dock)
            dock.deleteLater()
        self.docks.clear()
        for action in self.actions:
            if self.toolbar is not None:
                self.toolbar.removeAction(action)
            action.deleteLater()
        self.actions.clear()
        if self.menu is not None:
            self.menu.clear()
            self.iface.mainWindow().menuBar().removeAction(self.menu.menuAction())
            self.menu.deleteLater()
            self.menu = None
        if self.toolbar is not None:
            self.iface.mainWindow().removeToolBar(self.toolbar)
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        remove_translator()

    @staticmethod
    def tr(text: str) -> str:
        return tr(text)
