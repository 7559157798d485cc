"""The user's journey, driven inside the real QGIS desktop (run by tests/test_journey_gui.py via --code).

search → load → open 3D view → run the model from the toolbox → package → open the recipe in a fresh
project. Every step clicks/types in the plugin's real widgets, takes a screenshot of the main window and
records checks of what is on screen into journey-report.json. Steps are generators that yield wait
conditions; a QTimer drives them, so modal dialogs (their own event loops) do not stop the journey.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import time
import traceback
from pathlib import Path

import qgis.utils
from qgis.core import Qgis, QgsApplication, QgsCoordinateReferenceSystem, QgsProject, QgsRectangle, QgsRenderContext
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtGui import QGuiApplication
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import (
    QAction,
    QApplication,
    QDialog,
    QDockWidget,
    QPushButton,
)
from qgis.utils import iface, plugins

OUT = Path(os.environ["DTFL_JOURNEY_OUT"])
SHOTS = OUT / "screenshots"
SHOTS.mkdir(parents=True, exist_ok=True)
# If QGIS ever blocks (a modal loop we do not drive), the Python stacks show where: dumped every 60 s.
_STACKS = open(OUT / "stacks.txt", "w", encoding="utf-8")  # noqa: SIM115 - open for the whole session
faulthandler.dump_traceback_later(60, repeat=True, file=_STACKS)
REPORT = {"qgis": Qgis.version(), "steps": []}
STATE: dict = {}
STEPS = []


_TRACE = open(OUT / "trace.txt", "w", encoding="utf-8")  # noqa: SIM115 - open for the whole session


def trace(text: str) -> None:
    _TRACE.write(f"{time.strftime('%H:%M:%S')} {text}\n")
    _TRACE.flush()


def step(func):
    STEPS.append(func)
    return func


def check(name: str, ok: bool, detail: str = "") -> None:
    REPORT["steps"][-1]["checks"].append({"name": name, "ok": bool(ok), "detail": detail})


def screenshot(name: str, widget=None) -> str:
    QApplication.processEvents()
    path = SHOTS / f"{name}.png"
    (widget or iface.mainWindow()).grab().save(str(path))
    REPORT["steps"][-1]["screenshots"].append(str(path))
    return str(path)


def action(object_name: str) -> QAction | None:
    return iface.mainWindow().findChild(QAction, object_name)


def layer_names() -> list[str]:
    return [node.name() for node in QgsProject.instance().layerTreeRoot().findLayers()]


def canvas_coloured_fraction() -> float:
    image = iface.mapCanvas().grab().toImage()
    step_px, coloured, total = 8, 0, 0
    background = iface.mapCanvas().canvasColor().rgb()
    for y in range(0, image.height(), step_px):
        for x in range(0, image.width(), step_px):
            total += 1
            coloured += image.pixel(x, y) != background
    return coloured / max(total, 1)


def canvas_fraction_of_colour(colour) -> float:
    """Share of the canvas drawn in a layer's fill colour: the layer is seen, not only loaded."""
    image = iface.mapCanvas().grab().toImage()
    step_px, hits, total = 4, 0, 0
    for y in range(0, image.height(), step_px):
        for x in range(0, image.width(), step_px):
            total += 1
            pixel = image.pixelColor(x, y)
            hits += (
                max(
                    abs(pixel.red() - colour.red()),
                    abs(pixel.green() - colour.green()),
                    abs(pixel.blue() - colour.blue()),
                )
                < 16
            )
    return hits / max(total, 1)


def message_bar_texts() -> list[str]:
    bar = iface.messageBar()
    return [item.text() + " " + item.title() for item in bar.items()]


def select_result(dock, wanted_title: str, wanted_type: str):
    model = dock.model
    for row in range(model.rowCount()):
        entry = model.entry(row)
        if entry is not None and wanted_title in entry.title and entry.service_type == wanted_type:
            index = model.index(row, 0)
            dock.results.setCurrentIndex(index)
            return index
    return None


def later(func) -> None:
    """Run ``func`` from the event loop (so a modal dialog it opens does not block the journey); an exception
    is recorded as the step's error instead of QGIS's Python error popup."""

    def guarded():
        trace(f"later: calling {getattr(func, '__name__', func)}")
        try:
            func()
            trace("later: returned")
        except Exception:  # noqa: BLE001 - recorded in the report, the step then fails on its checks
            STATE.setdefault("async_errors", []).append(traceback.format_exc())

    QTimer.singleShot(0, guarded)


def gone(widget) -> bool:
    """Closed: hidden, or deleted (Processing dialogs delete themselves on close)."""
    return widget is None or sip.isdeleted(widget) or not widget.isVisible()


def modal(kind=QDialog):
    """The modal dialog on screen, if any. activeModalWidget() needs a window manager (Xvfb has none),
    so visible modal top-level dialogs are looked up too."""
    widget = QApplication.activeModalWidget()
    if isinstance(widget, kind):
        return widget
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible() and w.isModal()]
    return dialogs[-1] if dialogs else None


# ---------------------------------------------------------------------------------------------------
@step
def start():
    """QGIS is up with DTFL loaded and its menu in Dutch."""
    yield (lambda: "dtfl_plugin" in plugins, 30, '"dtfl_plugin" in plugins')
    iface.mainWindow().resize(1280, 1000)
    # A Dutch user's project is in RD New (Project > Properties > CRS); 3D views need a projected CRS.
    QgsProject.instance().setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    check("plugin loaded", "dtfl_plugin" in plugins)
    menus = [a.text() for a in iface.mainWindow().menuBar().actions()]
    check("DTFL menu in the menu bar", any("DTFL" in m for m in menus), str(menus))
    search_action = action("dtflCatalogueAction")
    check(
        "catalogue action is Dutch",
        search_action is not None and "catalogus" in search_action.text().lower(),
        search_action.text() if search_action else "missing",
    )
    screenshot("01-start")


@step
def search():
    """Open the catalogue dock, update the catalogue from the (sandbox) national services, type a query."""
    toggle = action("dtflCatalogueAction")
    dock = iface.mainWindow().findChild(QDockWidget, "dtflCatalogueDock")
    STATE["dock"] = dock
    if not dock.isVisible():  # the dock opens by itself on first start; otherwise the toolbar button opens it
        toggle.trigger()
    QApplication.processEvents()
    check("catalogue dock open", dock.isVisible() and toggle.isChecked())
    yield (lambda: dock.isVisible(), 10, "dock.isVisible()")
    update = dock.findChild(QPushButton, "dtflCatalogueUpdate")
    QTest.mouseClick(update, Qt.MouseButton.LeftButton)
    yield (
        lambda: dock.index().count() > 0 and update.isEnabled(),
        90,
        "dock.index().count() > 0 and update.isEnabled()",
    )
    check("catalogue harvested", dock.index().count() > 0, f"{dock.index().count()} entries")
    dock.search_box.setFocus()
    QTest.keyClicks(dock.search_box, "3d gebouwen delft")
    yield (
        lambda: dock.model.rowCount() > 0 and not dock.searching,
        20,
        "dock.model.rowCount() > 0 and not dock.searching",
    )
    titles = [dock.model.entry(r).title for r in range(dock.model.rowCount())]
    check("results for '3d gebouwen delft'", any("3D gebouwen Delft" in t for t in titles), "; ".join(titles[:5]))
    screenshot("02-search")


@step
def load():
    """Double-click the OGC API Features buildings, then load the AHN terrain with the Load button."""
    dock = STATE["dock"]
    index = select_result(dock, "3D gebouwen Delft", "OGC API Features")
    check("buildings entry listed", index is not None)
    rect = dock.results.visualRect(index)
    # A real double click is press, release, double-click: item views only emit doubleClicked when the
    # preceding press hit the same item.
    QTest.mouseClick(dock.results.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    QTest.mouseDClick(dock.results.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    yield (lambda: any("3D gebouwen" in n for n in layer_names()), 60, 'any("3D gebouwen" in n for n in layer_names())')
    dock.search_box.clear()
    QTest.keyClicks(dock.search_box, "ahn maaiveld")
    yield (
        lambda: select_result(dock, "AHN3 maaiveld", "COG") is not None and not dock.searching,
        20,
        'select_result(dock, "AHN3 maaiveld", "COG") is not None and not dock.searching',
    )
    select_result(dock, "AHN3 maaiveld", "COG")
    QTest.mouseClick(dock.load_button, Qt.MouseButton.LeftButton)
    yield (
        lambda: any("AHN3 maaiveld" in n for n in layer_names()),
        60,
        'any("AHN3 maaiveld" in n for n in layer_names())',
    )
    names = layer_names()
    check("buildings in the layer tree", any("3D gebouwen" in n for n in names), str(names))
    check("terrain in the layer tree", any("AHN3 maaiveld" in n for n in names), str(names))
    project = QgsProject.instance()
    STATE["buildings"] = next(lyr for lyr in project.mapLayers().values() if "3D gebouwen" in lyr.name())
    STATE["dem"] = next(lyr for lyr in project.mapLayers().values() if "AHN3 maaiveld" in lyr.name())
    iface.mapCanvas().setExtent(QgsRectangle(84808, 447412, 85073, 447642))
    iface.mapCanvas().refreshAllLayers()
    yield (lambda: not iface.mapCanvas().isDrawing(), 30, "not iface.mapCanvas().isDrawing()")
    yield (lambda: True, 1, "True")
    fraction = canvas_coloured_fraction()
    check("canvas is not blank", fraction > 0.2, f"{fraction:.0%} of the canvas coloured")
    # The OGC API Features buildings must be seen: the terrain loaded after them must not cover them.
    order = [lyr.name() for lyr in project.layerTreeRoot().layerOrder()]
    symbol = STATE["buildings"].renderer().symbols(QgsRenderContext())[0]
    drawn = canvas_fraction_of_colour(symbol.color())
    check(
        "buildings drawn on the map (pixels in their colour)", drawn > 0.01, f"{drawn:.1%} of the canvas; order {order}"
    )
    errors = [t for t in message_bar_texts() if "fout" in t.lower() or "error" in t.lower()]
    check("no error in the message bar", not errors, str(errors))
    screenshot("03-loaded")


@step
def view3d():
    """The plugin's 'Open 3D view of this area' action opens a 3D view of the canvas extent: a DTFL dock on
    QGIS < 3.36, QGIS's own 3D map canvas on 3.36+ (docked or in its own window)."""
    candidates = [
        a
        for a in iface.mainWindow().findChildren(QAction)
        if a.objectName().lower().startswith("dtfl") and "3d" in a.objectName().lower()
    ]
    check("3D view action exists", bool(candidates), str([a.objectName() for a in candidates]))
    if not candidates:
        return
    canvases_3d = getattr(iface, "mapCanvases3D", lambda: [])
    docks_before = set(iface.mainWindow().findChildren(QDockWidget))
    canvases_before = set(canvases_3d())

    def opened():
        new_docks = [d for d in set(iface.mainWindow().findChildren(QDockWidget)) - docks_before if d.isVisible()]
        return new_docks + [c for c in canvases_3d() if c not in canvases_before]

    later(candidates[0].trigger)
    yield (lambda: bool(opened()) or modal() is not None, 30, "a 3D view or a dialog")
    dialog = modal()
    if dialog is not None:  # QGIS asks which datum transformation to use (CRS84 → RD): take its default, as a user does
        check(
            "only QGIS's transformation chooser asked",
            "transform" in dialog.windowTitle().lower(),
            dialog.windowTitle(),
        )
        dialog.accept()
        yield (lambda: bool(opened()), 30, "a 3D view")
    views = opened()
    check("a 3D view opened", bool(views), str([type(v).__name__ for v in views]))
    # The DTFL dock renders in a separate process: wait for its image (QGIS's own canvas loads its tiles).
    yield (lambda: not any(getattr(getattr(v, "job", None), "timer", None) for v in views), 180, "the 3D render")
    yield (lambda: True, 8, "the 3D scene loading its tiles")
    screenshot("04-view3d")
    if any(not isinstance(v, QDockWidget) for v in views):
        # QGIS's own 3D canvas is a QWindow (OpenGL), possibly outside the main window: grab the whole screen.
        path = SHOTS / "04-view3d-screen.png"
        QGuiApplication.primaryScreen().grabWindow(0).save(str(path))
        REPORT["steps"][-1]["screenshots"].append(str(path))


@step
def model():
    """Find the bathtub model in the Processing toolbox, open its dialog, run it, close it."""
    import processing

    toolbox = iface.mainWindow().findChild(QDockWidget, "ProcessingToolbox")
    if toolbox is not None:
        toolbox.setVisible(True)
        search_box = getattr(toolbox, "searchBox", None)
        if search_box is not None:
            QTest.keyClicks(search_box, "bathtub")
    dialog = processing.createAlgorithmDialog(
        "dtfl:bathtub_flooding",
        {"DEM": STATE["dem"].id(), "BUILDINGS": STATE["buildings"].id(), "EVENT": 0, "LOSS_MM": 5.0},
    )
    check("model dialog opens", dialog is not None)
    dialog.show()
    STATE["dialog"] = dialog
    yield (lambda: dialog.isVisible(), 10, "dialog.isVisible()")
    screenshot("05-model-dialog", dialog)
    before = set(QgsProject.instance().mapLayers())
    dialog.runAlgorithm()
    yield (
        lambda: len(set(QgsProject.instance().mapLayers()) - before) >= 2,
        120,
        "len(set(QgsProject.instance().mapLayers()) - before) >= 2",
    )
    added = [QgsProject.instance().mapLayer(i).name() for i in set(QgsProject.instance().mapLayers()) - before]
    check("model outputs added to the project", len(added) >= 2, str(added))
    screenshot("06-model-done", dialog)
    iface.mapCanvas().refreshAllLayers()  # the outputs arrive while the canvas still shows the old render
    yield (lambda: not iface.mapCanvas().isDrawing(), 30, "not iface.mapCanvas().isDrawing()")
    screenshot("06-model-map")
    dialog.close()
    yield (lambda: gone(dialog), 10, "gone(dialog)")
    check("model dialog closed", gone(dialog))


# The recipe round trip (keygen → package → open → provenance) lives in recipe_steps.py; importing it here
# registers its steps in this order, after the model step.
sys.path.insert(0, os.environ["DTFL_JOURNEY_DIR"])
import recipe_steps  # noqa: E402,F401


@step
def quit():  # noqa: A001 - the step's name in the report
    """Project > Exit, as a user quits QGIS after the work. Nothing of ours may hold it up: no task left running, no
    dialog, no layer QGIS takes for temporary (the opened recipe lives in the user's folder). A question that comes
    anyway is recorded and answered as a user would; QGIS must then exit by itself with code 0 (the test checks)."""
    from qgis.PyQt.QtWidgets import QMessageBox

    asked: list = []
    check("QGIS quits without asking anything", True)
    temporary = [lyr.name() for lyr in QgsProject.instance().mapLayers().values() if lyr.isTemporary()]
    check("no layer of the opened recipe is temporary", not temporary, str(temporary))
    write_report()  # QGIS may be gone any moment from now on: the report so far is on disk
    later(iface.actionExit().trigger)
    for _ in range(5):
        yield (lambda: modal() is not None, 30, "QGIS to exit (or a question from it)")
        box = modal()
        texts = [box.windowTitle()] + ([box.text(), box.informativeText()] if isinstance(box, QMessageBox) else [])
        asked.append({"class": type(box).__name__, "text": texts, "buttons": [b.text() for b in box.findChildren(QPushButton)]})  # fmt: skip
        REPORT["steps"][-1]["checks"][0].update(ok=False, detail=json.dumps(asked, ensure_ascii=False))
        screenshot(f"exit-question-{len(asked)}", box)
        write_report()
        answer = None  # the user does not save and lets temporary layers go: QGIS must still exit cleanly
        if isinstance(box, QMessageBox):
            for wanted in (QMessageBox.StandardButton.Discard, QMessageBox.StandardButton.Yes):
                answer = answer or box.button(wanted)
        answer.click() if answer is not None else box.reject()


# --- driver ----------------------------------------------------------------------------------------
def _record_exception(kind, value, tb) -> None:
    """Exceptions raised in Qt slots: recorded in the report (the test fails on them) instead of QGIS's popup,
    whose modal loop would stall the journey."""
    STATE.setdefault("async_errors", []).append("".join(traceback.format_exception(kind, value, tb)))


def _record_shown_exception(kind, value, tb, *args, **kwargs) -> None:
    _record_exception(kind, value, tb)


sys.excepthook = _record_exception
# QGIS also shows errors by calling these directly (e.g. from worker threads): record them too.
qgis.utils.showException = _record_shown_exception
qgis.utils.open_stack_dialog = _record_shown_exception


def write_report() -> None:
    REPORT["async_errors"] = STATE.get("async_errors", [])
    REPORT["ok"] = (
        not REPORT["async_errors"]
        and all(c["ok"] for s in REPORT["steps"] for c in s["checks"])
        and all(not s.get("error") for s in REPORT["steps"])
    )
    (OUT / "journey-report.json").write_text(json.dumps(REPORT, indent=2), encoding="utf-8")


def finish(code: int = 1) -> None:
    """A failed journey: report, then leave the event loop (not the user's exit; the test fails on the report)."""
    write_report()
    QApplication.instance().exit(code)


def run(index: int = 0) -> None:
    if index >= len(STEPS):  # the last step, quit, ends QGIS the user's way; reaching here means it did not
        finish(1)
        return
    func = STEPS[index]
    REPORT["steps"].append({"name": func.__name__, "doc": func.__doc__, "checks": [], "screenshots": []})
    generator = func()
    started = time.monotonic()

    def advance(condition=None, deadline=0.0) -> None:
        try:
            if condition is not None and not condition():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"step {func.__name__}: waited too long for {STATE.get('waiting_for')}")
                QTimer.singleShot(200, lambda: advance(condition, deadline))
                return
            wait = next(generator) if generator is not None else None
            condition, seconds, what = wait
            STATE["waiting_for"] = what
            trace(f"{func.__name__}: waiting for {what}")
            QTimer.singleShot(200, lambda: advance(condition, time.monotonic() + seconds))
        except StopIteration:
            REPORT["steps"][-1]["seconds"] = round(time.monotonic() - started, 1)
            QTimer.singleShot(100, lambda: run(index + 1))
        except Exception:  # noqa: BLE001 - the journey records any failure and stops, with a screenshot
            tasks = [(t.description(), t.status(), t.progress()) for t in QgsApplication.taskManager().tasks()]
            dialog = STATE.get("dialog")
            if dialog is not None and not sip.isdeleted(dialog):
                from qgis.PyQt.QtWidgets import QTextEdit

                logs = [w.toPlainText()[-1500:] for w in dialog.findChildren(QTextEdit)]
                REPORT["steps"][-1]["dialog_log"] = logs
            REPORT["steps"][-1]["error"] = (
                traceback.format_exc()
                + f"\ntasks: {tasks}\nmessages: {message_bar_texts()}\nasync errors: {STATE.get('async_errors')}"
            )
            try:
                screenshot(f"error-{func.__name__}")
            finally:
                finish(1)

    advance()


# QGIS restores the saved window state (dock visibility) shortly after --code runs: let it settle first.
QTimer.singleShot(5000, run)
