"""3D renders of a project, always in a guarded child process (render_child.py + render_scene.py).

QGIS's 3D engine can take its process down (QGIS 3.22 aborts on some scenes, a lost OpenGL context hangs
for ever), so no render runs in the caller, not even in the desktop with a display:
- a child process renders, with a timeout after which its whole process group is killed;
- under xvfb-run when it is installed (its own X server: nothing shared with the desktop), else on the
  desktop's own display; without either, a clear message at once;
- the child runs QGIS's own Python, worked out from the running interpreter, never ``python3`` from PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle
from qgis.PyQt.QtGui import QGuiApplication

from ..errors import LayerError
from ..i18n import tr
from .terrain import EXAGGERATION_KEY, TERRAIN_KEY, terrain_exaggeration, terrain_layer  # noqa: F401 - public API

HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "eglfs", ""}
XVFB_ARGS = ["-a", "-s", "-screen 0 1280x1024x24 +extension GLX"]
CHILD_MODULE = "dtfl_plugin.layers.render_child"


def platform_name() -> str:
    app = QGuiApplication.instance()
    return QGuiApplication.platformName() if app is not None else os.environ.get("QT_QPA_PLATFORM", "")


def display_problem() -> str:
    """'' when this process has a display the render child can use, else a translated reason."""
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
    return run_child(job, timeout_s=timeout_s)


def child_command(job_file: str) -> tuple[list[str], dict]:
    """The command line and environment of a render child for ``job_file``; LayerError when none can run."""
    runner = xvfb_run()
    wrapper: list[str] = [runner, *XVFB_ARGS] if runner else []
    if not wrapper:
        problem = display_problem()
        if problem:
            raise LayerError(problem)
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="xcb",
        PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH", "")])),
    )
    return [*wrapper, python_executable(), "-m", CHILD_MODULE, job_file], env


def run_child(job: dict, *, timeout_s: float) -> str:
    """Run the render child; kill its process group when it exceeds the timeout."""
    with tempfile.TemporaryDirectory(prefix="dtfl-render-") as tmp:
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        command, env = child_command(str(job_file))
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
    return check_child_result(proc.returncode, out, err, job["output"])


def check_child_result(returncode: int, out: str, err: str, output: str) -> str:
    """The output path, or a LayerError that says why the child failed (a crash is named as one)."""
    if returncode == 0 and Path(output).is_file():
        return output
    lines = [line for line in (err or out or "").strip().splitlines() if line.strip() and "XDG_RUNTIME_DIR" not in line]
    reason = lines[-1] if lines else tr("no output")
    if returncode < 0 or returncode in (134, 139) or reason in ("Aborted", "Segmentation fault"):
        reason = tr(
            "QGIS's 3D engine crashed in the render process ({reason}); your QGIS session is not affected."
        ).format(reason=reason)
    raise LayerError(tr("The 3D render failed: {reason}").format(reason=reason), detail=(err or "")[-4000:])


def _loaded_python_prefixes() -> list[Path]:
    """Install prefixes of the libpython this process has loaded (Linux): the embedded interpreter's own.

    Inside the QGIS desktop, ``sys.exec_prefix`` is guessed by searching PATH for ``python3`` and can
    name another Python altogether (pyenv, conda, /usr/local); the loaded library cannot lie.
    """
    prefixes: list[Path] = []
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                path = line.rsplit(" ", 1)[-1].strip()
                if "/libpython3" in path and path.startswith("/"):
                    lib = Path(path).parent
                    while lib.name and lib.name != "lib":
                        lib = lib.parent
                    if lib.name == "lib":
                        prefixes.append(lib.parent)
    except OSError:  # not Linux
        pass
    return list(dict.fromkeys(prefixes))


def python_candidates() -> list[str]:
    """Interpreters that may be the one QGIS runs, from the running interpreter, most specific first.

    In the QGIS desktop ``sys.executable`` is the qgis binary (or QGIS.app, or qgis-bin.exe); the Python
    that QGIS embeds is then found by version next to the libpython it loaded, QGIS's prefix, or its
    standard library (``sys.exec_prefix``).
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    names = [f"python{version}", f"python{sys.version_info.major}", "python"]
    found: list[str] = []
    for candidate in (sys.executable, getattr(sys, "_base_executable", "")):
        if candidate and Path(candidate).name.lower().startswith("python"):
            found.append(candidate)
    prefixes = [*_loaded_python_prefixes(), *_qgis_prefixes()]
    prefixes += [Path(p) for p in (sys.exec_prefix, sys.base_exec_prefix, sysconfig.get_config_var("BINDIR")) if p]
    for prefix in dict.fromkeys(prefixes):
        for folder in (prefix / "bin", prefix, prefix / "apps" / f"Python{version.replace('.', '')}"):
            for name in names:
                found.extend(str(folder / f"{name}{suffix}") for suffix in ("", ".exe"))
    return [path for path in dict.fromkeys(found) if Path(path).is_file() and os.access(path, os.X_OK)]


def _qgis_prefixes() -> list[Path]:
    """QGIS's own install prefix and its parents (macOS bundle, OSGeo4W root), where its Python lives."""
    from qgis.core import QgsApplication

    prefix = QgsApplication.prefixPath()
    if not prefix:
        return []
    path = Path(prefix)
    return [path, path.parent, path.parent.parent]


_CHECKED: dict[str, bool] = {}


def _has_qgis(python: str) -> bool:
    """Whether ``python`` imports qgis.core (asked once per interpreter and session, in a child)."""
    if python not in _CHECKED:
        try:
            done = subprocess.run(
                [python, "-c", "import qgis.core"],
                capture_output=True,
                timeout=60,
                env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
            )
            _CHECKED[python] = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _CHECKED[python] = False
    return _CHECKED[python]


def python_executable() -> str:
    """The Python of the running QGIS (never the first ``python3`` on PATH, which may lack qgis)."""
    candidates = python_candidates()
    for candidate in candidates:
        if _has_qgis(candidate):
            return candidate
    raise LayerError(
        tr("Cannot find the Python interpreter of this QGIS (looked next to {prefix}).").format(
            prefix=", ".join(candidates) or sys.exec_prefix
        )
    )
