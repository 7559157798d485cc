"""Background harvest: a QgsTask (qgis.core only) that harvests all enabled sources, or one.

Results cross back to the GUI thread in ``finished()`` through the ``harvested`` signal:
``harvested.emit(reports: list[dict], errors: list[str])`` (HarvestReport.to_dict() each).
One source failing does not stop the others; each source's write is its own transaction.
When any source failed, ``run()`` returns False (taskTerminated) and ``error`` holds a
CatalogueError naming every failure; ``reports`` still lists the sources that succeeded.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsFeedback, QgsMessageLog
from qgis.PyQt.QtCore import pyqtSignal

from ..errors import CatalogueError, DtflError
from ..i18n import tr
from ..task import DtflTask
from .harvest import HarvestReport, SourceConfig, configured_sources, harvest


class HarvestTask(DtflTask):
    harvested = pyqtSignal(list, list)  # reports (dicts), error messages

    def __init__(self, index_path: str | Path | None = None, sources: list[SourceConfig] | None = None) -> None:
        # Progress is per source (scaled below), not the feedback's raw percentage.
        super().__init__(tr("Updating the DTFL catalogue"), forward_progress=False)
        self.sources = [s for s in (sources if sources is not None else configured_sources()) if s.enabled]
        self.index_path = Path(index_path) if index_path else None
        self.reports: list[HarvestReport] = []
        self.errors: list[str] = []

    def work(self, feedback: QgsFeedback) -> None:
        from .index import CatalogueIndex, default_index

        index = CatalogueIndex(self.index_path) if self.index_path else default_index()
        count = max(1, len(self.sources))
        for i, source in enumerate(self.sources):
            if self.isCanceled():
                self.errors.append(tr("Harvest cancelled; sources not yet read keep their previous entries."))
                break
            base = 100.0 * i / count
            link = feedback.progressChanged.connect(lambda p, b=base: self.setProgress(b + p / count))
            try:
                self.reports.append(harvest(source, index, feedback))
            except DtflError as err:
                self.errors.append(err.message)
                QgsMessageLog.logMessage(f"{err.message} ({err.detail})", "DTFL")
            finally:
                feedback.progressChanged.disconnect(link)
            self.setProgress(100.0 * (i + 1) / count)
        if self.reports and not self.isCanceled():
            index.warm()  # the dock's next search finds the new vocabulary ready
        if self.index_path:
            index.close()
        if self.errors:
            raise CatalogueError(" ".join(self.errors))  # run() returns False; the reports still stand

    def on_finished(self, ok: bool) -> None:  # noqa: ARG002 - the errors say what went wrong
        self.harvested.emit([r.to_dict() for r in self.reports], list(self.errors))
