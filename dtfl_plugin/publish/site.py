"""Write the site: ``index.html``, ``data/`` (map layers, 3D scene, provenance) and the vendored libraries.

Everything is written into a hidden folder next to OUTPUT and moved into place at the end, so a failed or
cancelled run leaves the previous site (or nothing) behind, never half a site. An existing OUTPUT is only
replaced when it is empty or a site DTFL wrote before (marker file); any other folder is left alone.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from qgis.core import QgsRasterLayer, QgsRectangle

from ..errors import PublishError
from ..i18n import tr
from ..recipe.progress import Progress
from . import export3d, page
from .export2d import export_layer
from .origin import layer_origin
from .scenarios import Scenario, find_scenarios
from .snapshot import ProjectSnap, default_extent
from .text import PageText

MARKER = ".dtfl-site"
# Colour of a building in 3D by the water against its facade: (upper limit in m or None, colour); light to dark.
FACADE_CLASSES = [[0.05, "#dcdad2"], [0.15, "#fdd49e"], [0.3, "#fc8d59"], [1.0, "#d7301f"], [None, "#7f0000"]]
STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class PublishOptions:
    output: Path
    title: str = ""
    language: str = "nl"
    extent: QgsRectangle | None = None  # in the project's CRS
    recipe: Path | None = None  # a recipe file to verify and cite


@dataclass
class PublishResult:
    output: Path
    layers: int = 0
    buildings: int = 0
    scenarios: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def _check_output(output: Path) -> None:
    if output.exists() and (not output.is_dir() or (any(output.iterdir()) and not (output / MARKER).is_file())):
        raise PublishError(
            tr(
                "The folder {path} already holds other files. Choose an empty folder, or a site published before."
            ).format(path=output)
        )


def _swap_into_place(tmp: Path, output: Path) -> None:
    old = None
    if output.exists():
        old = output.with_name(f".{output.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        output.rename(old)
    tmp.rename(output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def publish(snap: ProjectSnap, options: PublishOptions, progress: Progress | None = None) -> PublishResult:
    progress = progress or Progress()
    output = Path(options.output)
    _check_output(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        result = _write(snap, options, tmp, progress)
        if progress.is_cancelled():
            raise PublishError(tr("Publishing was cancelled; nothing was written."))
        (tmp / MARKER).write_text("DTFL published site\n", encoding="utf-8")
        result.bytes = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        _swap_into_place(tmp, output)
        result.output = output
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write(snap: ProjectSnap, options: PublishOptions, root: Path, progress: Progress) -> PublishResult:
    text = PageText(options.language)
    extent = options.extent if options.extent is not None and not options.extent.isEmpty() else default_extent(snap)
    if extent.isNull() or extent.isEmpty():
        raise PublishError(tr("The project has no layer with an extent to publish; add layers or give an extent."))
    result = PublishResult(output=options.output)
    data = root / "data"
    data.mkdir()
    shutil.copytree(STATIC, root / "static", ignore=shutil.ignore_patterns("*.md", "__pycache__"))
    shutil.copy2(STATIC / "vendor" / "VENDOR.md", root / "static" / "vendor" / "VENDOR.md")
    origins = [layer_origin(item, snap, text) for item in snap.layers]
    layers = {item.id: item.layer for item in snap.layers}
    scenarios = find_scenarios(origins, layers, text, [r.id for r in snap.runs])
    progress.set_percent(5.0)
    map_layers = []
    for number, item in enumerate(snap.layers):
        if progress.is_cancelled():
            return result
        progress.info(tr("Publishing layer {name}…").format(name=item.name))
        try:
            entry = export_layer(item, number, extent, snap.crs, snap.transform_context, data, result.warnings.append)
        except Exception as err:  # noqa: BLE001 - one unreadable layer (service down, bad file) must not stop the site
            result.warnings.append(tr("Layer {name} was left out: {error}").format(name=item.name, error=err))
            continue
        if entry is not None:
            for row in entry["legend"]:
                row["label"] = text.any(row["label"])
            entry["scenario"] = next((s.id for s in scenarios if item.id in s.rasters + s.buildings), "")
            map_layers.append(entry)
        progress.set_percent(5.0 + 55.0 * (number + 1) / max(len(snap.layers), 1))
    result.layers = len(map_layers)
    scene = _scene(snap, extent, scenarios, data, result, progress)
    recipe = _recipe(snap, options, text)
    site = {
        "title": options.title or snap.title or text.tr("Digital twin"),
        "lang": text.language,
        "bounds": _wgs_bounds(extent, snap),
        "layers": map_layers,
        "scenarios": [{"id": s.id, "label": s.label} for s in scenarios],
        "scene": scene,
    }
    (data / "site.json").write_text(json.dumps(site, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    page.write_index(root / "index.html", site, origins, scenarios, recipe, text, snap)
    result.scenarios = len(scenarios)
    progress.set_percent(100.0)
    return result


def _wgs_bounds(extent: QgsRectangle, snap: ProjectSnap) -> list[float]:
    from qgis.core import QgsCoordinateTransform

    from .export2d import WGS84

    box = QgsCoordinateTransform(snap.crs, WGS84, snap.transform_context).transformBoundingBox(extent)
    return [round(v, 7) for v in (box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum())]


def _dem(snap: ProjectSnap, scenario_layers: set[str]):
    chosen = snap.layer(snap.terrain_id)
    if chosen is not None and isinstance(chosen.layer, QgsRasterLayer):
        return chosen.layer
    for item in snap.layers:
        layer = item.layer
        if isinstance(layer, QgsRasterLayer) and item.id not in scenario_layers and layer.bandCount() == 1:
            if layer.providerType() in ("gdal", "wcs"):
                return layer
    return None


def _scene(snap, extent, scenarios: list[Scenario], data: Path, result: PublishResult, progress: Progress) -> dict:
    scenario_ids = {lid for s in scenarios for lid in s.rasters + s.buildings}
    dem = _dem(snap, scenario_ids)
    crs = export3d.scene_crs(snap.crs, dem)
    from qgis.core import QgsCoordinateTransform

    frame_extent = QgsCoordinateTransform(snap.crs, crs, snap.transform_context).transformBoundingBox(extent)
    frame = export3d.Frame(frame_extent, crs, snap.transform_context)
    scene: dict = {"width": round(frame_extent.width(), 2), "height": round(frame_extent.height(), 2),
                   "facade_classes": FACADE_CLASSES}  # fmt: skip
    heights = None
    if dem is not None:
        scene["terrain"] = export3d.terrain_grid(dem, frame, data / "terrain.bin")
        heights = export3d.read_grid(data / "terrain.bin")
    progress.set_percent(65.0)
    builders = [i for i in snap.layers if i.visible and i.id not in scenario_ids and export3d.is_3d_buildings(i.layer)]
    if not builders:  # the buildings a model run wrote values for, with their heights or (unknown) 3 m high
        made = [lid for s in scenarios for lid in s.buildings]
        builders = [snap.layer(lid) for lid in made if export3d.is_3d_buildings(snap.layer(lid).layer)][:1]
        builders = builders or [snap.layer(lid) for lid in made][:1]
    base_layers = [i.layer for i in snap.layers if i.visible and i.id not in scenario_ids and i not in builders]
    if base_layers and export3d.drape(base_layers, frame, data / "drape.png", opaque=True):
        scene["drape"] = "drape.png"
    scene["flood"] = {}
    for scenario in scenarios:
        if progress.is_cancelled():
            return scene
        rasters = [snap.layer(lid).layer for lid in scenario.rasters]
        if rasters and export3d.drape(rasters, frame, data / f"flood-{scenario.id}.png"):
            scene["flood"][scenario.id] = f"flood-{scenario.id}.png"
    progress.set_percent(80.0)
    writer = export3d.BuildingWriter(frame, scene.get("terrain"), heights)
    for item in builders:
        writer.add_layer(item.layer, frame_extent)
    value_fields = scenario_value_fields(scenarios, snap)
    for scenario in scenarios:
        for lid in scenario.buildings:
            if value_fields.get(lid):
                writer.join(scenario.id, snap.layer(lid).layer, value_fields[lid])
    if writer.items:
        result.buildings = writer.write(data / "buildings.json")
        scene["buildings"] = "buildings.json"
        labels = next((value_fields[lid] for lid in value_fields if value_fields[lid]), [])
        scene["scenario_fields"] = labels
    progress.set_percent(95.0)
    return scene


def scenario_value_fields(scenarios: list[Scenario], snap: ProjectSnap) -> dict[str, list[str]]:
    """Per scenario building layer, the numeric fields the model computed: those whose values differ between
    scenarios (inputs are the same in every run); with one scenario, the fields after the last input field."""
    from .scenario_fields import computed_fields

    layers = {lid: snap.layer(lid).layer for s in scenarios for lid in s.buildings}
    scenario_ids = {lid for s in scenarios for lid in s.rasters + s.buildings}
    others = [i.layer for i in snap.layers if i.id not in scenario_ids and hasattr(i.layer, "fields")]
    return computed_fields(scenarios, layers, others)


def _recipe(snap: ProjectSnap, options: PublishOptions, text: PageText) -> dict:
    from .recipe_info import recipe_info

    return recipe_info(snap.recipe_id, options.recipe, text)
