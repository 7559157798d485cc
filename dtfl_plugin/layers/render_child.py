"""Entry point of the guarded 3D render process: ``python -m dtfl_plugin.layers.render_child job.json``.

Runs under xvfb-run (or on the desktop's display) with QT_QPA_PLATFORM=xcb. Prints one JSON line with the
result; exit code 0 on success. The work itself is in render_scene.py; this file only starts QGIS.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from qgis.core import QgsApplication

    job = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    app = QgsApplication([], True)
    app.initQgis()
    try:
        from .render_scene import render_job

        print(json.dumps(render_job(job)), flush=True)
        code = 0
    except Exception as err:  # noqa: BLE001 - the parent shows the last line of stderr to the user
        print(str(err), file=sys.stderr, flush=True)
        code = 2
    # QGIS 3.22 may crash while tearing down its 3D engine: the image is written, leave without teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
