"""RO-Crate 1.1 metadata for a recipe, with the Process Run Crate 0.5 profile.

Plain data in, JSON-LD out; no QGIS objects. The 1.1 context is used on purpose: the 0.5 run
profiles still fail under the 1.2/1.3 contexts. ``sha256`` is the workflow-run term, mapped
inline in the context so validators need no second remote context.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from ..provenance.record import RunRecord

CONTEXT = [
    "https://w3id.org/ro/crate/1.1/context",
    {"sha256": "https://w3id.org/ro/terms/workflow-run#sha256"},
]
METADATA_NAME = "ro-crate-metadata.json"
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": "Process Run Crate",
    "https://w3id.org/ro/wfrun/workflow/0.5": "Workflow Run Crate",
}
# Only the process-run profile is claimed for every recipe; models are described as
# ComputationalWorkflow entities but a recipe has no single main workflow.
CLAIMED_PROFILES = ["https://w3id.org/ro/wfrun/process/0.5"]
QGIS_URL = "https://qgis.org"
DTFL_URL = "https://github.com/dtfl/dtfl-qgis"
COMPLETED = "http://schema.org/CompletedActionStatus"
FAILED = "http://schema.org/FailedActionStatus"

MEDIA_TYPES = {
    ".gpkg": "application/geopackage+sqlite3",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".qgs": "application/x-qgis-project",
    ".qml": "application/x-qgis-layer-settings",
    ".xml": "application/xml",
    ".json": "application/json",
    ".model3": "application/x-qgis-processing-model",
    ".sld": "application/vnd.ogc.sld+xml",
}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-").lower() or "x"


def media_type(path: str) -> str:
    lower = path.lower()
    for ext, kind in MEDIA_TYPES.items():
        if lower.endswith(ext):
            return kind
    return "application/octet-stream"


def tool_id(algorithm_id: str) -> str:
    """An absolute URI for a Processing algorithm (the profile asks for one)."""
    home = DTFL_URL if algorithm_id.startswith("dtfl:") else QGIS_URL
    return f"{home}#algorithm={quote(algorithm_id, safe=':_-.')}"


@dataclass
class FileEntry:
    path: str  # path inside the recipe, posix
    sha256: str
    size: int
    name: str = ""
    kind: str = "data"  # data | project | style | model | step | provenance | view3d
    licence: str = ""
    organisation: str = ""
    source: str = ""  # where it came from (original path or service URL)
    description: str = ""
    model_inputs: list[dict] = field(default_factory=list)  # for .model3: [{"name", "type"}]
    model_outputs: list[dict] = field(default_factory=list)


@dataclass
class ServiceEntry:
    url: str  # absolute URL identifying the layer at the service
    name: str
    service_type: str
    read_at: str
    version: str = ""
    licence: str = ""
    organisation: str = ""
    layer_name: str = ""


class CrateBuilder:
    def __init__(self, recipe_id: str, name: str, description: str, created: str) -> None:
        self.recipe_id = recipe_id
        self.entities: dict[str, dict] = {}
        self.root = {
            "@id": "./",
            "@type": "Dataset",
            "identifier": recipe_id,
            "name": name,
            "description": description,
            "datePublished": created,
            "conformsTo": {"@id": CLAIMED_PROFILES[0]},
            "hasPart": [],
            "mentions": [],
        }
        self._add(
            {
                "@id": METADATA_NAME,
                "@type": "CreativeWork",
                "conformsTo": {"@id": "https://w3id.org/ro/crate/1.1"},
                "about": {"@id": "./"},
            }
        )
        self._add(self.root)
        for uri in CLAIMED_PROFILES:
            self._add({"@id": uri, "@type": "CreativeWork", "name": f"{PROFILES[uri]} 0.5", "version": "0.5"})

    def _add(self, entity: dict) -> dict:
        existing = self.entities.get(entity["@id"])
        if existing is not None:
            for key, value in entity.items():
                existing.setdefault(key, value)
            return existing
        self.entities[entity["@id"]] = entity
        return entity

    def set_author(self, user: str) -> None:
        self.root["author"] = {"@id": self._person(user)}

    def set_licence(self, licence: str) -> None:
        """The recipe's licence; without one, the root points to the per-dataset licences."""
        if licence:
            self.root["license"] = {"@id": self._licence(licence)}
            return
        self._add(
            {
                "@id": "#license-per-dataset",
                "@type": "CreativeWork",
                "name": "Licence per dataset",
                "description": "Each data file and service in this recipe carries its own licence (property license); "
                "the recipe gives no licence of its own.",
            }
        )
        self.root["license"] = {"@id": "#license-per-dataset"}

    def set_area(self, bbox: tuple[float, float, float, float], crs: str) -> None:
        """The area of interest: a Place with a GeoShape box (schema.org order: south west north east
        in the recipe's CRS, named by additionalProperty crs)."""
        xmin, ymin, xmax, ymax = bbox
        self._add(
            {
                "@id": "#area",
                "@type": "Place",
                "name": "Area of interest",
                "geo": {"@id": "#area-shape"},
                "additionalProperty": {"@id": "#area-crs"},
            }
        )
        self._add({"@id": "#area-shape", "@type": "GeoShape", "box": f"{ymin} {xmin} {ymax} {xmax}"})
        self._add({"@id": "#area-crs", "@type": "PropertyValue", "name": "crs", "value": crs})
        self.root["spatialCoverage"] = {"@id": "#area"}

    def set_based_on(self, recipe_id: str, name: str = "") -> None:
        """Provenance link to the recipe this one was re-cooked from."""
        self._add({"@id": recipe_id, "@type": "CreativeWork", "name": name or recipe_id})
        self.root["isBasedOn"] = {"@id": recipe_id}

    def _licence(self, licence: str) -> str:
        ident = licence if licence.startswith(("http://", "https://")) else f"#license-{slug(licence)}"
        self._add({"@id": ident, "@type": "CreativeWork", "name": licence, "description": f"Licence: {licence}"})
        return ident

    def _org(self, name: str) -> str:
        ident = f"#org-{slug(name)}"
        self._add({"@id": ident, "@type": "Organization", "name": name})
        return ident

    def _credit(self, entity: dict, licence: str, organisation: str, role: str) -> None:
        """Link an entity to its licence and organisation (``role``: copyrightHolder of a file, publisher of a
        service), when they are known."""
        if licence:
            entity["license"] = {"@id": self._licence(licence)}
        if organisation:
            entity[role] = {"@id": self._org(organisation)}

    def _person(self, user: str) -> str:
        ident = f"#person-{slug(user or 'unknown')}"
        self._add({"@id": ident, "@type": "Person", "name": user or "unknown"})
        return ident

    def add_file(self, entry: FileEntry) -> dict:
        entity = {
            "@id": entry.path,
            "@type": "File",
            "name": entry.name or entry.path.rsplit("/", 1)[-1],
            "contentSize": str(entry.size),
            "sha256": entry.sha256,
            "encodingFormat": media_type(entry.path),
        }
        if entry.description:
            entity["description"] = entry.description
        self._credit(entity, entry.licence, entry.organisation, "copyrightHolder")
        if entry.source:
            entity["isBasedOn"] = entry.source if "://" not in entry.source else {"@id": entry.source}
        if entry.kind == "model":
            entity["@type"] = ["File", "SoftwareSourceCode", "ComputationalWorkflow"]
            entity["programmingLanguage"] = {"@id": "#qgis-processing-model"}
            self._add(
                {
                    "@id": "#qgis-processing-model",
                    "@type": "ComputerLanguage",
                    "name": "QGIS Processing model",
                    "url": {"@id": QGIS_URL},
                }
            )
            entity["input"] = [{"@id": self._formal(entry.path, p, "in")} for p in entry.model_inputs]
            entity["output"] = [{"@id": self._formal(entry.path, p, "out")} for p in entry.model_outputs]
            entity["version"] = entry.description or "1"
        if entry.source and "://" in entry.source:
            self._add({"@id": entry.source, "@type": "CreativeWork", "name": entry.source})
        added = self._add(entity)
        self.root["hasPart"].append({"@id": entry.path})
        return added

    def _formal(self, model_path: str, param: dict, direction: str) -> str:
        ident = f"#{slug(model_path)}-{direction}-{slug(param['name'])}"
        self._add(
            {
                "@id": ident,
                "@type": "FormalParameter",
                "name": param["name"],
                "additionalType": param.get("additionalType", "Text"),
                "workExample": {"@id": param["workExample"]} if param.get("workExample") else None,
                "conformsTo": {"@id": "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"},
            }
        )
        if self.entities[ident]["workExample"] is None:
            del self.entities[ident]["workExample"]
        return ident

    def add_service(self, service: ServiceEntry) -> None:
        entity = {
            "@id": service.url,
            "@type": "Dataset",
            "name": service.name or service.layer_name or service.url,
            "encodingFormat": service.service_type,
            "sdDatePublished": service.read_at,
            "url": service.url,
        }
        if service.layer_name:
            entity["identifier"] = service.layer_name
        if service.version:
            entity["version"] = service.version
        self._credit(entity, service.licence, service.organisation, "publisher")
        self._add(entity)
        self.root["hasPart"].append({"@id": service.url})

    def add_run(self, index: int, run: RunRecord, step_path: str, file_ids: dict[str, str]) -> None:
        """A run as a CreateAction. ``file_ids`` maps local paths (inputs and outputs) to crate ids."""
        tool = tool_id(run.algorithm_id)
        self._add(
            {
                "@id": tool,
                "@type": "SoftwareApplication",
                "name": run.algorithm_name or run.algorithm_id,
                "identifier": run.algorithm_id,
                "url": DTFL_URL if run.algorithm_id.startswith("dtfl:") else QGIS_URL,
                "version": run.algorithm_version or run.qgis_version or "unknown",
            }
        )
        objects = []
        for ref in run.inputs:
            if ref.location in file_ids:
                objects.append({"@id": file_ids[ref.location]})
            elif ref.kind == "service":
                self._add(
                    {
                        "@id": ref.location,
                        "@type": "Dataset",
                        "name": ref.role,
                        "url": ref.location,
                        "sdDatePublished": ref.read_at,
                        **({"version": ref.version} if ref.version else {}),
                    }
                )
                objects.append({"@id": ref.location})
        for name, value in sorted(run.parameters.items()):
            pid = f"#run-{index:03d}-param-{slug(name)}"
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            self._add({"@id": pid, "@type": "PropertyValue", "name": name, "value": text})
            objects.append({"@id": pid})
        results = [{"@id": file_ids[o.location]} for o in run.outputs if o.location in file_ids]
        action = {
            "@id": f"#run-{index:03d}",
            "@type": "CreateAction",
            "name": f"Run of {run.algorithm_name or run.algorithm_id}",
            "description": f"{run.algorithm_id} run {run.id}; steps file {step_path}",
            "identifier": run.id,
            "instrument": {"@id": tool},
            "agent": {"@id": self._person(run.user)},
            "object": objects,
            "result": results,
            "startTime": run.started,
            "endTime": run.ended or run.started,
            "actionStatus": COMPLETED if run.status == "completed" else FAILED,
            "subjectOf": {"@id": step_path},
        }
        if run.status != "completed" and run.error:
            action["error"] = run.error
        if run.cooked_from:
            action["isBasedOn"] = {"@id": run.cooked_from}
        self._add(action)
        self.root["mentions"].append({"@id": action["@id"]})

    def to_json(self) -> str:
        return json.dumps({"@context": CONTEXT, "@graph": list(self.entities.values())}, ensure_ascii=False, indent=1)


def load_graph(data: bytes) -> tuple[dict, dict[str, dict]]:
    """(root entity, entities by id) of a crate's metadata; raises ValueError when it is not one."""
    doc = json.loads(data.decode("utf-8"))
    if not isinstance(doc, dict) or "@graph" not in doc or "@context" not in doc:
        raise ValueError("no @context/@graph")
    entities = {e["@id"]: e for e in doc["@graph"] if isinstance(e, dict) and "@id" in e}
    descriptor = entities.get(METADATA_NAME)
    if descriptor is None:
        raise ValueError("no metadata descriptor")
    root_id = (descriptor.get("about") or {}).get("@id")
    root = entities.get(root_id or "")
    if root is None:
        raise ValueError("no root data entity")
    return root, entities


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
