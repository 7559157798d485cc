"""dtfl:publish_web — publish the twin as a self-contained web page for residents (2D, 3D, provenance)."""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from ...compat import PARAMETER_ADVANCED
from ...errors import PublishError
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from ...recipe.progress import Progress
from ..site import PublishOptions, publish
from ..snapshot import ProjectSnap, read_project, snapshot

LANGUAGES = ("nl", "en")


class PublishWebAlgorithm(DtflAlgorithm):
    GROUP_ID = "publish"
    PROJECT = "PROJECT"
    EXTENT = "EXTENT"
    TITLE = "TITLE"
    LANGUAGE = "LANGUAGE"
    RECIPE = "RECIPE"
    OUTPUT = "OUTPUT"
    _snap: ProjectSnap | None = None  # the project as prepareAlgorithm read it (each run has an instance of its own)

    def displayName(self) -> str:
        return tr("Publish the twin as a web page")

    def shortHelpString(self) -> str:
        return tr(
            "Writes a self-contained web site (index.html plus its files) that anyone opens in a browser from any "
            "static web host or a local web server, with no request to any other host: a 2D map of the project's "
            "layers with legends, a 3D view (terrain from the DEM, buildings at their height, flood depth per "
            "scenario, click a building for its details and the water against its facade) and a panel 'Where "
            "does this come from?' built from the project's provenance and recipe. PROJECT empty: the current "
            "project. OUTPUT must be an empty folder or a site published before."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                self.PROJECT, tr("Project (empty: the current project)"), optional=True,
                fileFilter=tr("QGIS project (*.qgs *.qgz)"),
            )
        )  # fmt: skip
        self.addParameter(
            QgsProcessingParameterExtent(self.EXTENT, tr("Area (empty: the terrain's extent)"), optional=True)
        )
        self.addParameter(QgsProcessingParameterString(self.TITLE, tr("Title of the page"), optional=True))
        self.addParameter(
            QgsProcessingParameterEnum(
                self.LANGUAGE, tr("Language of the page"), options=[tr("Dutch"), tr("English")], defaultValue=0
            )
        )
        recipe = QgsProcessingParameterFile(
            self.RECIPE,
            tr("Recipe of this twin (to cite and verify)"),
            optional=True,
            fileFilter=tr("DTFL recipe (*.dtfl.zip *.zip)"),
        )
        recipe.setFlags(recipe.flags() | PARAMETER_ADVANCED)
        self.addParameter(recipe)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Web site folder")))
        self.addOutput(QgsProcessingOutputNumber("LAYERS", tr("Layers on the map")))
        self.addOutput(QgsProcessingOutputNumber("BUILDINGS", tr("Buildings in 3D")))
        self.addOutput(QgsProcessingOutputNumber("SCENARIOS", tr("Scenarios")))
        self.addOutput(QgsProcessingOutputNumber("BYTES", tr("Size of the site (bytes)")))

    def prepareAlgorithm(self, parameters, context, feedback) -> bool:  # noqa: N802 - QGIS API
        # Main thread: the project and its layers are read here; the worker thread only sees clones.
        path = self.parameterAsFile(parameters, self.PROJECT, context)
        try:
            project = read_project(path) if path else context.project()
        except PublishError as err:
            feedback.reportError(str(err), fatalError=True)
            return False
        if project is None:
            feedback.reportError(tr("There is no project to publish."), fatalError=True)
            return False
        self._snap = snapshot(project)
        return True

    def process(self, parameters, context, feedback):
        snap = self._snap
        if snap is None:
            raise PublishError(tr("There is no project to publish."))
        output = Path(self.parameterAsString(parameters, self.OUTPUT, context) or "")
        if not str(output):
            raise PublishError(tr("Choose a folder for the web site."))
        extent = None
        if parameters.get(self.EXTENT) not in (None, ""):
            extent = self.parameterAsExtent(parameters, self.EXTENT, context, snap.crs)
        recipe = self.parameterAsFile(parameters, self.RECIPE, context)
        options = PublishOptions(
            output=output,
            title=self.parameterAsString(parameters, self.TITLE, context).strip(),
            language=LANGUAGES[self.parameterAsEnum(parameters, self.LANGUAGE, context)],
            extent=extent,
            recipe=Path(recipe) if recipe else None,
        )
        if snap.project_file:
            self.capture.add_file_input(self.PROJECT, snap.project_file)
        try:
            result = publish(snap, options, Progress.from_feedback(feedback))
        finally:
            # The clones die with the run, not when Python exits after QGIS (a crash on QGIS 3.40).
            self._snap = None
            snap.layers.clear()
        for warning in result.warnings:
            feedback.pushWarning(warning)
        feedback.pushInfo(
            tr("Web site written to {path}: {layers} layers, {buildings} buildings, {scenarios} scenarios, {kib} KiB.").format(
                path=result.output, layers=result.layers, buildings=result.buildings, scenarios=result.scenarios,
                kib=result.bytes // 1024,
            )
        )  # fmt: skip
        self.capture.add_output(self.OUTPUT, str(result.output / "index.html"))
        return {self.OUTPUT: str(result.output), "LAYERS": result.layers, "BUILDINGS": result.buildings,
                "SCENARIOS": result.scenarios, "BYTES": result.bytes}  # fmt: skip
