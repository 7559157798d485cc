"""Stale services in the open project: tell the user, offer the replacement, apply it on click.

After a harvest, catalogue/stale.py compares the project's layers with the index. A layer whose
service moved gets a message bar item with a button that re-points it (QgsMapLayer.setDataSource,
so id, name, style and position in the layer tree stay) at the entry the catalogue now lists for
the same dataset. Provider and URI come from the layers room (resolve_spec, which reads the
service's capabilities) in a QgsTask; the layer itself is changed on the GUI thread, where it lives.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsDataProvider,
    QgsProject,
    QgsRasterLayer,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QPushButton

from ...catalogue.stale import LayerRef, StaleLayer, find_stale, parse_source_uri
from ...errors import DtflError
from ...i18n import tr
from ...provenance.layer_props import get_layer_source
from ...task import DtflTask
from .loader import push_error

MAX_NAMES = 5  # names listed in the message; more are counted
_ACTIVE: list = []  # StaleMessage objects whose message is on screen
# LayerSpec.kind -> the layer class setDataSource can re-point to it (a vector layer cannot become a raster).
_KINDS = {"vector": QgsVectorLayer, "raster": QgsRasterLayer, "vectortile": QgsVectorTileLayer}


def _names(items: list[StaleLayer]) -> str:
    names = [f"“{s.ref.layer_name}”" for s in items[:MAX_NAMES]]
    if len(items) > MAX_NAMES:
        names.append(tr("and {n} more").format(n=len(items) - MAX_NAMES))
    return ", ".join(names)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def project_layer_refs(project) -> list[LayerRef]:
    """LayerRefs for the layers of a QgsProject (call on the thread that owns the project): the
    dtfl/source property DTFL writes when it loads a layer first, else the layer's source URI."""
    refs: list[LayerRef] = []
    for layer in project.mapLayers().values():
        provider = layer.providerType()
        source = get_layer_source(layer)
        if source is not None and source.service_url:
            refs.append(
                LayerRef(
                    layer.id(),
                    layer.name(),
                    source.service_url,
                    source.name,
                    provider,
                    source.dataset_id,
                    source.record_id,
                )  # fmt: skip
            )
            continue
        if provider not in ("wms", "WFS", "OAPIF", "wcs"):
            continue
        url, name = parse_source_uri(provider, layer.source())
        if url:
            refs.append(LayerRef(layer.id(), layer.name(), url, name, provider))
    return refs


def check_project(iface, index, project: QgsProject | None = None) -> list[StaleLayer]:
    """Find stale layers in ``project`` and show one message about them; returns what was found."""
    project = project or QgsProject.instance()
    try:
        stale = find_stale(project_layer_refs(project), index)
    except DtflError as err:
        push_error(iface, str(err), err)
        return []
    if stale and iface is not None:
        StaleMessage(iface, stale, project).show()
    return stale


class StaleMessage:
    """One message bar item for all stale layers of a harvest, with a 'use replacement' button."""

    def __init__(self, iface, stale: list[StaleLayer], project: QgsProject) -> None:
        self.iface = iface
        self.project = project
        self.moved = [s for s in stale if s.replacement is not None]
        self.retired = [s for s in stale if s.replacement is None]
        self.tasks: list = []
        self.item = None
        self.button: QPushButton | None = None
        self.applied: list[str] = []  # layer ids re-pointed

    def text(self) -> str:
        # Short: the message bar shows about one line; the full addresses are in the tooltip.
        parts = []
        if len(self.moved) == 1:
            new = self.moved[0].replacement
            parts.append(
                tr("Layer {names}: its service moved to {host} ({service_type}).").format(
                    names=_names(self.moved), host=_host(new.service_url), service_type=new.service_type
                )
            )
        elif self.moved:
            parts.append(
                tr("Layers {names} use services that moved; the catalogue knows their new addresses.").format(
                    names=_names(self.moved)
                )
            )
        if self.retired:
            parts.append(
                tr("The service of {names} was retired and no replacement is known.").format(names=_names(self.retired))
            )
        return " ".join(parts)

    def details(self) -> str:
        lines = [
            f"{s.ref.layer_name}: {s.ref.service_url} → {s.replacement.service_url} ({s.replacement.title})"
            for s in self.moved
        ]
        lines += [f"{s.ref.layer_name}: {s.ref.service_url} → ?" for s in self.retired]
        return "\n".join(lines)

    def show(self) -> None:
        bar = self.iface.messageBar()
        self.item = bar.createMessage(tr("Outdated service"), self.text())
        self.item.setToolTip(self.details())
        if self.moved:
            label = tr("Use the replacement") if len(self.moved) == 1 else tr("Use the replacements")
            self.button = QPushButton(label, self.item)
            self.button.setObjectName("dtflStaleReplace")
            self.button.setToolTip(tr("Point the layers at the new service address; style and name are kept"))
            self.button.clicked.connect(self.apply)
            self.item.layout().addWidget(self.button)
            # Keep this object alive while its message is shown (the button's slot is a bound method).
            _ACTIVE.append(self)
            self.item.destroyed.connect(lambda: _ACTIVE.remove(self) if self in _ACTIVE else None)
        bar.pushWidget(self.item, Qgis.MessageLevel.Warning, 0)  # stays until the user acts

    def apply(self) -> None:
        """Resolve each replacement's provider and URI in a task; re-point the layer when it is ready."""
        if self.button is not None:
            self.button.setEnabled(False)
        for stale in self.moved:
            task = ResolveSpecTask(stale.replacement, self.project)
            task.resolved.connect(lambda spec, error, s=stale, t=task: self._resolved(s, t, spec, error))
            self.tasks.append(task)
            QgsApplication.taskManager().addTask(task)

    def _resolved(self, stale: StaleLayer, task, spec, error) -> None:
        self._forget(task)
        layer = self.project.mapLayer(stale.ref.layer_id)
        if layer is None:
            return  # the user removed the layer meanwhile: nothing to re-point
        if spec is None:
            push_error(
                self.iface,
                str(error)
                if isinstance(error, DtflError)
                else tr("The replacement for “{name}” could not be loaded; the layer is unchanged.").format(
                    name=stale.ref.layer_name
                ),
                error,
            )
            if self.button is not None and not self.tasks:
                self.button.setEnabled(True)
            return
        if not isinstance(layer, _KINDS.get(spec.kind, ())):
            self._add_instead(stale, layer)
        else:
            self._repoint(stale, layer, spec)
        if not self.tasks and self.item is not None:
            self.iface.messageBar().popWidget(self.item)
            self.item = None

    def _repoint(self, stale: StaleLayer, layer, spec) -> None:
        from ...layers.metadata import apply_entry

        old_source, old_provider = layer.source(), layer.providerType()
        # setDataSource keeps the layer's id, name, style and place in the layer tree. The provider
        # validates the new source here on the GUI thread, as QGIS's own "Change Data Source" does;
        # the capabilities were just read by the task, so this is normally a cache hit.
        layer.setDataSource(spec.uri, layer.name(), spec.provider, QgsDataProvider.ProviderOptions())
        if not layer.isValid():
            layer.setDataSource(old_source, layer.name(), old_provider, QgsDataProvider.ProviderOptions())
            push_error(
                self.iface,
                tr("The replacement for “{name}” could not be loaded; the layer is unchanged.").format(
                    name=layer.name()
                ),
            )
            return
        apply_entry(
            layer,
            stale.replacement,
            name=layer.name(),
            service_version=spec.service_version,
            service_attribution=spec.attribution,
        )
        layer.triggerRepaint()
        self.applied.append(layer.id())
        self.iface.messageBar().pushMessage(
            tr("DTFL catalogue"),
            tr("Layer “{name}” now uses {url}.").format(name=layer.name(), url=stale.replacement.service_url),
            level=Qgis.MessageLevel.Success,
            duration=6,
        )

    def _add_instead(self, stale: StaleLayer, layer) -> None:
        """The replacement is another kind of layer (e.g. a WMS for a retired WFS): add it beside the old one."""
        from ...layers.load import load_entry

        load_entry(stale.replacement, self.project)
        self.iface.messageBar().pushMessage(
            tr("DTFL catalogue"),
            tr(
                "The replacement for “{name}” is a different kind of layer; it is added as a new layer. "
                "Remove “{name}” when you no longer need it."
            ).format(name=layer.name()),
            level=Qgis.MessageLevel.Info,
            duration=10,
        )

    def _forget(self, task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)


class ResolveSpecTask(DtflTask):
    """Reads the replacement service's capabilities (network) and picks provider + URI: the layers room's
    resolve_spec, off the GUI thread. Emits ``resolved(spec, error)`` on the GUI thread."""

    resolved = pyqtSignal(object, object)

    def __init__(self, entry, project: QgsProject) -> None:
        super().__init__(tr("Looking up {title}").format(title=entry.title or entry.name), forward_progress=False)
        self.entry = entry
        self.project_crs = project.crs().authid() or "EPSG:28992"  # read on the GUI thread

    def work(self, feedback):
        from ...layers.load import resolve_spec

        return resolve_spec(self.entry, project_crs=self.project_crs, feedback=feedback)

    def on_finished(self, ok: bool) -> None:  # noqa: ARG002 - the error says what went wrong
        self.resolved.emit(self.result, self.error)
