"""GUI feature: "Package recipe…" and "Open recipe…". Thin: the work is recipe/ core code run in the
Processing dialog (packaging: progress and cancel there) or in QgsTasks (verifying, unpacking). The
verification verdict is shown BEFORE anything from the recipe is unpacked or read."""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsProject, QgsTask
from qgis.PyQt import sip
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLabel, QListWidget, QVBoxLayout

from ..errors import DtflError
from ..i18n import tr
from ..recipe import keys
from ..recipe.open import OpenResult, map_credentials, refusal, unpack
from ..recipe.progress import Progress
from ..recipe.verify import VerifyReport, verify_recipe
from ..settings import data_dir


def verdict(report: VerifyReport) -> tuple[str, list[str], bool, bool]:
    """(headline, detail lines, may open, only with the untrusted override) for a verification report."""
    lines = [f"{p.entry}: {p.message}" if p.entry else p.message for p in report.problems]
    if report.valid:
        head = tr("Verified: signed by “{signer}” (key {key}); every file matches the signed manifest.").format(
            signer=report.signer, key=report.key_id
        )
        return head, [report.trusted_comment] if report.trusted_comment else [], True, False
    blocked = refusal(report, allow_untrusted=True)
    if blocked:
        return tr("Refused: this recipe must not be opened."), [blocked, *lines], False, False
    if report.signature == "missing":
        head = tr("Not signed: the files are intact, but nobody vouches for who made them.")
    elif report.signature == "cannot-check":
        head = tr(
            "Signature not checked: this QGIS could not check it (see below). That is not a sign of tampering, "
            "but nobody vouches for who made the recipe until it is checked."
        )
    else:
        head = tr("Signed by a key you do not trust ({key}): the files are intact.").format(key=report.key_id)
    return head, lines, True, True


class _Task(QgsTask):
    """Runs one core function with progress and cancel; the result crosses back in finished()."""

    def __init__(self, description: str, work, done) -> None:
        super().__init__(description, QgsTask.Flag.CanCancel)
        self.work = work
        self.done = done
        self.result = None
        self.error: DtflError | None = None

    def run(self) -> bool:
        progress = Progress(self.setProgress, self.isCanceled)
        try:
            self.result = self.work(progress)
        except DtflError as err:
            self.error = err
            return False
        return True

    def finished(self, ok: bool) -> None:
        self.done(self.result if ok else None, self.error)


class VerdictDialog(QDialog):
    def __init__(self, report: VerifyReport, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Recipe verification"))
        head, lines, may_open, override = verdict(report)
        layout = QVBoxLayout(self)
        label = QLabel(head)
        label.setWordWrap(True)
        layout.addWidget(label)
        details = QListWidget()
        details.addItems(lines or [tr("No problems found.")])
        layout.addWidget(details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = None
        if may_open:
            text = tr("Open anyway (untrusted)") if override else tr("Open")
            self.open_button = buttons.addButton(text, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.override = override


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

    def unload(self) -> None:
        for task in self.tasks:
            if not sip.isdeleted(task) and task.status() in (QgsTask.TaskStatus.Queued, QgsTask.TaskStatus.Running):
                task.cancel()
        self.tasks.clear()

    # --- package: the Processing dialog gives progress, cancel and the log ---
    def package(self, _checked: bool = False) -> None:
        import processing

        project = QgsProject.instance()
        if not project.fileName():
            self.iface.messageBar().pushMessage(
                tr("DTFL"),
                tr("Save the project first: a recipe packages the saved project."),
                Qgis.MessageLevel.Warning,
            )
            return
        processing.execAlgorithmDialog("dtfl:recipe_package", {"PROJECT": project.fileName()})

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
            return verify_recipe(path, trusted, progress=progress)

        def done(report, error):
            self.last_report = report
            if error is not None:
                self._message(str(error), Qgis.MessageLevel.Critical)
            elif report is not None:
                then(path, report)

        return self._start(tr("Verifying recipe"), work, done)

    def _show_verdict(self, path: str, report: VerifyReport) -> None:
        dialog = VerdictDialog(report, self.iface.mainWindow())
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        default = data_dir() / "recipes" / Path(path).name.replace(".dtfl.zip", "")
        folder = QFileDialog.getExistingDirectory(
            self.iface.mainWindow(), tr("Empty folder to unpack the recipe into"), str(default.parent)
        )
        if folder:
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
            for finding in result.findings:
                self._message(finding.message, Qgis.MessageLevel.Warning)
            if result.unmapped_auth and read:
                self.ask_credentials(result)
            if read and self.iface.newProject(True):  # the user may keep the current project
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
        task = _Task(description, work, done)
        self.tasks = [t for t in self.tasks if not sip.isdeleted(t)]  # the task manager deletes finished tasks
        self.tasks.append(task)
        QgsApplication.taskManager().addTask(task)
        return task

    def _message(self, text: str, level) -> None:
        self.iface.messageBar().pushMessage(tr("DTFL recipe"), text, level)
