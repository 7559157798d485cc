"""The recipe round trip of the journey (issue 18), run inside QGIS by journey.py (which imports this module
where these steps belong). The journey's helpers live in QGIS's __main__ (journey.py runs there via --code)."""

from __future__ import annotations

import os
from pathlib import Path

from qgis.core import QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QDockWidget, QFileDialog, QLineEdit, QTreeWidget
from qgis.utils import iface, plugins

import __main__ as j

check, screenshot, modal, later, action, gone, layer_names = (
    j.check,
    j.screenshot,
    j.modal,
    j.later,
    j.action,
    j.gone,
    j.layer_names,
)
STATE, OUT = j.STATE, j.OUT


def _fill_modal_text(text: str) -> None:
    """Type into the single line edit of the modal dialog on screen and press Return (as a person does)."""
    dialog = modal()
    field = dialog.findChild(QLineEdit) if dialog is not None else None
    if field is not None:
        field.setFocus()
        QTest.keyClicks(field, text)
        QTest.keyClick(field, Qt.Key.Key_Return)


@j.step
def keygen():
    """DTFL > Create signing key…: the organisation recipients will see, a passphrase typed into password fields."""
    later(action("dtflRecipeKeygen").trigger)
    yield (lambda: modal() is not None, 20, "the keygen dialog")
    dialog = modal()
    check("keygen dialog from the DTFL menu", dialog is not None and dialog.objectName() == "dtflKeygenDialog")
    dialog.organisation.clear()
    QTest.keyClicks(dialog.organisation, "Gemeente Delft")
    check("the auth database is the default", dialog.in_auth.isChecked())
    dialog.in_auth.setChecked(False)  # this journey keeps the key in a file, protected by a passphrase
    for field in (dialog.passphrase, dialog.repeat):
        check("passphrase is a password field", field.echoMode() == QLineEdit.EchoMode.Password)
        QTest.keyClicks(field, os.environ["DTFL_JOURNEY_PASSPHRASE"])
    screenshot("07-keygen", dialog)
    dialog.create()
    yield (lambda: gone(dialog), 30, "gone(keygen dialog)")
    check("key created", dialog.created is not None, dialog.message.text())


@j.step
def package():
    """Save the project; DTFL > Package recipe… asks the key's passphrase (password field), then runs packaging."""
    project_path = OUT / "twin" / "twin.qgs"
    project_path.parent.mkdir(parents=True, exist_ok=True)
    check("project saved", QgsProject.instance().write(str(project_path)))
    STATE["expected"] = {
        lyr.name(): lyr.featureCount()
        for lyr in QgsProject.instance().mapLayers().values()
        if hasattr(lyr, "featureCount")
    }
    recipe = project_path.with_suffix(".dtfl.zip")
    STATE["recipe"] = recipe
    later(action("dtflPackageRecipe").trigger)
    yield (lambda: modal() is not None, 20, "the passphrase prompt")
    check(
        "the passphrase is asked in a password field",
        modal().findChild(QLineEdit).echoMode() == QLineEdit.EchoMode.Password,
    )
    _fill_modal_text(os.environ["DTFL_JOURNEY_PASSPHRASE"])
    yield (lambda: hasattr(modal(), "setParameters"), 20, "the package dialog")
    dialog = modal()
    STATE["dialog"] = dialog
    check("package dialog opens", hasattr(dialog, "setParameters"), dialog.windowTitle() if dialog else "")
    screenshot("07-package-dialog", dialog)
    dialog.runAlgorithm()
    yield (lambda: recipe.is_file(), 300, "recipe.is_file()")
    check("recipe written beside the project (the suggested name, nothing typed)", recipe.is_file(), str(recipe))
    dialog.close()
    yield (lambda: modal() is None, 10, "modal() is None")
    check("package dialog closed", modal() is None)


@j.step
def open_recipe():
    """In a fresh project, open the recipe: the verdict first, then unpack into the suggested folder."""
    iface.newProject(False)
    yield (lambda: not layer_names(), 10, "not layer_names()")
    feature = next(f for f in plugins["dtfl_plugin"].features if type(f).__name__ == "RecipeFeature")
    later(lambda: feature.open_recipe(path=str(STATE["recipe"])))
    yield (lambda: modal() is not None, 60, "modal() is not None")
    verdict = modal()
    check("verdict shown before opening", verdict is not None, verdict.windowTitle() if verdict else "")
    text = verdict.summary.text() if hasattr(verdict, "summary") else ""
    check("verdict names the signer", "Gemeente Delft" in text, text[:300])
    check("verdict speaks no jargon", "manifest" not in text.lower(), text[:300])
    screenshot("08-recipe-verdict", verdict)
    verdict.details_button.click()
    screenshot("08-recipe-verdict-details", verdict)
    verdict.details_button.click()
    open_button = getattr(verdict, "open_button", None)
    if open_button is not None:  # a valid recipe: the user clicks Open
        open_button.click()
    else:
        check("recipe can be opened", False, "the verdict offers no Open button")
        verdict.reject()
    yield (lambda: isinstance(modal(), QFileDialog), 20, "isinstance(modal(), QFileDialog)")
    chooser = modal()
    suggested = Path(chooser.directory().absolutePath())
    check("suggested folder exists and is named after the recipe", suggested.is_dir() and suggested.name == "twin", str(suggested))  # fmt: skip
    (suggested / "not-empty.txt").write_text("a file of the person's own")  # a folder in use: a sibling is used
    name_field = chooser.findChild(QLineEdit, "fileNameEdit")
    check("folder chooser has a name field", name_field is not None)
    name_field.setFocus()
    name_field.setText(str(suggested))
    QTest.keyClick(name_field, Qt.Key.Key_Return)
    yield (lambda: gone(chooser), 10, "gone(chooser)")
    yield (lambda: any("3D gebouwen" in n for n in layer_names()), 60, 'any("3D gebouwen" in n for n in layer_names())')
    names = layer_names()
    check("recipe project opened with its layers", any("3D gebouwen" in n for n in names), str(names))
    opened = feature.last_open
    check(
        "a folder in use got a sibling",
        opened is not None and opened.folder.name == "twin-2",
        str(opened and opened.folder),
    )
    check("the person's file is untouched", (suggested / "not-empty.txt").is_file())
    yield (lambda: True, 2, "the project settled")  # a layer QGIS cannot read would bring its dialog now
    layers = {lyr.name(): lyr for lyr in QgsProject.instance().mapLayers().values()}
    check(
        "the project stayed open, nothing asked",
        bool(layers) and modal() is None,
        f"layers {layer_names()}; dialog {modal() and modal().windowTitle()}; messages {j.message_bar_texts()}",
    )
    for name, count in STATE["expected"].items():
        got = layers.get(name)
        check(f"“{name}” arrived with its features", got is not None and got.isValid() and got.featureCount() == count, f"{got and got.featureCount()} of {count}")  # fmt: skip
    check("no dialog left open", modal() is None)
    iface.mapCanvas().refreshAllLayers()
    yield (lambda: not iface.mapCanvas().isDrawing(), 30, "the map drawn")
    yield (lambda: True, 1, "the map painted")
    fraction = j.canvas_coloured_fraction()
    check("the recipient sees the twin on the map", fraction > 0.2, f"{fraction:.0%} of the canvas coloured")
    screenshot("09-recipe-opened")
    STATE["opened_layers"] = layers


@j.step
def provenance():
    """The recipient selects a model output: the provenance panel says in words how it was made."""
    dock = iface.mainWindow().findChild(QDockWidget, "dtflProvenanceDock")
    action("dtflProvenanceAction").trigger()
    output = next(
        (lyr for n, lyr in STATE["opened_layers"].items() if "gevel" in n.lower() or "facade" in n.lower()), None
    )
    check("model output in the recipient's project", output is not None, str(list(STATE["opened_layers"])))
    iface.setActiveLayer(output)
    yield (lambda: dock.isVisible(), 10, "the provenance dock")
    tree = dock.findChild(QTreeWidget)
    texts = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    items = tree.findItems("", Qt.MatchFlag.MatchContains | Qt.MatchFlag.MatchRecursive)
    lines = [item.text(0) for item in items]
    check("provenance names the step", any("bathtub" in t.lower() or "badkuip" in t.lower() for t in texts), str(texts))
    check("a choice shown by its label", any("70 mm" in t for t in lines) and not any("EVENT" in t for t in lines), str(lines[:20]))  # fmt: skip
    screenshot("10-provenance-desktop")
    dock.setFloating(True)  # for the guide: the panel at a readable size
    dock.resize(820, 560)
    yield (lambda: True, 1, "the panel laid out")
    screenshot("10-provenance", dock)
    dock.setFloating(False)


@j.step
def keygen_auth():
    """The default way to keep a key: in QGIS's authentication database. QGIS asks for its master password (its own
    dialog); the key is stored there and becomes the key the next recipe is signed with."""
    from qgis.PyQt.QtWidgets import QDialogButtonBox

    later(action("dtflRecipeKeygen").trigger)
    yield (lambda: modal() is not None and modal().objectName() == "dtflKeygenDialog", 20, "the keygen dialog")
    dialog = modal()
    dialog.organisation.clear()
    QTest.keyClicks(dialog.organisation, "Gemeente Delft (beheer)")
    check("the auth database is the default", dialog.in_auth.isChecked())
    later(dialog.create)
    yield (lambda: gone(dialog) or (modal() is not None and modal() is not dialog), 30, "QGIS's master password dialog")
    master = modal() if not gone(dialog) else None
    if master is not None:
        fields = [f for f in master.findChildren(QLineEdit) if f.isVisible()]
        check("QGIS asks for its master password in password fields", bool(fields) and all(f.echoMode() == QLineEdit.EchoMode.Password for f in fields))  # fmt: skip
        for field in fields:
            field.setText(os.environ["DTFL_JOURNEY_MASTER"])
        screenshot("07-master-password", master)
        box = master.findChild(QDialogButtonBox)
        ok = box.button(QDialogButtonBox.StandardButton.Ok) if box is not None else None
        if ok is not None:
            ok.click()
        else:
            master.accept()
    yield (lambda: gone(dialog), 30, "gone(keygen dialog)")
    from dtfl_plugin.recipe import keys

    check(
        "key kept in the authentication database", bool(dialog.created and dialog.created.authcfg), str(dialog.created)
    )
    check("it signs the next recipe", keys.signing_key().get("authcfg") == (dialog.created.authcfg if dialog.created else None))  # fmt: skip
