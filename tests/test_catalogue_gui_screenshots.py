"""Dutch screenshots of the catalogue dock, taken under Xvfb by scripts/screenshot_catalogue.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output" / "screenshots"

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def test_screenshots_in_dutch_with_real_results(shared_data):
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (Debian package xvfb): screenshots need a real X server")
    from qgis.PyQt.QtGui import QImage

    env = dict(os.environ, QT_QPA_PLATFORM="xcb", DTFL_SHARED_DATA=str(shared_data))
    env.pop("QGIS_CUSTOM_CONFIG_PATH", None)  # the script isolates its own profile
    proc = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1680x1050x24",
            sys.executable,
            str(ROOT / "scripts" / "screenshot_catalogue.py"),
            "--out",
            str(OUT),
            "--shared",
            str(shared_data),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert summary["language"] == "nl"
    labels = summary["labels"]
    assert labels["harvest"].startswith("Catalogus bijgewerkt op")
    assert (labels["update"], labels["load"], labels["extent"]) == ("Bijwerken", "Laden", "In huidig kaartbeeld")
    assert labels["window_title"] == "DTFL catalogus"
    assert summary["stale"] == ["Windsnelheden 100m hoogte"]
    assert summary["message"].startswith("Kaartlaag “Windsnelheden 100m hoogte”")
    names = {Path(f).name for f in summary["files"]}
    assert names == {
        "catalogue_luchtfoto.png",
        "catalogue_bgt_favourites.png",
        "catalogue_filter_organisation.png",
        "catalogue_window_stale.png",
        "catalogue_services.png",
        "catalogue_relaxed.png",
    }
    assert summary["services"][0] in ("OGC API Features", "WFS") and len(summary["services"]) > 1
    assert "zzyzx" in summary["relaxed"] and "Niet gevonden" in summary["relaxed"]
    for name in names:
        image = QImage(str(OUT / name))
        assert not image.isNull() and image.width() >= 400 and image.height() >= 600, name
        # Not a blank grab: a real screenshot has many colours (text, badges, map).
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 50, f"{name} looks blank ({len(colours)} colours)"
