"""DTFL on QGIS 4: the checks a person with QGIS 4 runs, printing one PASS/FAIL line each.

In QGIS 4: Plugins > Python Console > Show Editor, open this file and run it (or, in the console,
``exec(open("/path/to/qgis4_check.py").read())``), with the DTFL plugin installed. It touches nothing of the open
project or the user's settings beyond what the plugin itself stores: it works in a temporary folder and a separate
QgsProject. It runs the same way headless (``python3 scripts/qgis4_check.py``, the test suite does that on every
QGIS 3 version it has), so a failure on QGIS 4 points at Qt 6 / QGIS 4, not at the check.

Checks: the plugin loads; Processing lists its algorithms; a catalogue search answers from the bundled snapshot;
a recipe is packaged, verified and opened safely into a separate project.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from pathlib import Path

RESULTS: list[tuple[str, bool, str]] = []


def check(name: str):
    def wrap(func):
        def run(*args, **kwargs):
            try:
                detail = func(*args, **kwargs) or ""
                RESULTS.append((name, True, str(detail)))
            except Exception as err:  # noqa: BLE001 - every failure becomes a FAIL line, the next check still runs
                last = traceback.format_exc().strip().splitlines()[-1]
                RESULTS.append((name, False, f"{type(err).__name__}: {err} ({last})"))

        return run

    return wrap


def _environment() -> str:
    from qgis.core import Qgis
    from qgis.PyQt.QtCore import QT_VERSION_STR

    return f"QGIS {Qgis.version()}, Qt {QT_VERSION_STR}, Python {sys.version.split()[0]}"


@check("plugin loads")
def check_plugin(in_desktop: bool) -> str:
    import qgis.utils

    if in_desktop:
        if "dtfl_plugin" not in qgis.utils.plugins:
            if not qgis.utils.loadPlugin("dtfl_plugin") or not qgis.utils.startPlugin("dtfl_plugin"):
                raise RuntimeError("the DTFL plugin is not installed or did not start (see the Python errors)")
        return "started in the desktop"
    from qgis.core import QgsApplication

    import dtfl_plugin
    from dtfl_plugin.processing.provider import DtflProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("dtfl") is None:
        _KEEP.append(DtflProvider())
        registry.addProvider(_KEEP[-1])
    return f"package {Path(dtfl_plugin.__file__).parent}"


_KEEP: list = []


@check("Processing lists the DTFL algorithms")
def check_algorithms() -> str:
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("dtfl")
    if provider is None:
        raise RuntimeError("no Processing provider 'dtfl'")
    names = sorted(alg.id() for alg in provider.algorithms())
    for wanted in ("dtfl:catalogue_search", "dtfl:recipe_package", "dtfl:recipe_verify", "dtfl:recipe_unpack"):
        if wanted not in names:
            raise RuntimeError(f"{wanted} is missing; found {names}")
    return f"{len(names)} algorithms"


@check("catalogue search answers")
def check_search(work: Path) -> str:
    import processing

    out = work / "hits.json"
    processing.run("dtfl:catalogue_search", {"QUERY": "bestuurlijke grenzen", "LIMIT": 5, "OUTPUT": str(out)})
    hits = json.loads(out.read_text(encoding="utf-8"))
    hits = hits.get("hits", hits) if isinstance(hits, dict) else hits
    if not hits:
        raise RuntimeError("no hits from the bundled catalogue snapshot")
    first = hits[0]
    return f"{len(hits)} hits, first: {first.get('title')} ({first.get('service_type')})"


@check("a recipe is packaged, verified and opened safely")
def check_recipe(work: Path) -> str:
    import processing
    from qgis.core import QgsProject, QgsVectorLayer

    from dtfl_plugin.recipe import open as recipe_open

    data = work / "points.geojson"
    data.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"n":1},'
        '"geometry":{"type":"Point","coordinates":[85000,446000]}}]}',
        encoding="utf-8",
    )
    project = QgsProject()
    layer = QgsVectorLayer(str(data), "punten", "ogr")
    if not layer.isValid():
        raise RuntimeError("the test layer did not load")
    project.addMapLayer(layer)
    project_file = work / "twin" / "twin.qgs"
    project_file.parent.mkdir()
    if not project.write(str(project_file)):
        raise RuntimeError("could not write the test project")
    recipe = work / "twin.dtfl.zip"
    processing.run("dtfl:recipe_package", {"PROJECT": str(project_file), "OUTPUT": str(recipe)})
    verdict = work / "verdict.json"
    processing.run("dtfl:recipe_verify", {"RECIPE": str(recipe), "OUTPUT": str(verdict)})
    result = recipe_open.unpack(recipe, work / "opened", allow_untrusted=True)
    receiver = QgsProject()
    if not recipe_open.open_in_project(result, receiver):
        raise RuntimeError("the opened recipe's project did not read")
    valid = [lyr.name() for lyr in receiver.mapLayers().values() if lyr.isValid()]
    if "punten" not in valid:
        raise RuntimeError(f"the layer did not arrive; valid layers: {valid}")
    return f"{len(valid)} layer(s) arrived valid"


def main() -> int:
    import qgis.utils

    in_desktop = qgis.utils.iface is not None
    app = None
    if not in_desktop:
        here = globals().get("__file__")
        if here:  # run from a checkout: the package sits next to scripts/
            sys.path.insert(0, str(Path(here).resolve().parent.parent))
        from qgis.core import QgsApplication

        app = QgsApplication([], False)
        app.initQgis()
        plugins = str(Path(QgsApplication.pkgDataPath()) / "python" / "plugins")
        if plugins not in sys.path:  # QGIS's own Processing plugin, as the desktop has it
            sys.path.append(plugins)
        from processing.core.Processing import Processing

        Processing.initialize()
    print(f"DTFL QGIS 4 check on {_environment()}")
    with tempfile.TemporaryDirectory(prefix="dtfl-qgis4-check-") as tmp:
        work = Path(tmp)
        check_plugin(in_desktop)
        check_algorithms()
        check_search(work)
        check_recipe(work)
    for name, ok, detail in RESULTS:
        print(f"{'PASS' if ok else 'FAIL'}: {name}: {detail}")
    failed = sum(1 for _, ok, _ in RESULTS if not ok)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    if app is not None:
        app.exitQgis()
    return 1 if failed else 0


if __name__ == "__main__":
    code = main()
    import qgis.utils

    if qgis.utils.iface is None:
        sys.exit(code)
