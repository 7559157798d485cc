"""scripts/qgis4_check.py, the check a person runs in QGIS 4's Python console, passes on every QGIS we have here.

It is run headless in a child process with its own profile, exactly as `python3 scripts/qgis4_check.py`, so that a
FAIL line on QGIS 4 points at QGIS 4 and not at the script.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_qgis4_check_script_passes_here(tmp_path):
    snapshot = ROOT / "dtfl_plugin" / "catalogue" / "data" / "snapshot.json.gz"
    if not snapshot.is_file():  # make package bundles it; the check searches it like an installed plugin does
        subprocess.run([sys.executable, str(ROOT / "scripts" / "build_snapshot.py")], check=True, timeout=300)
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "profile"), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "qgis4_check.py")],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert len(lines) == 4 and all(line.startswith("PASS") for line in lines), done.stdout
    assert "4 passed, 0 failed" in done.stdout
