"""dtfl:catalogue_import — harvest one catalogue source (URL or file) into a catalogue index.

The same code path as the dock's "update" button (harvest.harvest), usable from scripts and
qgis_process: the index changes only when the whole source was read.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
)

from ...i18n import tr
from ...processing.base import DtflAlgorithm
from ._common import opened_index

KINDS = ("pdok-layers", "csw", "ogcapi-records")


class CatalogueImportAlgorithm(DtflAlgorithm):
    GROUP_ID = "catalogue"
    SOURCE = "SOURCE"
    KIND = "KIND"
    INDEX = "INDEX"
    RECORDS = "RECORDS"
    NEW = "NEW"
    CHANGED = "CHANGED"
    REMOVED = "REMOVED"
    SKIPPED = "SKIPPED"
    INDEX_PATH = "INDEX_PATH"

    def displayName(self) -> str:
        return tr("Import into the catalogue")

    def shortHelpString(self) -> str:
        return tr(
            "Reads a catalogue source completely and updates the local catalogue index with it: a PDOK layer list "
            "(JSON), a CSW 2.0.2 catalogue such as the Nationaal Georegister (ISO 19139 records) or an OGC API - "
            "Records service. SOURCE is a URL or a file. Entries of an earlier import of the same source that are "
            "gone are removed; the change log lists new, changed and removed records. If the source cannot be read "
            "completely, the index is left as it was. INDEX: the index file (empty: your own catalogue)."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(QgsProcessingParameterString(self.SOURCE, tr("Source (URL or file)")))
        self.addParameter(
            QgsProcessingParameterEnum(self.KIND, tr("Kind of source"), options=list(KINDS), defaultValue=0)
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.INDEX,
                tr("Catalogue index file (empty: your own catalogue)"),
                fileFilter=tr("SQLite files (*.sqlite)"),
                optional=True,
                createByDefault=False,
            )
        )
        self.addOutput(QgsProcessingOutputNumber(self.RECORDS, tr("Entries of this source in the index")))
        self.addOutput(QgsProcessingOutputNumber(self.NEW, tr("New entries")))
        self.addOutput(QgsProcessingOutputNumber(self.CHANGED, tr("Changed entries")))
        self.addOutput(QgsProcessingOutputNumber(self.REMOVED, tr("Removed entries")))
        self.addOutput(QgsProcessingOutputNumber(self.SKIPPED, tr("Records that could not be read")))
        self.addOutput(QgsProcessingOutputString(self.INDEX_PATH, tr("Catalogue index file")))

    def process(self, parameters, context, feedback):
        from ..harvest import harvest
        from ..sources.base import SourceConfig

        capture = self.capture
        source = self.parameterAsString(parameters, self.SOURCE, context).strip()
        kind = KINDS[self.parameterAsEnum(parameters, self.KIND, context)]
        index_path = self.parameterAsFileOutput(parameters, self.INDEX, context).strip()
        if not source:
            raise QgsProcessingException(tr("Give a source: the URL or file of a catalogue."))
        if urlsplit(source).scheme in ("http", "https"):
            capture.add_service_input(self.SOURCE, source)
        else:
            if not Path(source).is_file():
                raise QgsProcessingException(tr("The file {path} does not exist.").format(path=source))
            capture.add_file_input(self.SOURCE, source)
        with opened_index(index_path) as index:
            feedback.pushInfo(tr("Reading {kind} source {source}").format(kind=kind, source=source))
            report = harvest(SourceConfig(kind=kind, url=source), index, feedback)
        feedback.pushInfo(report.summary())
        for problem in report.problems[:20]:
            feedback.reportError(tr("Skipped: {reason}").format(reason=problem), False)
        if report.truncated:
            feedback.reportError(tr("Stopped at the page limit: the source has more records than were read."), False)
        path = str(index.path)
        capture.add_output(self.INDEX, path)
        return {
            self.RECORDS: report.total,
            self.NEW: report.new,
            self.CHANGED: report.changed,
            self.REMOVED: report.removed,
            self.SKIPPED: report.skipped,
            self.INDEX_PATH: path,
        }
