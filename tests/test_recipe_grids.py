"""Datum grids travel: a recipe whose layers need PROJ grids (RD New / NAP <-> ETRS89) names them, carries them
when the sender has them, and opening warns when the receiver lacks them; a recipe that needs none says nothing."""

from __future__ import annotations

import json
import zipfile

import pytest

RD_GRID = "nl_nsgi_rdtrans2018.tif"


def _project(folder, points_gpkg: bytes, *, service: bool, crs: str = "EPSG:28992"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "points.gpkg").write_bytes(points_gpkg)
    wms = (
        "<maplayer type='raster'><id>wms_1</id><layername>luchtfoto</layername><provider>wms</provider>"
        "<datasource>crs=EPSG:4258&amp;format=image/png&amp;layers=x&amp;styles=&amp;url=https://service.example/wms</datasource>"
        "<srs><spatialrefsys><authid>EPSG:4258</authid></spatialrefsys></srs></maplayer>"
        if service
        else ""
    )
    xml = f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16"><projectCrs><spatialrefsys><authid>{crs}</authid></spatialrefsys></projectCrs>
<projectlayers><maplayer type="vector" geometry="Point"><id>p_1</id><layername>points</layername><provider>ogr</provider>
<datasource>./points.gpkg|layername=points</datasource><srs><spatialrefsys><authid>{crs}</authid></spatialrefsys></srs></maplayer>
{wms}</projectlayers><properties><Paths><Absolute type="bool">false</Absolute></Paths></properties></qgis>"""
    path = folder / "twin.qgs"
    path.write_text(xml, encoding="utf-8")
    return path


@pytest.fixture
def proj_dirs(tmp_path, monkeypatch):
    """The sender's and the receiver's PROJ folders (the grid file is a stand-in: its bytes are not read)."""
    from dtfl_plugin.recipe import grids

    sender, receiver = tmp_path / "proj-sender", tmp_path / "proj-receiver"
    sender.mkdir()
    receiver.mkdir()
    (sender / RD_GRID).write_bytes(b"II*\x00stand-in grid")
    current = {"dirs": [sender]}
    monkeypatch.setattr(grids, "search_paths", lambda: list(current["dirs"]))
    return current, sender, receiver


def test_grid_named_carried_and_missing_one_warned(tmp_path, points_gpkg, recipe_key, proj_dirs, qgis_app):
    from dtfl_plugin.recipe.open import unpack
    from dtfl_plugin.recipe.pack import PackOptions, pack

    current, sender, receiver = proj_dirs
    project = _project(tmp_path / "twin", points_gpkg, service=True)
    packed = pack(PackOptions(project=project, output=tmp_path / "g.dtfl.zip", secret_key=recipe_key))
    with zipfile.ZipFile(packed.output) as zf:
        assert f"data/grids/{RD_GRID}" in zf.namelist()
        qgs = zf.read("project/recipe.qgs").decode()
    assert RD_GRID in qgs

    current["dirs"] = [receiver]  # the receiver lacks it
    opened = unpack(packed.output, tmp_path / "open", trusted=[("k", recipe_key.public)])
    warned = [f for f in opened.findings if f.kind == "grid"]
    assert [f.where for f in warned] == [RD_GRID] and "carries it" in warned[0].message, opened.messages()
    assert str(receiver) in warned[0].message

    (receiver / RD_GRID).write_bytes(b"II*\x00")  # installed: no more warning
    again = unpack(packed.output, tmp_path / "open2", trusted=[("k", recipe_key.public)])
    assert not [f for f in again.findings if f.kind == "grid"]


def test_grid_named_when_sender_lacks_it(tmp_path, points_gpkg, proj_dirs, qgis_app):
    from dtfl_plugin.recipe.pack import PackOptions, pack

    current, _sender, receiver = proj_dirs
    current["dirs"] = [receiver]
    project = _project(tmp_path / "twin", points_gpkg, service=True)
    packed = pack(PackOptions(project=project, output=tmp_path / "g.dtfl.zip"))
    assert any(RD_GRID in w and "not carried" in w for w in packed.warnings), packed.warnings
    with zipfile.ZipFile(packed.output) as zf:
        assert not [n for n in zf.namelist() if n.startswith("data/grids/")]
        from dtfl_plugin.recipe import qgsxml

        tree = qgsxml.parse_project_bytes(zf.read("project/recipe.qgs"))
    recorded = json.loads(qgsxml.read_entry(tree, "DTFL", "grids"))
    assert recorded == [{"name": RD_GRID, "member": "", "url": f"https://cdn.proj.org/{RD_GRID}"}]


@pytest.mark.parametrize(
    ("codes", "common", "expected"),
    [
        ({"28992"}, False, []),  # everything in RD New, nothing transformed
        ({"28992", "4258"}, False, [RD_GRID]),
        ({"7415"}, True, ["nl_nsgi_nlgeo2018.tif", RD_GRID]),  # RD New + NAP height in 3D
        ({"4326", "3857"}, True, []),
    ],
)
def test_grids_from_projs_database(codes, common, expected, qgis_app):
    from dtfl_plugin.recipe.grids import needed_grids

    assert needed_grids(codes, common) == expected


def test_no_grid_no_warning(tmp_path, points_gpkg, proj_dirs, qgis_app):
    from dtfl_plugin.recipe.pack import PackOptions, pack

    project = _project(tmp_path / "twin", points_gpkg, service=False)
    packed = pack(PackOptions(project=project, output=tmp_path / "g.dtfl.zip"))
    assert not [w for w in packed.warnings if "grid" in w]
