"""Which attributes of a scenario's building layer the model computed (e.g. the water depth at the facade).

Several scenarios: the numeric fields whose values differ between the scenarios' layers (the inputs are the
same in every run, the results are not). One scenario: the numeric fields no other layer of the twin has
(what the run added to its input); else the last numeric field.
"""

from __future__ import annotations

from itertools import islice

from qgis.core import QgsVectorLayer

SAMPLE = 500


def _numeric(layer: QgsVectorLayer) -> list[str]:
    return [f.name() for f in layer.fields() if f.isNumeric()]


def _values(layer: QgsVectorLayer, name: str) -> list:
    return [f[name] for f in islice(layer.getFeatures(), SAMPLE)]


def computed_fields(scenarios, layers: dict[str, QgsVectorLayer], others: list | None = None) -> dict[str, list[str]]:
    building_layers = [lid for s in scenarios for lid in s.buildings]
    if not building_layers:
        return {}
    if len(scenarios) > 1:
        first = layers[building_layers[0]]
        shared = [n for n in _numeric(first) if all(n in layers[lid].fields().names() for lid in building_layers)]
        differing = [n for n in shared if len({tuple(_values(layers[lid], n)) for lid in building_layers}) > 1]
        return {lid: differing for lid in building_layers}
    result = {}
    other_names = {f.name() for layer in (others or []) for f in layer.fields()} if others else set()
    for lid in building_layers:
        numeric = _numeric(layers[lid])
        own = [n for n in numeric if n not in other_names] if other_names else []
        result[lid] = own or numeric[-1:]
    return result
