"""Recording runs of DTFL algorithms.

Usage inside one QgsProcessingAlgorithm (a fresh instance per run, so state on self is safe):

    def processAlgorithm(self, parameters, context, feedback):
        self._capture = RunCapture.start(self, parameters, context)
        self._capture.add_file_input("DEM", dem_path)
        ...
        self._capture.add_output("OUTPUT", out_path)
        self._capture.finish()            # hashes outputs, appends to the profile's run log
        return {...}

    def postProcessAlgorithm(self, context, feedback):   # main thread
        if self._capture: self._capture.store(context)   # into the project, saved with it
        return {}

A failure calls ``fail(message)`` (log only). Hashing reads files in chunks.
"""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsMapLayer,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingOutputLayerDefinition,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFile,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorLayer,
    QgsProject,
    QgsProperty,
    QgsRectangle,
    QgsReferencedRectangle,
)

from ..compat import PROPERTY_STATIC
from .record import RunRecord, file_input, file_output, now_iso, service_input
from .store import append_log, append_run

# Parameters that read layers or files: their values are a run's inputs (sources), not its settings.
INPUT_PARAMETERS = (
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterVectorLayer,
    QgsProcessingParameterMapLayer,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
)


def json_value(value, context: QgsProcessingContext | None = None):
    """A Processing parameter value in qgis_process JSON-input form (strings, numbers, lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [json_value(v, context) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v, context) for k, v in value.items()}
    if isinstance(value, QgsMapLayer):
        return value.source()
    if isinstance(value, QgsProcessingFeatureSourceDefinition):
        return value.source.staticValue() if isinstance(value.source, QgsProperty) else str(value.source)
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        sink = value.sink
        return sink.staticValue() if isinstance(sink, QgsProperty) else str(sink)
    if isinstance(value, QgsProperty):
        return value.staticValue() if value.propertyType() == PROPERTY_STATIC else value.asExpression()
    if isinstance(value, QgsReferencedRectangle):
        return f"{value.xMinimum()},{value.xMaximum()},{value.yMinimum()},{value.yMaximum()} [{value.crs().authid()}]"
    if isinstance(value, QgsRectangle):
        return f"{value.xMinimum()},{value.xMaximum()},{value.yMinimum()},{value.yMaximum()}"
    if isinstance(value, QgsCoordinateReferenceSystem):
        return value.authid()
    return str(value)


class RunCapture:
    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self._stored = False

    @classmethod
    def start(
        cls, algorithm: QgsProcessingAlgorithm, parameters: dict, context: QgsProcessingContext | None = None
    ) -> RunCapture:
        provider = algorithm.provider()
        record = RunRecord(
            algorithm_id=algorithm.id(),
            algorithm_name=algorithm.displayName(),
            algorithm_version=provider.versionInfo() if provider is not None else "",
            parameters={k: json_value(v, context) for k, v in parameters.items()},
            qgis_version=Qgis.version(),
        )
        return cls(record)

    def add_file_input(self, role: str, path: str) -> None:
        self.record.inputs.append(file_input(role, path))

    def add_service_input(self, role: str, url: str, version: str = "") -> None:
        self.record.inputs.append(service_input(role, url, version))

    def add_output(self, name: str, path: str) -> None:
        self.record.outputs.append(file_output(name, path))

    def set_area(self, bbox: tuple[float, float, float, float], crs: str) -> None:
        self.record.area = {"bbox": list(bbox), "crs": crs}

    def finish(self, *, status: str = "completed", job_url: str = "", server_url: str = "") -> RunRecord:
        self.record.ended = now_iso()
        self.record.status = status
        self.record.job_url = job_url or self.record.job_url
        self.record.server_url = server_url or self.record.server_url
        append_log(self.record)
        return self.record

    def fail(self, message: str, *, status: str = "failed") -> RunRecord:
        self.record.error = message
        return self.finish(status=status)

    def store(self, context: QgsProcessingContext | None = None) -> None:
        """Write the record into the project (main thread only: call from postProcessAlgorithm)."""
        if self._stored:
            return
        project = context.project() if context is not None and context.project() is not None else QgsProject.instance()
        append_run(project, self.record)
        self._stored = True
