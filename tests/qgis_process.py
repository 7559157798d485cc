"""qgis_process for the tests: where it is, and a runner with the packaged plugin in a fresh profile.

Shared by the foundation, bathtub and remote-model tests (one lookup, one profile set-up), not a test module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest


def find_qgis_process() -> str | None:
    """qgis_process.bin first: Debian 12's /usr/bin/qgis_process wrapper adds --noversioncheck, which 3.22 rejects."""
    for candidate in (
        os.environ.get("QGIS_PROCESS", ""),
        shutil.which("qgis_process.bin") or "",
        "/usr/bin/qgis_process.bin",
        "/usr/lib/qgis/qgis_process.bin",
        shutil.which("qgis_process") or "",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def profile_runner(work: Path, zip_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """``run(*args)``: qgis_process with the plugin from ``zip_path`` installed and enabled in a profile under
    ``work`` (skips the test when qgis_process is not installed)."""
    exe = find_qgis_process()
    if exe is None:
        pytest.skip("qgis_process is not installed (Debian package qgis); make setup installs it")
    config = work / "config"
    plugins = config / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    zipfile.ZipFile(zip_path).extractall(plugins)
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(config), QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONPATH", None)  # qgis_process must find the plugin in the profile, not in the source tree

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([exe, *args], capture_output=True, text=True, env=env, cwd=work, timeout=180, check=False)

    enabled = run("plugins", "enable", "dtfl_plugin")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return run
