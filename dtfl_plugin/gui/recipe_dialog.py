"""GUI feature: "Package recipe…" and "Open recipe…". Thin: the work is recipe/ core code run in the
Processing dialog (packaging: progress and cancel there) or in QgsTasks (verifying, unpacking). The
verification verdict is shown BEFORE anything from the recipe is unpacked or read."""

from __future__ import annotations

import traceback
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsProject, QgsTask
from qgis.PyQt import sip
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLabel, QVBoxLayout

from .. import settings
from ..errors import DtflError
from ..i18n import tr
from ..recipe import keys, preflight, qgsxml
from ..recipe.live import temporary_layers
from ..recipe.open import OpenResult, default_folder, keep_untrusted, map_credentials, unpack
from ..recipe.progress import Progress
from ..recipe.verdict import build_verdict
from ..recipe.verify import VerifyReport, verify_recipe
from ..task import DtflTask
from .recipe_keys import KeygenDialog, ask_passphrase
from .recipe_verdict import GapsDialog, VerdictDialog

UNPACK_PARENT = "recipe/unpack_parent"


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only succeeds when empty: nothing of the person's is removed
    except OSError:
        pass


class _Task(DtflTask):
    """One recipe core function (verify, unpack) with progress and cancel; a failure in handing the outcome
    over is shown as a message, never a traceback."""

    def on_finished(self, ok: bool) -> None:
        try:
            super().on_finished(ok)
        except Exception as err:  # noqa: BLE001 - shown as a message, logged with its traceback
            QgsMessageLog.logMessage(traceback.format_exc(), "DTFL", Qgis.MessageLevel.Critical)
            iface = getattr(__import__("qgis.utils").utils, "iface", None)
            if iface is not None:
                iface.messageBar().pushMessage(tr("DTFL recipe"), str(err), Qgis.MessageLevel.Critical)


class RecipeFeature:
    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin
        self.tasks: list[QgsTask] = []
        self.last_report: VerifyReport | None = None
        self.last_open: OpenResult | None = None

    def init_gui(self) -> None:
        self.plugin.add_action(tr("Package recipe…"), self.package, object_name="dtflPackageRecipe", toolbar=False)
        self.plugin.add_action(tr("Open recipe…"), self.open_recipe, object_name="dtflOpenRecipe", toolbar=False)
        self.plugin.add_action(tr("Create signing key…"), self.keygen, object_name="dtflRecipeKeygen", toolbar=False)

    def unload(self) -> None:
        for task in self.tasks:
            if not sip.isdeleted(task) and task.status() in (QgsTask.TaskStatus.Queued, QgsTask.TaskStatus.Running):
                task.cancel()
        self.tasks.clear()

    # --- keys ---
    def keygen(self, _checked: bool = False) -> KeygenDialog:
        dialog = KeygenDialog(self.iface.mainWindow())
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.created is not None:
            made = dialog.created
            where = tr("in the QGIS authentication database") if made.authcfg else made.secret_path
            self._message(
                tr(
                    "Signing key {id} created (secret key {where}). Give {public} to those who receive your recipes."
                ).format(  # fmt: skip
                    id=made.key_id, where=where, public=made.public_path
                ),
                Qgis.MessageLevel.Success,
            )
        return dialog

    # --- package: first what will not travel, then the Processing dialog (progress, cancel, log) ---
    def package(self, _checked: bool = False) -> None:
        import processing

        project = QgsProject.instance()
        if not project.fileName():
            self._message(tr("Save the project first: a recipe packages the saved project."), Qgis.MessageLevel.Warning)
            return
        try:
            if not self.confirm_gaps(project):
                return
        except DtflError as err:  # the project file cannot be read: say so, packaging would fail the same way
            self._message(str(err), Qgis.MessageLevel.Critical)
            return
        params = {"PROJECT": project.fileName(), "OUTPUT": str(Path(project.fileName()).with_suffix(".dtfl.zip"))}
        key = keys.signing_key()
        if key.get("authcfg"):
            params["SIGNING_AUTHCFG"] = key["authcfg"]
        elif key.get("file") and Path(key["file"]).is_file():
            if not ask_passphrase(self.iface.mainWindow(), key["file"]):
                return
            params["SIGNING_KEY"] = key["file"]
        processing.execAlgorithmDialog("dtfl:recipe_package", params)

    def confirm_gaps(self, project) -> bool:
        """Show what will not reach the recipient (and why); the person fixes it first or goes on."""
        tree = qgsxml.read_project_xml(project.fileName())
        live = {layer.id(): "" for layer in temporary_layers(project)}  # written out when packing
        gaps = preflight.check(tree, project.fileName(), live)
        if not any(gap.lost or gap.kind == "credentials" for gap in gaps):
            return True  # references only: the verdict lists them for the recipient
        dialog = GapsDialog(gaps, self.iface.mainWindow())
        self.last_gaps = dialog
        return dialog.exec() == QDialog.DialogCode.Accepted

    # --- open: verify (task) → verdict → unpack (task) → read ---
    def open_recipe(self, _checked: bool = False, path: str = "") -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self.iface.mainWindow(), tr("Open recipe"), "", tr("DTFL recipe (*.dtfl.zip *.zip)")
            )
        if path:
            self.verify(path, self._show_verdict)

    def verify(self, path: str, then) -> QgsTask:
        trusted = keys.trusted_keys()  # settings are read here, in the main thread

        def work(progress):
            report = verify_recipe(path, trusted, progress=progress)
            return report, build_verdict(report, path)

        def done(result, error):
            self.last_report = result[0] if result else None
            if error is not None:
                self._message(str(error), Qgis.MessageLevel.Critical)
            elif result is not None:
                then(path, *result)

        return self._start(tr("Checking recipe"), work, done)

    def _show_verdict(self, path: str, report: VerifyReport, verdict=None) -> None:
        dialog = VerdictDialog(verdict or build_verdict(report, path), self.iface.mainWindow(), report.key_id)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            if dialog.trusted_now:  # the person trusted the signer's key: check again, show the new verdict
                self.verify(path, self._show_verdict)
            return
        parent = settings.get_json(UNPACK_PARENT, "") or None
        default = default_folder(path, parent)
        default.mkdir(parents=True, exist_ok=True)  # exists, so the chooser can pick it as it is
        folder = QFileDialog.getExistingDirectory(
            self.iface.mainWindow(), tr("Folder to unpack the recipe into"), str(default)
        )
        if not folder or Path(folder) != default:
            _remove_if_empty(default)
        if folder:
            settings.set_json(UNPACK_PARENT, str(Path(folder).parent))
            self.unpack_and_open(path, folder, allow_untrusted=dialog.override)

    def unpack_and_open(self, path: str, folder: str, *, allow_untrusted: bool, read: bool = True) -> QgsTask:
        trusted = keys.trusted_keys()

        def work(progress):
            return unpack(path, folder, trusted=trusted, allow_untrusted=allow_untrusted, progress=progress)

        def done(result, error):
            if error is not None:
                self._message(str(error), Qgis.MessageLevel.Critical)
                return
            self.last_open = result
            if Path(folder).resolve() != result.folder.resolve():
                self._message(
                    tr("'{chosen}' was not empty; the recipe was unpacked into '{folder}'.").format(
                        chosen=folder, folder=result.folder
                    ),  # fmt: skip
                    Qgis.MessageLevel.Info,
                )
            for finding in result.findings:
                self._message(finding.message, Qgis.MessageLevel.Warning)
            if result.unmapped_auth and read:
                self.ask_credentials(result)
            if read and self.iface.newProject(True):  # the user may keep the current project
                keep_untrusted(result)
                self.iface.addProject(str(result.project))

        return self._start(tr("Unpacking recipe"), work, done)

    def ask_credentials(self, result: OpenResult) -> None:
        """Let the user pick one of their own authentication configurations per placeholder of the recipe."""
        from qgis.gui import QgsAuthConfigSelect

        dialog = QDialog(self.iface.mainWindow())
        dialog.setWindowTitle(tr("Credentials for the recipe's services"))
        layout = QVBoxLayout(dialog)
        selectors = {}
        for name in result.unmapped_auth:
            label = QLabel(
                tr("“{name}”, needed by layer “{layer}”:").format(name=name, layer=result.placeholders.get(name, "?"))
            )
            layout.addWidget(label)
            selectors[name] = QgsAuthConfigSelect(dialog)
            layout.addWidget(selectors[name])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            map_credentials(result, {name: widget.configId() for name, widget in selectors.items()})

    def _start(self, description: str, work, done) -> QgsTask:
        task = _Task(description, lambda feedback: work(Progress.from_feedback(feedback)), done)
        self.tasks = [t for t in self.tasks if not sip.isdeleted(t)]  # the task manager deletes finished tasks
        self.tasks.append(task)
        QgsApplication.taskManager().addTask(task)
        return task

    def _message(self, text: str, level) -> None:
        self.iface.messageBar().pushMessage(tr("DTFL recipe"), text, level)
