"""dtfl:recipe_package — package a project as a signed, verifiable recipe (.dtfl.zip)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from qgis.core import (
    QgsProcessingOutputString,
    QgsProcessingParameterAuthConfig,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
)

from ... import settings
from ...errors import DtflError, RecipeError
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from .. import keys, live
from ..pack import PackOptions, pack
from ._common import advanced, area, hidden, progress, recipe_output, signing_key_input


class RecipePackageAlgorithm(DtflAlgorithm):
    GROUP_ID = "recipes"
    PROJECT = "PROJECT"
    OUTPUT = "OUTPUT"
    SIGNING_KEY = "SIGNING_KEY"
    PASSPHRASE = "PASSPHRASE"
    SIGNING_AUTHCFG = "SIGNING_AUTHCFG"
    AREA = "AREA"
    EMBED = "EMBED"

    def __init__(self) -> None:
        super().__init__()
        self._live: dict[str, str] = {}
        self._live_dir = ""
        self._organisation = ""
        self._default_key: dict = {}

    def prepareAlgorithm(self, parameters, context, feedback) -> bool:
        # Main thread: temporary layers of the open project are written out here, so the recipe carries
        # what QGIS does not save in the project file.
        project = context.project()
        path = self.parameterAsFile(parameters, self.PROJECT, context)
        self._organisation = str(settings.get_json(keys.ORGANISATION, "") or "")
        self._default_key = keys.signing_key()  # the key made with "Create signing key…" (settings: main thread)
        if (
            project is not None
            and project.fileName()
            and (not path or Path(path).resolve() == Path(project.fileName()).resolve())
        ):
            self._live_dir = tempfile.mkdtemp(prefix="dtfl-live-")
            try:
                self._live = live.materialise(project, self._live_dir)
            except DtflError as err:
                feedback.reportError(str(err))
                return False
        return True

    def displayName(self) -> str:
        return tr("Package recipe")

    def shortHelpString(self) -> str:
        return tr(
            "Packages a saved QGIS project as a recipe: the project with relative paths and without code or "
            "credentials, local data (vectors as GeoPackage, rasters as GeoTIFF, clipped to the area when one is "
            "given), styles, 3D views, models, every recorded run as an RO-Crate CreateAction and a "
            "steps/NNN-*.json file that qgis_process can re-run, and service layers as URLs with the time they "
            "were read. A SHA-256 manifest is signed with your minisign key. The project itself is never changed; "
            "unsaved changes are not included."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                self.PROJECT,
                tr("Project (empty: the current project)"),
                extension="",
                optional=True,
                fileFilter=tr("QGIS projects (*.qgs *.qgz)"),
            )
        )
        self.addParameter(recipe_output(self.OUTPUT, tr("Recipe")))
        self.addParameter(signing_key_input(self.SIGNING_KEY))
        self.addParameter(QgsProcessingParameterExtent(self.AREA, tr("Area of interest"), optional=True))
        self.addParameter(
            QgsProcessingParameterEnum(
                self.EMBED,
                tr("Service layers"),
                options=[tr("Keep services as references"), tr("Also embed a snapshot clipped to the area")],
                defaultValue=0,
            )
        )
        self.addParameter(
            hidden(QgsProcessingParameterString(self.PASSPHRASE, tr("Passphrase of the signing key"), optional=True))
        )
        self.addParameter(
            advanced(
                QgsProcessingParameterAuthConfig(
                    self.SIGNING_AUTHCFG, tr("Signing key kept in the authentication database"), optional=True
                )
            )
        )
        self.addOutput(QgsProcessingOutputString("RECIPE_ID", tr("Recipe id")))

    def process(self, parameters, context, feedback):
        try:
            options = self._options(parameters, context, feedback)
            options.live_sources = dict(self._live)
            result = pack(options, progress(feedback))
        finally:
            if self._live_dir:
                shutil.rmtree(self._live_dir, ignore_errors=True)
        for warning in result.warnings:
            feedback.pushWarning(warning)
        self._capture.add_file_input(self.PROJECT, str(options.project))
        self._capture.add_output(self.OUTPUT, str(result.output))
        if options.area is not None:
            self._capture.set_area(*options.area)
        return {self.OUTPUT: str(result.output), "RECIPE_ID": result.recipe_id}

    def _options(self, parameters, context, feedback) -> PackOptions:
        project = self.parameterAsFile(parameters, self.PROJECT, context)
        if not project:
            current = context.project()
            project = current.fileName() if current is not None else ""
            if not project:
                raise RecipeError(tr("The current project has not been saved; save it first or choose a project file."))
            if current.isDirty():
                feedback.pushWarning(
                    tr("The current project has unsaved changes; the recipe holds the project as saved on disk.")
                )
        key_path = self.parameterAsFile(parameters, self.SIGNING_KEY, context)
        authcfg = self.parameterAsString(parameters, self.SIGNING_AUTHCFG, context)
        passphrase = self.parameterAsString(parameters, self.PASSPHRASE, context) or None
        secret = None
        if not authcfg and not key_path:  # no key chosen: the person's own key, when it can sign unattended
            authcfg = self._default_key.get("authcfg", "")
            if not authcfg and keys.is_unlocked(self._default_key.get("file", "")):
                key_path = self._default_key["file"]
        if authcfg:
            secret = keys.load_secret_key(f"authcfg:{authcfg}", None)
        elif key_path:
            secret = keys.load_secret_key(key_path, passphrase)
        embed = self.parameterAsEnum(parameters, self.EMBED, context) == 1
        aoi = area(self, parameters, self.AREA, context)
        if embed and aoi is None:
            raise RecipeError(tr("A snapshot of the services needs an area: set the area of interest."))
        return PackOptions(
            project=Path(project),
            output=Path(self.parameterAsFileOutput(parameters, self.OUTPUT, context)),
            secret_key=secret,
            area=aoi,
            embed_services=embed,
            organisation=self._organisation,
        )
