"""dtfl:catalogue_search — search the catalogue index and write the ranked hits as JSON.

For scripts and for checking the ranking: the same search as the dock and the locator bar.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ...compat import NUMBER_INTEGER
from ...files import write_json_atomic
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from ._common import opened_index

FIELDS = (
    "id", "title", "name", "service_url", "service_type", "abstract", "organisation", "dataset_id",
    "licence", "metadata_url", "keywords", "themes", "date", "bbox",
)  # fmt: skip


def hit_dict(hit) -> dict:
    data = hit.entry.to_dict()
    out = {k: data.get(k) for k in FIELDS}
    out["score"] = round(float(hit.score), 4)
    out["matched"] = list(hit.matched)
    # The other services of the same layer (WMS, WFS, OGC API...), the one above first.
    out["services"] = [
        {"id": e.id, "service_type": e.service_type, "service_url": e.service_url, "name": e.name}
        for e in (getattr(hit, "services", None) or [hit.entry])
    ]
    return out


def write_json(path: str | Path, data) -> None:
    """Write atomically: the file appears whole or not at all."""
    write_json_atomic(path, data)


class CatalogueSearchAlgorithm(DtflAlgorithm):
    GROUP_ID = "catalogue"
    QUERY = "QUERY"
    LIMIT = "LIMIT"
    INDEX = "INDEX"
    OUTPUT = "OUTPUT"
    COUNT = "COUNT"

    def displayName(self) -> str:
        return tr("Search the catalogue")

    def shortHelpString(self) -> str:
        return tr(
            "Searches the local catalogue index the way the search dock does: Dutch and English, any word order, "
            "words cut short, typos, compounds written apart or together, synonyms from GEMET and the INSPIRE "
            "themes (soil finds bodem), 'wfs' or 'wmts' in the query to prefer that service. Writes one hit per "
            "layer in rank order to a JSON file: id, title, layer name, service URL and type (the analysis-ready "
            "service, or the one asked for), abstract, organisation and more, and under 'services' every service "
            "of that layer. INDEX: the index file (empty: your own catalogue)."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(QgsProcessingParameterString(self.QUERY, tr("Search words")))
        self.addParameter(
            QgsProcessingParameterNumber(self.LIMIT, tr("Maximum number of hits"), NUMBER_INTEGER, 20, False, 1, 10000)
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.INDEX,
                tr("Catalogue index file (empty: your own catalogue)"),
                extension="sqlite",
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(self.OUTPUT, tr("Hits (JSON)"), fileFilter=tr("JSON files (*.json)"))
        )
        self.addOutput(QgsProcessingOutputNumber(self.COUNT, tr("Number of hits")))

    def process(self, parameters, context, feedback):
        capture = self.capture
        query = self.parameterAsString(parameters, self.QUERY, context)
        limit = self.parameterAsInt(parameters, self.LIMIT, context)
        index_path = self.parameterAsFile(parameters, self.INDEX, context).strip()
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if index_path and not Path(index_path).is_file():
            raise QgsProcessingException(tr("The catalogue index {path} does not exist.").format(path=index_path))
        with opened_index(index_path) as index:
            if index.count() == 0:
                feedback.reportError(
                    tr("The catalogue index is empty: import a source first (dtfl:catalogue_import)."), False
                )
            hits = index.search(query, limit=limit)
            capture.add_file_input(self.INDEX, str(index.path))
        write_json(output, [hit_dict(h) for h in hits])
        feedback.pushInfo(tr("{n} hits for '{query}'").format(n=len(hits), query=query))
        capture.add_output(self.OUTPUT, output)
        return {self.OUTPUT: output, self.COUNT: len(hits)}
