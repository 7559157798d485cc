"""Headless 3D renders of a project: QgsLayoutItem3DMap + QgsLayoutExporter.renderPageToImage.

3D rendering needs an OpenGL context. Under ``QT_QPA_PLATFORM=offscreen`` (qgis_process, CI) the
context fails and the render never returns, so:
- on a real display platform (the QGIS desktop, or xcb under Xvfb) we render in this process;
- on a headless platform we render in a child process under ``xvfb-run`` with a timeout
  (``render_child.py``), when xvfb-run exists; otherwise we fail at once with a clear message.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsLayout,
    QgsLayoutExporter,
    QgsLayoutSize,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QRectF, QSize
from qgis.PyQt.QtGui import QGuiApplication, QImage

from ..compat import GEOMETRY_POLYGON, LAYER_POINT_CLOUD, LAYOUT_MILLIMETERS
from ..errors import LayerError
from ..i18n import tr
from . import scene3d

HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "eglfs", ""}
XVFB_ARGS = ["-a", "-s", "-screen 0 1280x1024x24 +extension GLX"]
TERRAIN_KEY = ("dtfl", "terrain_layer")  # project entry: id of the DEM layer used as terrain
EXAGGERATION_KEY = ("dtfl", "terrain_exaggeration")


def platform_name() -> str:
    app = QGuiApplication.instance()
    return QGuiApplication.platformName() if app is not None else os.environ.get("QT_QPA_PLATFORM", "")


def display_problem() -> str:
    """'' when this process can render 3D, else a translated reason."""
    platform = platform_name()
    if platform in HEADLESS_PLATFORMS:
        return tr(
            "3D rendering needs a display with OpenGL, but QGIS runs on the '{platform}' platform. "
            'Run it in the QGIS desktop, or under Xvfb: xvfb-run -a -s "-screen 0 1280x1024x24 +extension GLX" with QT_QPA_PLATFORM=xcb.'
        ).format(platform=platform or "none")
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        return tr("3D rendering needs an X display, but DISPLAY is not set.")
    return ""


def xvfb_run() -> str | None:
    return shutil.which("xvfb-run")


# --- the scene a project asks for -------------------------------------------------------------


def terrain_layer(project: QgsProject) -> QgsRasterLayer | None:
    """The DEM the project names for terrain: our project entry, else QGIS's elevation settings (3.26+)."""
    layer_id, ok = project.readEntry(*TERRAIN_KEY, "")
    layer = project.mapLayer(layer_id) if ok and layer_id else None
    if isinstance(layer, QgsRasterLayer) and layer.isValid():
        return layer
    props = getattr(project, "elevationProperties", None)
    if props is not None:
        provider = props().terrainProvider()
        candidate = getattr(provider, "layer", lambda: None)()
        if isinstance(candidate, QgsRasterLayer) and candidate.isValid():
            return candidate
    return None


def terrain_exaggeration(project: QgsProject) -> float:
    value, ok = project.readDoubleEntry(*EXAGGERATION_KEY, 1.0)
    if ok:
        return value
    props = getattr(project, "elevationProperties", None)
    return float(props().terrainProvider().scale()) if props is not None else 1.0


def apply_default_3d_styles(project: QgsProject) -> None:
    """Sensible 3D defaults for layers that have none: buildings extruded, point clouds by class."""
    from .pointcloud import style_point_cloud

    for layer in project.mapLayers().values():
        if layer.renderer3D() is not None or not layer.isValid():
            continue
        if layer.type() == LAYER_POINT_CLOUD:
            style_point_cloud(layer)
        elif (
            isinstance(layer, QgsVectorLayer)
            and layer.geometryType() == GEOMETRY_POLYGON
            and scene3d.height_expression(layer)
        ):
            scene3d.style_extruded_buildings(layer)


def scene_for_project(project: QgsProject, extent: QgsRectangle, *, exaggeration: float | None = None):
    apply_default_3d_styles(project)
    dem = terrain_layer(project)
    scale = terrain_exaggeration(project) if exaggeration is None else exaggeration
    layers = [layer for layer in project.layerTreeRoot().checkedLayers() if layer is not None]
    # The DEM shapes the terrain and is the bottom of its texture: 2D layers that cover only part of the
    # ground (water, a flood depth with transparent dry cells) are drawn over it, never over blank white.
    if dem is not None and dem in layers:
        layers = [layer for layer in layers if layer is not dem] + [dem]
    return scene3d.map_settings(project, extent, dem=dem, layers=layers, exaggeration=scale)


# --- rendering ----------------------------------------------------------------------------------


def render_image(project: QgsProject, settings, pose, width: int, height: int) -> QImage:
    """Render in this process (caller checked display_problem()). Takes ownership of ``settings``."""
    from qgis._3d import QgsLayoutItem3DMap

    layout = QgsLayout(project)
    layout.initializeDefaults()
    # 4 px per mm keeps the page small; the exporter scales to the requested pixel size.
    size_mm = QgsLayoutSize(width / 4.0, height / 4.0, LAYOUT_MILLIMETERS)
    layout.pageCollection().page(0).setPageSize(size_mm)
    item = QgsLayoutItem3DMap(layout)
    item.setMapSettings(settings)
    item.attemptSetSceneRect(QRectF(0, 0, width / 4.0, height / 4.0))
    item.setFrameEnabled(False)
    item.setCameraPose(pose)
    layout.addLayoutItem(item)
    image = QgsLayoutExporter(layout).renderPageToImage(0, QSize(int(width), int(height)))
    if image.isNull():
        raise LayerError(tr("The 3D render produced no image."))
    return image


def render_project_file(
    project_path: str,
    extent: QgsRectangle,
    extent_crs: QgsCoordinateReferenceSystem,
    output: str,
    *,
    width: int = 1280,
    height: int = 800,
    distance: float | None = None,
    pitch: float = 45.0,
    yaw: float = 0.0,
    timeout_s: float = 300.0,
) -> str:
    """Render the 3D scene of a project file to a PNG; in this process or in a guarded child."""
    job = {
        "project": str(project_path),
        "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()],
        "extent_crs": extent_crs.authid() if extent_crs.isValid() else "",
        "output": str(output),
        "width": int(width),
        "height": int(height),
        "distance": distance,
        "pitch": float(pitch),
        "yaw": float(yaw),
    }
    problem = display_problem()
    if not problem:
        from .render_child import render_job

        render_job(job)
        return str(output)
    runner = xvfb_run()
    if runner is None:
        raise LayerError(problem)
    return run_child(job, timeout_s=timeout_s, runner=runner)


def run_child(job: dict, *, timeout_s: float, runner: str) -> str:
    """Run render_child.py under xvfb-run with the xcb platform; kill it when it exceeds the timeout."""
    python = _python_executable()
    package_root = str(Path(__file__).resolve().parents[2])
    with tempfile.TemporaryDirectory(prefix="dtfl-render-") as tmp:
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        env = dict(
            os.environ,
            QT_QPA_PLATFORM="xcb",
            PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH", "")])),
        )
        command = [runner, *XVFB_ARGS, python, "-m", "dtfl_plugin.layers.render_child", str(job_file)]
        # Own process group: on timeout Xvfb and the renderer go down together, nothing is left behind.
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise LayerError(
                tr("The 3D render did not finish within {seconds} seconds (OpenGL may be unavailable).").format(
                    seconds=int(timeout_s)
                )
            ) from exc
    if proc.returncode != 0 or not Path(job["output"]).is_file():
        lines = [line for line in (err or out).strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else tr("no output")
        raise LayerError(tr("The 3D render failed: {reason}").format(reason=reason), detail=(err or "")[-4000:])
    return job["output"]


def _python_executable() -> str:
    """The Python that runs QGIS (inside the QGIS desktop sys.executable is the qgis binary)."""
    exe = Path(sys.executable)
    if exe.name.startswith("python"):
        return str(exe)
    found = shutil.which("python3")
    if found is None:
        raise LayerError(tr("No Python interpreter found to run the 3D render in."))
    return found
