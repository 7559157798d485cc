"""Remote algorithms for the provider, built from the on-disk cache only (no network).

Called by processing/provider.py at every (re)load. A description that cannot make an
algorithm is logged and skipped so one odd process never hides the others.
"""

from __future__ import annotations

from qgis.core import QgsMessageLog, QgsProcessingAlgorithm

from ...i18n import tr
from .algorithm import RemoteProcessAlgorithm, check_description
from .cache import cached_descriptions


def cached_algorithms() -> list[QgsProcessingAlgorithm]:
    out: list[QgsProcessingAlgorithm] = []
    seen: set[str] = set()
    for server, description in cached_descriptions():
        try:
            check_description(description)
            alg = RemoteProcessAlgorithm(server, description)
        except Exception as err:  # noqa: BLE001 - a bad description must not break the provider
            QgsMessageLog.logMessage(
                tr("Remote process {id} on {server} skipped: {error}").format(
                    id=description.get("id", "?") if isinstance(description, dict) else "?",
                    server=server.name,
                    error=err,
                ),
                "DTFL",
            )
            continue
        if alg.name() in seen:
            continue
        seen.add(alg.name())
        out.append(alg)
    return out
