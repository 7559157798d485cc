"""GUI feature: "Refresh remote models" — runs dtfl:remote_refresh in the background.

The network work runs in a Processing task (worker thread); the provider's algorithm list is
rebuilt by the algorithm's postProcessAlgorithm on the main thread; the result is shown in the
message bar. QGIS itself never contacts the servers at start-up.
"""

from __future__ import annotations

import json

from qgis.core import Qgis, QgsApplication, QgsProcessingFeedback

from ..i18n import tr
from .background import run_in_background


class RemoteModelsFeature:
    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin
        self.action = None
        self._running = None  # the task while one runs: one refresh at a time

    def init_gui(self) -> None:
        self.action = self.plugin.add_action(
            tr("Refresh remote models"), self.refresh, object_name="dtfl_refresh_remote_models", toolbar=False
        )
        from .remote_pending import watch_and_resume

        self._pending = watch_and_resume(self.iface)  # jobs of an earlier session; jobs kept when QGIS closes

    def refresh(self) -> None:
        if self._running is not None:
            return
        alg = QgsApplication.processingRegistry().createAlgorithmById("dtfl:remote_refresh")
        if alg is None:
            return
        self._running = run_in_background(alg, {}, self._finished)

    def _finished(self, ok: bool, results: dict, feedback: QgsProcessingFeedback, _task) -> None:
        self._running = None
        bar = self.iface.messageBar() if self.iface is not None else None
        if bar is None:
            return
        if ok:
            count = len(json.loads(results.get("PROCESSES", "[]") or "[]"))
            bar.pushMessage(
                tr("Remote models"),
                tr("{n} remote processes listed in the toolbox.").format(n=count),
                Qgis.MessageLevel.Success,
                5,
            )
        else:
            log = feedback.textLog().strip().splitlines()
            bar.pushMessage(
                tr("Remote models"), log[-1] if log else tr("Refreshing failed."), Qgis.MessageLevel.Warning, 10
            )

    def unload(self) -> None:
        self.action = None
        if getattr(self, "_pending", None) is not None:
            self._pending.stop()
            self._pending = None
