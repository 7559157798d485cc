"""The DTFL menu entry "Publish as web page…": the Processing dialog of dtfl:publish_web (progress, Cancel,
background task), filled in for the current project."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_menu_entry_opens_the_dialog_with_progress_and_cancel(plugin, publish_twin, qgis_app, qgis_iface, monkeypatch):
    from qgis.core import QgsProject

    from dtfl_plugin.gui.publish_web import PublishWebFeature

    # pytest-qgis's stub interface has no browser model; Processing's parameter panel asks for one
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: None, raising=False)
    action = next(a for a in plugin.actions if a.objectName() == "dtflPublishWebAction")
    assert action in plugin.menu.actions()
    project = QgsProject.instance()
    assert project.read(str(publish_twin.project_file))
    try:
        action.trigger()
        feature = next(f for f in plugin.features if isinstance(f, PublishWebFeature))
        dialog = feature.dialog
        assert dialog is not None and dialog.isVisible() and not dialog.isModal()
        assert dialog.algorithm().id() == "dtfl:publish_web"
        from qgis.PyQt.QtWidgets import QProgressBar, QPushButton

        assert dialog.findChildren(QProgressBar)  # Processing's own progress bar and Cancel button
        assert any(b.text().replace("&", "") in ("Cancel", "Annuleren") for b in dialog.findChildren(QPushButton))
        values = dialog.createProcessingParameters()
        assert values["OUTPUT"].endswith("twin-web") and "RECIPE" not in values or not values["RECIPE"]
    finally:
        project.clear()
    plugin.unload()
    assert feature.dialog is None and not plugin.actions
