"""The QGIS project for qgis_mapserver: a spec from sandbox.datasets, built by qgis_project.py in Debian's Python."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from ..datasets import DATASETS
from ..endpoints import metadata_url
from ..paths import QGIS_PYTHON, cached
from . import geodata

_SCRIPT = Path(__file__).with_name("qgis_project.py")


def spec(endpoints: dict, features: Path) -> dict:
    layers = []
    for ds in DATASETS:
        if not (ds.wms or ds.wfs or ds.wmts or ds.wcs):
            continue
        if ds.key == "ahn_dtm":
            source = {"kind": "raster", "source": str(geodata.DTM)}
        elif ds.key in geodata.BGT_LAYERS:
            source = {"kind": "vector", "source": str(geodata.GPKG), "layer": ds.key}
        else:
            source = {"kind": "vector", "source": str(features / f"{ds.key}.gpkg"), "layer": ds.key}
        layers.append(
            {
                **source,
                "key": ds.key,
                "uuid": ds.uuid,
                "title": ds.title,
                "abstract": ds.abstract,
                "keywords": list(ds.keywords),
                "licence": f"{ds.licence['name']} ({ds.licence['label']})",
                "licence_url": ds.licence["url"],
                "attribution": ds.attribution or f"{ds.organisation['name']}, {ds.licence['name']}",
                "metadata_url": metadata_url(endpoints, ds.uuid),
                "wms": ds.wms,
                "wfs": ds.wfs,
                "wmts": ds.wmts,
                "wcs": ds.wcs,
            }
        )
    # Top of the map first: buildings over roads over water over green over terrain.
    order = ["gebouwen_3d", "bgt_pand", "bgt_wegdeel", "bgt_waterdeel", "bgt_begroeidterreindeel", "ahn_dtm"]
    layers.sort(key=lambda x: order.index(x["key"]) if x["key"] in order else -1, reverse=True)
    return {
        "service": {
            "title": "DTFL sandbox: BGT en AHN Delft",
            "abstract": "Lokale WMS/WMTS/WFS/WCS (QGIS Server) met BGT-objecten en het AHN3-maaiveldmodel van een "
            "testgebied in Delft, als oefenomgeving voor de DTFL-plugin.",
            "keywords": ["BGT", "AHN", "Delft", "sandbox", "infoMapAccessService"],
            "organisation": "Kadaster",
            "person": "Beheer PDOK (sandbox)",
            "email": "beheerpdok@kadaster.nl",
            "fees": "CC0 (BGT, AHN); CC BY 4.0 (gebouwen_3d: naamsvermelding tudelft3d)",
            "access_constraints": "Geen beperkingen",
        },
        "layers": layers,
    }


def build_project(endpoints: dict, features: Path) -> Path:
    """Path of the .qgs for these endpoints; built once per spec (cached)."""
    data = json.dumps(spec(endpoints, features), indent=1, sort_keys=True)

    def _build(out: Path) -> None:
        (out / "spec.json").write_text(data)
        proc = subprocess.run(
            [str(QGIS_PYTHON), str(_SCRIPT), str(out / "spec.json"), str(out / "sandbox.qgs")],
            capture_output=True,
            text=True,
            env={
                "QT_QPA_PLATFORM": "offscreen",
                "PATH": "/usr/bin:/bin",
                "HOME": str(out),
                "QGIS_CUSTOM_CONFIG_PATH": str(out / "profile"),
            },  # fmt: skip
            timeout=120,
        )
        if proc.returncode != 0 or not (out / "sandbox.qgs").is_file():
            raise RuntimeError(f"building the QGIS project failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")

    folder = cached("qgis-project", [data, _SCRIPT, _SCRIPT.with_name("palette.py"), geodata.GPKG, geodata.DTM], _build)
    return folder / "sandbox.qgs"
