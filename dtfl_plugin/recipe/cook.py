"""Re-cook a recipe on another area.

The recipe is verified and unpacked safely first. Then every recorded step is re-run in order
through Processing (any provider), with: the area parameters replaced by the new extent, inputs
that were outputs of an earlier step replaced by that step's new output, recipe files resolved
in the unpacked folder, outputs written afresh. Service layers that were snapshotted are read
again for the new extent. The project keeps its styles and 3D views; layers that showed a step's
output show the new output. The result is a new recipe whose root ``isBasedOn`` (and every run's
``cooked_from``) names the recipe it was cooked from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import RecipeError
from ..i18n import tr
from ..provenance.layer_props import source_file
from ..provenance.record import RunRecord
from . import confine, qgsxml, sign
from .cookplan import CookPlan, PlannedStep, check_step
from .crate import slug
from .open import unpack
from .pack import PackOptions, pack
from .progress import Progress
from .references import Scope, problem, urls_in
from .runner import run_and_record

SNAPSHOT_OF = "dtfl/snapshot_of"
SERVICE_PROVIDERS = qgsxml.SERVICE_PROVIDERS


@dataclass
class CookResult:
    output: Path
    recipe_id: str
    based_on: str
    runs: list[RunRecord] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # "NNN:OUTPUT_NAME" -> new file
    warnings: list[str] = field(default_factory=list)
    plan: CookPlan | None = None


def extent_text(area) -> str:
    (xmin, ymin, xmax, ymax), crs = area
    return f"{xmin!r},{xmax!r},{ymin!r},{ymax!r} [{crs}]"


def _destination_names(algorithm_id: str) -> dict[str, str]:
    """Destination parameters of an algorithm with the file extension they default to."""
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    if alg is None:
        raise RecipeError(
            tr("The algorithm '{id}' is not available in this QGIS; install the plugin that provides it.").format(
                id=algorithm_id
            )
        )
    names = {}
    for definition in alg.destinationParameterDefinitions():
        ext = definition.defaultFileExtension() if hasattr(definition, "defaultFileExtension") else ""
        names[definition.name()] = f".{ext}" if ext else ""
    return names


def _resolve(value, folder: Path, members: list[str]):
    if isinstance(value, str):
        for member in members:
            if value == member or value.startswith(member + "|"):
                return str(folder / member) + value[len(member) :]
        return value
    if isinstance(value, list):
        return [_resolve(v, folder, members) for v in value]
    return value


def step_parameters(doc: dict, folder: Path, area, produced: dict[str, str], out_dir: Path, members: list[str]) -> dict:
    """The parameters to re-run one recorded step on the new area."""
    meta = doc.get("dtfl", {})
    order = int(meta.get("order", 0))
    destinations = _destination_names(doc["algorithm"])
    params = {}
    for name, value in doc.get("inputs", {}).items():
        link = meta.get("links", {}).get(name)
        if link:
            key = f"{int(link['step']):03d}:{link['output']}"
            if key not in produced:
                raise RecipeError(
                    tr("Step {n} needs an output of step {m} that was not produced.").format(n=order, m=link["step"])
                )
            params[name] = produced[key]
        elif name in meta.get("area_parameters", []):
            params[name] = extent_text(area)
        elif name in destinations and value not in (None, ""):
            suffix = (
                Path(source_file(str(value))).suffix if isinstance(value, str) and value != "TEMPORARY_OUTPUT" else ""
            )
            params[name] = str(out_dir / f"{order:03d}-{slug(name)}{suffix or destinations[name] or '.tif'}")
        else:
            params[name] = _resolve(value, folder, members)
    return params


def _step_documents(folder: Path, result: CookResult) -> list[dict]:
    """The recorded steps that completed, in order (a failed one is skipped with a warning)."""
    docs = []
    for step in sorted(folder.glob("steps/*.json")):
        try:
            doc = json.loads(step.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise RecipeError(tr("Step {name} cannot be read: {error}").format(name=step.name, error=err)) from err
        if not isinstance(doc, dict) or not isinstance(doc.get("algorithm"), str):
            raise RecipeError(tr("Step {name} names no algorithm.").format(name=step.name))
        if doc.get("dtfl", {}).get("status", "completed") != "completed":
            result.warnings.append(tr("Step {name} had failed when recorded; it is skipped.").format(name=step.name))
            continue
        docs.append(doc)
    return docs


def make_plan(docs: list[dict], folder: Path, area, out_dir: Path, members: list[str], services: list[str]) -> CookPlan:
    """Every step with the parameters it will get, checked; outputs of earlier steps are their planned files."""
    scope = Scope(folder, folder, services)
    simulated: dict[str, str] = {}
    steps = []
    for index, doc in enumerate(docs):
        order = int(doc.get("dtfl", {}).get("order", index + 1))
        step = PlannedStep(order, doc["algorithm"], doc["algorithm"], {})
        try:
            step.parameters = step_parameters(doc, folder, area, simulated, out_dir, members)
            destinations = set(_destination_names(doc["algorithm"]))
        except (RecipeError, TypeError, ValueError, AttributeError) as err:
            step.problems.append(str(err))
            steps.append(step)
            continue
        check_step(step, scope, set(simulated.values()), destinations, out_dir)
        for name in destinations:
            if isinstance(step.parameters.get(name), str):
                simulated[f"{order:03d}:{name}"] = step.parameters[name]
        steps.append(step)
    return CookPlan(steps, list(services), out_dir)


def _members(folder: Path) -> list[str]:
    files = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    return sorted(files, key=len, reverse=True)


def cook(
    recipe: str | Path,
    area,
    output: str | Path,
    workdir: str | Path,
    *,
    trusted: list[tuple[str, sign.PublicKey]] | None = None,
    allow_untrusted: bool = False,
    secret_key: sign.SecretKey | None = None,
    progress: Progress | None = None,
    context=None,
    feedback=None,
    confirm: Callable[[CookPlan], bool] | None = None,
    plan_only: bool = False,
) -> CookResult:
    """Re-run the recipe's steps on ``area``. The plan (cookplan.py) is checked before anything runs and
    shown through ``progress.info``; ``confirm`` may still say no after seeing it; ``plan_only`` stops there
    (the result carries the plan, nothing ran, nothing was written)."""
    progress = progress or Progress()
    workdir = Path(workdir)
    opened = unpack(recipe, workdir / "recipe", trusted=trusted, allow_untrusted=allow_untrusted)
    folder = opened.folder
    based_on = opened.report.recipe_id
    out_dir = folder / "cooked"
    out_dir.mkdir()
    members = _members(folder)
    result = CookResult(Path(output), "", based_on)
    docs = _step_documents(folder, result)
    plan = make_plan(docs, folder, area, out_dir, members, confine.declared_services(folder))
    result.plan = plan
    for line in plan.lines():
        progress.info(line)
    if plan.problems:
        raise RecipeError(
            tr("The recipe's steps were refused; nothing was run:") + "\n" + "\n".join(plan.problems),
            detail="; ".join(plan.problems),
        )
    if plan_only:
        return result
    if confirm is not None and not confirm(plan):
        raise RecipeError(tr("Re-cooking was cancelled; no recipe was written."))
    scope = Scope(folder, folder, plan.services)
    replaced: dict[str, str] = {}  # original output member -> new output path
    for index, (doc, planned) in enumerate(zip(docs, plan.steps)):
        if progress.is_cancelled():
            raise RecipeError(tr("Re-cooking was cancelled; no recipe was written."))
        meta = doc.get("dtfl", {})
        params = step_parameters(doc, folder, area, result.outputs, out_dir, members)
        again = PlannedStep(planned.order, planned.algorithm, planned.title, params)
        check_step(again, scope, set(result.outputs.values()), set(_destination_names(doc["algorithm"])), out_dir)
        if again.problems:  # an earlier step's actual output differs from the plan: check it again
            raise RecipeError(tr("The recipe's steps were refused:") + "\n" + "\n".join(again.problems))
        progress.info(tr("Re-running step {n}: {alg}").format(n=meta.get("order", index + 1), alg=doc["algorithm"]))
        results, record = run_and_record(doc["algorithm"], params, context, feedback, area=area, cooked_from=based_on)
        result.runs.append(record)
        for name, value in results.items():
            if isinstance(value, str) and value:
                result.outputs[f"{int(meta.get('order', index + 1)):03d}:{name}"] = value
                old = meta.get("outputs", {}).get(name, "")
                if old:
                    replaced[old] = value
        progress.set_percent(80.0 * (index + 1) / max(1, len(docs)))
    project, snapshots = _cooked_project(opened.project, replaced, result.runs, scope)
    packed = pack(
        PackOptions(
            project=project,
            output=Path(output),
            secret_key=secret_key,
            area=area,
            embed_services=snapshots,
            name=f"{opened.project.stem} re-cooked",
            description=f"Re-cooked from {based_on} on {extent_text(area)}",
            cooked_from=based_on,
        ),
        Progress(lambda p: progress.set_percent(80 + p * 0.2), progress.is_cancelled, progress.info),
    )
    result.recipe_id = packed.recipe_id
    result.warnings += packed.warnings
    return result


def _cooked_project(project: Path, replaced: dict[str, str], runs: list[RunRecord], scope: Scope) -> tuple[Path, bool]:
    """The unpacked project with step outputs swapped for the new ones and the new runs recorded.

    Written beside the unpacked project so its relative paths stay valid."""
    tree = qgsxml.read_project_xml(project)
    snapshots = False
    for layer in qgsxml.layers(tree):
        raw = source_file(layer.datasource)
        if raw.startswith("../"):
            member = raw[3:]
            if member in replaced:
                layer.set_datasource(replaced[member])
                continue
        snapshot = qgsxml.custom_property(layer.element, SNAPSHOT_OF)
        if snapshot:
            try:
                origin = json.loads(snapshot)
            except ValueError:
                continue
            source = str(origin.get("datasource", ""))
            if (
                str(origin.get("provider", "")) not in SERVICE_PROVIDERS
                or not urls_in(source, 1)
                or problem(source, scope)
            ):
                continue  # only a declared service is read again
            snapshots = True
            layer.set_datasource(source)
            node = layer.element.find("provider")
            if node is not None:
                node.text = origin.get("provider", "")
    qgsxml.write_entry(tree, "DTFL", "runs", json.dumps([r.to_dict() for r in runs], ensure_ascii=False))
    out = project.with_name("cooked.qgs")
    qgsxml.write_project_xml(tree, out)
    return out, snapshots
