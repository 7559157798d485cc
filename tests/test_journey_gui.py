"""The whole journey in the real QGIS desktop under Xvfb (issue 8): search → load → 3D view → model from
the toolbox → package → open the recipe in a fresh project. The journey itself is
tests/gui_journey/journey.py, run by QGIS's --code option; this test prepares an isolated profile
(the packaged plugin, Dutch locale, sandbox endpoints, a trusted signing key), runs QGIS and checks
the journey's report. Screenshots land in test-output/journey/screenshots/ (used by the user guide).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output" / "journey"
PASSPHRASE = "reis-wachtwoord"
MASTER = "reis-hoofdwachtwoord"  # QGIS's master password, set in the journey's last step
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24 +extension GLX"]

PREPARE = r"""
import json, sys
from qgis.core import QgsApplication, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QSettings
QCoreApplication.setOrganizationName("QGIS")
QCoreApplication.setApplicationName("QGIS3")
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
app = QgsApplication([], False)
sys.path.insert(0, sys.argv[4])
from dtfl_plugin import settings
from dtfl_plugin.recipe import keys, sign
qs = QgsSettings()
qs.setValue("PythonPlugins/dtfl_plugin", True)
qs.setValue("qgis/checkVersion", False)
qs.setValue("locale/overrideFlag", True)
qs.setValue("locale/userLocale", "nl_NL")
qs.setValue("qgis/showTips", False)
settings.apply_endpoints(json.loads(sys.argv[2]))
key = sign.generate_keypair()
sign.write_text_private(sys.argv[3], sign.secret_key_to_text(key, sys.argv[5]))
keys.add_trusted_key("reis", key.public.to_text())
qs.sync()
"""


@pytest.mark.slow
@pytest.mark.timeout(700)
def test_journey_in_qgis_desktop(sandbox, tmp_path):
    if shutil.which("xvfb-run") is None or shutil.which("qgis") is None:
        pytest.fail("the journey needs xvfb-run and the qgis desktop (make setup installs both)")
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    profiles = OUT / "profiles"  # kept for post-mortem (test-output/ is not tracked)
    plugin_dir = profiles / "profiles" / "default" / "python" / "plugins"
    plugin_dir.mkdir(parents=True)
    zip_path = tmp_path / "dtfl_plugin.zip"
    subprocess.run(["bash", str(ROOT / "scripts/package.sh"), str(zip_path)], check=True, cwd=ROOT, capture_output=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(plugin_dir)
    key_path = tmp_path / "journey.key"
    subprocess.run(
        ["/usr/bin/python3", "-c", PREPARE, str(profiles / "profiles" / "default"), json.dumps(sandbox),
         str(key_path), str(plugin_dir), PASSPHRASE],
        check=True, capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    home = OUT / "home"  # kept for post-mortem like the profile: the user's recipes land here
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("QGIS_CUSTOM_CONFIG_PATH", "XDG_CONFIG_HOME")}
    env.update(
        QT_QPA_PLATFORM="xcb",
        DTFL_JOURNEY_OUT=str(OUT),
        DTFL_JOURNEY_DIR=str(ROOT / "tests" / "gui_journey"),
        DTFL_JOURNEY_KEY=str(key_path),
        DTFL_JOURNEY_PASSPHRASE=PASSPHRASE,
        DTFL_JOURNEY_MASTER=MASTER,
        # a user's home, not under /tmp: QGIS takes any layer under /tmp for temporary and asks about it at exit
        HOME=str(home),
    )
    cmd = [*XVFB, "qgis", "--profiles-path", str(profiles), "--nologo", "--noversioncheck",
           "--code", str(ROOT / "tests/gui_journey/journey.py")]  # fmt: skip
    # Own process group: on a timeout QGIS and its Xvfb go together, nothing outlives the test.
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        log, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        log = "QGIS did not finish the journey in 600 s: " + (proc.communicate()[0] or "")
    (OUT / "qgis.log").write_text(log, encoding="utf-8")
    sys.stdout.write(f"QGIS exit code: {proc.returncode}\n")
    report_path = OUT / "journey-report.json"
    assert report_path.is_file(), f"no journey report; QGIS log tail:\n{log[-3000:]}"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    failed = [
        f"{s['name']}: {c['name']} ({c['detail']})" for s in report["steps"] for c in s["checks"] if not c["ok"]
    ] + [f"{s['name']}: {s['error']}" for s in report["steps"] if s.get("error")]
    failed += [f"exception in QGIS: {e}" for e in report.get("async_errors", [])]
    shots = [p for s in report["steps"] for p in s["screenshots"]]
    sys.stdout.write(f"journey on QGIS {report['qgis']}: {len(report['steps'])} steps, {len(shots)} screenshots\n")
    assert not failed, "journey checks failed:\n" + "\n".join(failed)
    # the journey's last step quits the way a user does (Project > Exit): QGIS must end by itself, cleanly
    assert proc.returncode == 0, f"QGIS exited with code {proc.returncode} after Project > Exit:\n{log[-3000:]}"
    assert [s["name"] for s in report["steps"]] == [
        "start",
        "search",
        "load",
        "view3d",
        "model",
        "keygen",
        "package",
        "open_recipe",
        "provenance",
        "keygen_auth",
        "quit",
    ]
    assert all(Path(p).stat().st_size > 10_000 for p in shots)
    # the passphrase and the master password typed in the journey are nowhere in the profile: not in a log, the
    # Processing history, processing.log, the settings or the run log
    for secret in (PASSPHRASE, MASTER):
        leaks = [
            str(p)
            for p in profiles.rglob("*")
            if p.is_file() and p.stat().st_size < 200_000_000 and secret.encode() in p.read_bytes()
        ]
        assert not leaks, f"a secret typed in the journey was written to {leaks}"
