#!/usr/bin/env python3
"""Layers benchmarks.

1. CityJSON import: the Delft 3dfier file (CityJSON 2.0, 570 objects) replicated to ~100 MB by translated
   copies (deterministic), read by our streaming parser into QgsFeatures, against reading the same surfaces
   as GeoJSON through OGR (QgsVectorLayer, provider ogr) in the same run. Each side runs in its own child
   process, so the peak memory (VmHWM) is that side's alone.
2. Time to the first rendered 3D image of the Delft scene (DEM terrain + CityJSON buildings + EPT point
   cloud), in a child under xvfb-run, as a user of dtfl:render_3d_view would wait for it.

Runnable alone: .venv/bin/python bench/bench_layers.py [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data"))
DELFT = SHARED / "3d" / "cityjson" / "delft_3dfier.city.json"


def _offset(boundaries, offset: int):
    if isinstance(boundaries, list):
        return [_offset(b, offset) for b in boundaries]
    return boundaries + offset if isinstance(boundaries, int) else boundaries


def replicate_cityjson(source: Path, target: Path, copies: int) -> Path:
    """Write ``copies`` side-by-side translated copies of a CityJSON file as one CityJSON object.

    Copy k moves east by k times the model's width (+10 m), in the file's integer vertex units.
    Written object by object, so even a large result needs little memory here.
    """
    data = json.loads(source.read_text(encoding="utf-8"))
    vertices = data["vertices"]
    scale = data["transform"]["scale"][0]
    xs = [v[0] for v in vertices]
    step = int((max(xs) - min(xs)) + 10 / scale)
    header = {k: v for k, v in data.items() if k not in ("CityObjects", "vertices")}
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", encoding="utf-8") as out:
        out.write(json.dumps(header)[:-1] + ', "CityObjects": {')
        first = True
        for k in range(copies):
            for object_id, obj in data["CityObjects"].items():
                copy = dict(obj)
                copy["geometry"] = [
                    dict(g, boundaries=_offset(g["boundaries"], k * len(vertices))) for g in obj.get("geometry", [])
                ]
                for key in ("children", "parents"):
                    if key in obj:
                        copy[key] = [f"{c}-{k}" for c in obj[key]]
                out.write(("" if first else ",") + json.dumps(f"{object_id}-{k}") + ":" + json.dumps(copy))
                first = False
        out.write('}, "vertices": [')
        for k in range(copies):
            dx = k * step
            out.write(("" if k == 0 else ",") + ",".join(f"[{x + dx},{y},{z}]" for x, y, z in vertices))
        out.write("]}")
    return target


def write_geojson(cityjson: Path, target: Path) -> int:
    """The same surfaces as our import, as GeoJSON (OGR writes it; not timed)."""
    from osgeo import ogr, osr

    from dtfl_plugin.layers.cityjson import CityJSONReader

    driver = ogr.GetDriverByName("GeoJSON")
    dataset = driver.CreateDataSource(str(target))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(28992)
    # Millimetres, like the CityJSON transform: the GeoJSON is not padded with meaningless digits.
    layer = dataset.CreateLayer("cityobjects", srs, ogr.wkbMultiPolygon25D, options=["COORDINATE_PRECISION=3"])
    for name in ("id", "type", "lod", "surface"):
        layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    count = 0
    for record in CityJSONReader(cityjson):
        feature = ogr.Feature(layer.GetLayerDefn())
        for name in ("id", "type", "lod", "surface"):
            feature.SetField(name, getattr(record, name))
        feature.SetGeometry(ogr.CreateGeometryFromWkb(record.wkb))
        layer.CreateFeature(feature)
        count += 1
    dataset = None
    return count


def child(mode: str, path: str) -> dict:
    """Runs in a fresh process: read every feature with geometry, report time and peak memory."""
    sys.path.insert(0, str(ROOT))
    from qgis.core import QgsApplication, QgsVectorLayer

    app = QgsApplication([], False)
    app.initQgis()
    start = time.perf_counter()
    count = 0
    if mode == "idle":  # QGIS + numpy and nothing else: the floor under both peaks
        import numpy  # noqa: F401
    elif mode == "ours":
        from dtfl_plugin.layers.cityjson import CityJSONReader
        from dtfl_plugin.layers.cityjson_layer import record_feature, record_fields

        fields = record_fields()
        for record in CityJSONReader(path):
            feature = record_feature(record, fields)
            count += feature.geometry().constGet().numGeometries() > 0
    else:
        layer = QgsVectorLayer(path, "geojson", "ogr")
        for feature in layer.getFeatures():
            count += feature.geometry().constGet().numGeometries() > 0
        del layer  # a layer alive at exitQgis() crashes the process on exit
    seconds = time.perf_counter() - start
    result = {"features": count, "seconds": seconds, "peak_mb": _peak_mb()}
    print(json.dumps(result), flush=True)  # before exitQgis: the answer survives a crash on exit
    app.exitQgis()
    return result


def _peak_mb() -> float:
    """This process image's peak RSS (VmHWM); ru_maxrss would include the parent's peak from before exec."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def _run_child(mode: str, path: Path) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)], env=env, capture_output=True, text=True, timeout=1800
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:  # the JSON line is printed before QGIS exits, so a crash on exit does not lose it
        raise RuntimeError(f"{mode} child failed: {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def bench_import(tmp: Path, quick: bool) -> list[dict]:
    copies = 6 if quick else 55  # 55 copies ~ 100 MB of CityJSON
    big = replicate_cityjson(DELFT, tmp / "delft_x.city.json", copies)
    size_mb = big.stat().st_size / 1e6
    geojson = tmp / "delft_x.geojson"
    write_geojson(big, geojson)
    ours = _run_child("ours", big)
    ogr = _run_child("ogr", geojson)
    idle = _run_child("idle", big)
    assert ours["features"] == ogr["features"], (ours, ogr)
    note = f"{copies} translated copies of delft_3dfier ({size_mb:.0f} MB CityJSON, {geojson.stat().st_size / 1e6:.0f} MB GeoJSON), {ours['features']} features; child processes"
    rate_ours = ours["features"] / ours["seconds"]
    rate_ogr = ogr["features"] / ogr["seconds"]
    return [
        {
            "benchmark": "cityjson_import",
            "metric": "features per second",
            "ours": round(rate_ours),
            "baseline": round(rate_ogr),
            "ratio": round(rate_ours / rate_ogr, 2),
            "unit": "features/s",
            "note": note + "; baseline: same surfaces as GeoJSON via OGR",
        },
        {
            "benchmark": "cityjson_import",
            "metric": "peak memory (VmHWM)",
            "ours": round(ours["peak_mb"], 1),
            "baseline": round(ogr["peak_mb"], 1),
            "ratio": round(ours["peak_mb"] / ogr["peak_mb"], 2),
            "unit": "MB",
            "note": f"whole child process; an idle QGIS + numpy child peaks at {idle['peak_mb']:.0f} MB, so growth is {ours['peak_mb'] - idle['peak_mb']:.0f} MB (ours) vs {ogr['peak_mb'] - idle['peak_mb']:.0f} MB (OGR)",
        },
    ]


def bench_first_3d_image(tmp: Path) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from tests.layers_3d_child import run_under_xvfb

    start = time.perf_counter()
    run_under_xvfb(["build", str(SHARED), str(tmp / "scene")], timeout=300)
    built = time.perf_counter() - start
    result = run_under_xvfb(["render", str(tmp / "scene" / "delft.qgz"), str(tmp / "scene" / "first.png")], timeout=300)
    total = time.perf_counter() - start
    return [
        {
            "benchmark": "render_3d_first_image",
            "metric": "time to first 3D image",
            "ours": round(total, 1),
            "baseline": None,
            "ratio": None,
            "unit": "s",
            "note": f"Delft: AHN DTM terrain + 730 CityJSON surfaces + 208k EPT points, 960x640, Xvfb/llvmpipe; project build {built:.1f} s, render {result['seconds']:.1f} s",
        },
    ]


def run(quick: bool = False) -> list[dict]:
    if not DELFT.is_file():
        raise RuntimeError(f"sample data missing: {DELFT}")
    with tempfile.TemporaryDirectory(prefix="dtfl-bench-layers-") as tmp:
        rows = bench_import(Path(tmp), quick)
        rows += bench_first_3d_image(Path(tmp))
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.path.insert(0, str(ROOT))
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row))
