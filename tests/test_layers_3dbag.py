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
    from qgis.core import QgsProject

    try:
        _load_and_check(processing, sandbox, shared_data, tmp_path)
    finally:
        # Results land in the open project with a 3D style; QGIS 3.40 crashes at exit when such a layer
        # outlives the 3D registry in a bare test process (the desktop tears down in the right order).
        QgsProject.instance().removeAllMapLayers()


def _load_and_check(processing, sandbox, shared_data, tmp_path):
    extent = "84994,85022,446535,446562 [EPSG:28992]"
    common = {
        "EXTENT": extent,
        "INDEX": str(shared_data / "3d/tile_index/bag3d_tiles_den_haag_delft.geojson"),
        "TILE_URL": sandbox["files"] + "/3dbag/tiles/{tile_id}.city.json",
    }
    out = tmp_path / "bag_2.2.gpkg"
    result = processing.run("dtfl:load_3dbag", {**common, "LOD": 2, "OUTPUT": str(out)})
    _check_layer(str(out), result["FEATURES"])
    assert result["TILES"] == 2
    # The shared 3DBAG sample carries LoD 2.2 only: another LoD is an empty, valid layer (and a warning).
    empty = processing.run("dtfl:load_3dbag", {**common, "LOD": 0, "OUTPUT": str(tmp_path / "bag_1.2.gpkg")})
    assert empty["FEATURES"] == 0
    with pytest.raises(QgsProcessingException, match="Netherlands"):
        processing.run(
            "dtfl:load_3dbag", {**common, "EXTENT": "0,10,0,10 [EPSG:28992]", "OUTPUT": str(tmp_path / "none.gpkg")}
        )
    assert not (tmp_path / "none.gpkg").exists()


def _check_layer(path: str, features: int) -> None:
    layer = QgsVectorLayer(f"{path}|layername=cityobjects", "bag", "ogr")
    assert layer.isValid() and layer.featureCount() == features > 0
    rows = [(f["id"], f["lod"], f["surface"]) for f in layer.getFeatures()]
    del layer  # closed before the next run writes GeoPackages
    assert {lod for _, lod, _ in rows} == {"2.2"}
    assert {"RoofSurface", "WallSurface"} <= {surface for _, _, surface in rows}
    roofs = [object_id for object_id, _, surface in rows if surface == "RoofSurface"]
    assert len(roofs) == len(set(roofs))  # two tiles carry the sample: each building once
