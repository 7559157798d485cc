"""GUI feature: the provenance panel. For the selected layer it shows, in plain words, where its data came
from: which steps made it, with which settings, by whom and when, from which files and services. The
graph itself is computed by provenance/lineage.py; "Export PROV-JSON" writes provenance/prov.py's export."""

from __future__ import annotations

import json
import os

from qgis.core import QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..i18n import tr
from ..provenance.layer_props import get_layer_source
from ..provenance.lineage import Lineage, lineage_of
from ..provenance.prov import export_prov
from ..provenance.readable import algorithm_name, parameter_label, readable_parameters, source_text
from ..provenance.store import load_runs
from ..recipe.services import raw_url


def lineage_for_layer(layer, project=None) -> Lineage:
    project = project or QgsProject.instance()
    source = get_layer_source(layer)
    if source is not None and source.service_url:
        return lineage_of(layer.name(), source.service_url, [], source)
    return lineage_of(layer.name(), layer.source(), load_runs(project), source, layer_id=layer.id())


def node_text(graph: Lineage, edge, project=None) -> tuple[str, list[str]]:
    """A sentence for one step back in the lineage, and the detail lines under it."""
    node = graph.nodes[edge.source]
    d = node.details
    if node.kind == "run":
        head = tr("Made by “{step}” on {when}, run by {user}").format(
            step=algorithm_name(node.label) if node.label == d["algorithm"] else node.label,
            when=d["started"].replace("T", " ")[:16],
            user=d["user"] or "?",
        )
        lines = [tr("Algorithm: {id} (version {version})").format(id=d["algorithm"], version=d["version"] or "?")]
        lines += [
            tr("Setting {name}: {value}").format(name=label, value=value)
            for label, value in readable_parameters(d["algorithm"], d["parameters"], project)
        ]
        if d.get("cooked_from"):
            lines.append(tr("Re-cooked from recipe {id}").format(id=d["cooked_from"]))
        if d["status"] != "completed":
            lines.append(tr("This run did not complete ({status}).").format(status=d["status"]))
        return head, lines
    if node.kind == "service":
        if d.get("described"):
            head = tr("Read from {service}").format(service=node.label)  # already words: “layer” from the service at …
        else:
            head = tr("Read from the web service “{name}”").format(name=node.label)
        lines = [tr("Address: {url}").format(url=_address(d["url"]))]
        if d.get("read_at"):
            lines.append(tr("Read at: {when}").format(when=d["read_at"].replace("T", " ")[:16]))
        if d.get("organisation"):
            lines.append(tr("Owner: {org}").format(org=d["organisation"]))
        if d.get("licence"):
            lines.append(tr("Licence: {licence}").format(licence=d["licence"]))
        return head, lines
    head = tr("From the file “{name}”").format(name=node.label)
    if edge.label:
        target = graph.nodes.get(edge.target)
        algorithm = target.details.get("algorithm", "") if target is not None and target.kind == "run" else ""
        head += " " + tr("(used as {role})").format(role=parameter_label(algorithm, edge.label))
    lines = [tr("Location: {path}").format(path=source_text(d.get("location", ""), project))]
    if d.get("sha256"):
        lines.append(tr("Fingerprint (SHA-256): {sha}").format(sha=d["sha256"][:16] + "…"))
    return head, lines


def _address(url: str) -> str:
    """The service's address without its query (which may carry keys) or provider syntax."""
    from urllib.parse import urlsplit

    parts = urlsplit(raw_url(url).removeprefix("/vsicurl/"))
    if not parts.scheme:
        return url
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"


class ProvenancePanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.graph: Lineage | None = None
        layout = QVBoxLayout(self)
        self.title = QLabel(tr("Select a layer to see where its data came from."))
        self.title.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.export_button = QPushButton(tr("Export PROV-JSON…"))
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export)
        layout.addWidget(self.title)
        layout.addWidget(self.tree)
        layout.addWidget(self.export_button)

    def show_layer(self, layer) -> None:
        self.tree.clear()
        self.graph = None
        if layer is None:
            self.title.setText(tr("Select a layer to see where its data came from."))
            self.export_button.setEnabled(False)
            return
        self.graph = lineage_for_layer(layer)
        runs = len(self.graph.runs)
        self.title.setText(
            tr("“{layer}”: made in {n} step(s) from the sources below.").format(layer=layer.name(), n=runs)
            if runs
            else tr("“{layer}”: no recorded step made this layer; its source is shown below.").format(
                layer=layer.name()
            )
        )
        self._add_children(self.tree.invisibleRootItem(), self.graph.root, {self.graph.root})
        self.tree.expandAll()
        self.export_button.setEnabled(runs > 0)

    def _add_children(self, parent_item, node_id: str, seen: set) -> None:
        for edge in self.graph.inputs_of(node_id):
            head, lines = node_text(self.graph, edge, QgsProject.instance())
            item = QTreeWidgetItem([head])
            item.setData(0, Qt.ItemDataRole.UserRole, edge.source)
            for line in lines:
                QTreeWidgetItem(item, [line])
            parent_item.addChild(item)
            if edge.source not in seen:
                self._add_children(item, edge.source, seen | {edge.source})

    def export(self, _checked: bool = False, path: str = "") -> str:
        if self.graph is None:
            return ""
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, tr("Export PROV-JSON"), "prov.json", tr("PROV-JSON (*.json)"))
        if not path:
            return ""
        tmp = path + ".part"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(export_prov(self.graph.runs), handle, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
        return path


class ProvenanceFeature:
    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin
        self.dock: QDockWidget | None = None
        self.panel: ProvenancePanel | None = None
        self.action = None

    def init_gui(self) -> None:
        self.dock = QDockWidget(tr("DTFL provenance"), self.iface.mainWindow())
        self.dock.setObjectName("dtflProvenanceDock")
        self.panel = ProvenancePanel(self.dock)
        self.dock.setWidget(self.panel)
        self.plugin.add_dock(self.dock)
        self.dock.hide()
        self.action = self.plugin.add_action(
            tr("Provenance of the selected layer"),
            self.toggle,
            object_name="dtflProvenanceAction",
            toolbar=False,
            checkable=True,
        )
        self.dock.visibilityChanged.connect(self.action.setChecked)
        self.iface.currentLayerChanged.connect(self.refresh)

    def toggle(self, checked: bool) -> None:
        if self.dock is None:
            return
        self.dock.setVisible(checked)
        if checked:
            self.refresh(self.iface.activeLayer())

    def refresh(self, layer=None) -> None:
        if self.panel is not None and self.dock is not None and self.dock.isVisible():
            self.panel.show_layer(layer)

    def unload(self) -> None:
        try:
            self.iface.currentLayerChanged.disconnect(self.refresh)
        except (TypeError, RuntimeError):
            pass  # never connected (init_gui failed early) or iface already gone
        self.panel = None
        self.dock = None  # plugin.unload removes and deletes the dock
