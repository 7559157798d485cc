"""The thin base of every DTFL Processing algorithm (one level deep, like QGIS's own ``QgisAlgorithm``).

It owns what every algorithm used to write out by hand:
- instance creation (``createInstance`` makes ``type(self)(*self.instance_args())``);
- the group, from the class attribute ``GROUP_ID`` (its translated name comes from one table here);
- the run-capture lifecycle: ``processAlgorithm`` starts a ``RunCapture``, calls ``process()``, finishes the
  record when ``process()`` did not, and ``postProcessAlgorithm`` (main thread) stores it in the project
  (not for the groups in ``RUN_LOG_ONLY_GROUPS``);
- one error path: a room error (``DtflError``) or a ``QgsProcessingException`` (parameter errors too) raised
  in ``process()`` is recorded as a failed run, then reaches Processing as a ``QgsProcessingException``
  with the same message. Any other exception (a bug) is recorded too and keeps its traceback.
  No run goes unrecorded.

A subclass writes ``displayName``, ``shortHelpString``, ``initAlgorithm`` and ``process``; its id (``name``) is
the name of its file.
"""

from __future__ import annotations

from typing import Any

from qgis.core import QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback
from qgis.PyQt.QtCore import QCoreApplication

from ..errors import DtflError
from ..i18n import CONTEXT, tr
from ..provenance.capture import RunCapture


def group_names() -> dict[str, str]:
    """Translated toolbox group of each ``GROUP_ID`` (tr() needs literals, so the names live here)."""
    return {
        "catalogue": tr("Catalogue"),
        "layers": tr("Layers"),
        "models": tr("Models"),
        "remote": tr("Remote models"),
        "recipes": tr("Recipes"),
        "publish": tr("Publish"),
    }


# Groups whose runs go to the profile's run log only, not into the project: packaging a recipe or publishing
# the twin is not a step of the twin (a re-cook must not replay it) and must not change the project.
RUN_LOG_ONLY_GROUPS = frozenset({"recipes", "publish"})


class DtflAlgorithm(QgsProcessingAlgorithm):
    GROUP_ID = ""
    # Parameters whose values never enter a run record (recorded as "").
    SECRET_PARAMETERS: tuple[str, ...] = ("PASSPHRASE",)

    def __init__(self) -> None:
        super().__init__()
        self._capture: RunCapture | None = None

    # --- identity ---------------------------------------------------------------------------------------
    def instance_args(self) -> tuple:
        """Arguments a fresh instance is built with (an algorithm built from a description passes it on)."""
        return ()

    def createInstance(self):  # noqa: N802 - QGIS API
        return type(self)(*self.instance_args())

    def name(self) -> str:
        """The id is the file's name: one algorithm per file, ``<room>/algorithms/<name>.py``."""
        return type(self).__module__.rpartition(".")[2]

    def group(self) -> str:
        return group_names().get(self.GROUP_ID, self.GROUP_ID)

    def groupId(self) -> str:  # noqa: N802 - QGIS API
        return self.GROUP_ID

    def tr(self, text: str) -> str:
        return QCoreApplication.translate(CONTEXT, text)

    # --- the run ----------------------------------------------------------------------------------------
    @property
    def capture(self) -> RunCapture:
        """The record of the current run (a fresh instance per run, so state on self is safe)."""
        if self._capture is None:
            raise RuntimeError("capture is only available while the algorithm runs")
        return self._capture

    def recorded_parameters(self, parameters: dict) -> dict:
        """Parameters as they may be recorded: secrets (passphrases) never enter a run record."""
        return {k: ("" if k in self.SECRET_PARAMETERS else v) for k, v in parameters.items()}

    def process(
        self, parameters: dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        """Parse the parameters, call the room's core, record inputs and outputs on ``self.capture``."""
        raise NotImplementedError

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS API
        capture = self._capture = RunCapture.start(self, self.recorded_parameters(parameters), context)
        try:
            results = self.process(parameters, context, feedback)
        except QgsProcessingException as err:
            self.fail(str(err))
            raise
        except DtflError as err:
            raise self.fail(str(err)) from err
        except Exception as err:
            self.fail(str(err) or type(err).__name__)  # a bug: recorded, and its traceback reaches the log
            raise
        if not capture.record.ended:
            capture.finish()
        return results

    def fail(self, message: str, *, status: str = "failed") -> QgsProcessingException:
        """Record the run as failed (once) and return the exception to raise: ``raise self.fail(msg)``."""
        capture = self._capture
        if capture is not None and not capture.record.ended:
            capture.fail(message, status=status)
        return QgsProcessingException(message)

    def cancelled(self, message: str = "") -> QgsProcessingException:
        """Record the run as cancelled and return the exception to raise."""
        return self.fail(message or tr("Cancelled."), status="cancelled")

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - QGIS API
        if self._capture is not None and self.GROUP_ID not in RUN_LOG_ONLY_GROUPS:
            self._capture.store(context)
        return {}  # a non-empty map here would replace processAlgorithm's results
