"""The recipe line of the provenance panel: its identifier and whether its signature holds."""

from __future__ import annotations

from pathlib import Path

from .text import PageText


def recipe_info(project_recipe_id: str, recipe_file: Path | None, text: PageText) -> dict:
    """``{"id", "status", "signer", "message"}``; empty when the twin has no recipe."""
    if recipe_file is None:
        if not project_recipe_id:
            return {}
        return {
            "id": project_recipe_id,
            "status": "not-checked",
            "signer": "",
            "message": text.tr(
                "This twin was opened from this recipe; its signature was not checked when this page was made."
            ),
        }
    from ..recipe import keys
    from ..recipe.verify import verify_recipe

    report = verify_recipe(recipe_file, keys.trusted_keys())
    messages = {
        "valid": text.tr("Signed by {signer}. Nothing in the recipe was changed after signing."),
        "unknown-key": text.tr(
            "Signed, but with a key the publisher does not know. Nothing was changed after signing, but who signed it is not confirmed."
        ),
        "invalid": text.tr("The signature does not match: the recipe was changed after it was signed."),
        "missing": text.tr("The recipe is not signed."),
    }
    message = messages.get(report.signature, messages["missing"]).format(signer=report.signer or report.key_id)
    if report.signature == "valid" and report.problems:
        message += " " + text.tr("But some files in it do not match the signed list.")
    return {
        "id": report.recipe_id or project_recipe_id,
        "status": report.signature,
        "signer": report.signer,
        "message": message,
    }
