"""The "Refresh remote models" menu action: refresh in the background, algorithms appear, message bar says so."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.sandbox


def test_refresh_action_lists_the_processes_and_tells_the_user(
    qgis_iface, processing_ready, processes_url, monkeypatch
):
    from qgis.PyQt.QtCore import QCoreApplication

    from dtfl_plugin import classFactory
    from dtfl_plugin.gui.remote_models import RemoteModelsFeature
    from dtfl_plugin.models.remote import cache, servers

    messages = []
    bar = qgis_iface.messageBar()
    monkeypatch.setattr(bar, "pushMessage", lambda *args: messages.append(args), raising=False)
    monkeypatch.setattr(qgis_iface, "messageBar", lambda: bar)
    servers.save(servers.Server(name="gui", url=processes_url))
    cache.cache_path("gui").unlink(missing_ok=True)
    processing_ready.providerById("dtfl").refreshAlgorithms()
    plugin = classFactory(qgis_iface)  # only its action bookkeeping: the session's dtfl provider stays registered
    feature = RemoteModelsFeature(qgis_iface, plugin)
    feature.init_gui()
    try:
        assert processing_ready.algorithmById("dtfl:remote_gui_bathtub") is None  # nothing cached, nothing fetched
        assert feature.action in plugin.actions and feature.action.objectName() == "dtfl_refresh_remote_models"
        feature.action.trigger()
        end = time.monotonic() + 60
        while not messages and time.monotonic() < end:
            QCoreApplication.processEvents()
            time.sleep(0.02)
        assert messages, "no message after refreshing"
        assert "remote processes listed" in messages[0][1]
        assert processing_ready.algorithmById("dtfl:remote_gui_bathtub") is not None
    finally:
        feature.unload()
        plugin.unload()
        servers.remove("gui")
        cache.cache_path("gui").unlink(missing_ok=True)
        processing_ready.providerById("dtfl").refreshAlgorithms()
