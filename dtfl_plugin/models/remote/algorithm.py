"""One OGC API - Processes process as a Processing algorithm: dtfl:remote_<server>_<process>.

Built from a cached process description (never the network at construction). A run encodes
the inputs, waits for a free job slot on the server, submits asynchronously, follows the job
(progress and server messages go to the feedback), dismisses it on cancel, and writes the
results into the Processing destinations all-or-nothing, so the outputs chain in the Modeler
like any local algorithm's. Every run, failed or not, is recorded with its job URL.
"""

from __future__ import annotations

from qgis.core import QgsProcessingException, QgsProcessingOutputString

from ...errors import DtflError
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from . import pending
from .client import JobStatus, ProcessesClient, RemoteModelError
from .mapping import JOB_URL, encode_input, input_parameter, output_parameter, process_specs
from .outputs import write_results
from .servers import Server, run_job, sanitize, timeout_s


def algorithm_name(server: Server, process_id: str) -> str:
    return f"remote_{server.key}_{sanitize(process_id)}"


class RemoteProcessAlgorithm(DtflAlgorithm):
    def __init__(self, server: Server, description: dict) -> None:
        super().__init__()
        self._server = server
        self._description = description
        self._pid = str(description.get("id", ""))
        self._inputs, self._outputs = process_specs(description)  # list[Spec] each

    # --- identity ---------------------------------------------------------------------
    def instance_args(self) -> tuple:
        return (self._server, self._description)

    def name(self) -> str:
        return algorithm_name(self._server, self._pid)

    def displayName(self) -> str:
        return str(self._description.get("title") or self._pid)

    def group(self) -> str:
        return tr("Remote models: {server}").format(server=self._server.name)

    def groupId(self) -> str:
        return f"remote_{self._server.key}"

    def tags(self) -> list[str]:
        return ["ogc", "api", "processes", "remote", self._server.name, self._pid]

    def shortHelpString(self) -> str:
        text = str(self._description.get("description") or "")
        return tr(
            "{description}\n\nRuns as process {id} (version {version}) on the OGC API - Processes server "
            "{server} ({url}). Inputs are sent to that server."
        ).format(
            description=text,
            id=self._pid,
            version=self._description.get("version", "?"),
            server=self._server.name,
            url=self._server.url,
        )

    def initAlgorithm(self, config=None) -> None:
        for spec in self._inputs:
            param = input_parameter(spec)
            if spec.description:
                param.setHelp(spec.description)
            self.addParameter(param)
        for spec in self._outputs:
            param = output_parameter(spec)
            if hasattr(param, "setSupportsNonFileBasedOutput"):
                param.setSupportsNonFileBasedOutput(False)  # results are files written by us
            self.addParameter(param)
        self.addOutput(QgsProcessingOutputString(JOB_URL, tr("Job URL on the server")))

    # --- run --------------------------------------------------------------------------
    def process(self, parameters, context, feedback):
        capture = self.capture
        # The model's version is the server process's, not the plugin's.
        capture.record.algorithm_version = str(self._description.get("version") or capture.record.algorithm_version)
        client = ProcessesClient(
            self._server.url, authcfg=self._server.authcfg, timeout_s=timeout_s(), feedback=feedback
        )
        job_url = ""
        submitted: list = []  # the pending-job file while the job runs (picked up after a restart otherwise)
        try:
            inputs = {}
            for spec in self._inputs:
                value = encode_input(spec, self, parameters, context, feedback, capture)
                if value is not None:
                    inputs[spec.id] = value
            destinations = {
                s.name: self.parameterAsOutputLayer(parameters, s.name, context)
                if s.kind in ("raster", "vector")
                else self.parameterAsFileOutput(parameters, s.name, context)
                for s in self._outputs
            }
            job_url, written = run_job(
                client,
                self._server,
                self._pid,
                inputs,
                feedback,
                _Reporter(feedback),
                lambda results, base: write_results(results, self._outputs, destinations, client, base),
                lambda url: submitted.append(
                    pending.register(self._server, self._description, url, destinations, capture.record)
                ),
            )
        except (DtflError, QgsProcessingException) as err:
            job_url = getattr(err, "job_url", "")
            if feedback.isCanceled() and submitted and pending.shutting_down():
                # QGIS is closing: the job keeps running on the server and is picked up at the next start.
                raise self.fail(
                    tr("QGIS closed; the job {url} is followed again at the next start.").format(url=job_url)
                ) from err
            pending.forget(submitted[0] if submitted else None)
            if feedback.isCanceled():
                if job_url:
                    dismissed = client.dismiss(job_url)
                    feedback.pushInfo(
                        tr("Job {url} dismissed on the server.").format(url=job_url)
                        if dismissed
                        else tr("The job {url} could not be dismissed; it may still run on the server.").format(
                            url=job_url
                        )
                    )
                capture.record.job_url, capture.record.server_url = job_url, self._server.url
                raise self.cancelled() from err
            capture.record.job_url, capture.record.server_url = job_url, self._server.url
            raise self.fail(str(err)) from err

        pending.forget(submitted[0] if submitted else None)
        for name, path in written.items():
            capture.add_output(name, path)
        capture.finish(job_url=job_url, server_url=self._server.url)
        feedback.setProgress(100)
        return {**written, JOB_URL: job_url}


class _Reporter:
    """Shows honest job state: the server's progress when it gives one, its status words otherwise."""

    def __init__(self, feedback) -> None:
        self.feedback = feedback
        self.last: tuple = ()

    def __call__(self, st: JobStatus) -> None:
        if st.progress is not None and st.status not in ("accepted",):
            self.feedback.setProgress(max(0, min(100, st.progress)))
        key = (st.status, st.message)
        if key != self.last:
            self.last = key
            text = tr("Job {status}").format(status=st.status)
            if st.message:
                text += f": {st.message}"
            self.feedback.setProgressText(text)
            self.feedback.pushInfo(text)


def check_description(description: dict) -> None:
    """Raise RemoteModelError when a cached description cannot make an algorithm."""
    if not isinstance(description, dict) or not description.get("id"):
        raise RemoteModelError(tr("A cached process description has no id."))
