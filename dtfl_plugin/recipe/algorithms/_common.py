"""Small helpers shared by the recipe algorithms (parameter parsing only; the work is in recipe/)."""

from __future__ import annotations

from qgis.core import QgsProcessingException

from ...compat import PARAMETER_ADVANCED
from ...errors import DtflError
from ..progress import Progress

SECRET_PARAMETERS = ("PASSPHRASE",)


def recorded_parameters(parameters: dict) -> dict:
    """Parameters as they may be recorded: passphrases never enter a run record."""
    return {k: ("" if k in SECRET_PARAMETERS else v) for k, v in parameters.items()}


def progress(feedback) -> Progress:
    return Progress.from_feedback(feedback)


def area(alg, parameters, name: str, context) -> tuple[tuple[float, float, float, float], str] | None:
    """An extent parameter as ((xmin, ymin, xmax, ymax), crs authid), or None when it is empty."""
    if parameters.get(name) in (None, ""):
        return None
    rect = alg.parameterAsExtent(parameters, name, context)
    if rect.isNull() or rect.isEmpty():
        return None
    crs = alg.parameterAsExtentCrs(parameters, name, context)
    if not crs.isValid():
        crs = context.project().crs() if context.project() is not None else crs
    return (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()), crs.authid()


def fail(capture, err: DtflError) -> QgsProcessingException:
    """Record the failure and turn the room's error into the Processing exception users see."""
    if capture is not None:
        capture.fail(str(err))
    return QgsProcessingException(str(err))


def advanced(param):
    """Mark a parameter as advanced (Qgis.ProcessingParameterFlag on 3.36+, the class flag before)."""
    param.setFlags(param.flags() | PARAMETER_ADVANCED)
    return param
