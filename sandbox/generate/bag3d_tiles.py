"""3DBAG CityJSON tiles for the sandbox's file server, generated from the shared 3DBAG samples.

The shared tile index (3dbag-api test resources: 5 km tiles with ids such as "143") says which tile
covers which area. Each shared 3DBAG CityJSON sample is written as the tile(s) its extent falls in,
``<tile_id>.city.json``, so the plugin's "3DBAG for this map area" fetches real 3DBAG CityJSON
(LoD 0, 1.2, 1.3, 2.2) over HTTP by tile id, as it would from data.3dbag.nl. No qgis here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

SAMPLES = ("3dbag_b2.city.json",)  # 3DBAG's own CityJSON (cjseq): every LoD 3DBAG publishes


def _extent(path: Path) -> tuple[float, float, float, float]:
    data = json.loads(path.read_text(encoding="utf-8"))
    extent = (data.get("metadata") or {}).get("geographicalExtent")
    if extent:
        return extent[0], extent[1], extent[3], extent[4]
    scale, translate = data["transform"]["scale"], data["transform"]["translate"]
    xs = [v[0] * scale[0] + translate[0] for v in data["vertices"]]
    ys = [v[1] * scale[1] + translate[1] for v in data["vertices"]]
    return min(xs), min(ys), max(xs), max(ys)


def tiles_covering(index: dict, box: tuple[float, float, float, float]) -> list[str]:
    found = []
    for feature in index["features"]:
        ring = feature["geometry"]["coordinates"][0]
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        if min(xs) <= box[2] and max(xs) >= box[0] and min(ys) <= box[3] and max(ys) >= box[1]:
            found.append(str(feature["properties"]["tile_id"]))
    return found


def build(shared_3d: Path, out: Path) -> Path:
    """Write the tile files into ``out`` (idempotent); returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    index = json.loads((shared_3d / "tile_index" / "bag3d_tiles_den_haag_delft.geojson").read_text(encoding="utf-8"))
    for name in SAMPLES:
        sample = shared_3d / "cityjson" / name
        for tile_id in tiles_covering(index, _extent(sample)):
            target = out / f"{tile_id}.city.json"
            if not target.is_file() or target.stat().st_size != sample.stat().st_size:
                shutil.copyfile(sample, target)
    return out
