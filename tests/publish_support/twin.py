"""A Delft twin built the way `make demo` builds it, from ../shared/data and without the sandbox.

Source layers carry the facts the catalogue gives when it loads them (organisation, licence, time read);
three bathtub screenings (T100, T250, T1000) are recorded runs of the project, their outputs are layers;
the CityJSON LoD1 model is the 3D buildings layer; the project is saved and packaged as a signed recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EVENTS = ("T100", "T250", "T1000")
PASSPHRASE = "publish-test"
# Facts as the sandbox catalogue lists these datasets (sandbox/datasets.py): what the layers room stores.
FACTS = {
    "dem": (
        "AHN3 maaiveldmodel Delft (DTM 1 m)",
        "Rijkswaterstaat",
        "https://creativecommons.org/publicdomain/zero/1.0/deed.nl",
    ),
    "cityjson": (
        "3D gebouwen Delft met hoogtes (LoD1)",
        "TU Delft 3D geoinformation",
        "https://creativecommons.org/licenses/by/4.0/deed.nl",
    ),
    "pand": ("BGT panden Delft", "Kadaster", "https://creativecommons.org/publicdomain/zero/1.0/deed.nl"),
    "water": ("BGT waterdelen Delft", "Kadaster", "https://creativecommons.org/publicdomain/zero/1.0/deed.nl"),
}


@dataclass
class Twin:
    project_file: Path
    recipe: Path | None
    folder: Path
    layer_names: dict[str, str] = field(default_factory=dict)


def _source(layer, key: str, path: str) -> None:
    from dtfl_plugin.provenance.layer_props import LayerSource, set_layer_source
    from dtfl_plugin.provenance.record import now_iso

    title, org, licence = FACTS[key]
    set_layer_source(layer, LayerSource(title=title, organisation=org, licence=licence, service_type="file",
                                        service_url="", loaded_at=now_iso(), name=Path(path).name))  # fmt: skip


def _add(project, layer, visible: bool = True):
    if not layer.isValid():
        raise RuntimeError(f"layer {layer.name()} is not valid: {layer.source()}")
    project.addMapLayer(layer)
    project.layerTreeRoot().findLayer(layer.id()).setItemVisibilityChecked(visible)
    return layer


def _bathtub(project, base: Path, folder: Path, index: int, event: str) -> tuple[str, str]:
    from dtfl_plugin.provenance.store import append_run
    from dtfl_plugin.recipe.runner import run_and_record

    run = folder / event
    run.mkdir(parents=True, exist_ok=True)
    params = {"DEM": str(base / "derived/ahn3_delft_dtm_1m_filled.tif"), "EVENT": index, "LOSS_MM": 5.0,
              "BUILDINGS": f"{base / 'bgt/bgt_delft.gpkg'}|layername=bgt_pand", "MIN_DEPTH": 0.02,
              "OUTPUT_DEPTH": str(run / "waterdiepte.tif"), "OUTPUT_DEPRESSIONS": str(run / "laagtes.gpkg"),
              "OUTPUT_BUILDINGS": str(run / "gebouwen_nat.gpkg")}  # fmt: skip
    results, record = run_and_record("dtfl:bathtub_flooding", params)
    append_run(project, record)
    return results["OUTPUT_DEPTH"], results["OUTPUT_BUILDINGS"]


def build_twin(shared: Path, folder: Path, *, recipe: bool = True, events=EVENTS) -> Twin:
    """Build, save and (optionally) package the twin in ``folder``; Processing must be initialised."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRasterLayer, QgsVectorLayer
    from qgis.PyQt.QtGui import QColor

    from dtfl_plugin.layers.cityjson_layer import cityjson_layer, cityjson_to_gpkg
    from dtfl_plugin.models.styles import style_water_depth

    base = shared / "3d"
    folder.mkdir(parents=True, exist_ok=True)
    project = QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
    project.setTitle("Delft: wateroverlast bij hevige regen")
    # added bottom first: QGIS puts each new layer on top
    gpkg_bgt = base / "bgt/bgt_delft.gpkg"
    dem = _add(project, QgsRasterLayer(str(base / "derived/ahn3_delft_dtm_1m_filled.tif"), "Hoogte (AHN3)", "gdal"))
    _source(dem, "dem", dem.source())
    pand = _add(project, QgsVectorLayer(f"{gpkg_bgt}|layername=bgt_pand", "Panden (BGT)", "ogr"), visible=False)
    _source(pand, "pand", str(gpkg_bgt))
    water = _add(project, QgsVectorLayer(f"{gpkg_bgt}|layername=bgt_waterdeel", "Water (BGT)", "ogr"))
    water.renderer().symbol().setColor(QColor("#8fb8de"))  # styled as a person would: water is blue
    _source(water, "water", str(gpkg_bgt))
    gpkg, _count, _ = cityjson_to_gpkg(base / "cityjson/delft_3dfier.city.json", folder / "gebouwen_3d.gpkg")
    buildings = _add(project, cityjson_layer(gpkg, "3D gebouwen (LoD1)"))
    _source(buildings, "cityjson", str(gpkg))
    names = {}
    for number, event in enumerate(events):
        depth_path, wet_path = _bathtub(project, base, folder / "runs", ("T100", "T250", "T1000").index(event), event)
        depth = QgsRasterLayer(depth_path, f"Waterdiepte {event} (screening)", "gdal")
        style_water_depth(depth)
        _add(project, depth, visible=number == 0)
        _add(project, QgsVectorLayer(wet_path, f"Gebouwen met water tegen de gevel {event}", "ogr"), visible=False)
        names[event] = depth.name()
    project.writeEntry("dtfl", "terrain_layer", dem.id())
    project_file = folder / "twin.qgs"
    if not project.write(str(project_file)):
        raise RuntimeError(f"could not save {project_file}")
    names.update(dem=dem.name(), buildings=buildings.name(), water=water.name())
    return Twin(project_file, _package(project_file, folder) if recipe else None, folder, names)


def _package(project_file: Path, folder: Path) -> Path:
    import processing

    keys = folder / "keys"
    processing.run("dtfl:recipe_keygen", {"OUTPUT_PRIVATE": str(keys / "twin.key"), "OUTPUT_PUBLIC": str(keys / "twin.pub"),
                                         "PASSPHRASE": PASSPHRASE, "TRUST": True})  # fmt: skip
    recipe = folder / "delft.dtfl.zip"
    processing.run("dtfl:recipe_package", {"PROJECT": str(project_file), "OUTPUT": str(recipe), "EMBED": 0,
                                           "SIGNING_KEY": str(keys / "twin.key"), "PASSPHRASE": PASSPHRASE})  # fmt: skip
    return recipe
