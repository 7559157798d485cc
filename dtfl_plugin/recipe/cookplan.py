"""The plan of a re-cook, checked before anything runs and shown to the user.

A recipe's steps are written by whoever sent it. A step may only:

- run an algorithm from an allow-list of algorithms that read their inputs and write new outputs
  (no settings, keys, trust, model servers, downloads, SQL consoles, in-place edits such as spatial
  indexes, overviews or gdal:assignprojection, scripts);
  a Processing model passes when every algorithm inside it does;
- read files inside the unpacked recipe (its data, or an earlier step's output) and the recipe's
  declared services; layer parameters may not name anything else (also no layer of the user's own
  project, which Processing would look up by name);
- write only into the re-cook's output folder (destinations are always replaced);
- carry no path, URL or file-reading function in any other value either: GDAL creation options and
  extra arguments (``--config``, ``--optfile``, ``@file``), SQL and expressions are checked like layer
  sources (references.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..i18n import tr
from ..provenance.layer_props import source_file
from .references import Scope, problem, urls_in

# algorithms that transform data: inputs in, new outputs out, nothing else touched
ALLOWED_ALGORITHMS = frozenset(
    {f"native:{a}" for a in (
        "clip", "extractbyextent", "extractbyattribute", "extractbyexpression", "extractbylocation", "buffer",
        "reprojectlayer", "fixgeometries", "dissolve", "intersection", "difference", "union", "symmetricaldifference",
        "centroids", "pointonsurface", "simplifygeometries", "smoothgeometry", "mergevectorlayers",
        "joinattributestable", "joinattributesbylocation", "joinbynearest", "fieldcalculator", "refactorfields",
        "retainfields", "deletecolumn", "renametablefield", "addautoincrementalfield", "countpointsinpolygon",
        "zonalstatisticsfb", "zonalstatistics", "multiparttosingleparts", "collect", "polygonstolines",
        "linestopolygons", "explodelines", "boundary", "convexhull", "orientedminimumboundingbox", "densifygeometries",
        "deleteduplicategeometries", "dropgeometries", "dropmzvalues", "setzvalue", "setmvalue", "snapgeometries",
        "removenullgeometries", "fixgeometries", "splitwithlines", "lineintersections", "voronoipolygons",
        "delaunaytriangulation", "createconstantrasterlayer", "rastercalc", "rastercalculator", "reclassifybytable",
        "reclassifybylayer", "rasterlayerstatistics", "rasterlayeruniquevaluesreport", "slope", "aspect",
        "hillshade", "ruggednessindex", "fillnodata", "roundrastervalues", "rasterize", "pixelstopoints",
        "pixelstopolygons", "aggregate", "statisticsbycategories", "basicstatisticsforfields",
        "heatmapkerneldensityestimation", "translategeometry", "affinetransform", "assignprojection",
        "extractvertices", "extractspecificvertices", "interpolatepoint", "pointsalonglines", "randompointsinpolygons",
        "sumlinelengths", "hublines", "meancoordinates", "polygonize",
    )} | {f"qgis:{a}" for a in (
        "clip", "extractbyattribute", "extractbyexpression", "fieldcalculator", "heatmapkerneldensityestimation",
        "idwinterpolation", "tininterpolation", "linestopolygons", "rastercalculator", "statisticsbycategories",
        "basicstatisticsforfields",
    )} | {f"gdal:{a}" for a in (
        "cliprasterbyextent", "cliprasterbymasklayer", "warpreproject", "translate", "hillshade", "slope",
        "aspect", "fillnodata", "rasterize", "contour", "contour_polygon", "merge", "buildvirtualraster",
        "rastercalculator", "proximity", "sieve", "polygonize", "gridinversedistance", "gridlinear", "gridaverage",
        "gridnearestneighbor", "tri", "tpitopographicpositionindex", "roughness", "colorrelief", "clipvectorbyextent", "clipvectorbypolygon", "buffervectors", "dissolve",
        "convertformat",
    )} | {"dtfl:bathtub_flooding", "dtfl:cityjson_import", "dtfl:raster_from_service"}
)  # fmt: skip
# Remote models (OGC API - Processes) run on a server the *receiver* configured; the recipe only names it. Adding or
# refreshing servers changes settings and is never part of a re-cook.
REMOTE_MODELS = "dtfl:remote_"
NOT_REMOTE_MODELS = frozenset({"dtfl:remote_server", "dtfl:remote_refresh"})
LAYER_TYPES = {"source", "vector", "raster", "layer", "multilayer", "file", "mesh", "pointcloud", "vectortile"}
_GDAL_ARGS = ("--config", "--optfile", "--debug")


@dataclass
class PlannedStep:
    order: int
    algorithm: str
    title: str
    parameters: dict
    problems: list[str] = field(default_factory=list)


@dataclass
class CookPlan:
    steps: list[PlannedStep]
    services: list[str]
    output_folder: Path

    @property
    def problems(self) -> list[str]:
        return [f"{tr('Step {n}').format(n=s.order)} ({s.algorithm}): {p}" for s in self.steps for p in s.problems]

    def lines(self) -> list[str]:
        """The plan in the user's words: what runs, on what, where it writes, which services it reads."""
        out = [tr("Re-cook plan: {n} step(s), outputs written only to {folder}").format(
            n=len(self.steps), folder=self.output_folder)]  # fmt: skip
        for step in self.steps:
            inputs = ", ".join(f"{k}={_short(v)}" for k, v in step.parameters.items())
            out.append(f"{step.order}. {step.title} ({step.algorithm}): {inputs}")
            out += [f"   ! {p}" for p in step.problems]
        for url in self.services:
            out.append(tr("Reads the service {url}").format(url=url))
        return out


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def algorithm_problem(algorithm_id: str, _depth: int = 0) -> str:
    """'' when the algorithm may run in a re-cook, else why not (translated)."""
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    if alg is None:
        return tr("the algorithm '{id}' is not available in this QGIS").format(id=algorithm_id)
    children = getattr(alg, "childAlgorithms", None)
    if callable(children) and algorithm_id not in ALLOWED_ALGORITHMS and _depth < 5:
        for child in children().values():
            reason = algorithm_problem(child.algorithmId(), _depth + 1)
            if reason:
                return tr("the model runs {child}: {reason}").format(child=child.algorithmId(), reason=reason)
        return ""
    if algorithm_id.startswith(REMOTE_MODELS) and algorithm_id not in NOT_REMOTE_MODELS:
        return ""
    if algorithm_id not in ALLOWED_ALGORITHMS:
        return tr("'{id}' is not an algorithm that only transforms data; re-cooking does not run it").format(
            id=algorithm_id
        )
    return ""


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def without_provider(text: str) -> str:
    """A layer given as ``provider://uri`` (the qgis_process form steps are written in) without its provider key."""
    from qgis.core import QgsProviderRegistry

    head, sep, rest = text.partition("://")
    if sep and head.lower() in {key.lower() for key in QgsProviderRegistry.instance().providerList()}:
        return rest
    return text


def value_problem(name: str, kind: str, value, scope: Scope, produced: set[str]) -> str:
    """Why one parameter value reaches outside the recipe, or ''."""
    for text in _strings(value):
        if not text or text in produced:
            continue
        if kind in LAYER_TYPES:
            text = without_provider(text)
            path = source_file(text)
            reason = problem(text, scope)
            if reason:
                return f"{name}: {reason}"
            if not urls_in(text, 1) and not (scope.inside(path) and Path(path).exists()):
                return tr("{name}: '{value}' is not a file of the recipe").format(name=name, value=_short(text))
            continue
        reason = problem(text, scope)
        if not reason and any(arg in text for arg in _GDAL_ARGS):
            reason = tr("GDAL arguments that change its configuration")
        if not reason and any(part.startswith("@") for part in text.split()):
            reason = tr("a GDAL argument file")
        if reason:
            return f"{name}: {reason}"
    return ""


def _unknown_server(step: PlannedStep) -> str:
    """dtfl:remote_execute names its server: it must be one the receiver configured (a name, never a URL)."""
    if step.algorithm != "dtfl:remote_execute":
        return ""
    from ..errors import DtflError
    from ..models.remote import servers

    name = str(step.parameters.get("SERVER", "")).strip()
    try:
        servers.get(name)
    except DtflError:
        return tr("SERVER: '{name}' is not a model server you configured").format(name=_short(name))
    return ""


def check_step(step: PlannedStep, scope: Scope, produced: set[str], destinations: set[str], out_dir: Path) -> None:
    """Fill ``step.problems`` (in place). ``produced``: outputs of earlier steps; ``out_dir``: where steps write."""
    from qgis.core import QgsApplication

    reason = algorithm_problem(step.algorithm)
    if reason:
        step.problems.append(reason)
        return
    alg = QgsApplication.processingRegistry().algorithmById(step.algorithm)
    step.title = alg.displayName()
    server = _unknown_server(step)
    if server:
        step.problems.append(server)
    kinds = {d.name(): d.type() for d in alg.parameterDefinitions()}
    for name, value in step.parameters.items():
        if name not in kinds:
            step.problems.append(tr("{name}: not a parameter of this algorithm").format(name=name))
        elif name in destinations:
            if not Scope(out_dir, out_dir).inside(source_file(str(value))):
                step.problems.append(tr("{name}: writes outside the output folder").format(name=name))
        else:
            reason = value_problem(name, kinds[name], value, scope, produced)
            if reason:
                step.problems.append(reason)
