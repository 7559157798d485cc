"""The catalogue search dock: search box, filters, results, details, favourites, Update.

Thin: searching is catalogue/index.py (run by catalogue_search.py in a worker thread, since
measurements showed tens of milliseconds on a busy machine), harvesting catalogue/tasks.py (a
QgsTask), loading layers/load.py, stale-service detection catalogue/stale.py. The dock wires them
to widgets; nothing here waits on the network or the disk.
"""

from __future__ import annotations

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsCsException, QgsProject
from qgis.gui import QgsDockWidget, QgsFilterLineEdit
from qgis.PyQt.QtCore import QEvent, QObject, Qt, QTimer, pyqtSlot
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ... import settings
from ...catalogue.entry import Entry
from ...catalogue.favourites import Favourites, notifier
from ...errors import DtflError
from ...i18n import tr
from .detail import DetailPane
from .harvest import HarvestBar
from .loader import EntryLoader, push_error
from .search import SearchRunner, query_notes
from .widgets import FilterBar, ResultDelegate, ResultsModel, ServiceChoice

SEARCH_DELAY_MS = 150  # debounce: search once typing pauses, not on every key


class CatalogueDock(QgsDockWidget):
    """Search-as-you-type over the local catalogue index, with filters, details and favourites."""

    def __init__(self, iface, index_factory=None, parent=None) -> None:
        super().__init__(tr("DTFL catalogue"), parent)
        self.setObjectName("dtflCatalogueDock")
        self.iface = iface
        self._index_factory = index_factory
        self._index = None
        self.favourites = Favourites()
        self.loader = EntryLoader(iface, self)
        self.last_search_ms: float | None = None
        self._build()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.run_search)
        self._load_when_ready = False  # Enter pressed before the results arrived
        self.runner = SearchRunner(self)
        self.runner.finished.connect(self._show_results)
        # Saved projects are where retired PDOK URLs hurt most: check them when opened, after
        # QGIS has finished restoring the layers (a local index lookup, no network).
        self._project_timer = QTimer(self)
        self._project_timer.setSingleShot(True)
        self._project_timer.setInterval(500)
        self._project_timer.timeout.connect(self._check_open_project)
        self.search_box.textChanged.connect(self._timer.start)
        self.filters.changed.connect(self._filters_changed)
        self.results.doubleClicked.connect(lambda idx: self.load_entry(self.model.entry(idx.row())))
        self.results.selectionModel().currentChanged.connect(self._current_changed)
        self.model.modelReset.connect(self._update_buttons)
        notifier().changed.connect(self._favourites_changed)
        canvas = iface.mapCanvas() if iface is not None else None
        if canvas is not None:
            canvas.extentsChanged.connect(self._extent_changed)

    # --- construction ---
    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search_box = QgsFilterLineEdit(body)
        self.search_box.setObjectName("dtflCatalogueSearch")
        self.search_box.setShowSearchIcon(True)
        self.search_box.setPlaceholderText(tr("Search datasets, e.g. aerial photo, gebouwen, bodem…"))
        self.search_box.setToolTip(
            tr("Words in any order; Dutch and English; Down to go to the results, Enter to load")
        )
        layout.addWidget(self.search_box)
        self.filters = FilterBar(body)
        layout.addWidget(self.filters)

        # What the engine has to say about the query: words found nowhere, "did you mean", partial matches.
        self.notice_label = QLabel(body)
        self.notice_label.setObjectName("dtflCatalogueNotice")
        self.notice_label.setWordWrap(True)
        self.notice_label.setVisible(False)
        layout.addWidget(self.notice_label)
        self.model = ResultsModel(self)
        self.results = QListView(body)
        self.results.setObjectName("dtflCatalogueResults")
        self.results.setModel(self.model)
        self.results.setItemDelegate(ResultDelegate(self.results))
        self.results.setUniformItemSizes(True)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setDragEnabled(True)  # drop on the map: FavouritesDropHandler loads it
        self.results.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.detail = DetailPane(body)
        splitter = QSplitter(Qt.Orientation.Vertical, body)
        splitter.addWidget(self.results)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([520, 420])
        layout.addWidget(splitter, 1)

        buttons = QHBoxLayout()
        self.load_button = QPushButton(tr("Load"), body)
        self.load_button.setObjectName("dtflCatalogueLoad")
        self.load_button.setToolTip(tr("Add the selected layer to the map (Enter or double click)"))
        self.load_button.clicked.connect(lambda: self.load_entry(self.current_entry()))
        self.star_button = QToolButton(body)
        self.star_button.setObjectName("dtflCatalogueStar")
        self.star_button.setCheckable(True)
        self.star_button.setText("☆")
        self.star_button.setToolTip(tr("Add to or remove from favourites (Ctrl+D)"))
        self.star_button.clicked.connect(self.toggle_favourite)
        self.service_box = ServiceChoice(body)
        self.service_box.chosen.connect(self._service_chosen)
        self.count_label = QLabel(body)
        self.count_label.setObjectName("dtflCatalogueCount")
        self.count_label.setWordWrap(True)
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.service_box)
        buttons.addWidget(self.star_button)
        buttons.addWidget(self.count_label, 1)
        layout.addLayout(buttons)

        self.harvest_bar = HarvestBar(self.iface, body)
        self.harvest_bar.harvested.connect(self._harvested)
        layout.addWidget(self.harvest_bar)
        self.setWidget(body)

        self.search_box.installEventFilter(self)
        self.results.installEventFilter(self)
        self._update_buttons()

    # --- index ---
    def index(self):
        """The catalogue index, opened on first use (not at QGIS start-up)."""
        if self._index is None:
            if self._index_factory is not None:
                self._index = self._index_factory()
            else:
                from ...catalogue.index import default_index

                self._index = default_index()
            self.refresh_catalogue_state()
        return self._index

    def refresh_catalogue_state(self) -> None:
        """Facets and the 'updated on' line, after opening the index or a harvest."""
        index = self._index
        if index is None:
            return
        self.harvest_bar.index_path = index.path
        self.filters.set_facets(index.facets())
        self.filters.restore(settings.get_json(settings.KEY_DOCK_FILTERS, {}))
        self.harvest_bar.show_state(index)

    # --- searching ---
    def current_filters(self):
        from ...catalogue.index import SearchFilters

        checked = self.filters.checked()
        bbox = self.canvas_bbox_wgs84() if self.filters.in_extent.isChecked() else None
        return SearchFilters(
            service_types=checked["service_type"],
            organisations=checked["organisation"],
            themes=checked["theme"],
            is_3d=self.filters.is_3d(),
            bbox_wgs84=bbox,
        )

    def canvas_bbox_wgs84(self) -> tuple[float, float, float, float] | None:
        canvas = self.iface.mapCanvas() if self.iface is not None else None
        if canvas is None or canvas.extent().isEmpty():
            return None
        source = canvas.mapSettings().destinationCrs()
        wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
        rect = canvas.extent()
        if source.isValid() and source != wgs84:
            transform = QgsCoordinateTransform(source, wgs84, QgsProject.instance())
            try:
                rect = transform.transformBoundingBox(rect)
            except QgsCsException as err:  # an extent outside the area the CRS is defined for
                push_error(self.iface, tr("The map extent cannot be expressed in WGS84; not filtering by extent."), err)
                return None
        return (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())

    def run_search(self) -> None:
        """Ask for hits for the text and filters; they arrive in _show_results (searched off the GUI thread)."""
        self._timer.stop()
        query = self.search_box.text().strip()
        favourites_only = self.filters.favourites_only.isChecked()
        if not query and not self.filters.active_count():
            if not len(self.favourites):
                self.runner.skip_pending()
                self._show_results(self.runner.generation, [], 0.0, None, query)
                return
            favourites_only = True  # an empty box shows the user's favourites: one click to load them
        try:
            index = self.index()
            filters = self.current_filters()
        except DtflError as err:
            push_error(self.iface, str(err), err)
            return
        # Settings are read here, on the GUI thread; the worker gets plain values.
        favourite_entries = self.favourites.entries() if favourites_only and not query else []
        self.runner.request(index, query, filters, favourites_only, set(self.favourites.ids()), favourite_entries)

    @property
    def searching(self) -> bool:
        return self.runner.busy or self._timer.isActive()

    def _show_results(self, generation: int, hits: list, ms: float, error, query: str) -> None:
        if not self.runner.accept(generation):
            return  # an answer to an older request: the user typed on
        if error is not None:
            push_error(self.iface, str(error), error)
        self.last_search_ms = ms
        self.model.set_hits(hits, set(self.favourites.ids()))
        self._show_count(query, len(hits), getattr(hits, "catalogue_empty", False))
        self._explain(hits)
        if hits:
            self.results.setCurrentIndex(self.model.index(0))
        else:
            self.detail.show_entry(None)
        if self._load_when_ready:
            self._load_when_ready = False
            self.load_entry(self.current_entry())

    def _show_count(self, query: str, n: int, catalogue_empty: bool = False) -> None:
        if not query and not self.filters.active_count():
            if n:
                self.count_label.setText(tr("Your favourites; type to search the catalogue"))
            else:
                self.count_label.setText(tr("Type to search the catalogue"))
        elif n == 0 and catalogue_empty:
            self.count_label.setText(tr("The catalogue is empty: press Update to fill it."))
            self.harvest_bar.update_button.setFocus()
        elif n == 0:
            self.count_label.setText(tr("No results; try fewer words or filters"))
        elif n == 1:
            self.count_label.setText(tr("1 result"))
        else:
            self.count_label.setText(tr("{n} results").format(n=n))
        if self.last_search_ms is not None:
            self.count_label.setToolTip(tr("Search took {ms} ms").format(ms=f"{self.last_search_ms:.1f}"))

    def _explain(self, hits) -> None:
        notes = query_notes(hits)
        self.notice_label.setText(notes)
        self.notice_label.setVisible(bool(notes))

    def _filters_changed(self) -> None:
        settings.set_json(settings.KEY_DOCK_FILTERS, self.filters.state())
        self.run_search()

    @pyqtSlot()  # a Qt slot: the connection dies with the dock (signals outlive docks)
    def _extent_changed(self) -> None:
        if self.filters.in_extent.isChecked() and self.isVisible():
            self._timer.start()

    # --- selection, favourites, loading ---
    def current_entry(self) -> Entry | None:
        idx = self.results.currentIndex()
        return self.model.entry(idx.row()) if idx.isValid() else None

    def _current_changed(self, current, _previous) -> None:
        self.detail.show_entry(self.model.entry(current.row()) if current.isValid() else None)
        row = current.row() if current.isValid() else -1
        self.service_box.show_services(self.model.services(row), self.model.entry(row))
        self._update_buttons()

    def choose_service(self, row: int, service_type: str) -> Entry | None:
        """Pick the ``service_type`` service of the layer in ``row`` (what the "as" box does)."""
        entry = next((e for e in self.model.services(row) if e.service_type == service_type), None)
        if entry is not None:
            self.model.choose_service(row, entry)
            if self.results.currentIndex().row() == row:
                self.detail.show_entry(entry)
                self.service_box.show_services(self.model.services(row), entry)
        return entry

    def _service_chosen(self, entry: Entry) -> None:
        idx = self.results.currentIndex()
        if idx.isValid():
            self.choose_service(idx.row(), entry.service_type)

    def _update_buttons(self) -> None:
        entry = self.current_entry()
        self.load_button.setEnabled(entry is not None)
        self.star_button.setEnabled(entry is not None)
        starred = entry is not None and self.favourites.contains(entry.id)
        self.star_button.setChecked(starred)
        self.star_button.setText("★" if starred else "☆")

    def toggle_favourite(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            self.favourites.toggle(entry)  # emits notifier().changed -> _favourites_changed

    @pyqtSlot()  # a Qt slot: the connection dies with the dock (signals outlive docks)
    def _favourites_changed(self) -> None:
        self.model.set_favourite_ids(set(self.favourites.ids()))
        self._update_buttons()
        listing = not self.search_box.text().strip() and not self.filters.active_count()
        if self.filters.favourites_only.isChecked() or listing:
            self.run_search()  # the list shows favourites: it changes with them

    def load_entry(self, entry: Entry | None) -> None:
        if entry is not None:
            self.loader.load(entry)

    # --- keyboard ---
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress:
            return super().eventFilter(obj, event)
        key = event.key()
        enter = key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if key == Qt.Key.Key_D and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.toggle_favourite()  # Ctrl+D: "bookmark", as in web browsers
            return True
        if obj is self.search_box:
            if key == Qt.Key.Key_Down and self.model.rowCount():
                self.results.setFocus()
                if not self.results.currentIndex().isValid():
                    self.results.setCurrentIndex(self.model.index(0))
                return True
            if enter:
                if self.searching:
                    # Enter before the results are in: search now and load the first hit when it arrives.
                    self._load_when_ready = True
                    if self._timer.isActive():
                        self.run_search()
                else:
                    self.load_entry(self.current_entry())
                return True
        elif obj is self.results:
            if enter:
                self.load_entry(self.current_entry())
                return True
            if key == Qt.Key.Key_Escape or (key == Qt.Key.Key_Up and self.results.currentIndex().row() <= 0):
                self.search_box.setFocus()
                return True
        return super().eventFilter(obj, event)

    # --- after a harvest ---
    def _harvested(self, _reports: list) -> None:
        self.refresh_catalogue_state()
        self.favourites.update_from(self._index)
        self.run_search()
        self.harvest_finished_hook()

    def harvest_finished_hook(self) -> None:
        """After a harvest: tell the user about project layers whose service moved or retired."""
        from .stale import check_project

        check_project(self.iface, self._index)

    @pyqtSlot()
    def project_opened(self) -> None:
        """A project was opened: check its layers against the catalogue once it has settled."""
        self._project_timer.start()

    def _check_open_project(self) -> None:
        from .stale import check_project

        try:
            index = self.index()
        except DtflError as err:
            push_error(self.iface, str(err), err)
            return
        check_project(self.iface, index)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._timer.stop()
        super().closeEvent(event)
