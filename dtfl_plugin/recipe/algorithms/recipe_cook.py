"""dtfl:recipe_cook — re-cook a recipe on another area and write a new recipe linked to the original."""

from __future__ import annotations

import tempfile
from pathlib import Path

from qgis.core import (
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterExtent,
    QgsProcessingParameterString,
)

from ...errors import RecipeError
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from .. import keys
from ..cook import cook
from ._common import advanced, allow_untrusted_input, area, progress, recipe_input, recipe_output, signing_key_input


class RecipeCookAlgorithm(DtflAlgorithm):
    GROUP_ID = "recipes"
    RECIPE = "RECIPE"
    EXTENT = "EXTENT"
    OUTPUT = "OUTPUT"
    SIGNING_KEY = "SIGNING_KEY"
    PASSPHRASE = "PASSPHRASE"
    ALLOW_UNTRUSTED = "ALLOW_UNTRUSTED"
    PLAN_ONLY = "PLAN_ONLY"

    def displayName(self) -> str:
        return tr("Re-cook recipe on another area")

    def shortHelpString(self) -> str:
        return tr(
            "Verifies and unpacks the recipe safely, then re-runs its recorded steps in order on the new extent: "
            "area parameters take the new extent, each step reads the outputs the previous steps just made, "
            "snapshotted services are read again for the new extent, and the project keeps its styles and 3D "
            "views. Writes a new recipe whose provenance names the recipe it was cooked from. Algorithms the "
            "recipe used must be available in this QGIS. Before anything runs, the steps are checked and shown as "
            "a plan in the log: only algorithms that transform data, inputs from the recipe or its declared "
            "services, outputs in the output folder; one step outside that refuses the re-cook. 'Only show the "
            "plan' shows it and runs nothing."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(recipe_input(self.RECIPE))
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, tr("New area")))
        self.addParameter(recipe_output(self.OUTPUT, tr("Re-cooked recipe")))
        self.addParameter(advanced(signing_key_input(self.SIGNING_KEY)))
        self.addParameter(
            advanced(QgsProcessingParameterString(self.PASSPHRASE, tr("Passphrase of the signing key"), optional=True))
        )
        self.addParameter(allow_untrusted_input(self.ALLOW_UNTRUSTED))
        self.addParameter(QgsProcessingParameterBoolean(self.PLAN_ONLY, tr("Only show the plan (run nothing)"), False))
        self.addOutput(QgsProcessingOutputString("PLAN", tr("Plan")))
        self.addOutput(QgsProcessingOutputString("RECIPE_ID", tr("Recipe id")))
        self.addOutput(QgsProcessingOutputString("BASED_ON", tr("Cooked from recipe")))

    def process(self, parameters, context, feedback):
        recipe = self.parameterAsFile(parameters, self.RECIPE, context)
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        new_area = area(self, parameters, self.EXTENT, context)
        if new_area is None:
            raise RecipeError(tr("Give the new area to re-cook the recipe on."))
        key_path = self.parameterAsFile(parameters, self.SIGNING_KEY, context)
        secret = (
            keys.load_secret_key(key_path, self.parameterAsString(parameters, self.PASSPHRASE, context) or None)
            if key_path
            else None
        )
        with tempfile.TemporaryDirectory(prefix="dtfl-cook-") as workdir:
            result = cook(
                recipe,
                new_area,
                output,
                Path(workdir),
                trusted=keys.trusted_keys(),
                allow_untrusted=self.parameterAsBoolean(parameters, self.ALLOW_UNTRUSTED, context),
                secret_key=secret,
                progress=progress(feedback),
                feedback=feedback,
                plan_only=self.parameterAsBoolean(parameters, self.PLAN_ONLY, context),
            )
        plan = "\n".join(result.plan.lines()) if result.plan is not None else ""
        if not result.recipe_id:  # only the plan: nothing ran, nothing was written
            return {self.OUTPUT: "", "PLAN": plan, "RECIPE_ID": "", "BASED_ON": result.based_on}
        for warning in result.warnings:
            feedback.pushWarning(warning)
        self._capture.add_file_input(self.RECIPE, recipe)
        self._capture.add_output(self.OUTPUT, str(result.output))
        self._capture.set_area(*new_area)
        self._capture.record.cooked_from = result.based_on
        return {
            self.OUTPUT: str(result.output),
            "PLAN": plan,
            "RECIPE_ID": result.recipe_id,
            "BASED_ON": result.based_on,
        }
