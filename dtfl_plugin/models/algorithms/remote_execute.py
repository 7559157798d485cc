"""dtfl:remote_execute — run any process of a configured OGC API - Processes server, for scripts.

SERVER, PROCESS, INPUTS (the execute request's "inputs" object as JSON), OUTPUT folder.
Each result is written to the folder as <output id>.<suffix>; the job URL and the files are
returned. Unlike dtfl:remote_<server>_<process> it needs no cached description.
"""

from __future__ import annotations

import json
import os

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from ...errors import DtflError
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from ..remote.client import ProcessesClient
from ..remote.outputs import write_folder
from ..remote.servers import get, run_job, timeout_s


class RemoteExecuteAlgorithm(DtflAlgorithm):
    GROUP_ID = "remote"
    SERVER = "SERVER"
    PROCESS = "PROCESS"
    INPUTS = "INPUTS"
    OUTPUT = "OUTPUT"
    JOB_URL = "JOB_URL"
    FILES = "FILES"

    def displayName(self) -> str:
        return tr("Run a remote process (OGC API - Processes)")

    def shortHelpString(self) -> str:
        return tr(
            "Runs a process on a configured OGC API - Processes server and writes every result into the output "
            "folder, one file per output. INPUTS is the execute request's inputs object as JSON, e.g. "
            '{"event": "T100", "dem": {"href": "https://example.org/dem.tif"}}. '
            "The job runs asynchronously; cancelling dismisses it on the server."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(QgsProcessingParameterString(self.SERVER, tr("Server name")))
        self.addParameter(QgsProcessingParameterString(self.PROCESS, tr("Process id")))
        self.addParameter(QgsProcessingParameterString(self.INPUTS, tr("Inputs (JSON object)"), "{}", True))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Output folder")))
        self.addOutput(QgsProcessingOutputString(self.JOB_URL, tr("Job URL on the server")))
        self.addOutput(QgsProcessingOutputString(self.FILES, tr("Result files (JSON list)")))

    def process(self, parameters, context, feedback):
        capture = self.capture
        try:
            inputs = json.loads(self.parameterAsString(parameters, self.INPUTS, context) or "{}")
        except ValueError as err:
            raise QgsProcessingException(tr("INPUTS is not valid JSON: {error}").format(error=err)) from err
        if not isinstance(inputs, dict):
            raise QgsProcessingException(tr("INPUTS must be a JSON object of input id to value."))
        folder = self.parameterAsString(parameters, self.OUTPUT, context)
        process_id = self.parameterAsString(parameters, self.PROCESS, context).strip()
        job_url = ""
        client = None
        try:
            server = get(self.parameterAsString(parameters, self.SERVER, context).strip())
            capture.add_service_input("server", f"{server.url}/processes/{process_id}")
            client = ProcessesClient(server.url, authcfg=server.authcfg, timeout_s=timeout_s(), feedback=feedback)
            job_url, files = run_job(
                client,
                server,
                process_id,
                inputs,
                feedback,
                lambda st: _report(feedback, st),
                lambda results, base: write_folder(results, folder, client, base),
            )
        except DtflError as err:
            job_url = getattr(err, "job_url", "")
            cancelled = feedback.isCanceled()
            if cancelled and job_url and client is not None:
                client.dismiss(job_url)
            capture.record.job_url = job_url
            raise (self.cancelled() if cancelled else self.fail(str(err))) from err
        for path in files:
            capture.add_output(os.path.basename(path), path)
        capture.finish(job_url=job_url, server_url=server.url)
        return {self.OUTPUT: folder, self.JOB_URL: job_url, self.FILES: json.dumps(files)}


def _report(feedback, st) -> None:
    if st.progress is not None and st.status != "accepted":
        feedback.setProgress(max(0, min(100, st.progress)))
    if st.message:
        feedback.setProgressText(f"{st.status}: {st.message}")
