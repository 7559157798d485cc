"""dtfl:render_3d_view — a PNG of a project's 3D scene over an extent, for reports and tests.

Terrain and 3D styles come from the project (DTFL's terrain entry or QGIS's elevation settings);
layers without a 3D style get sensible defaults (buildings with a height field extruded, point clouds
by AHN class). Renders need OpenGL: in the QGIS desktop this runs in-process; headless (qgis_process)
it runs in a child process under xvfb-run with a timeout, and without Xvfb it fails with a message.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from ...compat import FLAG_NO_THREADING, NUMBER_DOUBLE, NUMBER_INTEGER
from ...i18n import tr
from ...processing.base import DtflAlgorithm


class Render3DViewAlgorithm(DtflAlgorithm):
    GROUP_ID = "layers"
    PROJECT = "PROJECT"
    EXTENT = "EXTENT"
    DISTANCE = "DISTANCE"
    PITCH = "PITCH"
    YAW = "YAW"
    WIDTH = "WIDTH"
    HEIGHT = "HEIGHT"
    TIMEOUT = "TIMEOUT"
    OUTPUT = "OUTPUT"
    SECONDS = "SECONDS"

    def displayName(self) -> str:
        return tr("Render 3D view to image")

    def flags(self):
        # OpenGL work must happen on the main thread.
        return super().flags() | FLAG_NO_THREADING

    def shortHelpString(self) -> str:
        return tr(
            "Renders the 3D scene of a QGIS project (terrain, 3D buildings, point clouds) over an extent to a PNG. "
            "PROJECT is a .qgs/.qgz file; empty uses the open project. The camera looks at the centre of EXTENT "
            "from DISTANCE metres (empty: fits the extent), tilted by PITCH degrees (0 looks straight down) and "
            "turned by YAW degrees. Terrain: the DEM the project names as terrain, else flat. Layers without a 3D "
            "style get defaults: polygons with a height field (3DBAG b3_h_dak_*, hoogte) are extruded, point clouds "
            "coloured by AHN class. 3D rendering needs OpenGL: without a display (qgis_process) the render runs under "
            "xvfb-run when it is installed, and stops after TIMEOUT seconds."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                self.PROJECT,
                tr("QGIS project (empty: the open project)"),
                fileFilter=tr("QGIS projects (*.qgs *.qgz)"),
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, tr("Area to look at")))
        double = NUMBER_DOUBLE
        integer = NUMBER_INTEGER
        self.addParameter(
            QgsProcessingParameterNumber(
                self.DISTANCE, tr("Camera distance (m, empty: fit the extent)"), double, None, True, 1.0, 1e6
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.PITCH, tr("Pitch (degrees, 0 = straight down)"), double, 45.0, False, 0.0, 89.0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.YAW, tr("Yaw (degrees)"), double, 0.0, False, -360.0, 360.0)
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.WIDTH, tr("Image width (pixels)"), integer, 1280, False, 64, 8192)
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.HEIGHT, tr("Image height (pixels)"), integer, 800, False, 64, 8192)
        )
        self.addParameter(
            QgsProcessingParameterNumber(self.TIMEOUT, tr("Timeout (seconds)"), integer, 300, False, 10, 3600)
        )
        self.addParameter(QgsProcessingParameterFileDestination(self.OUTPUT, tr("Image"), tr("PNG image (*.png)")))
        self.addOutput(QgsProcessingOutputNumber(self.SECONDS, tr("Render time (s)")))

    def process(self, parameters, context, feedback):
        import time

        from ..render import render_project_file

        project_path = self.parameterAsFile(parameters, self.PROJECT, context)
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        extent = self.parameterAsExtent(parameters, self.EXTENT, context)
        extent_crs = self.parameterAsExtentCrs(parameters, self.EXTENT, context)
        distance = parameters.get(self.DISTANCE)
        start = time.perf_counter()
        if not project_path:
            project_path = self._current_project_file(context)
        elif not Path(project_path).is_file():
            raise QgsProcessingException(tr("The project {path} does not exist.").format(path=project_path))
        self._capture.add_file_input(self.PROJECT, project_path)
        self._capture.set_area(
            (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()), extent_crs.authid()
        )
        feedback.pushInfo(tr("Rendering the 3D scene of {path} ...").format(path=project_path))
        render_project_file(
            project_path,
            extent,
            extent_crs,
            output,
            width=self.parameterAsInt(parameters, self.WIDTH, context),
            height=self.parameterAsInt(parameters, self.HEIGHT, context),
            distance=self.parameterAsDouble(parameters, self.DISTANCE, context) if distance not in (None, "") else None,
            pitch=self.parameterAsDouble(parameters, self.PITCH, context),
            yaw=self.parameterAsDouble(parameters, self.YAW, context),
            timeout_s=self.parameterAsInt(parameters, self.TIMEOUT, context),
        )
        seconds = time.perf_counter() - start
        feedback.pushInfo(tr("3D view written to {path} in {seconds:.1f} s.").format(path=output, seconds=seconds))
        self._capture.add_output(self.OUTPUT, output)
        return {self.OUTPUT: output, self.SECONDS: seconds}

    @staticmethod
    def _current_project_file(context) -> str:
        project = context.project()
        if project is None or not project.fileName():
            raise QgsProcessingException(tr("Save the project first, or give a project file."))
        if project.isDirty():
            raise QgsProcessingException(
                tr("The project has unsaved changes: save it first, the render reads the saved file.")
            )
        return project.fileName()
