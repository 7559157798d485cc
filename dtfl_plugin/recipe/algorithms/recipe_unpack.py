"""dtfl:recipe_unpack — verify and unpack a recipe safely into a folder (no code from it ever runs)."""

from __future__ import annotations

import json

from qgis.core import (
    QgsProcessingOutputFile,
    QgsProcessingOutputString,
    QgsProcessingParameterFolderDestination,
)

from ...i18n import tr
from ...processing.base import DtflAlgorithm
from .. import keys
from ..open import unpack
from ._common import allow_untrusted_input, progress, recipe_input


class RecipeUnpackAlgorithm(DtflAlgorithm):
    GROUP_ID = "recipes"
    RECIPE = "RECIPE"
    FOLDER = "FOLDER"
    ALLOW_UNTRUSTED = "ALLOW_UNTRUSTED"

    def displayName(self) -> str:
        return tr("Unpack recipe safely")

    def shortHelpString(self) -> str:
        return tr(
            "Verifies the recipe first and refuses it when it was tampered with, is damaged, or is unsafe as an "
            "archive (paths outside the folder, links, duplicate names, too many entries, zip bombs). Then "
            "unpacks it into an empty folder and removes project macros, Python expression functions, layer "
            "actions, form init code and credentials before QGIS reads anything. Unsigned recipes or recipes "
            "signed by a key you do not trust are refused unless you allow untrusted recipes."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(recipe_input(self.RECIPE))
        self.addParameter(
            QgsProcessingParameterFolderDestination(self.FOLDER, tr("Folder to unpack into (new or empty)"))
        )
        self.addParameter(allow_untrusted_input(self.ALLOW_UNTRUSTED))
        self.addOutput(QgsProcessingOutputFile("PROJECT", tr("Project")))
        self.addOutput(QgsProcessingOutputString("FINDINGS", tr("What was neutralised (JSON)")))

    def process(self, parameters, context, feedback):
        recipe = self.parameterAsFile(parameters, self.RECIPE, context)
        folder = self.parameterAsString(parameters, self.FOLDER, context)
        result = unpack(
            recipe,
            folder,
            trusted=keys.trusted_keys(),
            allow_untrusted=self.parameterAsBoolean(parameters, self.ALLOW_UNTRUSTED, context),
            progress=progress(feedback),
        )
        for finding in result.findings:
            feedback.pushWarning(finding.message)
        self._capture.add_file_input(self.RECIPE, recipe)
        findings = json.dumps(
            [{"kind": f.kind, "where": f.where, "message": f.message} for f in result.findings], ensure_ascii=False
        )
        return {self.FOLDER: str(result.folder), "PROJECT": str(result.project), "FINDINGS": findings}
