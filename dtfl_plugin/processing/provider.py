"""The one Processing provider (id ``dtfl``): local algorithms of every room plus remote models.

Each room lists its algorithm classes in ``<room>/algorithms/__init__.py`` as ``ALGORITHMS``.
Remote OGC API - Processes algorithms come from cached process descriptions only:
loading the provider never touches the network (QGIS and qgis_process start fast and offline).
"""

from __future__ import annotations

import importlib
import traceback

from qgis.core import Qgis, QgsMessageLog, QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..__about__ import resource_path, version
from ..i18n import tr

ROOMS = (
    "dtfl_plugin.catalogue.algorithms",
    "dtfl_plugin.layers.algorithms",
    "dtfl_plugin.models.algorithms",
    "dtfl_plugin.recipe.algorithms",
    "dtfl_plugin.publish.algorithms",
)


class DtflProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "dtfl"

    def name(self) -> str:
        return "DTFL"

    def longName(self) -> str:  # noqa: N802
        return tr("DTFL digital twin {version}").format(version=version())

    def icon(self) -> QIcon:
        return QIcon(str(resource_path("icon.svg")))

    def versionInfo(self) -> str:  # noqa: N802
        return version()

    def loadAlgorithms(self) -> None:  # noqa: N802
        for module_name in ROOMS:
            # QGIS calls this from C++: an exception escaping here aborts the whole application (PyQt's
            # unhandled-exception policy), so one room that cannot load is logged and the others still load.
            try:
                module = importlib.import_module(module_name)
                for alg_class in getattr(module, "ALGORITHMS", ()):
                    self.addAlgorithm(alg_class())
            except Exception as err:  # noqa: BLE001 - logged with its traceback, never silent
                QgsMessageLog.logMessage(
                    tr("The algorithms of {room} could not be loaded: {error}").format(room=module_name, error=err)
                    + "\n"
                    + traceback.format_exc(),
                    "DTFL",
                    Qgis.MessageLevel.Critical,
                )
        self._load_remote()

    def _load_remote(self) -> None:
        try:
            from ..models.remote.registry import cached_algorithms
        except ImportError:
            return
        try:
            for alg in cached_algorithms():
                self.addAlgorithm(alg)
        except Exception as err:  # noqa: BLE001 - a broken cache must never take the whole provider down
            QgsMessageLog.logMessage(
                tr("Remote models could not be listed from the cache: {error}").format(error=err),
                "DTFL",
            )
