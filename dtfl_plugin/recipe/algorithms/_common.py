"""Small helpers shared by the recipe algorithms (parameter parsing only; the work is in recipe/)."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterBoolean, QgsProcessingParameterFile, QgsProcessingParameterFileDestination

from ...compat import PARAMETER_ADVANCED
from ...i18n import tr
from ..progress import Progress


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


def advanced(param):
    """Mark a parameter as advanced (Qgis.ProcessingParameterFlag on 3.36+, the class flag before)."""
    param.setFlags(param.flags() | PARAMETER_ADVANCED)
    return param


def hidden(param):
    """Hide a parameter from the dialog: for scripts only (a passphrase typed there would reach the log)."""
    from qgis.core import Qgis, QgsProcessingParameterDefinition

    from ...compat import resolve

    flag = resolve((Qgis, "ProcessingParameterFlag.Hidden"), (QgsProcessingParameterDefinition, "Flag.FlagHidden"))
    param.setFlags(param.flags() | flag)
    return param


# Parameters several recipe algorithms share, written once so their labels and filters stay the same.
def recipe_input(name: str) -> QgsProcessingParameterFile:
    return QgsProcessingParameterFile(name, tr("Recipe"), fileFilter=tr("DTFL recipe (*.dtfl.zip *.zip)"))


def recipe_output(name: str, label: str) -> QgsProcessingParameterFileDestination:
    return QgsProcessingParameterFileDestination(name, label, tr("DTFL recipe (*.dtfl.zip)"))


def signing_key_input(name: str) -> QgsProcessingParameterFile:
    return QgsProcessingParameterFile(name, tr("Signing key (minisign secret key)"), optional=True)


def allow_untrusted_input(name: str) -> QgsProcessingParameterBoolean:
    return advanced(QgsProcessingParameterBoolean(name, tr("Allow unsigned or untrusted recipes"), False))
