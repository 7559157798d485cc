"""A 3D render for the desktop: a snapshot of the open project rendered by the guarded child, polled.

The desktop's event loop never waits on a render: the child is started, a QTimer polls it, a timeout
kills its process group, and the caller gets (png path, '') or ('', translated message). If the child
dies (QGIS 3.22's 3D engine can abort) the user's QGIS and its unsaved project are untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from qgis.core import QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QTimer

from ..errors import DtflError, LayerError
from ..i18n import tr
from .render import check_child_result, child_command
from .terrain import EXAGGERATION_KEY, TERRAIN_KEY  # noqa: F401 - the dock writes these entries

POLL_MS = 200


def snapshot_project(project: QgsProject, folder: str) -> str:
    """Write the open project to ``folder`` with absolute paths; its file name and dirty state are kept."""
    path = str(Path(folder) / "view3d.qgs")
    old_name, dirty = project.fileName(), project.isDirty()
    absolute, _ = project.readBoolEntry("Paths", "/Absolute", False)
    project.writeEntry("Paths", "/Absolute", True)
    try:
        ok = project.write(path)
    finally:
        project.writeEntry("Paths", "/Absolute", absolute)
        project.setFileName(old_name)
        project.setDirty(dirty)
    if not ok:
        raise LayerError(tr("Cannot prepare the 3D view: {reason}").format(reason=project.error()))
    return path


class RenderJob:
    """One render of the open project's 3D scene in a child process."""

    def __init__(self, job: dict, folder: str, timeout_s: float) -> None:
        self.job = job
        self.folder = folder
        self.timeout_s = timeout_s
        self.proc: subprocess.Popen | None = None
        self.timer: QTimer | None = None
        self.started = 0.0
        self.done: Callable[[str, str], None] = lambda path, error: None

    @classmethod
    def for_project(
        cls,
        project: QgsProject,
        extent: QgsRectangle,
        *,
        width: int,
        height: int,
        pitch: float,
        yaw: float,
        exaggeration: float,
        timeout_s: float,
    ) -> RenderJob:
        folder = tempfile.mkdtemp(prefix="dtfl-view3d-")
        try:
            path = snapshot_project(project, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        job = {
            "project": path,
            "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()],
            "extent_crs": project.crs().authid(),
            "output": str(Path(folder) / "view3d.png"),
            "width": int(width),
            "height": int(height),
            "pitch": float(pitch),
            "yaw": float(yaw),
            "exaggeration": float(exaggeration),
        }
        return cls(job, folder, timeout_s)

    def start(self, done: Callable[[str, str], None]) -> None:
        self.done = done
        job_file = Path(self.folder) / "job.json"
        job_file.write_text(json.dumps(self.job), encoding="utf-8")
        try:
            command, env = child_command(str(job_file))
            self.proc = subprocess.Popen(
                command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except (OSError, DtflError) as err:
            self._finish("", str(err))
            return
        self.started = time.monotonic()
        self.timer = QTimer()
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _poll(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if time.monotonic() - self.started > self.timeout_s:
                self.cancel()
                self._finish(
                    "",
                    tr("The 3D render did not finish within {seconds} seconds (OpenGL may be unavailable).").format(
                        seconds=int(self.timeout_s)
                    ),
                )
            return
        out, err = self.proc.communicate()
        try:
            path = check_child_result(self.proc.returncode, out, err, self.job["output"])
        except DtflError as error:
            self._finish("", str(error))
            return
        self._finish(path, "")

    def cancel(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.communicate()

    def _finish(self, path: str, error: str) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None
        if error:
            self.cleanup()
        self.done(path, error)

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
