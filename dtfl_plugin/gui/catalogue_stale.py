"""Stale services in the open project: tell the user, offer the replacement, apply it on click.

After a harvest, catalogue/stale.py compares the project's layers with the index. A layer whose
service moved gets a message bar item with a button that re-points it (QgsMapLayer.setDataSource,
so style, name and position in the layer tree stay) at the entry the catalogue now lists for the
same dataset. The new provider and URI come from the layers room, built in a QgsTask like any
other load; the layer itself is changed on the GUI thread, where it lives.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from qgis.core import Qgis, QgsApplication, QgsDataProvider, QgsProject
from qgis.PyQt.QtWidgets import QPushButton

from ..catalogue.stale import StaleLayer, find_stale, project_layer_refs
from ..errors import DtflError
from ..i18n import tr
from ..provenance.layer_props import KEY as SOURCE_KEY
from .catalogue_loader import push_error

MAX_NAMES = 5  # names listed in the message; more are counted
_ACTIVE: list = []  # StaleMessage objects whose message is on screen


def _names(items: list[StaleLayer]) -> str:
    names = [f"“{s.ref.layer_name}”" for s in items[:MAX_NAMES]]
    if len(items) > MAX_NAMES:
        names.append(tr("and {n} more").format(n=len(items) - MAX_NAMES))
    return ", ".join(names)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


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
        """Build each replacement layer in a task; re-point the project layer when it is ready."""
        from ..layers import load as layer_load

        if self.button is not None:
            self.button.setEnabled(False)
        for stale in self.moved:
            try:
                task = layer_load.LoadEntryTask(stale.replacement)
            except DtflError as err:
                push_error(self.iface, str(err), err)
                continue
            task.taskCompleted.connect(lambda s=stale, t=task: self._replace(s, t))
            task.taskTerminated.connect(lambda s=stale, t=task: self._failed(s, t))
            self.tasks.append(task)
            QgsApplication.taskManager().addTask(task)

    def _replace(self, stale: StaleLayer, task) -> None:
        self._forget(task)
        layer = self.project.mapLayer(stale.ref.layer_id)
        fresh = task.layer
        if layer is None or fresh is None:
            return  # the user removed the layer meanwhile: nothing to re-point
        layer.setDataSource(fresh.source(), layer.name(), fresh.providerType(), QgsDataProvider.ProviderOptions())
        source = fresh.customProperty(SOURCE_KEY, "")
        if source:
            layer.setCustomProperty(SOURCE_KEY, source)  # the layer now records where it really comes from
        if not layer.isValid():
            push_error(
                self.iface,
                tr(
                    "Layer “{name}” was pointed at {url}, but that service does not answer yet. Try again later."
                ).format(name=layer.name(), url=stale.replacement.service_url),
            )
            return
        layer.triggerRepaint()
        self.applied.append(layer.id())
        self.iface.messageBar().pushMessage(
            tr("DTFL catalogue"),
            tr("Layer “{name}” now uses {url}.").format(name=layer.name(), url=stale.replacement.service_url),
            level=Qgis.MessageLevel.Success,
            duration=6,
        )
        if not self.tasks and self.item is not None:
            self.iface.messageBar().popWidget(self.item)
            self.item = None

    def _failed(self, stale: StaleLayer, task) -> None:
        self._forget(task)
        err = getattr(task, "error", None)
        message = str(err) if isinstance(err, DtflError) else ""
        push_error(
            self.iface,
            message
            or tr("The replacement for “{name}” could not be loaded; the layer is unchanged.").format(
                name=stale.ref.layer_name
            ),
            err,
        )
        if self.button is not None and not self.tasks:
            self.button.setEnabled(True)

    def _forget(self, task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
