"""The end of `make demo`: the twin as a web page for residents, in demo-output/web/.

Two more stress-test rain events (T250, T1000) are screened on area A like T100 was, recorded as runs of the
project, so the page's scenario switch compares three; then dtfl:publish_web writes the site (Dutch), citing
and verifying the signed recipe.
"""

from __future__ import annotations


def publish_web(job, area, extent: str) -> str:
    import processing
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    from dtfl_plugin.models.styles import style_water_depth
    from dtfl_plugin.provenance.store import append_run
    from dtfl_plugin.recipe.runner import run_and_record

    tree = job.project.layerTreeRoot()
    for index, event in ((1, "T250"), (2, "T1000")):
        _alg, params = job.steps(area, job.work / "a")[-1]  # the bathtub step, same DEM and buildings
        folder = job.work / f"a-{event}"
        folder.mkdir(exist_ok=True)
        params = dict(params, EVENT=index, OUTPUT_DEPTH=str(folder / "waterdiepte.tif"),
                      OUTPUT_DEPRESSIONS=str(folder / "laagtes.gpkg"), OUTPUT_BUILDINGS=str(folder / "gebouwen_nat.gpkg"))  # fmt: skip
        results, record = run_and_record("dtfl:bathtub_flooding", params, area=area)
        append_run(job.project, record)
        depth = QgsRasterLayer(results["OUTPUT_DEPTH"], f"Waterdiepte {event} (screening)", "gdal")
        style_water_depth(depth)
        wet = QgsVectorLayer(results["OUTPUT_BUILDINGS"], f"Gebouwen met water tegen de gevel {event}", "ogr")
        for layer in (depth, wet):
            job.project.addMapLayer(layer)
            tree.findLayer(layer.id()).setItemVisibilityChecked(False)
    site = job.out / "web"
    result = processing.run(
        "dtfl:publish_web",
        {"PROJECT": "", "EXTENT": extent, "TITLE": "Delft: water op straat na een hevige bui", "LANGUAGE": 0,
         "RECIPE": str(job.recipe), "OUTPUT": str(site)},
    )  # fmt: skip
    rel = site.relative_to(job.out.parent)
    return (
        f"{rel}/ ({result['LAYERS']} layers, {result['BUILDINGS']} buildings, {result['SCENARIOS']} scenarios, "
        f"{result['BYTES'] // 1024} KiB). Open it: python3 -m http.server -d {rel} 8000, then http://127.0.0.1:8000/"
    )
