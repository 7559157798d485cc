"""The demo's job inside one QGIS process (offscreen): every step goes through the plugin's own code paths.

Catalogue harvest and search (Processing algorithms), layer loading (layers.load.create_layer, as the
dock's double click does), recorded runs that read the sandbox services (clip the AHN COG, extract the
3D buildings from OGC API Features, bathtub screening locally and on the remote OGC API - Processes
server), a signed recipe, its verification, re-cooking on area B, a map image and a 3D image.
"""

from __future__ import annotations

import json
from pathlib import Path

AREA_A = ((84812.0, 447416.0, 84938.0, 447638.0), "EPSG:28992")  # west half of the Delft sample
AREA_B = ((84942.0, 447416.0, 85070.0, 447638.0), "EPSG:28992")  # east half
PASSPHRASE = "demo-wachtwoord"


def extent_string(area) -> str:
    (xmin, ymin, xmax, ymax), crs = area
    return f"{xmin!r},{xmax!r},{ymin!r},{ymax!r} [{crs}]"


class Job:
    def __init__(self, demo, out: Path) -> None:
        import qgis_app

        self.demo = demo
        self.out = out
        self.endpoints = demo.endpoints
        qgis_app.start(out / "profile")
        from qgis.core import QgsCoordinateReferenceSystem, QgsProject

        from dtfl_plugin import settings

        settings.apply_endpoints(self.endpoints)
        self.project = QgsProject.instance()
        self.project.setCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
        self.index = out / "catalogue.sqlite"
        # Catalogue harvests and searches are bookkeeping of the session, not steps of the twin: they are
        # recorded in a private project so the twin's recipe re-cooks only the data and model steps.
        from qgis.core import QgsProcessingContext

        self.scratch = QgsProject()
        self.scratch_context = QgsProcessingContext()
        self.scratch_context.setProject(self.scratch)
        self.layers: dict[str, object] = {}
        self.work = out / "work"
        self.work.mkdir()

    # --- catalogue ---
    def harvest(self) -> str:
        import processing

        from dtfl_plugin.catalogue.algorithms.catalogue_import import KINDS

        total = 0
        for kind, url in (("csw", self.endpoints["csw"]), ("pdok-layers", self.endpoints["pdok_layers"])):
            result = processing.run(
                "dtfl:catalogue_import",
                {"SOURCE": url, "KIND": list(KINDS).index(kind), "INDEX": str(self.index)},
                context=self.scratch_context,
            )
            total += int(result["RECORDS"])
        return f"{total} catalogue entries harvested from the sandbox CSW and PDOK layer list"

    def search(self, query: str, want_name: str, want_type: str):
        import processing

        from dtfl_plugin.catalogue.index import CatalogueIndex

        out = self.out / f"search-{want_name}.json"
        processing.run(
            "dtfl:catalogue_search",
            {"QUERY": query, "LIMIT": 10, "INDEX": str(self.index), "OUTPUT": str(out)},
            context=self.scratch_context,
        )
        hits = json.loads(out.read_text(encoding="utf-8"))
        for rank, item in enumerate(hits, 1):
            # One row per dataset: the demo picks the service it wants among the row's choices, as a user does.
            for choice in [item, *item.get("services", [])]:
                url = choice.get("service_url", item["service_url"])
                if want_name in (choice["name"], url.rsplit("/", 1)[-1]) and choice["service_type"] == want_type:
                    return CatalogueIndex(self.index).get(choice["id"]), rank
        raise RuntimeError(f"search '{query}' did not find {want_name} ({want_type}) among {len(hits)} results")

    def find_and_load(self) -> str:
        from dtfl_plugin.layers.load import add_to_project, create_layer

        wanted = [
            ("3d gebouwen delft hoogte", "gebouwen_3d", "OGC API Features"),
            ("ahn maaiveld hoogtemodel", "ahn3_delft_dtm_1m.cog.tif", "COG"),
            ("ahn puntenwolk", "ept.json", "EPT"),
            ("bgt waterdeel", "bgt_waterdeel", "WMS"),
            ("3d gebouwen delft cityjson", "delft_3dfier.city.json", "CityJSON"),
        ]
        found = []
        for query, name, service_type in wanted:
            entry, rank = self.search(query, name, service_type)
            layer = add_to_project(create_layer(entry), self.project)
            self.layers[name] = layer
            found.append(f"'{query}' → {entry.title} [{service_type}] #{rank}")
        from dtfl_plugin.layers.render import TERRAIN_KEY

        self.project.writeEntry(*TERRAIN_KEY, self.layers["ahn3_delft_dtm_1m.cog.tif"].id())
        return "; ".join(found)

    # --- recorded steps ---
    def steps(self, area, folder: Path) -> list[tuple[str, dict]]:
        dem_url = self.layers["ahn3_delft_dtm_1m.cog.tif"].source()
        buildings = self.layers["gebouwen_3d"].source()
        folder.mkdir(parents=True, exist_ok=True)
        return [
            ("dtfl:raster_from_service", {"SOURCE": dem_url, "PROVIDER": 0, "EXTENT": extent_string(area), "OUTPUT": str(folder / "dem.tif")}),
            ("native:extractbyextent", {"INPUT": f"oapif://{buildings}", "EXTENT": extent_string(area), "CLIP": False, "OUTPUT": str(folder / "gebouwen.gpkg")}),
            ("dtfl:bathtub_flooding", {"DEM": str(folder / "dem.tif"), "EVENT": 0, "RAIN_MM": 70.0, "LOSS_MM": 5.0, "LANDCOVER": None, "BUILDINGS": str(folder / "gebouwen.gpkg"), "MIN_DEPTH": 0.05, "OUTPUT_DEPTH": str(folder / "waterdiepte.tif"), "OUTPUT_DEPRESSIONS": str(folder / "laagtes.gpkg"), "OUTPUT_BUILDINGS": str(folder / "gebouwen_nat.gpkg")}),
        ]  # fmt: skip

    def run_local(self) -> str:
        from qgis.core import QgsRasterLayer, QgsVectorLayer

        from dtfl_plugin.provenance.store import append_run
        from dtfl_plugin.recipe.runner import run_and_record

        results = {}
        for alg_id, params in self.steps(AREA_A, self.work / "a"):
            results, record = run_and_record(alg_id, params, area=AREA_A)
            append_run(self.project, record)
        from dtfl_plugin.models.styles import style_water_depth

        depth = QgsRasterLayer(results["OUTPUT_DEPTH"], "Waterdiepte T100 (screening)", "gdal")
        style_water_depth(depth)
        wet = QgsVectorLayer(results["OUTPUT_BUILDINGS"], "Gebouwen met water tegen de gevel", "ogr")
        # The area's buildings as extracted by the recorded step (a file): the 3D view shows these, the
        # OGC API layer they came from stays in the project, hidden, as the service reference.
        area_buildings = QgsVectorLayer(str(self.work / "a" / "gebouwen.gpkg"), "Gebouwen gebied A", "ogr")
        # In 3D the CityJSON model shows the buildings (roofs and walls at their real heights); the 2D
        # footprint layers stay in the project for the map and the steps.
        tree = self.project.layerTreeRoot()
        tree.findLayer(self.layers["gebouwen_3d"].id()).setItemVisibilityChecked(False)
        self.layers["area_buildings"] = area_buildings
        for layer in (area_buildings, depth, wet):
            if not layer.isValid():
                raise RuntimeError(f"output {layer.name()} is not a valid layer")
            self.project.addMapLayer(layer)
        tree.findLayer(area_buildings.id()).setItemVisibilityChecked(False)
        tree.findLayer(wet.id()).setItemVisibilityChecked(False)
        self.layers["depth"] = depth
        # The buildings output has every building; "wet" says which have water against the facade.
        if "wet" not in wet.fields().names():
            raise RuntimeError("the buildings output has no 'wet' field")
        n_wet = sum(1 for f in wet.getFeatures() if f["wet"])
        return f"3 runs recorded; {n_wet} of {wet.featureCount()} buildings with water against the facade"

    def run_remote(self) -> str:
        import processing

        processing.run("dtfl:remote_refresh", {"SERVER": "sandbox"}, context=self.scratch_context)
        folder = self.work / "remote"
        result = processing.run(
            "dtfl:remote_execute",
            {
                "SERVER": "sandbox",
                "PROCESS": "bathtub",
                "INPUTS": json.dumps(
                    {
                        "dem": {"href": self.layers["ahn3_delft_dtm_1m.cog.tif"].source().replace("/vsicurl/", "")},
                        "event": "T100",
                        "loss_mm": 5,
                    }
                ),
                "OUTPUT": str(folder),
            },
        )
        return f"job {result['JOB_URL']} → {len(json.loads(result['FILES']))} result files"

    def save(self) -> str:
        path = self.out / "twin.qgs"
        if not self.project.write(str(path)):
            raise RuntimeError(f"could not save {path}")
        return str(path.relative_to(self.out.parent))

    # --- recipe ---
    def package(self) -> str:
        import processing

        keys = self.out / "keys"
        processing.run(
            "dtfl:recipe_keygen",
            {
                "OUTPUT_PRIVATE": str(keys / "demo.key"),
                "OUTPUT_PUBLIC": str(keys / "demo.pub"),
                "PASSPHRASE": PASSPHRASE,
                "TRUST": True,
            },
        )
        self.recipe = self.out / "delft-west.dtfl.zip"
        processing.run(
            "dtfl:recipe_package",
            {"PROJECT": str(self.out / "twin.qgs"), "OUTPUT": str(self.recipe), "SIGNING_KEY": str(keys / "demo.key"),
             "PASSPHRASE": PASSPHRASE, "AREA": extent_string(AREA_A), "EMBED": 0},
        )  # fmt: skip
        return f"{self.recipe.name} ({self.recipe.stat().st_size // 1024} KiB, signed)"

    def verify(self, recipe: Path) -> str:
        import processing

        report = self.out / f"{recipe.name}.verify.json"
        processing.run(
            "dtfl:recipe_verify",
            {"RECIPE": str(recipe), "TRUSTED_KEYS": str(self.out / "keys" / "demo.pub"), "OUTPUT": str(report)},
        )
        verdict = json.loads(report.read_text(encoding="utf-8"))
        if not verdict["valid"] or verdict["signature"] != "valid":
            raise RuntimeError(f"{recipe.name} did not verify: {verdict}")
        return f"{recipe.name}: valid, signature valid, {len(verdict.get('problems', []))} problems"

    def cook(self) -> str:
        import processing

        self.cooked = self.out / "delft-oost.dtfl.zip"
        processing.run(
            "dtfl:recipe_cook",
            {"RECIPE": str(self.recipe), "EXTENT": extent_string(AREA_B), "OUTPUT": str(self.cooked),
             "SIGNING_KEY": str(self.out / "keys" / "demo.key"), "PASSPHRASE": PASSPHRASE},
        )  # fmt: skip
        return self.verify(self.cooked)

    # --- images ---
    def map_image(self) -> str:
        from qgis.core import QgsMapRendererParallelJob, QgsMapSettings, QgsRectangle
        from qgis.PyQt.QtCore import QSize
        from qgis.PyQt.QtGui import QColor

        settings = QgsMapSettings()
        order = [
            self.layers[k]
            for k in ("area_buildings", "depth", "bgt_waterdeel", "ahn3_delft_dtm_1m.cog.tif")
            if k in self.layers
        ]
        settings.setLayers(order)
        settings.setDestinationCrs(self.project.crs())
        (xmin, ymin, xmax, ymax), _ = AREA_A
        settings.setExtent(QgsRectangle(xmin, ymin, xmax, ymax))
        settings.setOutputSize(QSize(1000, 1000))
        settings.setBackgroundColor(QColor("white"))
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        path = self.out / "twin-map.png"
        job.renderedImage().save(str(path))
        return str(path.relative_to(self.out.parent))

    def render_3d(self) -> str:
        import processing

        path = self.out / "twin-3d.png"
        processing.run(
            "dtfl:render_3d_view",
            {"PROJECT": str(self.out / "twin.qgs"), "EXTENT": extent_string(AREA_A), "PITCH": 55.0, "YAW": 20.0,
             "WIDTH": 1280, "HEIGHT": 800, "OUTPUT": str(path)},
        )  # fmt: skip
        return str(path.relative_to(self.out.parent))

    def close(self) -> None:
        import qgis_app

        qgis_app.stop()


def run_job(demo, out: Path) -> None:
    job = Job(demo, out)
    try:
        demo.step("Harvest the national catalogue (CSW 2.0.2 + PDOK layer list)", job.harvest)
        demo.step("Search and load Delft buildings, terrain, point cloud, water", job.find_and_load)
        demo.step("Flood screening, local (clip AHN, extract buildings, bathtub T100)", job.run_local)
        demo.step("Flood screening, remote (OGC API - Processes)", job.run_remote)
        demo.step("Save the twin project", job.save)
        demo.step("Package a signed recipe (area A)", job.package)
        demo.step("Verify the recipe", job.verify, job.recipe)
        demo.step("Re-cook the recipe on area B and verify it", job.cook)
        demo.step("Render a map image", job.map_image)
        demo.step("Render a 3D image", job.render_3d)
        from demo_publish import publish_web

        demo.step("Publish the twin as a web page (T100/T250/T1000)", publish_web, job, AREA_A, extent_string(AREA_A))
    finally:
        job.close()
