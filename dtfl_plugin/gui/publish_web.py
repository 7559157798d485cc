"""GUI feature: "Publish as web page…" in the DTFL menu. Thin: the Processing dialog of dtfl:publish_web runs the
publishing in a background task, with its progress bar and Cancel button; the work is in publish/."""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsProject

from ..i18n import tr, user_language


def default_parameters(project) -> dict:
    """The current project, the page in the user's language, a folder and the recipe next to a saved project."""
    params: dict = {"LANGUAGE": 0 if user_language() == "nl" else 1}
    name = project.fileName()
    if name:
        path = Path(name)
        params["OUTPUT"] = str(path.with_name(f"{path.stem}-web"))
        recipe = path.with_suffix(".dtfl.zip")
        if recipe.is_file():
            params["RECIPE"] = str(recipe)
    return params


class PublishWebFeature:
    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin
        self.dialog = None

    def init_gui(self) -> None:
        self.plugin.add_action(
            tr("Publish as web page…"), self.open_dialog, object_name="dtflPublishWebAction", toolbar=False
        )

    def open_dialog(self, _checked: bool = False) -> None:
        import processing

        dialog = processing.createAlgorithmDialog("dtfl:publish_web", default_parameters(QgsProject.instance()))
        if dialog is None:
            return
        finished = getattr(dialog, "algorithmFinished", None)
        if finished is not None:
            finished.connect(self._finished)
        self.dialog = dialog
        dialog.show()  # not modal: QGIS stays usable while the site is written

    def _finished(self, successful: bool, results: dict) -> None:
        if not successful or not results.get("OUTPUT"):
            return
        self.iface.messageBar().pushMessage(
            tr("Web page published"),
            tr(
                "The site is in {folder}. Put the folder on any web server, or open it here with: "
                'python3 -m http.server --directory "{folder}" and then http://127.0.0.1:8000/'
            ).format(folder=results["OUTPUT"]),
            Qgis.MessageLevel.Success,
            0,
        )

    def unload(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog = None
