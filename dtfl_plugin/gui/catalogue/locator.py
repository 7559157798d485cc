"""The catalogue in QGIS's locator bar (Ctrl+K): type "dtfl luchtfoto", pick a result, it loads.

fetchResults() runs in a worker thread on a clone of the filter, so it opens its own index
connection (SQLite connections do not cross threads) and creates no widgets or layers;
triggerResult() runs on the GUI thread and hands the entry to the shared loader.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsLocatorFilter, QgsLocatorResult

from ...catalogue.favourites import Favourites, resolve
from ...errors import DtflError
from ...i18n import tr

PREFIX = "dtfl"
MIN_QUERY_LENGTH = 3  # fewer letters match half the catalogue: noise in a bar shared with other filters
LOCATOR_LIMIT = 15


def _set_user_data(result: QgsLocatorResult, value: str) -> None:
    # QGIS 3.22 exposes a userData attribute; later versions a setUserData() method.
    setter = getattr(result, "setUserData", None)
    if callable(setter):
        setter(value)
    else:
        result.userData = value


def _user_data(result: QgsLocatorResult):
    getter = getattr(result, "getUserData", None)
    if callable(getter):
        return getter()
    value = result.userData
    return value() if callable(value) else value


class CatalogueLocatorFilter(QgsLocatorFilter):
    def __init__(self, iface=None, index_path: str | None = None, loader=None) -> None:
        super().__init__()
        self.iface = iface
        self.index_path = index_path
        self._loader = loader
        self.setUseWithoutPrefix(True)

    def clone(self) -> CatalogueLocatorFilter:
        # Called on the GUI thread: resolve the index path here, not in the worker.
        try:
            path = self._resolved_path()
        except DtflError as err:
            self.logMessage(str(err), Qgis.MessageLevel.Warning)
            path = ""  # the clone finds nothing; the locator bar stays usable
        return CatalogueLocatorFilter(self.iface, path, self._loader)

    def name(self) -> str:
        return "dtfl_catalogue"

    def displayName(self) -> str:
        return tr("DTFL catalogue (national datasets)")

    def prefix(self) -> str:
        return PREFIX

    def priority(self):
        return QgsLocatorFilter.Priority.Medium

    def flags(self):
        return QgsLocatorFilter.Flag.FlagFast

    def _resolved_path(self) -> str:
        if not self.index_path:
            from ...catalogue.index import default_index

            self.index_path = str(default_index().path)
        return self.index_path

    def fetchResults(self, string, context, feedback) -> None:
        query = (string or "").strip()
        if len(query) < MIN_QUERY_LENGTH or feedback.isCanceled() or not self.index_path:
            return
        from ...catalogue.index import CatalogueIndex

        index = None
        try:
            index = CatalogueIndex(self._resolved_path())
            hits = index.search(query, limit=LOCATOR_LIMIT)
        except DtflError as err:
            # A worker thread: no message bar here; the locator's log shows why nothing was found.
            self.logMessage(str(err), Qgis.MessageLevel.Warning)
            return
        finally:
            if index is not None:
                index.close()
        for rank, hit in enumerate(hits):
            if feedback.isCanceled():
                return
            entry = hit.entry
            result = QgsLocatorResult()
            result.filter = self
            result.displayString = entry.title or entry.name or entry.id
            result.description = " · ".join(p for p in (entry.service_type, entry.organisation, entry.name) if p)
            result.group = tr("Catalogue")
            _set_user_data(result, entry.id)
            result.score = 1.0 / (rank + 1)  # keep the index's ranking inside this filter's group
            self.resultFetched.emit(result)

    def triggerResult(self, result) -> None:
        from ...catalogue.index import CatalogueIndex
        from .loader import push_error

        entry_id = str(_user_data(result))
        try:
            index = CatalogueIndex(self._resolved_path())
        except DtflError as err:
            push_error(self.iface, str(err), err)
            index = None  # a favourite can still load from its saved snapshot
        try:
            entry = resolve(entry_id, index, Favourites())
        finally:
            if index is not None:
                index.close()
        if entry is None:
            push_error(self.iface, tr("This record is no longer in the catalogue; update the catalogue."))
            return
        self.loader().load(entry)

    def loader(self):
        if self._loader is None:
            from .loader import EntryLoader

            self._loader = EntryLoader(self.iface)
        return self._loader
