"""Tests never touch a person's QGIS profile, nor a folder shared with other runs (e.g. <repo>/.qgis-settings)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _inside(path: str | Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _auth_database() -> str:
    from qgis.core import QgsApplication

    manager = QgsApplication.authManager()
    if hasattr(manager, "authenticationDatabaseUri"):  # QGIS >= 3.40: a URI; the file path is its path part
        from qgis.PyQt.QtCore import QUrl

        uri = manager.authenticationDatabaseUri()
        return QUrl(uri).path() or uri
    return manager.authenticationDatabasePath()


def test_settings_live_in_this_runs_profile(qgis_app, profile_dir):
    from qgis.core import QgsApplication, QgsSettings

    from dtfl_plugin import settings

    locations = {
        "QGIS_CUSTOM_CONFIG_PATH": os.environ["QGIS_CUSTOM_CONFIG_PATH"],
        "settings dir": QgsApplication.qgisSettingsDirPath(),
        "settings file": QgsSettings().fileName(),
        "auth database": _auth_database(),
        "dtfl data dir": str(settings.data_dir()),
    }
    for what, path in locations.items():
        assert _inside(path, profile_dir), f"{what} is {path}, outside this run's profile {profile_dir}"
        assert not _inside(path, ROOT), f"{what} is {path}, inside the repository"
        assert not _inside(path, Path.home() / ".local" / "share" / "QGIS"), f"{what} is the user's QGIS profile"


def test_a_setting_written_lands_in_the_run_profile(qgis_app, profile_dir):
    from qgis.core import QgsSettings

    from dtfl_plugin import settings

    settings.set_str("foundation/isolation-probe", "written by the test run")
    QgsSettings().sync()
    ini = Path(QgsSettings().fileName())
    assert ini.is_file() and "written by the test run" in ini.read_text(encoding="utf-8")
    settings.remove("foundation/isolation-probe")
