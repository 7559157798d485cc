"""Model runs shown side by side: the scenario switch (e.g. T100 / T250 / T1000 of the flood screening).

A scenario is one recorded run whose outputs are layers of the project. When several runs of the same
algorithm made layers, those runs are the scenarios; each is named by the settings in which it differs
from the others (readable, in the page's language). A single run is one scenario without a switch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qgis.core import QgsRasterLayer, QgsVectorLayer

from ..compat import GEOMETRY_POLYGON
from .origin import LayerOrigin, readable_parameters
from .text import PageText


@dataclass
class Scenario:
    id: str  # "s1", "s2", ... in run order
    run_id: str
    label: str
    details: list[tuple[str, str]] = field(default_factory=list)  # every readable setting of the run
    rasters: list[str] = field(default_factory=list)  # layer ids: flood depth (draped in 3D)
    buildings: list[str] = field(default_factory=list)  # layer ids: polygon outputs with a per-building value


def _differing(rows_by_run: dict[str, list[tuple[str, str]]]) -> set[str]:
    labels: dict[str, set[str]] = {}
    for rows in rows_by_run.values():
        for name, value in rows:
            labels.setdefault(name, set()).add(value)
    counts = {name for name, values in labels.items() if len(values) > 1}
    present = [set(name for name, _ in rows) for rows in rows_by_run.values()]
    optional = set().union(*present) - set.intersection(*present) if present else set()
    return counts | optional


def find_scenarios(
    origins: list[LayerOrigin], layers: dict, text: PageText, order: list[str] | None = None
) -> list[Scenario]:
    """Scenarios from the layers' producing runs; ``layers`` maps layer id -> QgsMapLayer (clone), ``order``
    lists run ids as the project recorded them (runs started in the same second keep that order)."""
    position = {run_id: i for i, run_id in enumerate(order or [])}
    by_algorithm: dict[str, dict[str, list[LayerOrigin]]] = {}
    runs = {}
    for origin in origins:
        run = origin.producer
        if run is None:
            continue
        runs[run.id] = run
        by_algorithm.setdefault(run.algorithm_id, {}).setdefault(run.id, []).append(origin)
    candidates = [
        group
        for group in by_algorithm.values()
        if any(isinstance(layers.get(o.layer_id), QgsRasterLayer) for made in group.values() for o in made)
    ]
    if not candidates:
        return []
    group = max(candidates, key=lambda g: (len(g), max(runs[r].started for r in g)))
    ordered = sorted(group, key=lambda run_id: (runs[run_id].started, position.get(run_id, 0)))
    rows = {run_id: readable_parameters(runs[run_id], text) for run_id in ordered}
    differing = _differing(rows) if len(ordered) > 1 else set()
    scenarios = []
    for number, run_id in enumerate(ordered, start=1):
        shown = [value for name, value in rows[run_id] if name in differing]
        scenario = Scenario(
            id=f"s{number}",
            run_id=run_id,
            label=" · ".join(shown) or text.tr("Scenario {n}").format(n=number),
            details=rows[run_id],
        )
        for origin in group[run_id]:
            layer = layers.get(origin.layer_id)
            if isinstance(layer, QgsRasterLayer):
                scenario.rasters.append(origin.layer_id)
            elif isinstance(layer, QgsVectorLayer) and layer.geometryType() == GEOMETRY_POLYGON:
                scenario.buildings.append(origin.layer_id)
        scenarios.append(scenario)
    return scenarios
