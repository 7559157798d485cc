"""The lineage of a layer as plain data: sources → runs (with their settings) → outputs.

A run made the layer when one of its outputs is the layer's file (same path, or same SHA-256 when
the file was moved, e.g. unpacked from a recipe). Inputs of that run that another run produced are
followed back the same way, until only sources remain (files nobody made here, and services).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .layer_props import LayerSource, source_file
from .readable import service_text, source_text
from .record import RunRecord, sha256_file


@dataclass
class Node:
    id: str
    kind: str  # layer | run | file | service
    label: str
    details: dict = field(default_factory=dict)


@dataclass
class Edge:
    source: str  # node id the data comes from
    target: str  # node id the data goes to
    label: str = ""  # parameter or output name


@dataclass
class Lineage:
    root: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)  # the runs in the graph, oldest first

    def inputs_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.target == node_id]


def _is_file(path: str) -> bool:
    """A path on disk; data sources that are not files ('memory?geometry=…' longer than a file name may be,
    virtual-layer queries) are simply not files."""
    try:
        return bool(path) and Path(path).is_file()
    except (OSError, ValueError):
        return False


def _file_key(location: str) -> str:
    return str(Path(source_file(location)))


def _same_file(location: str, sha256: str, path: str, path_sha: str) -> bool:
    if location and _file_key(location) == _file_key(path):
        return True
    # run records inside a recipe name files relative to the recipe root ("data/x.tif"): an unpacked
    # recipe's layer at ".../<folder>/data/x.tif" is that file
    if (
        location
        and not Path(location).is_absolute()
        and Path(_file_key(path)).as_posix().endswith("/" + _file_key(location))
    ):
        return True
    return bool(sha256 and path_sha and sha256 == path_sha)


def lineage_of(
    layer_name: str,
    layer_path: str,
    runs: list[RunRecord],
    source: LayerSource | None = None,
    *,
    hash_file: bool = True,
    max_depth: int = 50,
    layer_id: str = "",
) -> Lineage:
    """The lineage graph of a layer whose data is ``layer_path`` (a file path, or a URL for service layers)."""
    graph = Lineage(root="layer")
    graph.nodes["layer"] = Node("layer", "layer", layer_name, {"source": layer_path})
    path = _file_key(layer_path)
    path_sha = sha256_file(path) if hash_file and _is_file(path) else ""
    if source is not None and source.service_url:
        _add_service(graph, "layer", source.service_url, source, "")
        return graph
    used_runs: dict[str, RunRecord] = {}
    _follow(graph, "layer", layer_path, path_sha, runs, used_runs, max_depth)
    if len(graph.nodes) == 1 and layer_id:  # temporary outputs are recorded by the id of the layer they became
        _follow(graph, "layer", layer_id, "", runs, used_runs, max_depth)
    graph.runs = sorted(used_runs.values(), key=lambda r: r.started)
    if len(graph.nodes) == 1:
        label = Path(path).name if _is_file(path) else source_text(layer_path)
        graph.nodes["file:" + path] = Node("file:" + path, "file", label, {"location": layer_path, "sha256": path_sha})
        graph.edges.append(Edge("file:" + path, "layer"))
    return graph


def _producer(location: str, sha256: str, runs: list[RunRecord]) -> tuple[RunRecord, str] | None:
    for run in reversed(runs):  # the latest run that wrote it
        for out in run.outputs:
            if _same_file(out.location, out.sha256, location, sha256):
                return run, out.name
    return None


def _follow(graph: Lineage, target: str, location: str, sha256: str, runs, used: dict, depth: int) -> None:
    found = _producer(location, sha256, runs)
    if found is None or depth <= 0:
        return
    run, output_name = found
    run_id = "run:" + run.id
    graph.edges.append(Edge(run_id, target, output_name))
    if run_id in graph.nodes:
        return
    graph.nodes[run_id] = Node(
        run_id,
        "run",
        run.algorithm_name or run.algorithm_id,
        {
            "algorithm": run.algorithm_id,
            "version": run.algorithm_version,
            "started": run.started,
            "ended": run.ended,
            "user": run.user,
            "status": run.status,
            "parameters": dict(run.parameters),
            "area": run.area,
            "cooked_from": run.cooked_from,
        },
    )
    used[run.id] = run
    for ref in run.inputs:
        if ref.kind == "service":
            _add_service(graph, run_id, ref.location, None, ref.role, ref.read_at, ref.version)
            continue
        node_id = "file:" + (ref.sha256 or _file_key(ref.location))
        if _producer(ref.location, ref.sha256, [r for r in runs if r.id != run.id]) is not None:
            inner = f"data:{node_id}"
            if inner not in graph.nodes:
                graph.nodes[inner] = Node(
                    inner, "file", Path(_file_key(ref.location)).name, {"location": ref.location, "sha256": ref.sha256}
                )
                _follow(graph, inner, ref.location, ref.sha256, [r for r in runs if r.id != run.id], used, depth - 1)
            graph.edges.append(Edge(inner, run_id, ref.role))
        else:
            if node_id not in graph.nodes:
                graph.nodes[node_id] = Node(
                    node_id,
                    "file",
                    Path(_file_key(ref.location)).name,
                    {"location": ref.location, "sha256": ref.sha256, "size": ref.size},
                )
            graph.edges.append(Edge(node_id, run_id, ref.role))


def _add_service(
    graph: Lineage, target: str, url: str, source: LayerSource | None, role: str, read_at: str = "", version: str = ""
) -> None:
    node_id = "service:" + url
    details = {
        "url": url,
        "read_at": read_at or (source.loaded_at if source else ""),
        "version": version or (source.service_version if source else ""),
    }
    if source is not None:
        details.update(
            {"licence": source.licence, "organisation": source.organisation, "service_type": source.service_type}
        )
    titled = bool(source and source.title)
    details["described"] = not titled and bool(service_text(url))  # the label is a phrase, not a title
    label = source.title if titled else (service_text(url) or url)
    graph.nodes.setdefault(node_id, Node(node_id, "service", label, details))
    graph.edges.append(Edge(node_id, target, role))
