"""A standalone QGIS application for scripts (demo, bench helpers): isolated profile, Processing ready.

Import this before anything else from qgis in a script; call ``start()`` once and ``stop()`` at the end
(QGIS-NOTES: a standalone script must call exitQgis() or it may segfault on exit).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
_PLUGINS = "/usr/share/qgis/python/plugins"
if _PLUGINS not in sys.path:
    sys.path.append(_PLUGINS)

_app = None
_provider = None  # keep the Python provider alive: the registry holds only the C++ side


def start(profile: str | Path) -> object:
    """Start QGIS with its settings isolated in ``profile`` and the DTFL provider registered."""
    global _app, _provider
    profile = Path(profile)
    profile.mkdir(parents=True, exist_ok=True)
    os.environ["QGIS_CUSTOM_CONFIG_PATH"] = str(profile)
    os.environ["XDG_CONFIG_HOME"] = str(profile / "xdg")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    QgsApplication.setPrefixPath("/usr", True)
    _app = QgsApplication([], os.environ["QT_QPA_PLATFORM"] != "offscreen")
    _app.initQgis()
    from processing.core.Processing import Processing
    from qgis.analysis import QgsNativeAlgorithms

    Processing.initialize()
    registry = QgsApplication.processingRegistry()
    if registry.providerById("native") is None:
        registry.addProvider(QgsNativeAlgorithms())
    from dtfl_plugin.i18n import install_translator
    from dtfl_plugin.processing.provider import DtflProvider

    install_translator()
    _provider = DtflProvider()
    registry.addProvider(_provider)
    return _app


def stop() -> None:
    global _app
    if _app is not None:
        _app.exitQgis()
        _app = None


_provider = None  # keep the Python provider alive: the registry holds only the C++ side


if __name__ == "__main__":
    # Usage: qgis_app.py PROFILE ALGORITHM_ID PARAMS_JSON  -> prints the results as JSON
    import json

    start(sys.argv[1])
    import processing
    from qgis.core import QgsProcessingException

    try:
        results = processing.run(sys.argv[2], json.loads(sys.argv[3]))
    except QgsProcessingException as err:
        print(json.dumps({"error": str(err)}))
        stop()
        sys.exit(1)
    print(
        json.dumps(
            {
                k: v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)
                for k, v in results.items()
            }
        )
    )
    stop()
