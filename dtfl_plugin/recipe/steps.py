"""Recorded runs as ``steps/NNN-<algorithm>.json`` in qgis_process JSON-input form.

``{"inputs": {...}}`` is what ``qgis_process run <algorithm> -`` reads on stdin; the extra keys
(``algorithm``, ``dtfl``) are ignored by qgis_process and tell a re-cook which values are files of
the recipe, which are outputs of an earlier step, and which are the area of interest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..provenance.layer_props import source_file
from ..provenance.record import RunRecord
from .crate import slug

EXTENT = re.compile(
    r"^\s*-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\s*,\s*-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\s*,\s*-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\s*,"
    r"\s*-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\s*(?:\[(?P<crs>[^\]]+)\])?\s*$",
    re.IGNORECASE,
)


def step_name(index: int, algorithm_id: str) -> str:
    return f"steps/{index:03d}-{slug(algorithm_id.replace(':', '-'))}.json"


def replace_paths(value, mapping: dict[str, str]):
    if isinstance(value, str):
        # longest first: /a/b.gpkg must not be rewritten by a mapping for /a/b
        for old in sorted(mapping, key=len, reverse=True):
            if old and old in value:
                value = value.replace(old, mapping[old])
        return value
    if isinstance(value, list):
        return [replace_paths(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: replace_paths(v, mapping) for k, v in value.items()}
    return value


def build_steps(runs: list[RunRecord], file_map: dict[str, str]) -> list[tuple[str, dict]]:
    """(member path, JSON document) per run, in run order. ``file_map``: local path -> recipe path."""
    produced: dict[str, tuple[int, str]] = {}
    out = []
    for index, run in enumerate(runs, start=1):
        links = {}
        area_params = []
        inputs = {}
        for name, value in run.parameters.items():
            if isinstance(value, str) and value in produced:
                step, output = produced[value]
                links[name] = {"step": step, "output": output}
            if isinstance(value, str) and EXTENT.match(value):
                area_params.append(name)
            inputs[name] = replace_paths(value, file_map)
        outputs = {}
        for ref in run.outputs:
            outputs[ref.name] = file_map.get(ref.location, "")
            produced[ref.location] = (index, ref.name)
        doc = {
            "algorithm": run.algorithm_id,
            "inputs": inputs,
            "dtfl": {
                "order": index,
                "run_id": run.id,
                "algorithm_version": run.algorithm_version,
                "qgis_version": run.qgis_version,
                "started": run.started,
                "ended": run.ended,
                "status": run.status,
                "links": links,
                "area_parameters": area_params,
                "area": run.area,
                "outputs": outputs,
                "files": {
                    n: v
                    for n, v in inputs.items()
                    if isinstance(v, str) and any(v.startswith(m) for m in file_map.values())
                },
            },
        }
        out.append((step_name(index, run.algorithm_id), doc))
    return out


def dumps(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False).encode("utf-8")


def portable_runs(runs: list[RunRecord], file_map: dict[str, str]) -> list[RunRecord]:
    """Runs as the recipe tells them: file locations are recipe paths (or bare names when the file is not
    in the recipe), so the sender's folder layout does not travel with it."""
    out = []
    for run in runs:
        copy = RunRecord.from_dict(run.to_dict())
        copy.parameters = replace_paths(copy.parameters, file_map)
        for ref in list(copy.inputs) + list(copy.outputs):
            if getattr(ref, "kind", "file") == "file":
                ref.location = file_map.get(ref.location, Path(source_file(ref.location)).name)
        out.append(copy)
    return out
