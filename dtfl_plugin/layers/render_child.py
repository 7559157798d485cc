"""Child process that renders one 3D job (see render.py): ``python -m dtfl_plugin.layers.render_child job.json``.

Runs under xvfb-run with QT_QPA_PLATFORM=xcb. Prints one JSON line with the result; exit code 0 on success.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def render_job(job: dict) -> dict:
    """Load the project, build its scene for the extent, render, write the PNG atomically."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRectangle

    from ..errors import LayerError
    from ..i18n import tr
    from . import render, scene3d

    scene3d.ensure_3d_registry()  # before reading: the project's 3D renderers need their registry entries
    project = QgsProject()
    if not project.read(job["project"]):
        raise LayerError(
            tr("Cannot open the project {path}: {reason}").format(path=job["project"], reason=project.error())
        )
    rect = QgsRectangle(*job["extent"])
    crs = QgsCoordinateReferenceSystem(job.get("extent_crs") or "")
    extent = scene3d.extent_in(rect, crs if crs.isValid() else project.crs(), project)
    settings = render.scene_for_project(project, extent)
    z = _ground_z(render.terrain_layer(project), extent)
    pose = scene3d.camera_pose(
        settings, extent, distance=job.get("distance"), pitch=job.get("pitch", 45.0), yaw=job.get("yaw", 0.0), z=z
    )
    image = render.render_image(project, settings, pose, job.get("width", 1280), job.get("height", 800))
    output = Path(job["output"])
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".png", dir=output.parent)
    os.close(fd)
    if not image.save(tmp, "PNG"):
        Path(tmp).unlink(missing_ok=True)
        raise LayerError(tr("Cannot write {path}.").format(path=output))
    os.replace(tmp, output)
    return {"output": str(output), "width": image.width(), "height": image.height()}


def _ground_z(dem, extent) -> float:
    """Terrain height at the extent centre, so the camera looks at the ground, not below it."""
    if dem is None:
        return 0.0
    value, ok = dem.dataProvider().sample(extent.center(), 1)
    return float(value) if ok else 0.0


def main(argv: list[str]) -> int:
    from qgis.core import QgsApplication

    job = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    app = QgsApplication([], True)
    app.initQgis()
    code = 0
    try:
        print(json.dumps(render_job(job)), flush=True)
    except Exception as err:  # noqa: BLE001 - the parent shows the last line of stderr to the user
        print(str(err), file=sys.stderr, flush=True)
        code = 2
    app.exitQgis()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
