"""The verdict dialog: what recipe/verdict.py says about a recipe, shown before anything is unpacked.
Plain words first; the technical details are one click away ("Details for experts")."""

from __future__ import annotations

from html import escape

from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from ..errors import DtflError
from ..i18n import tr
from ..recipe import keys
from ..recipe.preflight import Gap
from ..recipe.verdict import Verdict

COLOURS = {"trusted": "#1b7f3b", "untrusted": "#a15c00", "unsigned": "#a15c00", "cannot-check": "#a15c00"}
SYMBOLS = {"trusted": "✔", "refused": "✖"}


def verdict_html(verdict: Verdict) -> str:
    colour = COLOURS.get(verdict.state, "#b00020")
    symbol = SYMBOLS.get(verdict.state, "⚠")
    parts = [
        f'<p style="font-size:13pt"><b><span style="color:{colour}">{symbol}</span> {escape(verdict.headline)}</b></p>',
        f"<p>{escape(verdict.signer)}</p>",
    ]
    sections = (
        (tr("What is inside"), verdict.contents),
        (tr("Not inside: read from elsewhere, or missing"), verdict.referenced),
        (
            tr("Switched off when you open it, for your safety"),
            verdict.neutralised
            or (
                [tr("Nothing: the recipe holds no macros, actions, expression functions or form code.")]
                if verdict.contents
                else []
            ),
        ),
    )
    for title, lines in sections:
        if lines:
            items = "".join(f"<li>{escape(line)}</li>" for line in lines)
            parts.append(f"<p><b>{escape(title)}</b></p><ul style='margin-top:0'>{items}</ul>")
    return "".join(parts)


class VerdictDialog(QDialog):
    def __init__(self, verdict: Verdict, parent=None, key_id: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("dtflRecipeVerdict")
        self.setWindowTitle(tr("Can I trust this recipe?"))
        self.setMinimumWidth(620)
        self.verdict = verdict
        layout = QVBoxLayout(self)
        self.summary = QLabel(verdict_html(verdict))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.details_button = QPushButton(tr("Details for experts"))
        self.details_button.setCheckable(True)
        self.details = QPlainTextEdit("\n".join(verdict.details))
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        self.details.setMinimumHeight(140)
        self.details_button.toggled.connect(self._show_details)
        layout.addWidget(self.details_button)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = None
        if verdict.may_open:
            text = tr("Open anyway (untrusted)") if verdict.override else tr("Open")
            self.open_button = buttons.addButton(text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.trusted_now = False  # the person trusted the signing key here: the caller checks the recipe again
        self.trust_button = None
        if verdict.state == "untrusted" and key_id:
            self.trust_button = buttons.addButton(tr("Trust this key…"), QDialogButtonBox.ButtonRole.ActionRole)
            self.trust_button.clicked.connect(self.trust_key)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.override = verdict.override
        self.key_id = key_id

    def trust_key(self, _checked: bool = False, path: str = "") -> None:
        """Trust the sender's public key from the file they gave (only when it is the key that signed)."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, tr("The sender's public key"), "", tr("minisign public key (*.pub);;All files (*)")
            )
        if not path:
            return
        try:
            name = keys.trust_key_file(path, self.key_id)
        except DtflError as err:
            self.message.setText(str(err))
            return
        self.message.setText(tr("You now trust {name}.").format(name=name))
        self.trusted_now = True
        self.reject()  # closed without opening: the recipe is checked again with the key trusted

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.resize(self.width(), self.sizeHint().height())  # the plain text keeps its room


class GapsDialog(QDialog):
    """Before packaging: what will not reach the recipient and why. The person goes on or fixes it first."""

    def __init__(self, gaps: list[Gap], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("dtflRecipeGaps")
        self.setWindowTitle(tr("Before you package"))
        self.setMinimumWidth(620)
        lost = [g.message for g in gaps if g.lost]
        referenced = [g.message for g in gaps if not g.lost]
        parts = []
        for title, lines in (
            (tr("This will not reach the recipient"), lost),
            (tr("This reaches the recipient only as a reference"), referenced),
        ):
            if lines:
                items = "".join(f"<li>{escape(line)}</li>" for line in lines)
                parts.append(f"<p><b>{escape(title)}</b></p><ul style='margin-top:0'>{items}</ul>")
        parts.append(f"<p>{escape(tr('Fix it in the project first, or go on and package it as it is.'))}</p>")
        layout = QVBoxLayout(self)
        self.summary = QLabel("".join(parts))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.go_on = buttons.addButton(tr("Go on and package"), QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
