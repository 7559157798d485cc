"""dtfl:remote_server — add, change or remove a remote model (OGC API - Processes) server.

The server list lives in QGIS settings (dtfl/remote/servers); credentials never do: AUTHCFG is the
id of a QGIS authentication configuration (Settings > Options > Authentication), resolved by QGIS
at request time. No network here: run dtfl:remote_refresh afterwards to list the server's processes.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from qgis.core import (
    QgsProcessingOutputString,
    QgsProcessingParameterAuthConfig,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ...compat import NUMBER_INTEGER
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from ..remote import servers


class RemoteServerAlgorithm(DtflAlgorithm):
    GROUP_ID = "remote"
    NAME = "NAME"
    URL = "URL"
    AUTHCFG = "AUTHCFG"
    MAX_JOBS = "MAX_JOBS"
    REMOVE = "REMOVE"
    SERVERS = "SERVERS"

    def displayName(self) -> str:
        return tr("Configure a remote model server")

    def shortHelpString(self) -> str:
        return tr(
            "Adds or changes an OGC API - Processes server (by name), or removes it. URL is the API's landing "
            "page, e.g. https://processes.example.org/ogcapi. AUTHCFG is a QGIS authentication configuration "
            "(basic, OAuth2, API key header ...): credentials stay in QGIS's encrypted store. MAX_JOBS limits "
            "how many jobs this QGIS runs at once on the server. Then run 'Refresh remote models'."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(QgsProcessingParameterString(self.NAME, tr("Server name")))
        self.addParameter(QgsProcessingParameterString(self.URL, tr("Landing page URL"), "", False, True))
        self.addParameter(QgsProcessingParameterAuthConfig(self.AUTHCFG, tr("Authentication"), "", True))
        param = QgsProcessingParameterNumber(
            self.MAX_JOBS, tr("Jobs at once"), NUMBER_INTEGER, servers.DEFAULT_MAX_JOBS
        )
        param.setMinimum(1)
        param.setMaximum(64)
        self.addParameter(param)
        self.addParameter(QgsProcessingParameterBoolean(self.REMOVE, tr("Remove this server"), False))
        self.addOutput(QgsProcessingOutputString(self.SERVERS, tr("Configured servers (JSON)")))

    def process(self, parameters, context, feedback):
        name = self.parameterAsString(parameters, self.NAME, context).strip()
        if not name:
            raise servers.RemoteModelError(tr("A server needs a name."))
        if self.parameterAsBoolean(parameters, self.REMOVE, context):
            servers.remove(name)
            feedback.pushInfo(tr("Server {name} removed.").format(name=name))
        else:
            server = servers.Server(
                name=name,
                url=self.parameterAsString(parameters, self.URL, context).strip().rstrip("/"),
                authcfg=self.parameterAsString(parameters, self.AUTHCFG, context) or "",
                max_jobs=self.parameterAsInt(parameters, self.MAX_JOBS, context),
            )
            servers.save(server)
            feedback.pushInfo(
                tr("Server {name} saved; run 'Refresh remote models' to list its processes.").format(name=name)
            )
        # authcfg ids are listed (they are not secrets), credentials never are
        return {self.SERVERS: json.dumps([asdict(s) for s in servers.configured()])}
