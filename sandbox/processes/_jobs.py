"""The base of the processes that follow their own job (pygeoapi 0.21 discovers no module named ``_*``)."""

from __future__ import annotations

from pygeoapi.process.base import BaseProcessor


class JobProcessor(BaseProcessor):
    """A processor that keeps its job id: pygeoapi's manager calls ``set_job_id()`` before ``execute()``, and the
    process needs the id to report progress and to notice that the client dismissed the job."""

    def __init__(self, processor_def: dict, process_metadata: dict) -> None:
        super().__init__(processor_def, process_metadata)
        self.job_id: str | None = None

    def set_job_id(self, job_id: str) -> None:
        self.job_id = job_id
