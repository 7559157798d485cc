"""Widgets of the catalogue dock: the results model and its painter, and the filter bar.

Thin: they show what the index returns and say what the user chose; searching, ranking and
filtering happen in catalogue/index.py.
"""

from __future__ import annotations

from qgis.core import QgsMimeDataUtils
from qgis.gui import QgsCheckableComboBox
from qgis.PyQt.QtCore import QAbstractListModel, QModelIndex, QRectF, QSize, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from ...catalogue.entry import Entry, ServiceType
from ...i18n import tr

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2
FAVOURITE_ROLE = Qt.ItemDataRole.UserRole + 3
MATCHED_ROLE = Qt.ItemDataRole.UserRole + 4
SERVICES_ROLE = Qt.ItemDataRole.UserRole + 5

# Badge colours by service type: distinguishable for the common colour-vision deficiencies
# (blue/orange/purple families differ in lightness too), white text on all of them.
_BADGE_COLOURS = {
    ServiceType.WMS.value: "#1f5fa8",
    ServiceType.WMTS.value: "#2b7f9e",
    ServiceType.WFS.value: "#2e7d32",
    ServiceType.WCS.value: "#8d5524",
    ServiceType.OAPIF.value: "#1b5e20",
    ServiceType.OAPIT.value: "#6a3d9a",
    ServiceType.OAPIR.value: "#555555",
    ServiceType.COG.value: "#8d5524",
}
_BADGE_3D = "#c75a00"
_BADGE_OTHER = "#666666"


def badge_colour(service_type: str) -> QColor:
    try:
        if ServiceType(service_type).is_3d:
            return QColor(_BADGE_3D)
    except ValueError:
        pass
    return QColor(_BADGE_COLOURS.get(service_type, _BADGE_OTHER))


def badge_text(service_type: str) -> str:
    """Short badge label: 'OGC API Features' is too wide for a list row."""
    short = {ServiceType.OAPIF.value: "OAPI-F", ServiceType.OAPIT.value: "OAPI-T", ServiceType.OAPIR.value: "OAPI-R"}
    return short.get(service_type, service_type or "?")


class ResultsModel(QAbstractListModel):
    """Search hits in rank order; the star state comes from a set of favourite ids."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._hits: list = []  # SearchHit-like: .entry, .score, .matched
        self._favourite_ids: set[str] = set()

    def set_hits(self, hits: list, favourite_ids: set[str]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self._favourite_ids = set(favourite_ids)
        self.endResetModel()

    def set_favourite_ids(self, favourite_ids: set[str]) -> None:
        self._favourite_ids = set(favourite_ids)
        if self._hits:
            self.dataChanged.emit(self.index(0), self.index(len(self._hits) - 1), [FAVOURITE_ROLE])

    def entry(self, row: int) -> Entry | None:
        return self._hits[row].entry if 0 <= row < len(self._hits) else None

    def entries(self) -> list[Entry]:
        return [hit.entry for hit in self._hits]

    def services(self, row: int) -> list[Entry]:
        """Every service of the layer in ``row`` (WFS, WMS, OGC API...), the default first."""
        if not 0 <= row < len(self._hits):
            return []
        hit = self._hits[row]
        return list(getattr(hit, "services", None) or [hit.entry])

    def choose_service(self, row: int, entry: Entry) -> None:
        """Make ``entry`` (one of the row's services) what the row loads."""
        if 0 <= row < len(self._hits) and any(e.id == entry.id for e in self.services(row)):
            self._hits[row].entry = entry
            self.dataChanged.emit(self.index(row), self.index(row))

    # Dragging a result onto the map or the layer tree: the same custom URI as a Browser favourite.
    def flags(self, index: QModelIndex):
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:
        return ["application/x-vnd.qgis.qgis.uri"]

    def mimeData(self, indexes):
        from .browser import entry_mime_uri

        rows = sorted({i.row() for i in indexes if i.isValid()})
        return QgsMimeDataUtils.encodeUriList([entry_mime_uri(self._hits[r].entry) for r in rows])

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        entry = hit.entry
        if role == Qt.ItemDataRole.DisplayRole:
            return entry.title or entry.name or entry.id
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [entry.title, f"{entry.service_type} · {entry.organisation}".strip(" ·")]
            if entry.name:
                lines.append(tr("Layer name: {name}").format(name=entry.name))
            if getattr(hit, "matched", None):
                lines.append(tr("Matched: {fields}").format(fields=", ".join(hit.matched)))
            return "\n".join(line for line in lines if line)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            star = tr("favourite") if entry.id in self._favourite_ids else ""
            return ", ".join(p for p in (entry.title, entry.service_type, entry.organisation, star) if p)
        if role == ENTRY_ROLE:
            return entry
        if role == SCORE_ROLE:
            return float(getattr(hit, "score", 0.0))
        if role == FAVOURITE_ROLE:
            return entry.id in self._favourite_ids
        if role == MATCHED_ROLE:
            return list(getattr(hit, "matched", []) or [])
        if role == SERVICES_ROLE:
            return list(getattr(hit, "services", None) or [entry])
        return None


class ResultDelegate(QStyledItemDelegate):
    """Two-line row: star + bold title + service-type badge; organisation and layer name below."""

    _PAD = 4

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._font_cache: tuple[str, tuple] | None = None

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont, QFontMetrics, QFontMetrics, int]:
        """Fonts and metrics, built once per base font: rows are painted on every keystroke."""
        key = option.font.key()
        if self._font_cache is None or self._font_cache[0] != key:
            title_font = QFont(option.font)
            title_font.setBold(True)
            small = QFont(option.font)
            small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.9))
            fm_title, fm_small = QFontMetrics(title_font), QFontMetrics(small)
            star_w = fm_title.horizontalAdvance("★") + self._PAD
            self._font_cache = (key, (title_font, small, fm_title, fm_small, star_w))
        return self._font_cache[1]

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        _title_font, _small, fm_title, fm_small, _star_w = self._fonts(option)
        return QSize(option.rect.width() or 200, fm_title.height() + fm_small.height() + 3 * self._PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        entry: Entry | None = index.data(ENTRY_ROLE)
        if entry is None:
            super().paint(painter, option, index)
            return
        painter.save()
        # Let the style draw the selection/hover background and focus frame.
        background = QStyleOptionViewItem(option)
        self.initStyleOption(background, index)
        background.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, background, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        group = (
            QPalette.ColorGroup.Active if option.state & QStyle.StateFlag.State_Active else QPalette.ColorGroup.Inactive
        )
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text_colour = option.palette.color(group, text_role)
        muted = QColor(text_colour)
        muted.setAlpha(170)
        title_font, small, fm_title, fm_small, star_w = self._fonts(option)
        rect = option.rect.adjusted(self._PAD, self._PAD, -self._PAD, -self._PAD)

        # Star (favourite) column: drawn as text so it scales with the font.
        painter.setFont(title_font)
        if index.data(FAVOURITE_ROLE):
            painter.setPen(QPen(QColor("#e0a000")))
            painter.drawText(
                QRectF(rect.left(), rect.top(), star_w, fm_title.height()), int(Qt.AlignmentFlag.AlignLeft), "★"
            )
        left = rect.left() + star_w

        # Badge on the right of the first line.
        label = badge_text(entry.service_type)
        badge_w = fm_small.horizontalAdvance(label) + 2 * self._PAD + 2
        badge = QRectF(rect.right() - badge_w, rect.top() + 1, badge_w, fm_small.height() + 2)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(badge_colour(entry.service_type))
        painter.drawRoundedRect(badge, 3, 3)
        painter.setPen(QPen(QColor("white")))
        painter.setFont(small)
        painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), label)

        # Title, elided so it never runs under the badge.
        title_w = int(badge.left() - left - self._PAD)
        title = fm_title.elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "", Qt.TextElideMode.ElideRight, title_w)
        painter.setFont(title_font)
        painter.setPen(QPen(text_colour))
        painter.drawText(
            QRectF(left, rect.top(), title_w, fm_title.height()),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            title,
        )

        # Second line: organisation · layer name.
        parts = [p for p in (entry.organisation, entry.name if entry.name != entry.title else "") if p]
        services = index.data(SERVICES_ROLE) or []
        if len(services) > 1:  # the other services of this layer are one click away (the dock's "as" box)
            parts.insert(0, " / ".join(badge_text(s.service_type) for s in services))
        line2 = " · ".join(parts) or entry.service_url
        line2_rect = QRectF(left, rect.top() + fm_title.height() + self._PAD, rect.right() - left, fm_small.height())
        painter.setFont(small)
        painter.setPen(QPen(muted))
        painter.drawText(
            line2_rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            fm_small.elidedText(line2, Qt.TextElideMode.ElideRight, int(line2_rect.width())),
        )
        painter.restore()


def _facet_label(value: str, count: int) -> str:
    return f"{value} ({count})"


class FilterBar(QWidget):
    """Service type / organisation / theme (multi-choice), 2D/3D, map extent and favourites."""

    changed = pyqtSignal()

    DIM_ALL, DIM_2D, DIM_3D = 0, 1, 2

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.service_types = self._multi_choice(
            "dtflFilterServiceType", tr("All service types"), tr("Show only these service types")
        )
        self.organisations = self._multi_choice(
            "dtflFilterOrganisation", tr("All organisations"), tr("Show only data from these organisations")
        )
        self.themes = self._multi_choice(
            "dtflFilterTheme", tr("All themes and keywords"), tr("Show only records with these themes or keywords")
        )
        self.dimension = QComboBox(self)
        self.dimension.setObjectName("dtflFilterDimension")
        self.dimension.addItems([tr("2D and 3D"), tr("2D only"), tr("3D only")])
        self.dimension.setToolTip(tr("Two-dimensional maps, three-dimensional data, or both"))
        self.in_extent = QCheckBox(tr("In current map extent"), self)
        self.in_extent.setObjectName("dtflFilterExtent")
        self.in_extent.setToolTip(tr("Show only records whose extent overlaps the map canvas"))
        self.favourites_only = QCheckBox(tr("Favourites only"), self)
        self.favourites_only.setObjectName("dtflFilterFavourites")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.addWidget(self.service_types, 0, 0)
        grid.addWidget(self.organisations, 0, 1)
        grid.addWidget(self.themes, 1, 0)
        grid.addWidget(self.dimension, 1, 1)
        grid.addWidget(self.in_extent, 2, 0)
        grid.addWidget(self.favourites_only, 2, 1)

        for combo in (self.service_types, self.organisations, self.themes):
            combo.checkedItemsChanged.connect(self.changed)
        self.dimension.currentIndexChanged.connect(self.changed)
        self.in_extent.toggled.connect(self.changed)
        self.favourites_only.toggled.connect(self.changed)

    def _multi_choice(self, object_name: str, all_text: str, tooltip: str) -> QgsCheckableComboBox:
        """A multi-choice filter: shows ``all_text`` while nothing is checked (nothing checked: no filter)."""
        combo = QgsCheckableComboBox(self)
        combo.setObjectName(object_name)
        combo.setDefaultText(all_text)
        combo.setToolTip(tooltip)
        return combo

    def set_facets(self, facets: dict) -> None:
        """Fill the choices from index.facets(), keeping what the user had checked."""
        for combo, key in (
            (self.service_types, "service_type"),
            (self.organisations, "organisation"),
            (self.themes, "theme"),
        ):
            checked = set(combo.checkedItemsData())
            combo.blockSignals(True)
            combo.clear()
            for value, count in facets.get(key, []):
                if not value:
                    continue
                combo.addItemWithCheckState(
                    _facet_label(value, count),
                    Qt.CheckState.Checked if value in checked else Qt.CheckState.Unchecked,
                    value,
                )
            combo.blockSignals(False)
            # The popup may be wider than the combo: organisation names must be readable, not elided.
            view = combo.view()
            view.setMinimumWidth(min(520, view.sizeHintForColumn(0) + 40))
            view.setTextElideMode(Qt.TextElideMode.ElideRight)

    def checked(self) -> dict[str, set[str]]:
        return {
            "service_type": {str(v) for v in self.service_types.checkedItemsData()},
            "organisation": {str(v) for v in self.organisations.checkedItemsData()},
            "theme": {str(v) for v in self.themes.checkedItemsData()},
        }

    def set_checked(self, key: str, values: set[str]) -> None:
        combo = {"service_type": self.service_types, "organisation": self.organisations, "theme": self.themes}[key]
        for i in range(combo.count()):
            state = Qt.CheckState.Checked if combo.itemData(i) in values else Qt.CheckState.Unchecked
            combo.setItemCheckState(i, state)
        # QgsCheckableComboBox signals only user toggles, not setItemCheckState(): say it ourselves.
        self.changed.emit()

    def is_3d(self) -> bool | None:
        return {self.DIM_ALL: None, self.DIM_2D: False, self.DIM_3D: True}[self.dimension.currentIndex()]

    def active_count(self) -> int:
        checked = self.checked()
        return (
            sum(1 for v in checked.values() if v)
            + (self.dimension.currentIndex() != self.DIM_ALL)
            + self.in_extent.isChecked()
            + self.favourites_only.isChecked()
        )

    def state(self) -> dict:
        checked = self.checked()
        return {
            "service_type": sorted(checked["service_type"]),
            "organisation": sorted(checked["organisation"]),
            "theme": sorted(checked["theme"]),
            "dimension": self.dimension.currentIndex(),
            "in_extent": self.in_extent.isChecked(),
            "favourites_only": self.favourites_only.isChecked(),
        }

    def restore(self, state: dict) -> None:
        """Re-apply a saved state (after set_facets); unknown values are ignored."""
        self.blockSignals(True)
        try:
            for key in ("service_type", "organisation", "theme"):
                self.set_checked(key, set(state.get(key, []) or []))
            dim = state.get("dimension", 0)
            self.dimension.setCurrentIndex(dim if dim in (0, 1, 2) else 0)
            self.in_extent.setChecked(bool(state.get("in_extent", False)))
            self.favourites_only.setChecked(bool(state.get("favourites_only", False)))
        finally:
            self.blockSignals(False)


class ServiceChoice(QComboBox):
    """ "Load as": the services of the selected layer, the default (analysis-ready) first."""

    chosen = pyqtSignal(object)  # the Entry of the service picked

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("dtflCatalogueService")
        self.setToolTip(
            tr("Load this layer as: the services that serve it, the analysis-ready one (features, coverage) first")
        )
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.activated.connect(lambda position: self.chosen.emit(self.itemData(position)))

    def show_services(self, services: list[Entry], current: Entry | None) -> None:
        self.clear()
        for entry in services:
            self.addItem(tr("as {service}").format(service=badge_text(entry.service_type)), entry)
        ids = [e.id for e in services]
        if current is not None and current.id in ids:
            self.setCurrentIndex(ids.index(current.id))
        self.setEnabled(self.count() > 1)
