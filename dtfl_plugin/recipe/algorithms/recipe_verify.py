"""dtfl:recipe_verify — check a recipe's signature, manifest, hashes and RO-Crate before using it."""

from __future__ import annotations

import json

from qgis.core import (
    QgsProcessingOutputBoolean,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
)

from ...i18n import tr
from ...processing.base import DtflAlgorithm
from .. import keys
from ..verify import verify_recipe
from ._common import progress, recipe_input


class RecipeVerifyAlgorithm(DtflAlgorithm):
    GROUP_ID = "recipes"
    RECIPE = "RECIPE"
    TRUSTED_KEYS = "TRUSTED_KEYS"
    OUTPUT = "OUTPUT"

    def displayName(self) -> str:
        return tr("Verify recipe")

    def shortHelpString(self) -> str:
        return tr(
            "Checks a recipe without opening it, in this order: the signature of the manifest (by one of your "
            "trusted keys, or the keys given here), the manifest, the SHA-256 of every file, that no file is "
            "missing from the manifest, and the RO-Crate metadata. The JSON report says valid true/false, "
            "signature valid, unknown-key, invalid or missing, and lists each problem with the file or entry it "
            "concerns."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(recipe_input(self.RECIPE))
        self.addParameter(
            QgsProcessingParameterString(
                self.TRUSTED_KEYS,
                tr("Extra trusted public keys (base64 or key files, one per line)"),
                multiLine=True,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(self.OUTPUT, tr("Verification report"), tr("JSON (*.json)"))
        )
        self.addOutput(QgsProcessingOutputBoolean("VALID", tr("Valid")))
        self.addOutput(QgsProcessingOutputString("SIGNATURE", tr("Signature")))

    def process(self, parameters, context, feedback):
        recipe = self.parameterAsFile(parameters, self.RECIPE, context)
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        trusted = keys.trusted_keys() + keys.parse_key_list(
            self.parameterAsString(parameters, self.TRUSTED_KEYS, context)
        )
        report = verify_recipe(recipe, trusted, progress=progress(feedback))
        from ..sign import write_text_atomic

        write_text_atomic(output, json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        for problem in report.problems:
            feedback.pushWarning(f"{problem.entry}: {problem.message}" if problem.entry else problem.message)
        feedback.pushInfo(
            tr("Valid: {valid}; signature: {signature}").format(valid=report.valid, signature=report.signature)
        )
        self._capture.add_file_input(self.RECIPE, recipe)
        self._capture.add_output(self.OUTPUT, output)
        return {self.OUTPUT: output, "VALID": report.valid, "SIGNATURE": report.signature}
