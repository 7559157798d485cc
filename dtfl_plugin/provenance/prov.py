"""W3C PROV-JSON export of run records (https://www.w3.org/Submission/prov-json/).

run → prov:Activity (parameters as attributes); input files/services → used; outputs →
wasGeneratedBy; the person and the algorithm → wasAssociatedWith (agents). A file is identified
by its SHA-256 where known, so the output of one run and the input of the next are the same
entity — the lineage chain needs no guessing from paths.
"""

from __future__ import annotations

import json
from pathlib import Path

from .record import RunRecord

PREFIXES = {
    "dtfl": "https://github.com/dtfl/dtfl-qgis/terms#",
    "sha256": "urn:hash::sha256:",
    "run": "urn:uuid:",
    "alg": "https://qgis.org/processing/algorithm#",
    "person": "https://github.com/dtfl/dtfl-qgis/person#",
    "loc": "https://github.com/dtfl/dtfl-qgis/location#",
}


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in text)


def entity_id(location: str, sha256: str = "") -> str:
    if sha256:
        return f"sha256:{sha256}"
    return f"loc:{_safe(location)}"


def export_prov(runs: list[RunRecord], recipe_id: str = "") -> dict:
    doc: dict = {
        "prefix": dict(PREFIXES),
        "entity": {},
        "activity": {},
        "agent": {},
        "used": {},
        "wasGeneratedBy": {},
        "wasAssociatedWith": {},
    }
    counter = 0

    def _next(kind: str) -> str:
        nonlocal counter
        counter += 1
        return f"_:{kind}{counter}"

    for run in runs:
        act = f"run:{run.id}"
        attrs = {
            "prov:label": run.algorithm_name or run.algorithm_id,
            "prov:startTime": run.started,
            "prov:endTime": run.ended or run.started,
            "dtfl:algorithm": run.algorithm_id,
            "dtfl:status": run.status,
        }
        for name, value in sorted(run.parameters.items()):
            attrs[f"dtfl:param_{_safe(name)}"] = value if isinstance(value, str) else json.dumps(value)
        if run.area:
            attrs["dtfl:area"] = json.dumps(run.area)
        if run.cooked_from:
            attrs["dtfl:cookedFrom"] = run.cooked_from
        if recipe_id:
            attrs["dtfl:recipe"] = recipe_id
        doc["activity"][act] = attrs
        person = f"person:{_safe(run.user or 'unknown')}"
        doc["agent"].setdefault(person, {"prov:type": "prov:Person", "prov:label": run.user or "unknown"})
        alg = f"alg:{_safe(run.algorithm_id)}"
        doc["agent"].setdefault(
            alg,
            {
                "prov:type": "prov:SoftwareAgent",
                "prov:label": run.algorithm_name or run.algorithm_id,
                "dtfl:version": run.algorithm_version,
            },
        )
        doc["wasAssociatedWith"][_next("assoc")] = {"prov:activity": act, "prov:agent": person, "prov:role": "operator"}
        doc["wasAssociatedWith"][_next("assoc")] = {"prov:activity": act, "prov:agent": alg, "prov:role": "algorithm"}
        for ref in run.inputs:
            ent = entity_id(ref.location, ref.sha256)
            doc["entity"].setdefault(ent, _entity_attrs(ref.location, ref.sha256, ref.size, ref.kind))
            if ref.kind == "service" and ref.read_at:
                doc["entity"][ent]["dtfl:readAt"] = ref.read_at
            doc["used"][_next("used")] = {
                "prov:activity": act,
                "prov:entity": ent,
                "prov:role": ref.role,
                "prov:time": run.started,
            }
        for ref in run.outputs:
            ent = entity_id(ref.location, ref.sha256)
            doc["entity"].setdefault(ent, _entity_attrs(ref.location, ref.sha256, ref.size, "file"))
            doc["wasGeneratedBy"][_next("gen")] = {
                "prov:entity": ent,
                "prov:activity": act,
                "prov:role": ref.name,
                "prov:time": run.ended or run.started,
            }
    return {k: v for k, v in doc.items() if v}


def _entity_attrs(location: str, sha256: str, size: int, kind: str) -> dict:
    attrs = {
        "prov:label": Path(location).name if kind == "file" else location,
        "prov:location": location,
        "dtfl:kind": kind,
    }
    if sha256:
        attrs["dtfl:sha256"] = sha256
    if size:
        attrs["dtfl:size"] = size
    return attrs


def write_prov(runs: list[RunRecord], path: str | Path, recipe_id: str = "") -> None:
    import os

    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(export_prov(runs, recipe_id), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
