"""Run a Processing algorithm as a QGIS background task from the GUI, and let it go safely.

QGIS's task manager shows the run's progress and lets the person cancel it. The feedback is made here, in
Python, because the GUI reads its log afterwards; such a feedback must be detached (``task.detach``) before
QGIS deletes the finished task, or the deletion can hang QGIS against a worker thread holding the GIL.
"""

from __future__ import annotations

from typing import Callable

from qgis.core import (
    QgsApplication,
    QgsProcessingAlgorithm,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
)
from qgis.PyQt.QtCore import QTimer

from ..task import detach

Done = Callable[[bool, dict, QgsProcessingFeedback, QgsProcessingAlgRunnerTask], None]
_RUNNING: list = []  # (task, context, feedback, algorithm): Python must keep them alive while the task runs


def run_in_background(
    algorithm: QgsProcessingAlgorithm,
    parameters: dict,
    done: Done,
    *,
    description: str = "",
    project: QgsProject | None = None,
) -> QgsProcessingAlgRunnerTask:
    """Start ``algorithm`` with ``parameters`` in QGIS's task manager; ``done(ok, results, feedback, task)`` runs
    on the GUI thread when it ends (cancelled or failed runs included)."""
    context = QgsProcessingContext()
    context.setProject(project or QgsProject.instance())
    feedback = QgsProcessingFeedback()
    task = QgsProcessingAlgRunnerTask(algorithm, parameters, context, feedback)
    if description:
        task.setDescription(description)
    entry = (task, context, feedback, algorithm)

    def executed(ok: bool, results: dict) -> None:
        detach(feedback)  # now, with the GIL, not in QGIS's later deletion of the task
        if entry in _RUNNING:
            _RUNNING.remove(entry)
        # A task cancelled before it ran can end inside addTask, before the caller holds the task: hand the
        # outcome over from the event loop, always, so callers see one order.
        QTimer.singleShot(0, lambda: done(ok, results or {}, feedback, task))

    task.executed.connect(executed)
    _RUNNING.append(entry)
    QgsApplication.taskManager().addTask(task)
    return task
