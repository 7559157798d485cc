"""dtfl:remote_refresh — fetch the process descriptions of the remote servers into the cache.

The network work runs in processAlgorithm (a worker thread when started from the toolbox);
the provider's algorithm list is rebuilt in postProcessAlgorithm, on the main thread, because
the Processing registry and its toolbox models live there.
"""

from __future__ import annotations

import json

from qgis.core import (
    QgsApplication,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterString,
)

from ...i18n import tr
from ...processing.base import DtflAlgorithm
from ..remote import cache
from ..remote.servers import get, servers


class RemoteRefreshAlgorithm(DtflAlgorithm):
    GROUP_ID = "remote"
    SERVER = "SERVER"
    COUNT = "COUNT"
    PROCESSES = "PROCESSES"

    def displayName(self) -> str:
        return tr("Refresh remote models")

    def shortHelpString(self) -> str:
        return tr(
            "Reads the list of processes and their descriptions from the configured OGC API - Processes servers "
            "(or only the one named in SERVER) into the local cache, then lists them as algorithms in the "
            "Processing toolbox. QGIS never contacts the servers at start-up: run this after adding a server or "
            "when its processes changed."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(
            QgsProcessingParameterString(self.SERVER, tr("Server name (empty: all servers)"), "", False, True)
        )
        self.addOutput(QgsProcessingOutputNumber(self.COUNT, tr("Number of processes")))
        self.addOutput(QgsProcessingOutputString(self.PROCESSES, tr("Algorithm ids (JSON list)")))

    def process(self, parameters, context, feedback):
        from ..remote.algorithm import algorithm_name

        capture = self.capture
        name = self.parameterAsString(parameters, self.SERVER, context).strip()
        ids: list[str] = []
        targets = [get(name)] if name else servers()
        if not targets:
            raise QgsProcessingException(
                tr(
                    "No remote model server is configured. Add one with 'Configure a remote model server' (dtfl:remote_server)."
                )
            )
        for server in targets:
            feedback.pushInfo(tr("Reading processes of {name} ({url})").format(name=server.name, url=server.url))
            processes = cache.refresh(server, feedback)
            capture.add_service_input(server.name, server.url + "/processes")
            capture.add_output(server.name, str(cache.cache_path(server.name)))
            ids += [f"dtfl:{algorithm_name(server, pid)}" for pid in sorted(processes)]
        capture.finish()
        return {self.COUNT: len(ids), self.PROCESSES: json.dumps(ids)}

    def postProcessAlgorithm(self, context, feedback):
        provider = QgsApplication.processingRegistry().providerById("dtfl")
        if provider is not None:
            provider.refreshAlgorithms()
        return super().postProcessAlgorithm(context, feedback)
