#!/usr/bin/env python3
"""3DBAG tiles to 3D view: ~1 km2 of LoD2.2 (about 2,000 building parts), as "3DBAG for this map area" does it.

The shared 3DBAG sample (cjseq, LoD2.2) is laid out on a 45 x 45 grid (22 m apart, ~1 km2) as one CityJSON
tile, listed in a one-tile index. A child process then runs the real chain: tile index -> download through
net.py (file:// here: the network is closed) -> merge into one GeoPackage -> project -> render in the
guarded render child under Xvfb. Reported: time per stage and the peak memory (VmHWM) of the loading
process and, separately, of the render child (ru_maxrss of waited-for children).

Runnable alone: .venv/bin/python bench/bench_layers_3dbag.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data"))
SAMPLE = SHARED / "3d" / "cityjson" / "3dbag_b2.city.json"
GRID, SPACING_M = 45, 22.0


def build_tile(folder: Path) -> tuple[Path, Path, tuple[float, float, float, float]]:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    scale = data["transform"]["scale"]
    vertices, objects = data["vertices"], data["CityObjects"]
    step = int(SPACING_M / scale[0])
    out_vertices, out_objects = [], {}
    for row in range(GRID):
        for col in range(GRID):
            base = len(out_vertices)
            out_vertices += [[v[0] + col * step, v[1] + row * step, v[2]] for v in vertices]
            for object_id, obj in objects.items():
                copy = json.loads(json.dumps(obj))
                for geometry in copy.get("geometry", []):
                    geometry["boundaries"] = _offset(geometry["boundaries"], base)
                for key in ("parents", "children"):
                    if key in copy:
                        copy[key] = [f"{c}-{row}-{col}" for c in copy[key]]
                out_objects[f"{object_id}-{row}-{col}"] = copy
    data["vertices"], data["CityObjects"] = out_vertices, out_objects
    data.get("metadata", {}).pop("geographicalExtent", None)
    tile = folder / "tiles" / "1.city.json"
    tile.parent.mkdir(parents=True, exist_ok=True)
    tile.write_text(json.dumps(data), encoding="utf-8")
    x0 = min(v[0] for v in vertices) * scale[0] + data["transform"]["translate"][0]
    y0 = min(v[1] for v in vertices) * scale[1] + data["transform"]["translate"][1]
    box = (x0 - 5, y0 - 5, x0 + GRID * SPACING_M + 30, y0 + GRID * SPACING_M + 30)
    ring = [[box[0], box[1]], [box[0], box[3]], [box[2], box[3]], [box[2], box[1]], [box[0], box[1]]]
    index = folder / "index.geojson"
    index.write_text(
        json.dumps(
            {"features": [{"properties": {"tile_id": "1"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
        )
    )
    return tile, index, box


def _offset(boundaries, offset: int):
    if isinstance(boundaries, list):
        return [_offset(b, offset) for b in boundaries]
    return boundaries + offset if isinstance(boundaries, int) else boundaries


def child(folder: str) -> None:
    sys.path.insert(0, str(ROOT))
    from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsProject, QgsRectangle, QgsVectorLayer

    app = QgsApplication([], False)
    app.initQgis()
    from dtfl_plugin.layers import bag3d, render

    work = Path(folder)
    box = tuple(json.loads((work / "box.json").read_text()))
    t0 = time.perf_counter()
    tiles = bag3d.tiles_for_extent(work / "index.geojson", box)
    paths = bag3d.fetch_tiles(tiles, (work / "tiles").as_uri() + "/{tile_id}.city.json", work / "cache")
    t1 = time.perf_counter()
    written = bag3d.merge_tiles(paths, work / "bag.gpkg", box, "2.2")
    t2 = time.perf_counter()
    load_peak = _peak_mb()
    project = QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    project.addMapLayer(QgsVectorLayer(f"{work / 'bag.gpkg'}|layername=cityobjects", "3DBAG", "ogr"))
    project.write(str(work / "bag.qgz"))
    t3 = time.perf_counter()
    render.render_project_file(
        str(work / "bag.qgz"), QgsRectangle(*box), QgsCoordinateReferenceSystem("EPSG:28992"), str(work / "bag.png"),
        width=1280, height=800, pitch=50, yaw=30, timeout_s=600,
    )  # fmt: skip
    t4 = time.perf_counter()
    render_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({
        "features": written, "download_s": t1 - t0, "merge_s": t2 - t1, "project_s": t3 - t2, "render_s": t4 - t3,
        "total_s": t4 - t0, "load_peak_mb": load_peak, "render_peak_mb": render_peak,
    }), flush=True)  # fmt: skip
    os._exit(0)


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def run(quick: bool = False) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="dtfl-bench-3dbag-") as tmp:
        work = Path(tmp)
        _tile, _index, box = build_tile(work)
        (work / "box.json").write_text(json.dumps(box))
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
        done = subprocess.run(
            [sys.executable, __file__, "--child", tmp], env=env, capture_output=True, text=True, timeout=900
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"3DBAG bench child failed: {done.stderr[-2000:]}")
        result = json.loads(lines[-1])
        if os.environ.get("DTFL_BENCH_KEEP"):
            Path(os.environ["DTFL_BENCH_KEEP"]).write_bytes((work / "bag.png").read_bytes())
    note = (
        f"{GRID * GRID} buildings ({GRID * GRID * 2} LoD2.2 parts) on ~1 km2 ({result['features']} features): download "
        f"{result['download_s']:.1f} s, merge {result['merge_s']:.1f} s, render {result['render_s']:.1f} s; "
        f"render child peak {result['render_peak_mb']:.0f} MB"
    )
    return [
        {"benchmark": "3dbag_tiles_to_view", "metric": "time tiles -> 3D image", "ours": round(result["total_s"], 1),
         "baseline": None, "ratio": None, "unit": "s", "note": note},
        {"benchmark": "3dbag_tiles_to_view", "metric": "peak memory loading (VmHWM)",
         "ours": round(result["load_peak_mb"]), "baseline": None, "ratio": None, "unit": "MB", "note": note},
    ]  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
    for row in run():
        print(json.dumps(row))
