"""Signing keys people can manage: "Create signing key…" in the DTFL menu, and the passphrase prompt before
packaging. A passphrase is typed only into password fields and goes straight to recipe/keys.py: it is never
a Processing parameter, so it never reaches a log, the Processing history or processing.log."""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from .. import settings
from ..errors import DtflError
from ..i18n import tr
from ..recipe import keys
from ..recipe.crate import slug
from ..settings import data_dir

PASSWORD = QLineEdit.EchoMode.Password


class KeygenDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("dtflKeygenDialog")
        self.setWindowTitle(tr("Create signing key"))
        self.setMinimumWidth(520)
        self.created: keys.CreatedKey | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            tr(
                "Recipes you sign show your organisation as their maker. Give the public key to those who receive "
                "your recipes; the secret key stays with you."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.organisation = QLineEdit(str(settings.get_json(keys.ORGANISATION, "") or ""))
        self.organisation.setPlaceholderText(tr("e.g. Gemeente Delft"))
        form.addRow(tr("Organisation"), self.organisation)
        self.in_auth = QCheckBox(tr("Keep the secret key in the QGIS authentication database (recommended)"))
        self.in_auth.setChecked(True)
        form.addRow("", self.in_auth)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(PASSWORD)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(PASSWORD)
        form.addRow(tr("Passphrase"), self.passphrase)
        form.addRow(tr("Passphrase again"), self.repeat)
        self.public_path = QLineEdit()
        form.addRow(tr("Public key file"), self.public_path)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.create)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.in_auth.toggled.connect(self._sync)
        self.organisation.textChanged.connect(self._suggest_path)
        self._suggest_path()
        self._sync()

    def _sync(self, _checked: bool = False) -> None:
        for field in (self.passphrase, self.repeat):
            field.setEnabled(not self.in_auth.isChecked())

    def _suggest_path(self, _text: str = "") -> None:
        """A free name: an earlier key (public or secret part) is never overwritten."""
        stem, n = data_dir() / "keys" / slug(self.organisation.text() or "dtfl"), 1
        candidate = stem
        while candidate.with_suffix(".pub").exists() or candidate.with_suffix(".key").exists():
            n += 1
            candidate = stem.with_name(f"{stem.name}-{n}")
        self.public_path.setText(str(candidate.with_suffix(".pub")))

    def create(self) -> None:
        if not self.in_auth.isChecked() and self.passphrase.text() != self.repeat.text():
            self.message.setText(tr("The two passphrases differ."))
            return
        public = self.public_path.text().strip()
        secret = str(Path(public).with_suffix(".key")) if public else ""
        try:
            self.created = keys.create_key(
                self.organisation.text(),
                public,
                in_auth=self.in_auth.isChecked(),
                secret_path=secret,
                passphrase=self.passphrase.text(),
            )
        except DtflError as err:
            self.message.setText(str(err))
            return
        finally:
            self.passphrase.clear()
            self.repeat.clear()
        self.accept()


def ask_passphrase(parent, key_path: str) -> bool:
    """Unlock a passphrase-protected key file for this session; False when the person gives up."""
    label = tr("Passphrase of your signing key ({name}):").format(name=Path(key_path).name)
    while True:
        text, ok = QInputDialog.getText(parent, tr("Sign the recipe"), label, PASSWORD)
        if not ok:
            return False
        try:
            keys.unlock(key_path, text)
            return True
        except DtflError as err:
            label = str(err) + "\n" + tr("Try again:")
        finally:
            text = ""
