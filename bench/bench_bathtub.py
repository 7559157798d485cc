"""Bathtub screening at scale: our depression filling and full run against SAGA's Fill Sinks (Wang & Liu).

The DEM is made deterministically from the Delft AHN3 DTM sample (gap-filled, 265 x 230 m at 1 m): mirrored
into a seamless tile, tiled to N x N cells and given +-1 cm of seeded noise, so it has the many small pits of real
lidar terrain. Every measurement runs in its own child process, timed by wall clock from start to exit (start-up,
GeoTIFF read, compute, write: what a user waits for), and its peak memory is the child's ``ru_maxrss``
(``os.wait4``). The baseline, ``saga_cmd ta_preprocessor 4`` (Fill Sinks, Wang & Liu, MINSLOPE 0, which also
derives flow directions and basins internally), runs on the same file in the same run; the bench installs SAGA
through apt (requirements/apt-bench.txt) when ``saga_cmd`` is missing. It also checks that both filled surfaces
are equal.

Run alone: .venv/bin/python bench/bench_bathtub.py [--quick]     (quick: 1000 x 1000 instead of 4000 x 4000)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "bench_bathtub"
SAMPLE = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data")) / "3d" / "derived"
SAMPLE_DTM = SAMPLE / "ahn3_delft_dtm_1m_filled.tif"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

CHILD = r"""
import json, sys, time
sys.path.insert(0, ROOT)
t0 = time.perf_counter()
from dtfl_plugin.models.local import bathtub_core, raster_io
grid = raster_io.read_grid(SRC)
t1 = time.perf_counter()
if MODE == "fill":
    out = bathtub_core.fill_depressions(grid.array, grid.nodata)
else:
    result = bathtub_core.run_bathtub(grid.array, grid.cell_size, 70.0, 10.0, nodata=grid.nodata)
    out = result.depth
    extra = {"depressions": len(result.table), "stored_m3": result.stored_m3, "total_m3": result.total_runoff_m3}
t2 = time.perf_counter()
raster_io.write_geotiff(DST, out, grid.geotransform, grid.wkt, -9999.0)
info = {"read_s": t1 - t0, "compute_s": t2 - t1, "write_s": time.perf_counter() - t2}
if MODE != "fill":
    info.update(extra)
print(json.dumps(info))
"""


def mirror_tile() -> tuple[np.ndarray, tuple, str]:
    """The Delft sample DTM mirrored into a seamless 2 x 2 tile, with its geotransform and CRS (WKT)."""
    from osgeo import gdal

    gdal.UseExceptions()
    WORK.mkdir(parents=True, exist_ok=True)
    ds = gdal.Open(str(SAMPLE_DTM))
    base = ds.GetRasterBand(1).ReadAsArray().astype(np.float32)
    gt, wkt = ds.GetGeoTransform(), ds.GetProjection()
    ds = None
    return np.block([[base, base[:, ::-1]], [base[::-1, :], base[::-1, ::-1]]]), gt, wkt


def make_dem(size: int) -> Path:
    """The N x N benchmark DEM (cached under build/; deterministic, so the cache is always valid)."""
    path = WORK / f"delft_mirrored_{size}.tif"
    if path.is_file():
        return path
    tile, gt, wkt = mirror_tile()
    reps = (size // tile.shape[0] + 1, size // tile.shape[1] + 1)
    dem = np.tile(tile, reps)[:size, :size].copy()
    dem += np.random.default_rng(20181).uniform(-0.01, 0.01, dem.shape).astype(np.float32)
    sys.path.insert(0, str(ROOT))
    from dtfl_plugin.models.local.raster_io import write_geotiff

    write_geotiff(str(path), dem, (gt[0], 1.0, 0.0, gt[3], 0.0, -1.0), wkt, -9999.0)
    return path


def ensure_saga() -> tuple[str | None, str]:
    """saga_cmd, installed from requirements/apt-bench.txt when missing (root or passwordless sudo)."""
    found = shutil.which("saga_cmd")
    if found:
        return found, ""
    packages = [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "requirements" / "apt-bench.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = prefix + ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return None, f"could not install {packages}: {proc.stderr.strip()[-300:]}"
    return shutil.which("saga_cmd"), "installed by the bench"


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process, reaped with os.wait4 for its own rusage."""
    child = measure_child(cmd)
    if child["rc"]:
        raise RuntimeError(f"{cmd[0]} failed ({child['rc']}): {child['stderr'].strip()[-500:]}")
    return child["wall"], child["peak_mb"], child["stdout"]


def measure_child(cmd: list[str]) -> dict:
    """Wall and CPU seconds, peak RSS (MB), exit code, stdout and stderr of one child process (never raises)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024.0,
                "rc": os.waitstatus_to_exitcode(status), "stdout": out.read(), "stderr": err.read()}  # fmt: skip


def run_ours(mode: str, src: Path, dst: Path) -> tuple[float, float, dict]:
    code = CHILD.replace("ROOT", repr(str(ROOT)), 1)
    code = code.replace("SRC", repr(str(src))).replace("DST", repr(str(dst))).replace("MODE", repr(mode))
    wall, mem, out = measure([PYTHON, "-c", code])
    return wall, mem, json.loads(out.strip().splitlines()[-1])


def run_saga(saga: str, src: Path, dst: Path) -> tuple[float, float]:
    cmd = [saga, "ta_preprocessor", "4", "-ELEV", str(src), "-FILLED", str(dst), "-MINSLOPE", "0"]
    wall, mem, _ = measure(cmd)
    return wall, mem


def filled_difference(ours: Path, theirs: Path) -> float:
    from osgeo import gdal

    a_ds, b_ds = gdal.Open(str(ours)), gdal.Open(str(theirs))
    a = a_ds.GetRasterBand(1).ReadAsArray()
    b = b_ds.GetRasterBand(1).ReadAsArray()
    b_nodata = b_ds.GetRasterBand(1).GetNoDataValue()
    a_ds = b_ds = None
    valid = (a != -9999.0) & (b != b_nodata)
    return float(np.abs(a[valid].astype(np.float64) - b[valid]).max())


def _row(name, metric, ours, baseline, unit, note) -> dict:
    ratio = ours / baseline if baseline else None
    return {"benchmark": name, "metric": metric, "ours": ours, "baseline": baseline, "ratio": ratio, "unit": unit, "note": note}  # fmt: skip


def run(quick: bool = False) -> list[dict]:
    size = 1000 if quick else 4000
    repeats = 3 if quick else 1
    src = make_dem(size)
    label = f"bathtub {size}x{size}"
    saga, saga_note = ensure_saga()
    best = {}
    for _ in range(repeats):  # best of n: the machine is shared
        for key, fn in (
            ("fill", lambda: run_ours("fill", src, WORK / "ours_filled.tif")),
            ("full", lambda: run_ours("bathtub", src, WORK / "ours_depth.tif")),
            ("saga", (lambda: run_saga(saga, src, WORK / "saga_filled.sdat")) if saga else None),
        ):
            if fn is None:
                continue
            got = fn()
            if key not in best or got[0] < best[key][0]:
                best[key] = got
    fill_s, fill_mb, fill_info = best["fill"]
    full_s, full_mb, full_info = best["full"]
    saga_s, saga_mb = best["saga"] if "saga" in best else (None, None)
    base_note = "baseline: SAGA 8 Fill Sinks (Wang & Liu), MINSLOPE 0, same DEM, same run"
    if saga is None:
        base_note = f"no baseline: {saga_note}"
    rows = [
        _row(label, "fill time", fill_s, saga_s, "s", f"child process wall clock (compute {fill_info['compute_s']:.1f} s); {base_note}"),
        _row(label, "fill peak memory", fill_mb, saga_mb, "MB", f"ru_maxrss of the child; {base_note}"),
        _row(label, "full screening time", full_s, saga_s, "s", f"T100 70 mm - 10 mm loss, {full_info['depressions']} depressions (compute {full_info['compute_s']:.1f} s); baseline: SAGA fill alone"),
        _row(label, "full screening peak memory", full_mb, saga_mb, "MB", "ru_maxrss of the child; baseline: SAGA fill alone"),
    ]  # fmt: skip
    if saga is not None:
        diff = filled_difference(WORK / "ours_filled.tif", WORK / "saga_filled.sdat")
        rows.append(_row(label, "filled surface max |ours - SAGA|", diff, None, "m", "0 = identical fill"))
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        base = f"{row['baseline']:.3f}" if row["baseline"] is not None else "-"
        print(f"{row['benchmark']:<20} {row['metric']:<34} ours {row['ours']:.3f} {row['unit']:<3} baseline {base:<9} ratio {ratio:<6} {row['note']}")  # fmt: skip
