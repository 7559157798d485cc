"""Run any Processing algorithm and record the run like a DTFL algorithm does (RunCapture).

Re-cooking re-runs recorded steps of any provider (native, gdal, dtfl, models); their runs go
into the new recipe with the same detail as the original ones: file inputs hashed, outputs
hashed, parameters in qgis_process JSON form, times, user.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingParameterMultipleLayers,
    QgsProject,
)

from ..errors import RecipeError
from ..i18n import tr
from ..provenance.capture import INPUT_PARAMETERS, RunCapture
from ..provenance.layer_props import source_file
from ..provenance.record import RunRecord


def _local_file(value) -> str:
    if not isinstance(value, str) or not value:
        return ""
    path = source_file(value)
    return path if Path(path).is_file() else ""


def run_and_record(
    algorithm_id: str,
    parameters: dict,
    context: QgsProcessingContext | None = None,
    feedback: QgsProcessingFeedback | None = None,
    *,
    area: tuple[tuple[float, float, float, float], str] | None = None,
    cooked_from: str = "",
) -> tuple[dict, RunRecord]:
    """Run ``algorithm_id`` with ``parameters`` (JSON-form values) and return (results, record)."""
    import processing

    registry = QgsApplication.processingRegistry()
    alg = registry.algorithmById(algorithm_id)
    if alg is None:
        raise RecipeError(
            tr("The algorithm '{id}' is not available in this QGIS; install the plugin that provides it.").format(
                id=algorithm_id
            )
        )
    scratch = None
    if context is None:
        # A private project: algorithms that store their own run record (RunCapture.store) must not write
        # into the project the user has open while a recipe is re-cooked.
        scratch = QgsProject()
        context = QgsProcessingContext()
        context.setProject(scratch)
    feedback = feedback or QgsProcessingFeedback()
    capture = RunCapture.start(alg, parameters, context)
    for definition in alg.parameterDefinitions():
        value = parameters.get(definition.name())
        values = (
            value
            if isinstance(definition, QgsProcessingParameterMultipleLayers) and isinstance(value, list)
            else [value]
        )
        if isinstance(definition, INPUT_PARAMETERS):
            for item in values:
                path = _local_file(item)
                if path:
                    capture.add_file_input(definition.name(), path)
    if area is not None:
        capture.set_area(area[0], area[1])
    capture.record.cooked_from = cooked_from
    try:
        results = processing.run(algorithm_id, parameters, context=context, feedback=feedback)
    except Exception as err:  # noqa: BLE001 - processing raises QgsProcessingException or anything an algorithm raises
        capture.fail(str(err))
        raise RecipeError(tr("Step {id} failed: {error}").format(id=algorithm_id, error=err)) from err
    for name, value in results.items():
        path = _local_file(value)
        if path:
            capture.add_output(name, path)
    record = capture.finish()
    del scratch  # kept alive until the run is over
    return results, record
