"""Tiled bathtub screening at scale (models/tiled): memory bounded by the tile, not the DEM.

DEMs: the Delft AHN3 sample mirrored into a seamless tile and repeated to N x N cells at 1 m with +-1 cm of
seeded noise (bench_bathtub.py's recipe, written block by block so even 10^9 cells need no big array); about 4 %
of the cells are pits, as in raw lidar terrain. Each run is its own child process: wall clock from start to exit,
peak memory = the child's ru_maxrss (os.wait4). Rows (ratios within this run):
- 100 M cells against 4 M cells: time per cell (aim <= 1.5x) and peak memory against the 1.5 GB budget;
- dask.distributed LocalCluster, 2 workers against 1 worker, same DEM;
- remote: the sandbox's pygeoapi process bathtub_tiled (tiles on its Dask LocalCluster) against the local tiled
  run on the same DEM (inline GeoTIFF, submit to results downloaded);
- opt-in (DTFL_BENCH_BILLION=1, takes long on a shared 2-core machine): 10^9 cells, peak memory against 2 GB,
  cells/s per core against Barnes' parallel Priority-Flood (2.5 M cells/s per core) and SAGA Fill Sinks on the
  largest DEM here that it holds in memory (the 100 M one).
Quick mode: 1 M / 16 M cells, no remote or billion run.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bathtub import ROOT, WORK, _row, ensure_saga, measure, measure_child, mirror_tile, run_saga  # noqa: E402

BARNES_CELLS_PER_S_CORE = 2.5e6
BUDGET_100M_MB = 1536.0
BUDGET_1G_MB = 2048.0

CHILD = r"""
import json, os, sys, threading, time, shutil
sys.path.insert(0, ROOT)
from dtfl_plugin.models.tiled import engine
from dtfl_plugin.models.tiled.executors import DaskExecutor
t0 = time.perf_counter()
def log(message):
    print(f"{time.perf_counter() - t0:.1f} s: {message}", file=sys.stderr, flush=True)
def watch(cap_mb):  # a shared machine: stop before taking memory from others, and say where
    while True:
        with open("/proc/self/status") as status:
            rss = next(float(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
        if rss > cap_mb:
            log(f"stopped: {rss:.0f} MB > cap {cap_mb:.0f} MB")
            os._exit(3)
        time.sleep(0.2)
if CAP_MB and os.path.exists("/proc/self/status"):
    threading.Thread(target=watch, args=(CAP_MB,), daemon=True).start()
shutil.rmtree(WORKDIR, ignore_errors=True)
spec = engine.make_spec(SRC, WORKDIR, 70.0, 10.0, tile=TILE)
executor = DaskExecutor(workers=WORKERS) if WORKERS else None
res = engine.run_tiled(spec, WORKDIR + "/depth.tif", WORKDIR + "/dep.tif", executor=executor, log=log)
info = {"compute_s": time.perf_counter() - t0, "tiles": res.tiles, "depressions": len(res.table), "stored": res.stored_m3}
if executor: executor.close()
shutil.rmtree(WORKDIR, ignore_errors=True)
print(json.dumps(info))
"""


def make_dem(size: int) -> Path:
    """The N x N benchmark DEM, written block by block (cached under build/, deterministic)."""
    from osgeo import gdal

    path = WORK / f"delft_mirrored_blocks_{size}.tif"
    if path.is_file():
        return path
    tile, gt, wkt = mirror_tile()
    tmp = path.with_suffix(".part.tif")
    out = gdal.GetDriverByName("GTiff").Create(
        str(tmp), size, size, 1, gdal.GDT_Float32, ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=YES"]
    )
    out.SetGeoTransform((gt[0], 1.0, 0.0, gt[3], 0.0, -1.0))
    out.SetProjection(wkt)
    band = out.GetRasterBand(1)
    band.SetNoDataValue(-9999.0)
    rng = np.random.default_rng(20181)
    cols = np.arange(size) % tile.shape[1]
    for r in range(0, size, 512):
        block = tile[np.arange(r, min(r + 512, size)) % tile.shape[0]][:, cols]
        band.WriteArray((block + rng.uniform(-0.01, 0.01, block.shape)).astype(np.float32), 0, r)
        out.FlushCache()  # GDAL's cache would keep up to 5 % of RAM, and a child's ru_maxrss starts at ours
    band = out = None
    os.replace(tmp, path)
    return path


def _child(src: Path, tile: int, workers: int, cap_mb: float) -> list[str]:
    code = CHILD.replace("ROOT", repr(str(ROOT)), 1).replace("SRC", repr(str(src)))
    code = code.replace("WORKDIR", repr(str(WORK / f"tiled-work-{workers}")))
    code = code.replace("TILE", str(tile)).replace("WORKERS", str(workers)).replace("CAP_MB", repr(float(cap_mb)))
    return [sys.executable, "-c", code]  # the venv: dask is a tooling dependency


def run_tiled(src: Path, tile: int = 1024, workers: int = 0) -> tuple[float, float, dict]:
    wall, mem, out = measure(_child(src, tile, workers, 0))
    return wall, mem, json.loads(out.strip().splitlines()[-1])


def scale_rows(small: int, large: int) -> list[dict]:
    a_s, a_mb, a_info = run_tiled(make_dem(small))
    b_s, b_mb, b_info = run_tiled(make_dem(large))
    per_a, per_b = a_s / small**2 * 1e9, b_s / large**2 * 1e9
    la, lb = f"tiled {small}x{small}", f"tiled {large}x{large}"
    return [
        _row(la, "time", a_s, None, "s", f"{a_info['tiles']} tiles, {a_info['depressions']} depressions"),
        _row(la, "peak memory", a_mb, None, "MB", "ru_maxrss of the child"),
        _row(lb, "time", b_s, None, "s", f"{b_info['tiles']} tiles, {b_info['depressions']} depressions"),
        _row(lb, "time per cell vs small DEM", per_b, per_a, "ns", f"aim <= 1.5x; baseline: {la}"),
        _row(lb, "peak memory vs budget", b_mb, BUDGET_100M_MB, "MB", "aim <= 1.0x (1.5 GB)"),
        *per_core_rows(lb, make_dem(large), large**2, b_s),
    ]


def per_core_rows(label: str, saga_src: Path, cells: int, wall: float) -> list[dict]:
    """Cells per second on one core (the local executor runs the tiles one after another) against Barnes'
    parallel Priority-Flood and SAGA Fill Sinks (one thread, whole grid in memory) on the same DEM."""
    rate = cells / wall
    rows = [_row(label, "cells/s per core vs Barnes 2016", rate, BARNES_CELLS_PER_S_CORE, "cells/s",
                 "ours: the whole screening (fill, routing, fill-spill-merge, outputs); Barnes: fill only, C++")]  # fmt: skip
    saga, note = ensure_saga()
    if saga:
        s_wall, s_mb = run_saga(saga, saga_src, WORK / "saga_tiled_baseline.sdat")
        saga_cells = int(saga_src.stem.rsplit("_", 1)[-1]) ** 2
        rows.append(_row(label, "cells/s per core vs SAGA Fill Sinks", rate, saga_cells / s_wall, "cells/s",
                         f"SAGA fill only on {saga_src.name}, {s_wall:.0f} s, {s_mb:.0f} MB peak (whole grid in memory)"))  # fmt: skip
    else:
        rows.append(_row(label, "SAGA baseline", float("nan"), None, "-", f"no SAGA: {note}"))
    return rows


def dask_rows(src: Path, label: str, tile: int) -> list[dict]:
    one_s, one_mb, _ = run_tiled(src, tile=tile, workers=1)
    two_s, two_mb, info = run_tiled(src, tile=tile, workers=2)
    note = f"LocalCluster, 1 thread per worker, {info['tiles']} tiles; 2 shared cores (ratio < 1: faster)"
    return [
        _row(label, "Dask 2 workers vs 1 worker, time", two_s, one_s, "s", note),
        _row(
            label, "Dask 2 workers vs 1, peak memory of the client", two_mb, one_mb, "MB", "workers are child processes"
        ),
    ]


def remote_rows(src: Path, label: str) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from bench_remote import _sandbox

    local_s, _, _ = run_tiled(src)
    base, cleanup = _sandbox()
    try:
        inputs = {"dem": {"value": base64.b64encode(src.read_bytes()).decode(), "encoding": "base64",
                          "mediaType": "image/tiff; application=geotiff"}, "event": "T100", "loss_mm": 10}  # fmt: skip
        seconds, summary = _remote_run(base, inputs)
    finally:
        cleanup()
    note = (
        f"pygeoapi bathtub_tiled, {summary.get('tiles')} tiles on its Dask LocalCluster; submit to results downloaded"
    )
    return [_row(label, "remote (pygeoapi + Dask) vs local tiled, time", seconds, local_s, "s", note)]


def _remote_run(base: str, inputs: dict) -> tuple[float, dict]:
    parts = urlsplit(base)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Prefer": "respond-async"}
    conn.request("POST", parts.path + "/processes/bathtub_tiled/execution", json.dumps({"inputs": inputs}), headers)
    response = conn.getresponse()
    response.read()
    job = urlsplit(response.getheader("Location")).path
    while True:
        time.sleep(1.0)
        conn.request("GET", job, headers={"Accept": "application/json"})
        status = json.loads(conn.getresponse().read())
        if status["status"] in ("successful", "failed", "dismissed"):
            break
    if status["status"] != "successful":
        raise RuntimeError(f"remote run {status['status']}: {status.get('message')}")
    conn.request("GET", job + "/results", headers={"Accept": "application/json"})
    results = json.loads(conn.getresponse().read())
    conn.close()
    return time.perf_counter() - start, results.get("summary", {})


def billion_rows(size: int = 31623, cap_mb: float = 3 * BUDGET_1G_MB) -> list[dict]:
    """10^9 cells (31623^2). The child stops itself above ``cap_mb`` (the machine is shared): the rows then say
    how far it got, in which phase, after how long."""
    child = measure_child(_child(make_dem(size), 1024, 0, cap_mb))
    label, cells = f"tiled {size}x{size}", size**2
    phases = [line for line in child["stderr"].splitlines() if " s: " in line]
    if child["rc"]:
        last = phases[-1] if phases else child["stderr"].strip()[-300:]
        return [_row(label, "NOT FINISHED: wall time until stopped", child["wall"], None, "s", last),
                _row(label, "peak memory vs budget (until stopped)", child["peak_mb"], BUDGET_1G_MB, "MB",
                     f"exit {child['rc']}; CPU {child['cpu']:.0f} s; phases: " + " | ".join(phases[-4:]))]  # fmt: skip
    info = json.loads(child["stdout"].strip().splitlines()[-1])
    return [
        _row(label, "time", child["wall"], None, "s", f"{info['tiles']} tiles, {info['depressions']} depressions"),
        _row(label, "CPU time", child["cpu"], None, "s", "user + system of the child"),
        _row(label, "peak memory vs budget", child["peak_mb"], BUDGET_1G_MB, "MB", "aim <= 1.0x (2 GB)"),
        *per_core_rows(label, make_dem(10000), cells, child["wall"]),
    ]


def run(quick: bool = False) -> list[dict]:
    small, large = (1000, 4000) if quick else (2000, 10000)
    rows = scale_rows(small, large)
    print(json.dumps(rows), file=sys.stderr, flush=True)  # partial results survive a later failure
    mid = make_dem(1000 if quick else 5000)
    rows += dask_rows(mid, f"tiled {mid.stem.rsplit('_', 1)[-1]}^2", 256 if quick else 1024)
    if not quick:
        try:
            rows += remote_rows(make_dem(small), f"tiled {small}x{small}")
        except Exception as err:  # noqa: BLE001 - the sandbox may fail to start on a shared machine: say so
            rows.append(_row(f"tiled {small}x{small}", "remote (pygeoapi + Dask) vs local tiled", float("nan"), None, "s", f"not measured: {str(err).splitlines()[0]}"))  # fmt: skip
    if os.environ.get("DTFL_BENCH_BILLION") == "1":
        rows += billion_rows()
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        print(f"{row['benchmark']:<22} {row['metric']:<48} ours {row['ours']:.3f} {row['unit']:<7} ratio {ratio:<6} {row['note']}")  # fmt: skip
