"""3DBAG for a map area: tile index -> CityJSON tiles (downloaded, cached) -> one merged, styled layer.

3DBAG publishes its buildings as CityJSON tiles; a tile index (GeoJSON polygons with a ``tile_id``)
says which tile covers which area. We take the tiles that touch the extent, download each once into
a cache (HTTP through net.py: streamed, size-capped, cancellable), read only the buildings inside the
extent at the chosen LoD, drop buildings that two tiles both carry, and write one GeoPackage with
the CityJSON record fields, so it gets the one CityJSON style (roofs, walls, ground).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeedback,
    QgsVectorFileWriter,
)

from ..compat import WKB_MULTIPOLYGONZ
from ..errors import LayerError
from ..i18n import tr
from .cityjson_layer import gpkg_target, open_reader, record_fields, write_records

LODS = ("1.2", "1.3", "2.2")
# The tile index's ids ("143") are those of 3DBAG's tiled CityJSON downloads; {tile_id} is filled in.
DEFAULT_TILE_URL = "https://data.3dbag.nl/cityjson/v21031_7425c21b/3dbag_v21031_7425c21b_{tile_id}.json"
INDEX_CRS = "EPSG:28992"
TILE_CRS = "EPSG:7415"  # RD New + NAP heights
_TILE_ID = re.compile(r"^[A-Za-z0-9_\-/]{1,64}$")
MAX_TILE_BYTES = 2 << 30


def tiles_for_extent(index_path: str | Path, extent: tuple[float, float, float, float]) -> list[str]:
    """Ids of the index tiles whose polygon's bounding box touches ``extent`` (RD New)."""
    try:
        index = json.loads(Path(index_path).read_text(encoding="utf-8"))
        features = index["features"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise LayerError(
            tr("Cannot read the 3DBAG tile index {path}: {reason}").format(path=index_path, reason=err)
        ) from err
    found = []
    for feature in features:
        try:
            ring = feature["geometry"]["coordinates"][0]
            tile_id = str(feature["properties"]["tile_id"])
            xs, ys = [float(p[0]) for p in ring], [float(p[1]) for p in ring]
        except (KeyError, TypeError, ValueError, IndexError):
            continue  # a damaged index entry covers nothing
        if not _TILE_ID.match(tile_id) or ".." in tile_id:
            continue  # ids become URL and file names: only plain ones
        if min(xs) <= extent[2] and max(xs) >= extent[0] and min(ys) <= extent[3] and max(ys) >= extent[1]:
            found.append(tile_id)
    return found


def tile_url(template: str, tile_id: str) -> str:
    if "{tile_id}" not in template:
        raise LayerError(tr("The 3DBAG tile address must contain {{tile_id}}: {url}").format(url=template))
    return template.replace("{tile_id}", tile_id)


def fetch_tiles(tile_ids: list[str], template: str, cache: Path, feedback: QgsFeedback | None = None) -> list[Path]:
    """Download the tiles not yet in ``cache``; progress runs 0-50 %. Cancel stops between and inside tiles."""
    from .. import net

    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, tile_id in enumerate(tile_ids):
        if feedback is not None and feedback.isCanceled():
            break
        target = cache / f"{tile_id.replace('/', '-')}.city.json"
        if not target.is_file():
            net.download(tile_url(template, tile_id), target, feedback=feedback, max_bytes=MAX_TILE_BYTES)
        paths.append(target)
        if feedback is not None:
            feedback.setProgress(50.0 * (number + 1) / max(1, len(tile_ids)))
    return paths


class _Unique:
    """Records of buildings not seen before (neighbouring tiles may both carry a building on the border)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.owner: dict[str, int] = {}

    def filter(self, records, tile: int):
        for record in records:
            first = self.owner.setdefault(record.id, tile)
            if first == tile:
                yield record


def merge_tiles(
    paths: list[Path], destination: str | Path, extent, lod: str, feedback: QgsFeedback | None = None
) -> int:
    """Buildings of ``paths`` inside ``extent`` at ``lod`` into one GeoPackage (atomic); returns features written."""
    target, tmp, options = gpkg_target(destination)
    fields = record_fields()
    unique = _Unique()
    cancelled = feedback.isCanceled if feedback is not None else (lambda: False)
    written = 0
    try:
        writer = QgsVectorFileWriter.create(
            tmp,
            fields,
            WKB_MULTIPOLYGONZ,
            QgsCoordinateReferenceSystem(TILE_CRS),
            QgsCoordinateTransformContext(),
            options,
        )
        if writer.hasError() != QgsVectorFileWriter.WriterError.NoError:
            raise LayerError(tr("Cannot create {path}: {reason}").format(path=target, reason=writer.errorMessage()))
        for number, path in enumerate(paths):
            reader = open_reader(path, extent=extent, lod=lod)
            written += write_records(unique.filter(reader, number), writer, fields, cancelled)
            if feedback is not None:
                feedback.setProgress(50.0 + 50.0 * (number + 1) / max(1, len(paths)))
            if cancelled():
                break
        del writer
        if cancelled():
            raise LayerError(tr("Cancelled."))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
