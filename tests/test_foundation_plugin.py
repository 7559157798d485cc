"""The plugin loads in QGIS and unload() leaves nothing behind, also when loaded and unloaded twice.

The check is generic on purpose: features (gui/*.py) grow while this test stays the same. It compares
the whole observable state of QGIS before and after: every QObject under the main window, top-level
widgets, menu bar, Processing providers, Browser data item providers, source-select providers,
expression functions, and every register/unregister pair of QgisInterface the plugin called.
"""

from __future__ import annotations

from collections import Counter

import pytest

# QgisInterface methods that add something, and the method that takes it away again.
IFACE_PAIRS = {
    "addPluginToMenu": "removePluginMenu",
    "addPluginToRasterMenu": "removePluginRasterMenu",
    "addPluginToVectorMenu": "removePluginVectorMenu",
    "addPluginToDatabaseMenu": "removePluginDatabaseMenu",
    "addPluginToWebMenu": "removePluginWebMenu",
    "addPluginToMeshMenu": "removePluginMeshMenu",
    "addToolBarIcon": "removeToolBarIcon",
    "addRasterToolBarIcon": "removeRasterToolBarIcon",
    "addVectorToolBarIcon": "removeVectorToolBarIcon",
    "addDatabaseToolBarIcon": "removeDatabaseToolBarIcon",
    "addWebToolBarIcon": "removeWebToolBarIcon",
    "addDockWidget": "removeDockWidget",
    "addTabifiedDockWidget": "removeDockWidget",
    "addCustomActionForLayerType": "removeCustomActionForLayerType",
    "insertAddLayerAction": "removeAddLayerAction",
    "addProjectImportAction": "removeProjectImportAction",
    "addProjectExportAction": "removeProjectExportAction",
    "addWindow": "removeWindow",
    "registerLocatorFilter": "deregisterLocatorFilter",
    "registerOptionsWidgetFactory": "unregisterOptionsWidgetFactory",
    "registerProjectPropertiesWidgetFactory": "unregisterProjectPropertiesWidgetFactory",
    "registerMapLayerConfigWidgetFactory": "unregisterMapLayerConfigWidgetFactory",
    "registerCustomDropHandler": "unregisterCustomDropHandler",
    "registerCustomProjectOpenHandler": "unregisterCustomProjectOpenHandler",
    "registerCustomLayoutDropHandler": "unregisterCustomLayoutDropHandler",
    "registerDevToolWidgetFactory": "unregisterDevToolWidgetFactory",
    "registerApplicationExitBlocker": "unregisterApplicationExitBlocker",
}
# For these the object added is the 2nd positional argument (area/layer type first).
SECOND_ARG = {"addDockWidget", "addTabifiedDockWidget"}


@pytest.fixture()
def recording_iface(qgis_iface, monkeypatch):
    """pytest-qgis's iface, recording each add/register call and its undo.

    Its dock methods are no-ops; here they act as in QGIS (the dock goes into the main window),
    so a dock that unload() forgets shows up in the main window's children.
    """
    calls: list[tuple[str, object]] = []
    window = qgis_iface.mainWindow()

    def recorder(method: str):
        original = getattr(qgis_iface, method)

        def record(*args, **kwargs):
            obj = args[1] if method in SECOND_ARG and len(args) > 1 else (args[0] if args else None)
            calls.append((method, obj))
            if method in ("addDockWidget", "addTabifiedDockWidget"):
                window.addDockWidget(args[0], args[1])
                return None
            if method == "removeDockWidget":
                window.removeDockWidget(args[0])
                return None
            return original(*args, **kwargs)

        return record

    for method in set(IFACE_PAIRS) | set(IFACE_PAIRS.values()):
        monkeypatch.setattr(qgis_iface, method, recorder(method))
    qgis_iface.recorded_calls = calls
    yield qgis_iface
    del qgis_iface.recorded_calls


def _flush_deletes() -> None:
    from qgis.PyQt.QtCore import QCoreApplication, QEvent

    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()


def _describe(obj) -> tuple:
    text = obj.text() if hasattr(obj, "text") and callable(obj.text) else ""
    title = obj.windowTitle() if hasattr(obj, "windowTitle") and callable(obj.windowTitle) else ""
    return (type(obj).__name__, obj.objectName(), str(text), str(title))


def snapshot(iface) -> dict[str, Counter]:
    from qgis.core import QgsApplication, QgsExpression
    from qgis.gui import QgsGui
    from qgis.PyQt.QtCore import QObject
    from qgis.PyQt.QtWidgets import QApplication

    _flush_deletes()
    window = iface.mainWindow()
    return {
        "main window children": Counter(_describe(o) for o in window.findChildren(QObject)),
        "top-level widgets": Counter(_describe(w) for w in QApplication.topLevelWidgets()),
        "menu bar": Counter(a.text() for a in window.menuBar().actions()),
        "processing providers": Counter(p.id() for p in QgsApplication.processingRegistry().providers()),
        "data item providers": Counter(p.name() for p in QgsApplication.dataItemProviderRegistry().providers()),
        "source select providers": Counter(p.name() for p in QgsGui.sourceSelectProviderRegistry().providers()),
        "expression functions": Counter(f.name() for f in QgsExpression.Functions()),
    }


def diff(before: dict[str, Counter], after: dict[str, Counter]) -> dict[str, dict]:
    out = {}
    for key in before:
        added, removed = after[key] - before[key], before[key] - after[key]
        if added or removed:
            out[key] = {"left behind": dict(added), "removed": dict(removed)}
    return out


def unbalanced(calls: list[tuple[str, object]]) -> list[str]:
    """add/register calls without the matching remove/unregister of the same object."""
    problems = []
    for add, remove in IFACE_PAIRS.items():
        added = [obj for method, obj in calls if method == add]
        removed = [obj for method, obj in calls if method == remove]
        for obj in added:
            if any(obj is r for r in removed):
                removed.remove(next(r for r in removed if r is obj))
            else:
                problems.append(f"{add}({obj!r}) without {remove}")
    return problems


_RESTORED: list = []  # keeps re-registered Python providers alive


@pytest.fixture(autouse=True)
def _without_session_provider(qgis_app):
    """These tests register DTFL themselves: take out a provider that the session-wide ``processing_ready``
    fixture registered (when an earlier test file used it), and put one back afterwards."""
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    had = registry.providerById("dtfl") is not None
    if had:
        registry.removeProvider("dtfl")
    yield
    if had and registry.providerById("dtfl") is None:
        from dtfl_plugin.processing.provider import DtflProvider

        _RESTORED.append(DtflProvider())
        registry.addProvider(_RESTORED[-1])


def test_load_unload_twice_leaves_nothing(qgis_app, recording_iface):
    from qgis.core import QgsApplication

    from dtfl_plugin import classFactory, i18n

    iface = recording_iface
    baseline = snapshot(iface)
    assert "dtfl" not in baseline["processing providers"], "another test left the dtfl provider registered"
    for round_no in (1, 2):
        plugin = classFactory(iface)
        plugin.initGui()
        loaded = snapshot(iface)
        # The comparison can see the plugin: its provider, its menu and its toolbar are there.
        assert QgsApplication.processingRegistry().providerById("dtfl") is not None
        assert "DTFL" in loaded["menu bar"]
        assert loaded["main window children"][("QToolBar", "dtflToolbar", "", "DTFL")] == 1
        assert diff(baseline, loaded), "loading the plugin changed nothing observable"
        plugin_failures = dict(plugin.failed_features)
        plugin.unload()
        del plugin
        after = snapshot(iface)
        assert diff(baseline, after) == {}, f"round {round_no}: unload() left state behind"
        assert unbalanced(iface.recorded_calls) == [], f"round {round_no}"
        assert QgsApplication.processingRegistry().providerById("dtfl") is None
        assert i18n._translator is None
        assert plugin_failures == {}, f"features failed to start: {plugin_failures}"


def test_processing_only_load_as_qgis_process_does(qgis_app):
    """qgis_process calls classFactory(None)-style loading and only initProcessing(); unload still cleans up."""
    from qgis.core import QgsApplication

    from dtfl_plugin import classFactory

    registry = QgsApplication.processingRegistry()
    assert registry.providerById("dtfl") is None
    plugin = classFactory(None)
    plugin.initProcessing()
    plugin.initProcessing()  # QGIS may call it again: still one provider
    assert [p.id() for p in registry.providers()].count("dtfl") == 1
    provider = registry.providerById("dtfl")
    assert provider.name() == "DTFL"
    assert all(alg.id().startswith("dtfl:") for alg in provider.algorithms())
    plugin.unload()
    assert registry.providerById("dtfl") is None


def test_about_action_shows_metadata(qgis_app, recording_iface, monkeypatch):
    from qgis.PyQt.QtWidgets import QMessageBox

    from dtfl_plugin import classFactory
    from dtfl_plugin.__about__ import version

    shown = []
    # A modal dialog would block the test: capture what it would show instead.
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda parent, title, text: shown.append((title, text))))
    plugin = classFactory(recording_iface)
    plugin.initGui()
    try:
        about = next(a for a in plugin.menu.actions() if a.objectName() == "dtflAbout")
        assert about not in plugin.toolbar.actions()
        about.trigger()
    finally:
        plugin.unload()
    assert shown and shown[0][0] == "About DTFL"
    assert version() in shown[0][1] and "digital twin" in shown[0][1].lower()


class BrokenFeature:
    """A feature that fails half-way through init_gui (after adding an action and a dock)."""

    def __init__(self, iface, plugin) -> None:
        self.plugin = plugin

    def init_gui(self) -> None:
        from qgis.PyQt.QtWidgets import QDockWidget

        self.plugin.add_action("Half-built", lambda: None, object_name="dtflHalfBuilt")
        dock = QDockWidget("Half-built dock")
        dock.setObjectName("dtflHalfBuiltDock")
        self.plugin.add_dock(dock)
        raise RuntimeError("simulated failure")

    def unload(self) -> None:
        pass


def test_broken_feature_is_reported_and_cleaned_up(qgis_app, recording_iface, monkeypatch):
    from dtfl_plugin import classFactory
    from dtfl_plugin import plugin as plugin_module

    monkeypatch.setattr(plugin_module, "FEATURES", (f"{__name__}:BrokenFeature",))
    warnings = []
    monkeypatch.setattr(
        recording_iface.messageBar(), "pushWarning", lambda title, text: warnings.append(text), raising=False
    )
    baseline = snapshot(recording_iface)
    plugin = classFactory(recording_iface)
    plugin.initGui()  # must not raise: QGIS would then never call unload()
    assert list(plugin.failed_features) == [f"{__name__}:BrokenFeature"]
    assert "simulated failure" in warnings[0]
    assert any(a.objectName() == "dtflAbout" for a in plugin.menu.actions()), "the rest of the plugin still starts"
    plugin.unload()
    assert diff(baseline, snapshot(recording_iface)) == {}
    assert unbalanced(recording_iface.recorded_calls) == []
