"""Package a QGIS project as a signed recipe (``.dtfl.zip``).

Works on the project file as saved on disk (a copy read as XML), never on the open project:
packaging cannot change what the user has open. Streams every file (memory does not grow with
data size), writes atomically (``.part`` then rename; nothing is left behind on failure or
cancel), reports progress and honours cancel through a ``Progress`` object.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from .. import safexml
from ..errors import RecipeError
from ..i18n import tr
from ..provenance.layer_props import source_file, source_layer_name, split_source
from ..provenance.prov import export_prov
from ..provenance.record import RunRecord, now_iso
from ..provenance.record import _user as current_user
from . import embed, grids, preflight, qgsxml, sanitize, secrets, sign, sources, steps
from .crate import METADATA_NAME, CrateBuilder, FileEntry, ServiceEntry, slug
from .licences import licence_and_owner
from .pack_services import ServicePacking
from .progress import Progress
from .services import raw_url, service_identity
from .writer import RecipeWriter

MANIFEST = "manifest-sha256.txt"
SIGNATURE = MANIFEST + ".minisig"
PROJECT_MEMBER = "project/recipe.qgs"
PROV_MEMBER = "provenance/prov.json"


@dataclass
class PackOptions:
    project: Path
    output: Path
    secret_key: sign.SecretKey | None = None
    area: embed.Area | None = None
    embed_services: bool = False
    name: str = ""
    description: str = ""
    licence: str = ""
    cooked_from: str = ""  # id of the recipe this one was re-cooked from
    extra_runs: list[RunRecord] = field(default_factory=list)
    # layer id -> OGR source of its content written from the open project (temporary layers; see live.py)
    live_sources: dict[str, str] = field(default_factory=dict)
    organisation: str = ""  # the signer's organisation, in the signed comment


@dataclass
class PackResult:
    output: Path
    recipe_id: str
    members: list[str]
    warnings: list[str]
    signed: bool


def _runs_from(tree: ET.ElementTree) -> list[RunRecord]:
    raw = qgsxml.read_entry(tree, "DTFL", "runs")
    if not raw:
        return []
    try:
        return [RunRecord.from_dict(item) for item in json.loads(raw)]
    except (ValueError, TypeError) as err:
        raise RecipeError(tr("The project's run records cannot be read: {error}").format(error=err)) from err


class _Packer(ServicePacking):
    def __init__(self, options: PackOptions, progress: Progress) -> None:
        self.o = options
        self.p = progress
        self.recipe_id = f"urn:uuid:{uuid.uuid4()}"
        self.created = now_iso()
        self.stage = Path(tempfile.mkdtemp(prefix="dtfl-pack-"))
        self.warnings: list[str] = []
        self.file_map: dict[str, str] = {}  # local absolute path -> member path
        self.entries: list[FileEntry] = []
        self.services: list[ServiceEntry] = []
        self.total = 1
        self.writer: RecipeWriter | None = None
        self._clipped_names: dict[str, str] = {}  # converted GeoPackage member -> its layer name

    # --- helpers ---
    def _member(self, folder: str, stem: str, suffix: str) -> str:
        base = f"{folder}/{slug(stem)}"
        name, n = f"{base}{suffix}", 1
        while self.writer is not None and name in self.writer.written:
            n += 1
            name = f"{base}-{n}{suffix}"
        return name

    def _add(self, member: str, path: Path, **meta) -> str:
        written = self.writer.add_file(member, path)
        self.entries.append(FileEntry(member, written.sha256, written.size, **meta))
        return member

    def _add_bytes(self, member: str, data: bytes, **meta) -> None:
        written = self.writer.add_bytes(member, data)
        self.entries.append(FileEntry(member, written.sha256, written.size, **meta))

    def _on_bytes(self, done: int) -> None:
        self.p.set_percent(min(95.0, 95.0 * done / self.total))

    # --- main ---
    def run(self) -> PackResult:
        if not self.o.project.is_file():
            raise RecipeError(
                tr("The project file '{path}' does not exist; save the project first.").format(path=self.o.project)
            )
        tree = qgsxml.read_project_xml(self.o.project)
        runs = _runs_from(tree) + list(self.o.extra_runs)
        layer_list = qgsxml.layers(tree)
        self.kinds = {
            layer.layer_id: preflight.classify(layer, self.o.project, self.o.live_sources) for layer in layer_list
        }
        for gap in preflight.check(tree, self.o.project, self.o.live_sources, self._wants_snapshot()):
            if gap.lost or gap.kind == "credentials":
                self.warnings.append(gap.message)
        sources.embed_images(tree, self.o.project)  # before styles are exported: they carry the pictures
        for layer in layer_list:
            if self.kinds[layer.layer_id] == "live":
                self._use_live(layer)
        local_sizes = []
        for layer in layer_list:
            path = self._local_path(layer)
            if path:
                local_sizes.append(Path(path).stat().st_size)
        self.total = max(1, sum(local_sizes))
        self.writer = RecipeWriter(self.o.output, progress=self._on_bytes, cancelled=self.p.is_cancelled)
        try:
            for layer in sorted(layer_list, key=lambda x: self.kinds[x.layer_id] == "virtual"):
                self._layer(layer)  # virtual layers last: they may read files other layers embed
            runs = self._bind_inputs(runs)
            self._run_files(runs)
            self._models(runs)
            view3d = qgsxml.view3d_xml(tree)
            if view3d:
                self._add_bytes("styles/3d-views.xml", view3d, kind="view3d", description="3D map views of the project")
            self._steps(runs)
            portable = steps.portable_runs(runs, self.file_map)
            self._project(tree, portable)
            prov = export_prov(portable, self.recipe_id)
            self._add_bytes(
                PROV_MEMBER,
                json.dumps(prov, ensure_ascii=False, indent=1).encode(),
                kind="provenance",
                description="PROV-JSON export of the runs",
            )
            self._add_bytes(METADATA_NAME, self._crate(runs).encode("utf-8"))
            manifest = self.writer.manifest()
            self.writer.add_bytes(MANIFEST, manifest)
            if self.o.secret_key is not None:
                self.writer.add_bytes(SIGNATURE, self._signature(manifest), compression=zipfile.ZIP_STORED)
            else:
                self.warnings.append(tr("The recipe is not signed: receivers cannot check who made it."))
            output = self.writer.commit()
        except BaseException:
            self.writer.abort()
            raise
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)
        self.p.set_percent(100.0)
        return PackResult(
            output, self.recipe_id, sorted(self.writer.written), self.warnings, self.o.secret_key is not None
        )

    def _signature(self, manifest: bytes) -> bytes:
        tmp = self.stage / MANIFEST
        tmp.write_bytes(manifest)
        comment = f"recipe={self.recipe_id} time={self.created} name={slug(self._name())}"
        if self.o.organisation:
            comment += " org=" + quote(self.o.organisation, safe="")  # one line, no spaces: key=value pairs
        return sign.sign_file(tmp, self.o.secret_key, comment).encode("utf-8")

    def _name(self) -> str:
        return self.o.name or self.o.project.stem

    def _local_path(self, layer: qgsxml.LayerXml) -> str:
        return preflight.local_file(layer, self.o.project)

    def _use_live(self, layer: qgsxml.LayerXml) -> None:
        """A temporary layer reads the GeoPackage written from the open project (then embedded like a file)."""
        node = layer.element.find("provider")
        if node is not None:
            node.text = "ogr"
        layer.provider = "ogr"
        layer.set_datasource(self.o.live_sources[layer.layer_id])

    def _layer(self, layer: qgsxml.LayerXml) -> None:
        kind = self.kinds[layer.layer_id]
        source = layer.source()
        path = self._local_path(layer)
        layer_name = "" if path else service_identity(layer.provider, layer.datasource)[1]
        licence, owner = licence_and_owner(source, "" if path else raw_url(layer.datasource), layer_name)
        if path:
            member = self._embed_local(layer, path, licence, owner)
        elif kind == "network":
            member = self._network_raster(layer, source, licence, owner)
        elif kind == "service":
            member = self._service(layer, source, licence, owner)
        elif kind == "virtual":
            member = self._virtual(layer, licence, owner)
        else:
            return  # preflight said why it does not travel
        self._style(layer, member)

    def _virtual(self, layer: qgsxml.LayerXml, licence: str, owner: str) -> str:
        """Layers a virtual layer names by id travel with the project; files it reads itself are embedded
        and its definition points at the embedded copies."""
        replace = {}
        for provider, src, _name, _enc in sources.virtual_sources(layer.datasource)[1]:
            raw, opts = split_source(src)
            path = qgsxml.resolve_path(self.o.project, raw)
            if provider not in ("ogr", "gdal") or not Path(path).is_file():
                continue
            member = self.file_map.get(f"{path}|{opts}") or self.file_map.get(path)
            if member is None or (member in self._clipped_names and f"{path}|{opts}" not in self.file_map):
                member = self._vector(path, layer, opts, None, licence, owner)  # whole, unclipped
                self.file_map.setdefault(path, member)
            if member in self._clipped_names:
                opts = "layername=" + self._clipped_names[member]
            replace[src] = f"../{member}" + (f"|{opts}" if opts else "")
        if replace:
            layer.set_datasource(sources.rewrite_virtual(layer.datasource, replace))
        return ""

    def _embed_local(self, layer: qgsxml.LayerXml, path: str, licence: str, owner: str) -> str:
        suffix_opts = split_source(layer.datasource)[1]
        area = self.o.area
        key = f"{path}|{suffix_opts}" if area else path
        if key in self.file_map:
            member = self.file_map[key]
        elif layer.provider == "gdal":
            member = self._raster(path, layer, area, licence, owner)
        else:
            member = self._vector(path, layer, suffix_opts, area, licence, owner)
        self.file_map.setdefault(key, member)
        self.file_map.setdefault(path, member)
        opts = suffix_opts
        if member in self._clipped_names:  # converted: the new GeoPackage holds one layer
            opts = "layername=" + self._clipped_names[member]
        layer.set_datasource(f"../{member}" + (f"|{opts}" if opts else ""))
        return member

    def _raster(self, path, layer, area, licence, owner) -> str:
        meta = {"licence": licence, "organisation": owner, "source": path, "name": layer.name}
        if area is None and Path(path).suffix.lower() in (".tif", ".tiff"):
            return self._add(self._member("data", Path(path).stem, Path(path).suffix.lower()), Path(path), **meta)
        staged = self.stage / f"{uuid.uuid4().hex}.tif"
        embed.export_raster(path, staged, area, layer.crs)
        meta["description"] = "clipped to the recipe area" if area else "converted to GeoTIFF"
        member = self._add(self._member("data", Path(path).stem, ".tif"), staged, **meta)
        staged.unlink()
        return member

    def _vector(self, path, layer, opts, area, licence, owner) -> str:
        meta = {"licence": licence, "organisation": owner, "source": path, "name": layer.name}
        if area is None and Path(path).suffix.lower() == ".gpkg":
            return self._add(self._member("data", Path(path).stem, ".gpkg"), Path(path), **meta)
        layer_name = source_layer_name(f"{path}|{opts}")
        staged = self.stage / f"{uuid.uuid4().hex}.gpkg"
        out_name = embed.export_vector(path, layer_name, staged, area, layer.crs)
        meta["description"] = "clipped to the recipe area" if area else "converted to GeoPackage"
        member = self._add(
            self._member("data", f"{Path(path).stem}-{layer_name}" if layer_name else Path(path).stem, ".gpkg"),
            staged,
            **meta,
        )
        self._clipped_names[member] = out_name
        staged.unlink()
        return member

    def _style(self, layer: qgsxml.LayerXml, member: str) -> None:
        element = ET.fromstring(ET.tostring(layer.element))
        node = element.find("datasource")
        if node is not None and member:
            node.text = str(self._staged_or_source(member, layer))
        qml = self.stage / f"{uuid.uuid4().hex}.qml"
        try:
            ok = embed.export_style(element, layer.layer_type, qml)
        except (RuntimeError, ValueError) as err:
            self.warnings.append(
                tr("The style of layer '{layer}' could not be exported: {error}").format(layer=layer.name, error=err)
            )
            return
        if ok:
            style = ET.ElementTree(safexml.parse_file(qml))  # styles carry code too: same cleaning as the project
            sanitize.sanitize(style)
            text = qgsxml.DOCTYPE + ET.tostring(style.getroot(), encoding="unicode")  # QGIS needs the doctype
            self._add_bytes(
                self._member("styles", layer.name or layer.layer_id, ".qml"),
                text.encode("utf-8"),
                kind="style",
                name=layer.name,
            )
        qml.unlink(missing_ok=True)

    def _staged_or_source(self, member: str, layer: qgsxml.LayerXml) -> str:
        for local, mem in self.file_map.items():
            if mem == member and "|" not in local:
                opts = split_source(layer.datasource)[1]
                return local + (f"|{opts}" if opts else "")
        return layer.datasource

    def _bind_inputs(self, runs: list[RunRecord]) -> list[RunRecord]:
        """Runs record an input as the bare file ('/x/bgt.gpkg') and the layer in the parameter
        ('/x/bgt.gpkg|layername=wegdeel'). Clipping embeds each layer of one GeoPackage as its own file, so
        the parameter, not the bare file, says which embedded file the run read."""
        bound = []
        for run in runs:
            copy = RunRecord.from_dict(run.to_dict())
            for ref in copy.inputs:
                value = copy.parameters.get(ref.role)
                if ref.kind == "file" and isinstance(value, str) and value != ref.location and value in self.file_map:
                    ref.location = value
            bound.append(copy)
        return bound

    def _run_files(self, runs: list[RunRecord]) -> None:
        """Inputs and results of runs that no layer embedded yet (so every step can re-run)."""
        for run in runs:
            refs = [(i.location, i.kind) for i in run.inputs] + [(o.location, "file") for o in run.outputs]
            for location, kind in refs:
                if kind != "file" or location in self.file_map:
                    continue
                path = Path(source_file(location))
                if not path.is_file():
                    if location.startswith(("/", ".")) or ":" not in location:
                        self.warnings.append(
                            tr("Run file '{path}' no longer exists; it is not in the recipe.").format(path=location)
                        )
                    continue
                member = self._add(
                    self._member("data/runs", path.stem, path.suffix.lower()), path, source=str(path), name=path.name
                )
                self.file_map[location] = member
                self.file_map.setdefault(str(path), member)

    def _models(self, runs: list[RunRecord]) -> None:
        from .model3 import model_file, model_parameters

        for run in dict((r.algorithm_id, r) for r in runs).values():
            path = model_file(run.algorithm_id)
            if path is None:
                continue
            inputs, outputs = model_parameters(path)
            self._add(
                self._member("models", path.stem, ".model3"),
                path,
                kind="model",
                name=run.algorithm_name or path.stem,
                model_inputs=inputs,
                model_outputs=outputs,
            )

    def _steps(self, runs: list[RunRecord]) -> None:
        for member, doc in steps.build_steps(runs, self.file_map):
            text, _ = sanitize.scrub_text(steps.dumps(doc).decode("utf-8"))
            self._add_bytes(
                member, text.encode("utf-8"), kind="step", description="qgis_process JSON input of a recorded run"
            )

    def _project(self, tree: ET.ElementTree, runs: list[RunRecord]) -> None:
        qgsxml.set_relative_paths(tree)
        qgsxml.sync_layer_tree_sources(tree)
        runs_json, _ = sanitize.scrub_text(json.dumps([r.to_dict() for r in runs], ensure_ascii=False))
        qgsxml.write_entry(tree, "DTFL", "runs", runs_json)
        qgsxml.write_entry(tree, "DTFL", "recipe_id", self.recipe_id)
        self.warnings += grids.attach(tree, lambda m, p: self._add(m, p, kind="grid", description="PROJ datum grid"))
        report = sanitize.sanitize(tree)
        for finding in report.findings:
            self.warnings.append(finding.message)
        self._add_bytes(
            PROJECT_MEMBER,
            qgsxml.project_bytes(tree),
            kind="project",
            name=self._name(),
            description="QGIS project with relative paths",
        )

    def _crate(self, runs: list[RunRecord]) -> str:
        crate = CrateBuilder(
            self.recipe_id, self._name(), self.o.description or f"DTFL recipe of {self._name()}", self.created
        )
        licences = {e.licence for e in self.entries if e.licence} | {s.licence for s in self.services if s.licence}
        crate.set_author(current_user())
        crate.set_licence(self.o.licence or (licences.pop() if len(licences) == 1 else ""))
        if self.o.area is not None:
            crate.set_area(*self.o.area)
        if self.o.cooked_from:
            crate.set_based_on(self.o.cooked_from)
        for service in self.services:  # first: a snapshot file's isBasedOn refers to its service entity
            crate.add_service(service)
        for entry in self.entries:
            crate.add_file(entry)
        ids = dict(self.file_map)
        for run_index, run in enumerate(runs, start=1):
            crate.add_run(run_index, run, steps.step_name(run_index, run.algorithm_id), ids)
        return secrets.relative_json(crate.to_json(), self.o.project.parent)  # no sender folder paths


def pack(options: PackOptions, progress: Progress | None = None) -> PackResult:
    return _Packer(options, progress or Progress()).run()
