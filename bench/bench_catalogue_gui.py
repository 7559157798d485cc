"""Catalogue dock: keystroke -> painted results on the GUI thread, over 100,000 records.

The dock searches the local index in a worker thread (after a 150 ms typing pause) and paints the
answer on the GUI thread. For every prefix of the catalogue bench's user queries (as if typed letter
by letter) this measures the time from setting the text to the result list being painted (index
search, model reset, delegate painting), and the longest single stretch the GUI thread was busy
(what a user feels as a stutter).

Baseline, in the same run and the same widgets: the PDOK services plugin's filter (the typed words
joined by ``.*`` as a regex over the list, list order) feeding the same result list.

Widgets need a GUI QgsApplication; ``run()`` therefore measures in a child process
(``QT_QPA_PLATFORM=offscreen``) so it also works inside bench/run_all.py next to headless benchmarks.
Run alone: .venv/bin/python bench/bench_catalogue_gui.py [--quick]
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def _catalogue_bench():
    """The catalogue room's bench module: its synthetic 100k records, queries and regex baseline."""
    spec = importlib.util.spec_from_file_location("dtfl_bench_catalogue_for_gui", BENCH / "bench_catalogue.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def row(metric: str, ours: float, baseline: float | None, unit: str, note: str) -> dict:
    ratio = (baseline / ours) if baseline and ours else None
    return {"benchmark": "catalogue dock", "metric": metric, "ours": ours, "baseline": baseline, "ratio": ratio,
            "unit": unit, "note": note}  # fmt: skip


class _Hit:
    def __init__(self, entry) -> None:
        self.entry, self.score, self.matched = entry, 0.0, []


class DockTimer:
    """Times one keystroke in the dock: ours (worker thread), the GUI thread's longest step, and the baseline."""

    def __init__(self, app, dock, entries: list, regex) -> None:
        from qgis.PyQt.QtCore import QEventLoop

        self.app, self.dock, self.entries, self.regex = app, dock, entries, regex
        self.all_events = QEventLoop.ProcessEventsFlag.AllEvents

    def painted(self) -> None:
        self.dock.results.viewport().repaint()  # synchronous: the delegate paints every visible row now
        self.dock.detail.viewport().repaint()

    def ours(self, text: str) -> float:
        start = time.perf_counter()
        self.dock.search_box.setText(text)
        self.dock.run_search()
        while self.dock.searching:  # the worker thread searches; the GUI thread keeps its event loop
            self.app.processEvents(self.all_events, 5)
        self.painted()
        return (time.perf_counter() - start) * 1000.0

    def gui_blocked(self, text: str) -> float:
        """Longest time the GUI thread spent in one step while this keystroke was searched and shown."""
        longest = 0.0
        step = time.perf_counter()
        self.dock.search_box.setText(text)
        self.dock.run_search()
        longest = max(longest, time.perf_counter() - step)
        while self.dock.searching:
            step = time.perf_counter()
            self.app.processEvents(self.all_events, 5)
            longest = max(longest, time.perf_counter() - step)
        step = time.perf_counter()
        self.painted()
        return max(longest, time.perf_counter() - step) * 1000.0

    def baseline(self, text: str) -> float:
        start = time.perf_counter()
        self.dock.search_box.setText(text)
        self.dock._timer.stop()
        hits = [_Hit(self.entries[i]) for i in self.regex.search(text, 50)]
        self.dock.model.set_hits(hits, set())
        if hits:
            self.dock.results.setCurrentIndex(self.dock.model.index(0))
        self.painted()
        return (time.perf_counter() - start) * 1000.0


def measure(quick: bool) -> list[dict]:
    """The rows, measured with a profile and index of its own that are removed afterwards (~200-300 MB)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    profile = Path(tempfile.mkdtemp(prefix="dtfl-bench-gui-"))
    os.environ["QGIS_CUSTOM_CONFIG_PATH"] = str(profile)
    try:
        return _measure(profile, quick)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _measure(profile: Path, quick: bool) -> list[dict]:
    from qgis.core import QgsApplication

    app = QgsApplication([], True)
    app.initQgis()
    from qgis.PyQt.QtWidgets import QApplication

    from dtfl_plugin.catalogue.entry import Entry
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex
    from dtfl_plugin.gui.catalogue.feature import CatalogueDock

    cat = _catalogue_bench()
    n = 10_000 if quick else 100_000
    records = cat.synthetic_records(cat.base_entries(), n)
    list_path = profile / "layers.json"
    list_path.write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    index = CatalogueIndex(profile / "catalogue.sqlite")
    harvest(SourceConfig("pdok-layers", str(list_path), "bench"), index)
    index.warm()  # what the harvest task does after a harvest, off the GUI thread
    regex = cat.RegexBaseline(records)
    entries = [Entry(id=str(i), title=r["title"], service_type=r["service_type"].upper(), service_url=r["service_url"],
                     name=r["name"], organisation=r.get("organisation", "")) for i, r in enumerate(records)]  # fmt: skip

    dock = CatalogueDock(None, index_factory=lambda: index)
    dock.resize(440, 820)
    dock.show()
    dock.index()
    QApplication.processEvents()
    queries = [q for q, _ in cat.QUERIES]
    keystrokes = [q[:k] for q in queries for k in range(2, len(q) + 1)]

    timer = DockTimer(app, dock, entries, regex)
    ours, gui_blocked, baseline = timer.ours, timer.gui_blocked, timer.baseline

    ours("warm up")
    ours_ms = [ours(k) for k in keystrokes]
    base_ms = [baseline(k) for k in keystrokes]
    searched_ms = []
    for k in keystrokes:
        ours(k)
        searched_ms.append(dock.last_search_ms or 0.0)
    blocked_ms = [gui_blocked(k) for k in keystrokes]
    note = f"{len(keystrokes)} keystrokes of {len(queries)} queries, {index.count()} records"
    rows = [
        row("keystroke -> painted, median", statistics.median(ours_ms), statistics.median(base_ms), "ms", note),
        row("keystroke -> painted, p95", p95(ours_ms), p95(base_ms), "ms", "baseline: PDOK plugin regex, same widgets"),
        row("keystroke -> painted, max", max(ours_ms), max(base_ms), "ms", "a frame is 16.7 ms; typing pause 150 ms"),
        row("index search alone, p95", p95(searched_ms), None, "ms", "in the worker thread (filters + FTS5 + re-rank)"),
        row(
            "GUI thread blocked, p95",
            p95(blocked_ms),
            p95(base_ms),
            "ms",
            "longest single GUI-thread step per keystroke; baseline: the regex runs on the GUI thread",
        ),  # fmt: skip
        row("GUI thread blocked, max", max(blocked_ms), max(base_ms), "ms", "same"),
    ]
    dock.runner.shutdown()
    dock.close()
    index.close()
    app.exitQgis()
    return rows


def run(quick: bool = False) -> list[dict]:
    """Measure in a child process with its own GUI QgsApplication; rows back as JSON."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child"] + (["--quick"] if quick else []),
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"GUI benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    if "--child" in sys.argv:
        print(json.dumps(measure(quick)))
    else:
        for r in run(quick):
            print(
                f"{r['metric']:<34} ours {r['ours']:8.2f} {r['unit']:<3} baseline {r['baseline'] or 0:8.2f}  {r['note']}"
            )
