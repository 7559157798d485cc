#!/usr/bin/env python3
"""Screenshots of the catalogue dock in Dutch, with real results, for the issue and the docs.

Run under a real X server (Xvfb), not offscreen, so fonts, popups and the screen grab are real:

    xvfb-run -a -s "-screen 0 1680x1050x24" env QT_QPA_PLATFORM=xcb .venv/bin/python scripts/screenshot_catalogue.py

Builds an index from the real PDOK layer lists and NGR ISO 19139 records in ../shared/data
(in a throw-away profile), shows the dock beside a map of the BGT sample, and writes
test-output/screenshots/catalogue_*.png. Prints a JSON summary (files, labels, search times).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import qgis_app  # noqa: E402 - sets sys.path and the isolated profile before qgis is imported

SHARED = ROOT.parent / "shared" / "data"
PDOK_LISTS = ("layers-pdok-2022.json", "layers-pdok-current-sample.json")


def ensure_translations() -> Path:
    """Compile i18n/dtfl_nl.qm when it is missing or older than a JSON source (make translations)."""
    qm = ROOT / "i18n" / "dtfl_nl.qm"
    sources = list((ROOT / "i18n" / "nl").glob("*.json"))
    if not qm.is_file() or any(s.stat().st_mtime > qm.stat().st_mtime for s in sources):
        subprocess.run([sys.executable, str(ROOT / "scripts" / "i18n.py")], check=True, capture_output=True)
    return qm


def build_index(path: Path, shared: Path, *, moved: bool = False):
    """The real lists as separate sources; ``moved``: the 2022 list, then today's as the same source."""
    from dtfl_plugin.catalogue.harvest import SourceConfig, fetch, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex
    from dtfl_plugin.catalogue.sources.iso19139 import merge

    index = CatalogueIndex(path)
    folder = shared / "catalogue" / "pdok-layers"
    for name in PDOK_LISTS:
        source = "pdok-layers" if moved else f"pdok-layers:{name}"
        harvest(SourceConfig(kind="pdok-layers", url=str(folder / name), name=source), index)
    if not moved:
        entries = []
        for xml in sorted((shared / "catalogue" / "iso19139").glob("*.xml")):
            entries.extend(fetch(SourceConfig(kind="csw", url=str(xml), name="ngr-iso")).entries)
        index.apply_harvest("ngr-iso", merge(entries), kind="csw", url="iso19139")
    return index


class ScreenshotInterface:
    """The two things the dock asks of QGIS's interface: the map canvas and the message bar."""

    def __init__(self, canvas, bar) -> None:
        self._canvas, self._bar = canvas, bar

    def mapCanvas(self):
        return self._canvas

    def messageBar(self):
        return self._bar


def settle(ms: int = 300) -> None:
    from qgis.PyQt.QtTest import QTest

    QTest.qWait(ms)


def build_window(shared: Path):
    """A main window with a message bar and a map canvas showing the BGT of Delft."""
    from qgis.core import QgsFillSymbol, QgsProject, QgsVectorLayer
    from qgis.gui import QgsMapCanvas, QgsMessageBar
    from qgis.PyQt.QtWidgets import QMainWindow, QVBoxLayout, QWidget

    window = QMainWindow()
    window.setWindowTitle("QGIS – DTFL")
    central = QWidget(window)
    layout = QVBoxLayout(central)
    layout.setContentsMargins(0, 0, 0, 0)
    bar = QgsMessageBar(central)
    canvas = QgsMapCanvas(central)
    layout.addWidget(bar)
    layout.addWidget(canvas, 1)
    window.setCentralWidget(central)
    gpkg = shared / "3d" / "bgt" / "bgt_delft.gpkg"
    layers = []
    colours = {"bgt_begroeidterreindeel": "#b5d99c", "bgt_waterdeel": "#9cc3e6", "bgt_wegdeel": "#d9d9d9",
               "bgt_pand": "#e8a27c"}  # fmt: skip
    for table, colour in colours.items():
        layer = QgsVectorLayer(f"{gpkg}|layername={table}", table.replace("bgt_", "BGT "), "ogr")
        if not layer.isValid():
            print(f"warning: {gpkg} has no valid layer {table}", file=sys.stderr)
            continue
        symbol = QgsFillSymbol.createSimple({"color": colour, "outline_color": "#7f7f7f", "outline_width": "0.1"})
        layer.renderer().setSymbol(symbol)
        QgsProject.instance().addMapLayer(layer)
        layers.append(layer)
    canvas.setDestinationCrs(layers[0].crs() if layers else canvas.mapSettings().destinationCrs())
    canvas.setLayers(list(reversed(layers)))
    if layers:
        canvas.setExtent(layers[-1].extent())

    return window, canvas, bar


def window_with_stale_layer(window, iface, shared: Path, work: Path, summary: dict, search, save):
    """The whole window after a harvest: a project layer whose WFS PDOK retired (real 2022 -> today move)."""
    from qgis.core import QgsProject, QgsVectorLayer

    from dtfl_plugin.gui.catalogue.stale import check_project
    from dtfl_plugin.provenance.layer_props import LayerSource, set_layer_source

    # 5. The whole window after a harvest: a project layer whose WFS PDOK retired (real 2022 -> today move).
    moved = build_index(work / "moved.sqlite", shared, moved=True)
    old = QgsVectorLayer("Polygon?crs=EPSG:28992", "Windsnelheden 100m hoogte", "memory")
    set_layer_source(
        old,
        LayerSource(
            dataset_id="d845cef6-0e23-4212-a951-b69763e39ef0",
            service_type="WFS",
            service_url="https://geodata.nationaalgeoregister.nl/windkaart/wfs",
            name="windkaart:windsnelheden100m",
            title="Windsnelheden 100m hoogte",
        ),
    )
    QgsProject.instance().addMapLayer(old)
    summary["stale"] = [s.ref.layer_name for s in check_project(iface, moved)]
    search("gebouwen")
    save(window, "window_stale")

    return moved


def take_shots(dock, window, canvas, iface, out: Path, shared: Path, work: Path, summary: dict):
    """The screenshots, in Dutch; returns the second index (the moved-services one) to close."""
    from qgis.PyQt.QtCore import QRect
    from qgis.PyQt.QtGui import QGuiApplication

    from dtfl_plugin.catalogue.favourites import Favourites

    def search(text: str) -> None:
        dock.search_box.setText(text)
        dock.run_search()
        deadline = time.monotonic() + 30
        while dock.searching and time.monotonic() < deadline:  # the worker thread answers
            settle(10)
        summary["search_ms"][text] = round(dock.last_search_ms or 0.0, 2)
        settle(200)

    def save(widget, name: str) -> None:
        canvas.refresh()
        canvas.waitWhileRendering()
        settle(300)
        path = out / f"catalogue_{name}.png"
        widget.grab().save(str(path))
        summary["files"].append(str(path))

    # 1. An English word finds the Dutch aerial photo service; its record in the detail pane.
    search("luchtfoto")
    save(dock, "luchtfoto")

    # 2. BGT map services, two of them starred, WMTS only.
    search("bgt")
    for row in (0, 2):
        Favourites().add(dock.model.entry(row))
    dock.filters.set_checked("service_type", {"WMTS"})
    dock.results.setCurrentIndex(dock.model.index(0))
    save(dock, "bgt_favourites")

    # 3. The organisation filter opened (a popup: grabbed from the screen).
    dock.filters.set_checked("service_type", set())
    search("kaart")
    dock.filters.organisations.showPopup()
    settle(500)
    # The popup is wider than its combo box: grab the dock and the popup together.
    area = QRect(dock.mapToGlobal(dock.rect().topLeft()), dock.size())
    area = area.united(dock.filters.organisations.view().window().frameGeometry())
    screen = QGuiApplication.primaryScreen()
    shot = screen.grabWindow(0, area.x(), area.y(), area.width(), area.height())
    path = out / "catalogue_filter_organisation.png"
    shot.save(str(path))
    summary["files"].append(str(path))
    dock.filters.organisations.hidePopup()

    # 4. One row per layer: its services (OGC API Features, WFS, ...) as choices, analysis-ready first;
    #    then a query with a word nothing contains: partial matches, the word named.
    search("windsnelheden")
    dock.results.setCurrentIndex(dock.model.index(0))
    summary["services"] = [e.service_type for e in dock.model.services(0)]
    save(dock, "services")
    search("windsnelheden zzyzx")
    summary["relaxed"] = dock.notice_label.text()
    save(dock, "relaxed")

    return window_with_stale_layer(window, iface, shared, work, summary, search, save)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "test-output" / "screenshots"))
    parser.add_argument("--shared", default=str(SHARED))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shared = Path(args.shared)
    work = Path(tempfile.mkdtemp(prefix="dtfl-shots-"))
    ensure_translations()
    qgis_app.start(work / "profile")

    from qgis.core import QgsProject
    from qgis.PyQt.QtCore import QLocale, Qt

    from dtfl_plugin.gui.catalogue.feature import CatalogueDock
    from dtfl_plugin.i18n import install_translator

    QLocale.setDefault(QLocale(QLocale.Language.Dutch, QLocale.Country.Netherlands))
    language = install_translator("nl")
    index = build_index(work / "catalogue.sqlite", shared)

    window, canvas, bar = build_window(shared)
    iface = ScreenshotInterface(canvas, bar)
    dock = CatalogueDock(iface, index_factory=lambda: index)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resize(1600, 900)
    window.resizeDocks([dock], [460], Qt.Orientation.Horizontal)
    window.show()
    dock.index()
    settle()
    summary: dict = {"language": language, "files": [], "search_ms": {}}

    moved = take_shots(dock, window, canvas, iface, out, shared, work, summary)

    summary["labels"] = {
        "placeholder": dock.search_box.placeholderText(),
        "harvest": dock.harvest_bar.label.text(),
        "update": dock.harvest_bar.update_button.text(),
        "load": dock.load_button.text(),
        "extent": dock.filters.in_extent.text(),
        "count": dock.count_label.text(),
        "window_title": dock.windowTitle(),
    }
    summary["message"] = bar.items()[0].text() if bar.items() else ""
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    dock.runner.shutdown()
    index.close()
    moved.close()
    # Widgets and layers go before QGIS exits (QGIS-NOTES: otherwise the process may crash on exit).
    window.close()
    window.deleteLater()
    QgsProject.instance().clear()
    settle(100)
    qgis_app.stop()
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    sys.exit(code)
