"""Favourites in QGIS's Browser panel: a "DTFL favourieten" root with one item per favourite.

Double click (or the context menu) loads through the layers room; dragging an item onto the
map or the layer tree carries a "custom" mime URI that our QgsCustomDropHandler turns back
into the entry, so a dropped layer gets the same provider, URI and dtfl/source as a loaded one.
"""

from __future__ import annotations

from qgis.core import (
    QgsApplication,
    QgsDataCollectionItem,
    QgsDataItem,
    QgsDataItemProvider,
    QgsMimeDataUtils,
)
from qgis.gui import QgsCustomDropHandler

from ...catalogue.entry import Entry, ServiceType
from ...catalogue.favourites import Favourites, notifier, resolve
from ...compat import BROWSER_CUSTOM, BROWSER_FAST, BROWSER_POPULATED, PROVIDER_DIRECTORIES, QAction
from ...errors import DtflError
from ...i18n import tr

PROVIDER_KEY = "dtfl_catalogue"  # mime uri providerKey and data item provider name
ROOT_PATH = "dtfl:/favourites"

_ICONS = {
    ServiceType.WMS.value: "/mIconWms.svg",
    ServiceType.WMTS.value: "/mIconWms.svg",
    ServiceType.WFS.value: "/mIconWfs.svg",
    ServiceType.WCS.value: "/mIconWcs.svg",
    ServiceType.OAPIF.value: "/mIconWfs.svg",
    ServiceType.OAPIT.value: "/mIconVectorTileLayer.svg",
    ServiceType.COG.value: "/mIconRaster.svg",
}


def entry_icon(entry: Entry):
    if entry.is_3d:
        return QgsApplication.getThemeIcon("/mIconPointCloudLayer.svg")
    return QgsApplication.getThemeIcon(_ICONS.get(entry.service_type, "/mIconVector.svg"))


def _fast_capability():
    """'createChildren is fast' under its QGIS 3.40 (Qgis enum) or 3.22 (QgsDataItem) name."""
    return BROWSER_FAST


def _item_type_custom():
    return BROWSER_CUSTOM


def _populated_state():
    return BROWSER_POPULATED


def _directories_capability():
    return PROVIDER_DIRECTORIES


def entry_mime_uri(entry: Entry, name: str = ""):
    """What a dragged entry carries: a 'custom' QGIS URI our drop handler turns back into the entry."""
    uri = QgsMimeDataUtils.Uri()
    uri.layerType = "custom"
    uri.providerKey = PROVIDER_KEY
    uri.name = name or entry.title or entry.name or entry.id
    uri.uri = entry.id
    return uri


def _loader(iface):
    from .loader import EntryLoader

    global _shared_loader
    if _shared_loader is None or _shared_loader.iface is not iface:
        _shared_loader = EntryLoader(iface)
    return _shared_loader


_shared_loader = None


def load_favourite(iface, entry_id: str) -> bool:
    """Load an entry by id (a favourite, or a result dragged from the dock): the index's entry, else the snapshot."""
    from .loader import push_error

    index = None
    try:
        from ...catalogue.index import default_index

        index = default_index()
    except DtflError as err:  # the saved snapshot still loads without an index; say why in the log
        push_error(None, tr("The catalogue index could not be opened; using the saved favourite."), err)
    entry = resolve(entry_id, index, Favourites())
    if entry is None:
        push_error(iface, tr("This favourite no longer exists."))
        return False
    _loader(iface).load(entry)
    return True


class FavouriteItem(QgsDataItem):
    def __init__(self, parent, entry: Entry, iface) -> None:
        super().__init__(_item_type_custom(), parent, entry.title or entry.name or entry.id, f"{ROOT_PATH}/{entry.id}")
        self.entry = entry
        self.iface = iface
        self.setIcon(entry_icon(entry))
        self.setToolTip(" · ".join(p for p in (entry.service_type, entry.organisation, entry.name) if p))
        self.setState(_populated_state())  # a leaf: nothing to expand

    def hasDragEnabled(self) -> bool:
        return True

    def mimeUri(self):
        return entry_mime_uri(self.entry, self.name())

    def mimeUris(self):
        return [self.mimeUri()]

    def handleDoubleClick(self) -> bool:
        load_favourite(self.iface, self.entry.id)
        return True  # handled: QGIS must not try its own default action

    def actions(self, parent):
        load = QAction(tr("Add to map"), parent)
        load.triggered.connect(lambda: load_favourite(self.iface, self.entry.id))
        remove = QAction(tr("Remove from favourites"), parent)
        remove.triggered.connect(lambda: Favourites().remove(self.entry.id))
        return [load, remove]


class FavouritesRootItem(QgsDataCollectionItem):
    def __init__(self, parent, iface) -> None:
        super().__init__(parent, tr("DTFL favourites"), ROOT_PATH, PROVIDER_KEY)
        self.iface = iface
        self.setIcon(QgsApplication.getThemeIcon("/mIconFavorites.svg"))
        # Reading settings is instant: let QGIS build the children on the GUI thread.
        self.setCapabilitiesV2(_fast_capability())
        notifier().changed.connect(self.refresh)

    def createChildren(self):
        return [FavouriteItem(self, entry, self.iface) for entry in Favourites().entries()]


class FavouritesItemProvider(QgsDataItemProvider):
    def __init__(self, iface) -> None:
        super().__init__()
        self.iface = iface
        self.roots: list[FavouritesRootItem] = []

    def name(self) -> str:
        return PROVIDER_KEY

    def dataProviderKey(self) -> str:
        return PROVIDER_KEY

    def capabilities(self):
        return _directories_capability()

    def createDataItem(self, path: str, parent_item):
        if path:  # only the top-level call (empty path) creates our root
            return None
        root = FavouritesRootItem(parent_item, self.iface)
        self.roots.append(root)
        return root

    def disconnect_roots(self) -> None:
        for root in self.roots:
            try:
                notifier().changed.disconnect(root.refresh)
            except (TypeError, RuntimeError):
                pass  # already gone with the Browser model
        self.roots.clear()


def register_browser_provider(iface) -> FavouritesItemProvider:
    provider = FavouritesItemProvider(iface)
    QgsApplication.dataItemProviderRegistry().addProvider(provider)
    return provider


def unregister_browser_provider(provider: FavouritesItemProvider) -> None:
    global _shared_loader
    provider.disconnect_roots()
    QgsApplication.dataItemProviderRegistry().removeProvider(provider)
    _shared_loader = None  # it holds the interface of the plugin being unloaded


class FavouritesDropHandler(QgsCustomDropHandler):
    """Turns a dragged favourite (custom mime uri) into a load through the layers room."""

    def __init__(self, iface) -> None:
        super().__init__()
        self.iface = iface

    def customUriProviderKey(self) -> str:
        return PROVIDER_KEY

    def handleCustomUriDrop(self, uri) -> None:
        load_favourite(self.iface, uri.uri)
