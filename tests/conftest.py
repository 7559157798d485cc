"""Test set-up: isolated QGIS settings, real data from ../shared/data, Processing ready.

Never import qgis.utils.iface at module top: pytest-qgis patches it at start-up.
Fixtures of each room live in tests/fixtures/ and are loaded as pytest plugins.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Isolate every QGIS setting before QGIS starts: tests never touch a person's profile.
_PROFILE = Path(tempfile.mkdtemp(prefix="dtfl-test-profile-"))
os.environ["QGIS_CUSTOM_CONFIG_PATH"] = str(_PROFILE)
os.environ["XDG_CONFIG_HOME"] = str(_PROFILE / "xdg")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QGIS_PREFIX_PATH", "/usr")

_QGIS_PLUGINS = "/usr/share/qgis/python/plugins"
if _QGIS_PLUGINS not in sys.path:
    sys.path.append(_QGIS_PLUGINS)

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data"))

pytest_plugins = [
    f"tests.fixtures.{p.stem}" for p in sorted((ROOT / "tests" / "fixtures").glob("*.py")) if p.stem != "__init__"
]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: the real Dutch sample data. Absent -> the test says so when it skips."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"sample data folder {SHARED_DATA} is absent (see README: ../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def profile_dir() -> Path:
    return _PROFILE


_KEEP: list = []


@pytest.fixture(scope="session")
def processing_ready(qgis_app):
    """Processing framework initialised with QGIS's native algorithms and the DTFL provider."""
    from processing.core.Processing import Processing
    from qgis.analysis import QgsNativeAlgorithms
    from qgis.core import QgsApplication

    Processing.initialize()
    registry = QgsApplication.processingRegistry()
    if registry.providerById("native") is None:
        registry.addProvider(QgsNativeAlgorithms())
    if registry.providerById("dtfl") is None:
        from dtfl_plugin.processing.provider import DtflProvider

        _KEEP.append(DtflProvider())  # the registry keeps only the C++ side alive
        registry.addProvider(_KEEP[-1])
    return registry


@pytest.fixture(autouse=True)
def _no_task_outlives_its_test():
    """Let QGIS tasks a test started (its own, or QGIS's, such as a point cloud's statistics) end before the next.

    A task still running when the next test tears down or replaces what it reads works on in a native thread
    behind that test; on QGIS 3.40 that ended in segfaults far from their cause. Waiting costs nothing when no
    task runs; a task that does not end in time is reported, not waited for forever.
    """
    yield
    if "qgis.core" not in sys.modules:
        return
    import time

    from qgis.core import QgsApplication

    manager = QgsApplication.taskManager() if QgsApplication.instance() is not None else None
    if manager is None or not manager.countActiveTasks():
        return
    deadline = time.monotonic() + 30.0
    while manager.countActiveTasks() and time.monotonic() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.005)
    left = [t.description() for t in manager.activeTasks()]
    if left:
        sys.stderr.write(f"\n[conftest] QGIS tasks still running after the test: {left}\n")
