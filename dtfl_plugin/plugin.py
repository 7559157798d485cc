"""QGIS glue: menu, toolbar, docks, Processing provider, locator filter.

Every room's GUI is a *feature* object (see gui/) with ``init_gui()`` and ``unload()``;
this class owns the menu/toolbar bookkeeping so unload() removes everything it added.
Start-up stays cheap: no network, no heavy imports; features build their widgets lazily.
"""

from __future__ import annotations

import html
import importlib
import traceback

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QDockWidget, QMenu, QMessageBox, QToolBar

from .__about__ import metadata, name, resource_path, version
from .compat import QAction
from .i18n import install_translator, remove_translator, tr, user_language

FEATURES = (
    "dtfl_plugin.gui.catalogue.feature:CatalogueFeature",
    "dtfl_plugin.gui.view3d:View3DFeature",
    "dtfl_plugin.gui.recipe_dialog:RecipeFeature",
    "dtfl_plugin.gui.provenance_panel:ProvenanceFeature",
    "dtfl_plugin.gui.provenance_observer:ProvenanceObserverFeature",
    "dtfl_plugin.gui.remote_models:RemoteModelsFeature",
    "dtfl_plugin.gui.publish_web:PublishWebFeature",
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
        self.failed_features: dict[str, str] = {}  # "module:Class" -> error, for the log and tests
        install_translator()

    # --- Processing (also called by qgis_process, where iface is None) ---
    def initProcessing(self) -> None:  # noqa: N802 - QGIS's name
        if self.provider is not None:
            return
        from .processing.provider import DtflProvider

        provider = DtflProvider()
        if QgsApplication.processingRegistry().addProvider(provider):
            self.provider = provider
        else:
            # Another copy of DTFL's provider is registered (a second plugin instance, or a script that
            # registered it): keep using that one and never remove what we did not add.
            QgsMessageLog.logMessage(
                tr("The DTFL Processing provider is already registered; this instance does not add a second one."),
                "DTFL",
                Qgis.MessageLevel.Warning,
            )

    # --- GUI ---
    def initGui(self) -> None:  # noqa: N802 - QGIS's name
        self.initProcessing()
        self.menu = QMenu(name(), self.iface.mainWindow())
        self.menu.setObjectName("dtflMenu")
        self._insert_menu(self.menu)
        self.toolbar = self.iface.addToolBar(name())
        self.toolbar.setObjectName("dtflToolbar")
        for dotted in FEATURES:
            self._start_feature(dotted)
        # Last in the menu, after the features' actions; not on the toolbar.
        self.menu.addSeparator()
        self.add_action(tr("About DTFL…"), self.show_about, object_name="dtflAbout", toolbar=False)

    def _start_feature(self, dotted: str) -> None:
        """Start one feature; a broken one is reported and the others still start.

        Without this, one failing room would leave the menu and provider half-installed,
        and QGIS does not call unload() for a plugin whose initGui() raised.
        """
        module_name, class_name = dotted.split(":")
        try:
            feature = getattr(importlib.import_module(module_name), class_name)(self.iface, self)
            self.features.append(feature)  # before init_gui: unload() must undo a partial start too
            feature.init_gui()
        except Exception as err:  # noqa: BLE001 - reported below, never silent
            self.failed_features[dotted] = f"{type(err).__name__}: {err}"
            QgsMessageLog.logMessage(
                f"{dotted}: {traceback.format_exc()}", "DTFL", Qgis.MessageLevel.Critical, notifyUser=False
            )
            self.iface.messageBar().pushWarning(
                name(),
                tr(
                    "Part of the plugin ({feature}) could not start: {error}. The rest works; details are in the DTFL log."
                ).format(feature=class_name, error=err),
            )

    def _insert_menu(self, menu: QMenu) -> None:
        """Put our menu before QGIS's Help menu, as QGIS plugins with their own menu do.

        Interfaces other than QGIS's own (e.g. test harnesses) may not offer
        firstRightStandardMenu(); then the menu is appended to the menu bar.
        """
        menu_bar = self.iface.mainWindow().menuBar()
        anchor = None
        first_right = getattr(self.iface, "firstRightStandardMenu", None)
        if callable(first_right):
            right_menu = first_right()
            anchor = right_menu.menuAction() if isinstance(right_menu, QMenu) else None
        if isinstance(anchor, QAction):
            menu_bar.insertMenu(anchor, menu)
        else:
            menu_bar.addMenu(menu)

    def show_about(self) -> None:
        meta = metadata()
        about = meta.get(f"about[{user_language()}]") or meta.get("about", "")
        homepage = html.escape(meta.get("homepage", ""), quote=True)
        version_line = html.escape(tr("Version {version}").format(version=version()))
        link = f'<a href="{homepage}">{homepage}</a>' if homepage else ""
        QMessageBox.about(
            self.iface.mainWindow(),
            tr("About {name}").format(name=name()),
            f"<p>{html.escape(about)}</p><p>{version_line} · {link}</p>",
        )

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
            try:
                feature.unload()
            except Exception:  # noqa: BLE001 - logged; the rest of the clean-up must still run
                QgsMessageLog.logMessage(traceback.format_exc(), "DTFL", Qgis.MessageLevel.Critical, notifyUser=False)
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
