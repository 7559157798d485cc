"""Child-process helpers for 3D tests and the benchmark (3D only renders under Xvfb + xcb + GLX).

    python tests/layers_3d_child.py build <shared_data> <out_dir> [--no-buildings] [--no-pointcloud]
        -> builds <out_dir>/delft.qgz (DEM terrain, CityJSON buildings, EPT point cloud); prints JSON
    python tests/layers_3d_child.py render <project.qgz> <out.png> [pitch] [yaw] [distance|-] [width] [height]
        -> renders the project's 3D scene over its buildings' extent; prints JSON (seconds, size)

``run_under_xvfb(args, timeout)`` runs one of these under xvfb-run from a test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DELFT_EXTENT = (84808.0, 447412.0, 85073.0, 447642.0)  # the AHN DTM sample; EPT and 3dfier buildings overlap it


def xvfb_command(args: list[str]) -> list[str]:
    runner = shutil.which("xvfb-run")
    if runner is None:
        raise RuntimeError("xvfb-run is not installed")
    return [runner, "-a", "-s", "-screen 0 1280x1024x24 +extension GLX", sys.executable, __file__, *args]


def run_under_xvfb(args: list[str], timeout: float = 180.0) -> dict:
    """Run this script under Xvfb; kill the whole process group on timeout; return its JSON line."""
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        xvfb_command(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"3D child timed out after {timeout} s: {args}") from None
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"3D child failed ({proc.returncode}): {err[-3000:]}\n{out[-2000:]}")
    return json.loads(lines[-1])


def build_delft_project(shared: Path, out_dir: Path, *, buildings: bool = True, pointcloud: bool = True) -> dict:
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsFillSymbol,
        QgsPointCloudLayer,
        QgsProject,
        QgsRasterLayer,
        QgsSingleSymbolRenderer,
        QgsVectorLayer,
    )

    from dtfl_plugin.layers import render
    from dtfl_plugin.layers.cityjson_layer import cityjson_layer, cityjson_to_gpkg
    from dtfl_plugin.layers.pointcloud import style_point_cloud

    out_dir.mkdir(parents=True, exist_ok=True)
    project = QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    dem = QgsRasterLayer(str(shared / "3d/derived/ahn3_delft_dtm_1m_filled.tif"), "AHN3 DTM", "gdal")
    assert dem.isValid()
    project.addMapLayer(dem)
    project.writeEntry(*render.TERRAIN_KEY, dem.id())
    info = {"project": str(out_dir / "delft.qgz"), "layers": ["dem"]}
    # 2D BGT layers draped on the terrain.
    for table, colour in (
        ("bgt_begroeidterreindeel", "#a8d08d"),
        ("bgt_wegdeel", "#b0b0b0"),
        ("bgt_waterdeel", "#7fb2e5"),
    ):
        layer = QgsVectorLayer(f"{shared / '3d/bgt/bgt_delft.gpkg'}|layername={table}", table, "ogr")
        assert layer.isValid(), table
        layer.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple({"color": colour, "outline_style": "no"})))
        project.addMapLayer(layer)
        info["layers"].append(table)
    if buildings:
        gpkg, count, _ = cityjson_to_gpkg(
            shared / "3d/cityjson/delft_3dfier.city.json", out_dir / "delft_3dfier.gpkg", extent=DELFT_EXTENT
        )
        layer = cityjson_layer(gpkg, "Delft 3dfier")
        project.addMapLayer(layer)
        info["layers"].append("buildings")
        info["features"] = count
    if pointcloud:
        cloud = QgsPointCloudLayer(str(shared / "3d/derived/ahn3_delft_ept/ept.json"), "AHN3", "ept")
        if cloud.dataProvider() is not None and cloud.isValid():
            style_point_cloud(cloud)
            project.addMapLayer(cloud)
            info["layers"].append("pointcloud")
    if not project.write(info["project"]):
        raise RuntimeError(project.error())
    return info


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsRectangle

    app = QgsApplication([], True)
    app.initQgis()
    try:
        if argv[1] == "build":
            result = build_delft_project(
                Path(argv[2]),
                Path(argv[3]),
                buildings="--no-buildings" not in argv,
                pointcloud="--no-pointcloud" not in argv,
            )
        elif argv[1] == "render":
            from dtfl_plugin.layers.render_scene import render_job

            pitch = float(argv[4]) if len(argv) > 4 else 50.0
            yaw = float(argv[5]) if len(argv) > 5 else 20.0
            distance = float(argv[6]) if len(argv) > 6 and argv[6] != "-" else None
            start = time.perf_counter()
            job = {
                "project": argv[2],
                "extent": list(DELFT_EXTENT),
                "extent_crs": "EPSG:28992",
                "output": argv[3],
                "width": int(argv[7]) if len(argv) > 7 else 960,
                "height": int(argv[8]) if len(argv) > 8 else 640,
                "pitch": pitch,
                "yaw": yaw,
                "distance": distance,
            }
            result = render_job(job)
            result["seconds"] = time.perf_counter() - start
            del QgsRectangle, QgsCoordinateReferenceSystem
        else:
            raise SystemExit(f"unknown command {argv[1]}")
        print(json.dumps(result), flush=True)
        code = 0
    except Exception as err:
        import traceback

        traceback.print_exc()
        print(str(err), file=sys.stderr)
        code = 2
    app.exitQgis()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
