"""Start-up cost of the plugin: import + classFactory + initGui, against QGIS's own Processing plugin.

Each sample runs in a fresh Python process (cold imports, as when QGIS starts), with the same harness for both:
QgsApplication initialised, a main window and an interface object, then the clock runs around
``import <plugin>; classFactory(iface); [initProcessing();] initGui()``. The baseline is the Processing
plugin bundled with QGIS (/usr/share/qgis/python/plugins/processing), loaded the same way in the same run.
Also reported: HTTP requests made during our start-up (must be 0) and modules our start-up imports.

Run alone: .venv/bin/python bench/bench_startup.py [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QGIS_PLUGINS = "/usr/share/qgis/python/plugins"

# --- the child: one measurement in a fresh process ---------------------------------------------------------

CHILD = r"""
import json, sys, time
sys.path.insert(0, ROOT)
sys.path.append(QGIS_PLUGINS)
try:  # first, as under pytest: QgisInterface's slot signatures only resolve when it loads before the app exists
    import pytest_qgis.pytest_qgis  # noqa: F401
except ImportError:
    pass
from qgis.core import QgsApplication, QgsNetworkAccessManager
from qgis.PyQt.QtWidgets import QAction, QMainWindow, QMenu, QToolBar
from qgis.gui import QgsMapCanvas

app = QgsApplication([], True)
app.initQgis()

try:
    from pytest_qgis.mock_qgis_classes import MockMessageBar
    from pytest_qgis.qgis_interface import QgisInterface as _Base
except ImportError:  # outside the test venv: a bare interface; anything else answers None
    _Base = None


def make_iface():
    window = QMainWindow()
    canvas = QgsMapCanvas(window)
    window.setCentralWidget(canvas)
    # What QGIS's own window offers plugins (Processing files its algorithms under Vector and Raster).
    vector_menu = window.menuBar().addMenu("&Vector")
    raster_menu = window.menuBar().addMenu("&Raster")
    help_menu = window.menuBar().addMenu("Help")
    attributes = QToolBar("Attributes", window)
    selection = QToolBar("Selection", window)
    window.addToolBar(attributes)
    window.addToolBar(selection)
    extra = {
        "vectorMenu": lambda self: vector_menu,
        "rasterMenu": lambda self: raster_menu,
        "selectionToolBar": lambda self: selection,
        "firstRightStandardMenu": lambda self: help_menu,
        "attributesToolBar": lambda self: attributes,
        "actionOpenStatisticalSummary": lambda self: attributes.addAction("Statistics"),
        "actionToggleEditing": lambda self: QAction("Toggle editing", window),
        "addDockWidget": lambda self, area, dock: window.addDockWidget(area, dock),
        "removeDockWidget": lambda self, dock: window.removeDockWidget(dock),
        "mainWindow": lambda self: window,
        "mapCanvas": lambda self: canvas,
    }
    if _Base is not None:
        iface = type("BenchIface", (_Base,), extra)(canvas, MockMessageBar(), window)
    else:
        class Bare:
            def __getattr__(self, name):
                return lambda *a, **k: None
        iface = type("BenchIface", (Bare,), extra)()
    import qgis.utils
    qgis.utils.iface = iface  # plugins such as Processing use the global
    return iface


iface = make_iface()
requests = []
QgsNetworkAccessManager.instance().requestAboutToBeCreated.connect(lambda *a: requests.append(1))
modules_before = set(sys.modules)
t0 = time.perf_counter()
features = {}
if WHICH == "ours":
    import dtfl_plugin
    plugin = dtfl_plugin.classFactory(iface)
    # Time each GUI feature too, so a slow start points at the room that causes it.
    start_feature = type(plugin)._start_feature
    def timed_start(self, dotted, _start=start_feature):
        t = time.perf_counter()
        _start(self, dotted)
        features[dotted.rsplit(":", 1)[-1]] = time.perf_counter() - t
    type(plugin)._start_feature = timed_start
else:
    import processing
    plugin = processing.classFactory(iface)
t1 = time.perf_counter()
plugin.initProcessing()
t2 = time.perf_counter()
plugin.initGui()
elapsed = time.perf_counter() - t0
parts = {"import + classFactory": t1 - t0, "initProcessing": t2 - t1, "initGui": elapsed - (t2 - t0)}
app.processEvents()
new_modules = set(sys.modules) - modules_before
print("RESULT " + json.dumps({
    "seconds": elapsed,
    "parts": parts,
    "features": features,
    "requests": len(requests),
    "modules": len(new_modules),
    "heavy": sorted({m.split(".")[0] for m in new_modules if m.split(".")[0] in HEAVY}),
}))
sys.stdout.flush()
import os
os._exit(0)  # skip teardown: exit-time crashes of half-torn-down Qt objects are not what we measure
"""

# Modules that must not be imported at start-up: heavy, or a sign of eager work.
HEAVY = ("scipy", "pandas", "geopandas", "pyproj", "matplotlib", "requests", "owslib", "cryptography", "osgeo")


def _measure(which: str) -> dict:
    code = f"ROOT = {str(ROOT)!r}\nQGIS_PLUGINS = {QGIS_PLUGINS!r}\nWHICH = {which!r}\nHEAVY = {HEAVY!r}\n" + CHILD
    with tempfile.TemporaryDirectory(prefix="dtfl-bench-profile-") as profile:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=profile, QGIS_PREFIX_PATH="/usr")
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=False
        )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{which} start-up failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def _row(metric: str, ours: float, baseline: float | None, unit: str, note: str = "", ratio: bool = True) -> dict:
    return {
        "benchmark": "startup",
        "metric": metric,
        "ours": ours,
        "baseline": baseline,
        "ratio": round(ours / baseline, 3) if ratio and baseline else None,
        "unit": unit,
        "note": note,
    }


def run(quick: bool = False) -> list[dict]:
    n = 3 if quick else 7
    ours, base = [], []
    for _ in range(n):  # interleaved, so drift in machine load hits both alike
        ours.append(_measure("ours"))
        base.append(_measure("processing"))

    def median_ms(results: list[dict], part: str | None = None) -> float:
        return round(statistics.median(r["parts"][part] if part else r["seconds"] for r in results) * 1000, 1)

    heavy = sorted({m for r in ours for m in r["heavy"]})
    rows = [
        _row(
            f"import + classFactory + initProcessing + initGui (median of {n} fresh processes)",
            median_ms(ours),
            median_ms(base),
            "ms",
            "baseline: QGIS's bundled Processing plugin, same harness; aim ratio < 0.2",
        )
    ]
    rows += [_row(f"of which {part}", median_ms(ours, part), median_ms(base, part), "ms") for part in ours[0]["parts"]]
    for feature in ours[0].get("features", {}):
        ms = round(statistics.median(r["features"].get(feature, 0.0) for r in ours) * 1000, 1)
        rows.append(_row(f"  initGui: {feature}", ms, None, "ms", "one GUI feature (gui/*.py)", ratio=False))
    rows.append(
        _row(
            "HTTP requests during start-up",
            max(r["requests"] for r in ours),
            max(r["requests"] for r in base),
            "requests",
            "must be 0: start-up never touches the network",
            ratio=False,
        )
    )
    rows.append(
        _row(
            "modules imported by start-up",
            statistics.median(r["modules"] for r in ours),
            statistics.median(r["modules"] for r in base),
            "modules",
            "heavy packages imported eagerly: " + (", ".join(heavy) if heavy else "none"),
            ratio=False,
        )
    )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
