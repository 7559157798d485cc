"""dtfl:load_3dbag against the sandbox's file server: tile index -> 3DBAG CityJSON tiles -> one styled layer."""

from __future__ import annotations

import json

import pytest
from qgis.core import QgsProcessingException, QgsVectorLayer


def test_tiles_for_extent_reads_the_index(shared_data, tmp_path):
    from dtfl_plugin.layers import bag3d

    index = shared_data / "3d/tile_index/bag3d_tiles_den_haag_delft.geojson"
    tiles = bag3d.tiles_for_extent(index, (84994.0, 446535.0, 85022.0, 446562.0))
    assert tiles and all(t.isdigit() for t in tiles)
    assert bag3d.tiles_for_extent(index, (0.0, 0.0, 10.0, 10.0)) == []
    hostile = tmp_path / "index.geojson"
    ring = [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]
    hostile.write_text(
        json.dumps(
            {
                "features": [
                    {"properties": {"tile_id": "../../etc/passwd"}, "geometry": {"coordinates": [ring]}},
                    {"properties": {"tile_id": "7"}, "geometry": {"coordinates": "x"}},
                    {"properties": {"tile_id": "8"}, "geometry": {"coordinates": [ring]}},
                ]
            }
        )
    )
    assert bag3d.tiles_for_extent(hostile, (1.0, 1.0, 2.0, 2.0)) == ["8"]  # odd ids and broken entries skipped


def test_load_3dbag_from_the_sandbox(processing_ready, sandbox, shared_data, tmp_path):
    import processing

    extent = "84994,85022,446535,446562 [EPSG:28992]"
    common = {
        "EXTENT": extent,
        "INDEX": str(shared_data / "3d/tile_index/bag3d_tiles_den_haag_delft.geojson"),
        "TILE_URL": sandbox["files"] + "/3dbag/tiles/{tile_id}.city.json",
    }
    out = tmp_path / "bag_2.2.gpkg"
    result = processing.run("dtfl:load_3dbag", {**common, "LOD": 2, "OUTPUT": str(out)})
    layer = QgsVectorLayer(f"{out}|layername=cityobjects", "bag", "ogr")
    assert layer.isValid() and layer.featureCount() == result["FEATURES"] > 0
    assert {f["lod"] for f in layer.getFeatures()} == {"2.2"}
    ids = [f["id"] for f in layer.getFeatures() if f["surface"] == "RoofSurface"]
    assert len(ids) == len(set(ids))  # two tiles carry the sample: each building once
    assert result["TILES"] == 2
    # The shared 3DBAG sample carries LoD 2.2 only: another LoD is an empty, valid layer (and a warning).
    empty = processing.run("dtfl:load_3dbag", {**common, "LOD": 0, "OUTPUT": str(tmp_path / "bag_1.2.gpkg")})
    assert empty["FEATURES"] == 0
    surfaces = {f["surface"] for f in layer.getFeatures()}
    assert {"RoofSurface", "WallSurface"} <= surfaces
    with pytest.raises(QgsProcessingException, match="Netherlands"):
        processing.run(
            "dtfl:load_3dbag", {**common, "EXTENT": "0,10,0,10 [EPSG:28992]", "OUTPUT": str(tmp_path / "none.gpkg")}
        )
    assert not (tmp_path / "none.gpkg").exists()
