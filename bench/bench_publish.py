"""Publishing the twin for residents: time to publish, page weight, time to the first map and the first 3D frame.

The twin is the Delft twin of the tests (tests/publish_support/twin.py: AHN3 terrain, BGT, the CityJSON LoD1 model,
three bathtub scenarios), built from ../shared/data in this process. Baselines, in the same run:
- publish: a bare data export of the same layers (QgsVectorFileWriter GeoJSON + the same QGIS image rendering of
  every other layer), i.e. what a 2D-only exporter writes, without 3D, provenance or page;
- page weight: the vendored libraries alone (the floor of any MapLibre + three.js page);
- first map / first 3D frame in Debian's headless Chromium (software WebGL): a minimal page with the same MapLibre
  showing one GeoJSON layer / the same three.js drawing one box, served from the same loopback server.
The nearest peers cannot be produced here: qgis2web and Qgis2threejs are QGIS plugins from the QGIS plugin
repository (not on PyPI, npm or Debian, the only registries this machine reaches), and Qgis2threejs's current
version needs QGIS 4.

Run alone: .venv/bin/python bench/bench_publish.py [--quick]
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data"))
MINIMAL_MAP = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><link rel="stylesheet" href="static/vendor/maplibre-gl.css">
<style>#map{width:930px;height:610px}</style></head><body><div id="map"></div>
<script src="static/vendor/maplibre-gl.js"></script><script>
window.marks={};var m=new maplibregl.Map({container:'map',style:{version:8,sources:{b:{type:'geojson',data:'data/%s'}},
layers:[{id:'bg',type:'background',paint:{'background-color':'#eee'}},{id:'b',type:'fill',source:'b',paint:{'fill-color':'#c33'}}]},
bounds:%s});m.once('idle',function(){window.marks.firstMap=performance.now();document.body.dataset.map='ready';});
</script></body></html>"""
MINIMAL_3D = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body><div id="scene" style="width:930px;height:610px"></div>
<script src="static/vendor/three.min.js"></script><script>
var T=THREE,r=new T.WebGLRenderer({antialias:true}),s=new T.Scene(),c=new T.PerspectiveCamera(45,930/610,1,1000);
r.setSize(930,610);document.getElementById('scene').appendChild(r.domElement);s.add(new T.HemisphereLight(0xffffff,0x888888,2));
var g=new T.BufferGeometry();g.setAttribute('position',new T.Float32BufferAttribute([0,0,0,10,0,0,0,10,0],3));
s.add(new T.Mesh(g,new T.MeshLambertMaterial({color:0xcc3333})));c.position.set(5,5,30);r.render(s,c);
window.marks={first3d:performance.now()};document.body.dataset.scene='ready';
</script></body></html>"""


def _qgis():
    sys.path.insert(0, str(ROOT))
    if "/usr/share/qgis/python/plugins" not in sys.path:  # QGIS's own processing package
        sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing
    from qgis.analysis import QgsNativeAlgorithms
    from qgis.core import QgsApplication

    import tests.conftest  # noqa: F401 - isolates the QGIS profile (a bench never touches a person's settings)

    app = QgsApplication([], False)
    app.initQgis()
    Processing.initialize()
    registry = QgsApplication.processingRegistry()
    if registry.providerById("native") is None:
        registry.addProvider(QgsNativeAlgorithms())
    from dtfl_plugin.processing.provider import DtflProvider

    provider = DtflProvider()
    registry.addProvider(provider)
    return app, provider


def _bare_export(project_file: Path, out: Path) -> None:
    """The baseline: every layer written as a GeoJSON file or a QGIS-rendered PNG, nothing else."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsVectorFileWriter, QgsVectorLayer

    from dtfl_plugin.publish.export2d import export_image, mercator_box

    project = QgsProject()
    project.read(str(project_file))
    out.mkdir(parents=True)
    extent = project.mapLayersByName("Hoogte (AHN3)")[0].extent()
    context = project.transformContext()
    for number, layer in enumerate(project.mapLayers().values()):
        if isinstance(layer, QgsVectorLayer):
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GeoJSON"
            options.ct = __import__("qgis.core", fromlist=["x"]).QgsCoordinateTransform(
                layer.crs(), QgsCoordinateReferenceSystem("EPSG:4326"), context
            )
            QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(out / f"l{number}.geojson"), context, options)
        else:
            export_image(layer, mercator_box(extent, project.crs(), context), context, out / f"l{number}.png")


def _weight(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    raw = sum(p.stat().st_size for p in files)
    zipped = sum(len(gzip.compress(p.read_bytes(), 6)) for p in files)
    return raw, zipped


def _browser_times(site: Path, repeats: int) -> dict[str, list[float]]:
    from tests.publish_support.browser import chromium, serve

    bounds = json.loads((site / "data/site.json").read_text(encoding="utf-8"))["bounds"]
    layer = next(p.name for p in sorted((site / "data").glob("*.geojson"), key=lambda p: -p.stat().st_size))
    (site / "minimal-map.html").write_text(
        MINIMAL_MAP % (layer, json.dumps([bounds[:2], bounds[2:]])), encoding="utf-8"
    )
    (site / "minimal-3d.html").write_text(MINIMAL_3D, encoding="utf-8")
    times: dict[str, list[float]] = {k: [] for k in ("map", "3d", "base_map", "base_3d")}
    with serve(site) as base, chromium() as browser:
        for _ in range(repeats):
            for key, url, mark, ready in (
                ("map", "index.html", "firstMap", "map"), ("3d", "index.html#3d", "first3d", "scene"),
                ("base_map", "minimal-map.html", "firstMap", "map"), ("base_3d", "minimal-3d.html", "first3d", "scene"),
            ):  # fmt: skip
                page = browser.open(base + url)
                try:
                    page.page.wait_for_selector(f"body[data-{ready}=ready]", state="attached", timeout=120000)
                except Exception as err:
                    raise RuntimeError(f"{url} never got ready: {page.errors}") from err
                marks = page.page.evaluate("JSON.stringify(window.DTFL ? DTFL.marks : window.marks)")
                times[key].append(json.loads(marks)[mark])
                if page.errors:
                    raise RuntimeError(f"{url}: console errors {page.errors}")
                page.page.context.close()
                browser.contexts.remove(page.page.context)
    return times


def _row(metric, ours, baseline, unit, note):
    ratio = round(ours / baseline, 2) if baseline else None
    return {"benchmark": "publish", "metric": metric, "ours": round(ours, 3), "baseline": round(baseline, 3)
            if baseline is not None else None, "ratio": ratio, "unit": unit, "note": note}  # fmt: skip


def run(quick: bool = False) -> list[dict]:
    if not (SHARED / "3d").is_dir():
        raise RuntimeError(f"sample data missing: {SHARED}")
    app, _provider = _qgis()
    import processing

    from tests.publish_support.twin import build_twin

    repeats = 2 if quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="dtfl-bench-publish-"))
    try:
        twin = build_twin(SHARED, tmp / "twin")
        ours, bare = [], []
        for i in range(repeats):
            start = time.perf_counter()
            processing.run("dtfl:publish_web", {"PROJECT": str(twin.project_file), "LANGUAGE": 0,
                                                "RECIPE": str(twin.recipe), "OUTPUT": str(tmp / f"site{i}")})  # fmt: skip
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            _bare_export(twin.project_file, tmp / f"bare{i}")
            bare.append(time.perf_counter() - start)
        site = tmp / "site0"
        raw, zipped = _weight(site)
        lib_raw, lib_zipped = _weight(site / "static" / "vendor")
        times = _browser_times(site, repeats)
        med = {k: statistics.median(v) for k, v in times.items()}
        rows = [
            _row("time to publish the twin", statistics.median(ours), statistics.median(bare), "s",
                 f"10 layers, 3 scenarios, 3D scene, provenance; baseline: bare GeoJSON/PNG export of the same layers; median of {repeats}"),
            _row("page weight", raw / 1e6, lib_raw / 1e6, "MB", "whole site vs the vendored libraries alone"),
            _row("page weight gzip", zipped / 1e6, lib_zipped / 1e6, "MB", "as a web server sends it (gzip -6)"),
            _row("first drawn map", med["map"], med["base_map"], "ms",
                 "headless Chromium, software WebGL; baseline: MapLibre with one GeoJSON layer; from navigation start"),
            _row("first 3D frame", med["3d"], med["base_3d"], "ms",
                 "terrain + drape + flood + buildings; baseline: three.js drawing one triangle; from navigation start"),
        ]  # fmt: skip
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        app.exitQgis()


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
