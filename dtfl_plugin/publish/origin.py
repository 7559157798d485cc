"""Where each published layer comes from, in words a resident follows ("Waar komt dit vandaan?").

Built from the project's own records: the layer's source facts (``dtfl/source``), the run records and their
lineage (provenance room), licences/owners completed from the catalogue (recipe room), and the recipe's
identifier and signature verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..provenance.layer_props import LayerSource, source_file, source_layer_name
from ..provenance.lineage import Lineage, lineage_of
from ..provenance.record import RunRecord
from .snapshot import LayerSnap, ProjectSnap
from .text import PageText


@dataclass
class SourceFact:
    title: str
    organisation: str = ""
    licence: str = ""
    date: str = ""  # when it was read
    location: str = ""  # service URL or file name


@dataclass
class RunFact:
    run_id: str
    algorithm_id: str
    name: str
    date: str
    parameters: list[tuple[str, str]] = field(default_factory=list)
    remote: str = ""  # server URL of a remote run


@dataclass
class LayerOrigin:
    layer_id: str
    name: str
    sources: list[SourceFact] = field(default_factory=list)
    runs: list[RunFact] = field(default_factory=list)  # oldest first; the last one made the layer
    producer: RunRecord | None = None


def _algorithm(algorithm_id: str):
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry().algorithmById(algorithm_id)


def _destination(definition) -> bool:
    return bool(getattr(definition, "isDestination", lambda: False)())


def readable_value(definition, value, text: PageText) -> str:
    """A parameter value as a resident reads it: option labels, yes/no, numbers without noise."""
    from qgis.core import QgsProcessingParameterBoolean, QgsProcessingParameterEnum

    if isinstance(definition, QgsProcessingParameterEnum):
        options = definition.options()
        indices = value if isinstance(value, list) else [value]
        labels = []
        for index in indices:
            try:
                labels.append(text.any(options[int(index)]))
            except (TypeError, ValueError, IndexError):
                labels.append(str(index))
        return ", ".join(labels)
    if isinstance(definition, QgsProcessingParameterBoolean):
        return text.tr("yes") if value in (True, "true", "True", 1, "1") else text.tr("no")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def readable_parameters(run: RunRecord, text: PageText) -> list[tuple[str, str]]:
    """The settings of a run (inputs and outputs are shown as sources, not here)."""
    from qgis.core import QgsProcessingParameterExtent

    from ..provenance.capture import INPUT_PARAMETERS

    layer_like = (*INPUT_PARAMETERS, QgsProcessingParameterExtent)
    alg = _algorithm(run.algorithm_id)
    if alg is None:
        return [(k, str(v)) for k, v in run.parameters.items() if v not in (None, "") and not _looks_like_path(v)]
    rows = []
    for definition in alg.parameterDefinitions():
        value = run.parameters.get(definition.name())
        if value in (None, "", []) or _destination(definition) or isinstance(definition, layer_like):
            continue
        rows.append((text.any(definition.description()), readable_value(definition, value, text)))
    return rows


def _looks_like_path(value) -> bool:
    return isinstance(value, str) and ("/" in value or "\\" in value)


def _run_name(run: RunRecord, text: PageText) -> str:
    alg = _algorithm(run.algorithm_id)
    name = alg.displayName() if alg is not None else (run.algorithm_name or run.algorithm_id)
    return text.any(name)


def source_key(source: str) -> str:
    """A file source without provider options, but with its layer name (one GeoPackage holds many layers)."""
    layer = source_layer_name(source)
    return str(Path(source_file(source))) + (f"|layername={layer}" if layer else "")


def _sources_by_location(snap: ProjectSnap) -> dict[str, LayerSource]:
    facts: dict[str, LayerSource] = {}
    for item in snap.layers:
        if item.source is None:
            continue
        if item.layer.providerType() in ("ogr", "gdal"):
            facts.setdefault(source_key(item.layer.source()), item.source)
            facts.setdefault(str(Path(item.path)), item.source)
        else:
            facts.setdefault(item.path, item.source)
        if item.source.service_url:
            facts.setdefault(item.source.service_url, item.source)
    return facts


def _full_source(graph: Lineage, node_id: str) -> str:
    """The parameter value a run read this file with (keeps "|layername=..." the run record's path drops)."""
    for edge in graph.edges:
        if edge.source == node_id and edge.target.startswith("run:"):
            run = next((r for r in graph.runs if "run:" + r.id == edge.target), None)
            value = run.parameters.get(edge.label) if run is not None else None
            if isinstance(value, str) and "|" in value:
                return value
    return ""


def _complete(source: LayerSource | None, url: str) -> tuple[str, str]:
    from ..recipe.licences import licence_and_owner

    return licence_and_owner(source, url)


def _fact_from_node(node, facts: dict[str, LayerSource], full: str = "", own: LayerSource | None = None) -> SourceFact:
    details = node.details
    location = details.get("url") or details.get("location", "")
    key = location if node.kind == "service" else str(Path(source_file(location)))
    known = own or (facts.get(source_key(full)) if full else None)
    known = known or facts.get(key)
    if known is None and node.kind == "service":
        known = next((s for url, s in facts.items() if url and location.startswith(url)), None)
    licence, owner = details.get("licence", ""), details.get("organisation", "")
    if not (licence and owner):
        more_licence, more_owner = _complete(known, location if node.kind == "service" else "")
        licence, owner = licence or more_licence, owner or more_owner
    title = known.title if known is not None and known.title else node.label
    date = details.get("read_at") or (known.loaded_at if known is not None else "")
    shown = location if node.kind == "service" else Path(key).name
    return SourceFact(title=title, organisation=owner, licence=licence, date=date[:10], location=shown)


def layer_origin(item: LayerSnap, snap: ProjectSnap, text: PageText) -> LayerOrigin:
    graph: Lineage = lineage_of(item.name, item.path, snap.runs, item.source, hash_file=True)
    origin = LayerOrigin(item.id, item.name)
    facts = _sources_by_location(snap)
    for node in graph.nodes.values():
        if node.kind in ("service", "file") and not graph.inputs_of(node.id):
            if node.kind == "file" and node.id.startswith("data:"):
                continue  # an intermediate file: its run is listed instead
            direct = any(e.source == node.id and e.target == "layer" for e in graph.edges)
            own = item.source if direct else None  # the layer's own facts beat a look-up by file name
            origin.sources.append(_fact_from_node(node, facts, _full_source(graph, node.id), own))
    for run in graph.runs:
        origin.runs.append(
            RunFact(
                run_id=run.id,
                algorithm_id=run.algorithm_id,
                name=_run_name(run, text),
                date=(run.ended or run.started)[:10],
                parameters=readable_parameters(run, text),
                remote=run.server_url,
            )
        )
    producers = [e for e in graph.edges if e.target == "layer" and e.source.startswith("run:")]
    if producers:
        run_id = producers[0].source[4:]
        origin.producer = next((r for r in graph.runs if r.id == run_id), None)
    return origin
