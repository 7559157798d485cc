"""Stale services in a project: layers (by their dtfl/source property or their source URI) whose service the
re-harvested catalogue no longer lists at that URL, with the replacement that has the same dataset id."""

from __future__ import annotations

import json

import pytest

OLD = "https://geodata.nationaalgeoregister.nl/kadastralekaart/wmts/v4_0"
NEW = "https://service.pdok.nl/kadaster/kadastralekaart/wmts/v5_0"


@pytest.mark.parametrize(
    "provider, uri, expected",
    [
        (
            "wms",
            "contextualWMSLegend=0&crs=EPSG:28992&dpiMode=7&format=image/png&layers=Kadastralekaart"
            "&styles=default&tileMatrixSet=EPSG:28992&url=" + OLD + "?request%3DGetCapabilities",
            (OLD + "?request=GetCapabilities", "Kadastralekaart"),
        ),
        (
            "WFS",
            "pagingEnabled='true' srsname='EPSG:28992' typename='bestuurlijkegebieden:Gemeentegebied' "
            "url='https://service.pdok.nl/kadaster/bestuurlijkegebieden/wfs/v1_0' version='auto'",
            ("https://service.pdok.nl/kadaster/bestuurlijkegebieden/wfs/v1_0", "bestuurlijkegebieden:Gemeentegebied"),
        ),
        (
            "wcs",
            "identifier=ahn3_05m_dtm&url=https://geodata.nationaalgeoregister.nl/ahn3/wcs",
            ("https://geodata.nationaalgeoregister.nl/ahn3/wcs", "ahn3_05m_dtm"),
        ),
    ],
)
def test_parse_source_uri(provider, uri, expected):
    from dtfl_plugin.catalogue.stale import parse_source_uri

    assert parse_source_uri(provider, uri) == expected


@pytest.fixture()
def moved_index(qgis_app, tmp_path, shared_data):
    """An index that saw the 2022 PDOK list, then a re-harvest where the Kadastralekaart WMTS moved."""
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex

    records = json.loads((shared_data / "catalogue/pdok-layers/layers-pdok-2022.json").read_text("utf-8"))
    idx = CatalogueIndex(tmp_path / "i.sqlite")
    first = tmp_path / "first.json"
    first.write_text(json.dumps(records))
    harvest(SourceConfig("pdok-layers", str(first), "pdok"), idx)
    next(r for r in records if r["name"] == "Kadastralekaart")["service_url"] = NEW + "?request=GetCapabilities"
    second = tmp_path / "second.json"
    second.write_text(json.dumps(records))
    harvest(SourceConfig("pdok-layers", str(second), "pdok"), idx)
    yield idx
    idx.close()


def test_project_layers_by_property_and_by_uri(moved_index, qgis_new_project):
    from qgis.core import QgsProject, QgsVectorLayer

    from dtfl_plugin.catalogue.stale import find_stale
    from dtfl_plugin.gui.catalogue.stale import project_layer_refs
    from dtfl_plugin.provenance.layer_props import LayerSource, set_layer_source

    project = QgsProject.instance()
    # A layer DTFL loaded (memory stand-in: only its dtfl/source property matters to the check).
    tagged = QgsVectorLayer("Point?crs=EPSG:28992", "Kadastrale kaart (DTFL)", "memory")
    set_layer_source(tagged, LayerSource(service_url=OLD, name="Kadastralekaart", service_type="WMTS"))
    current = QgsVectorLayer("Point?crs=EPSG:28992", "BGT pastel", "memory")
    set_layer_source(
        current, LayerSource(service_url="https://service.pdok.nl/lv/bgt/wmts/v1_0", name="pastelvisualisatie")
    )
    project.addMapLayers([tagged, current])
    refs = {r.layer_name: r for r in project_layer_refs(project)}
    assert refs["Kadastrale kaart (DTFL)"].service_url == OLD and refs["BGT pastel"].name == "pastelvisualisatie"
    stale = find_stale(list(refs.values()), moved_index)
    assert [s.ref.layer_id for s in stale] == [tagged.id()]
    assert stale[0].status == "moved" and stale[0].replacement.service_url == NEW
    assert stale[0].changes and stale[0].changes[0]["kind"] == "changed"


def test_dataset_id_alone_finds_replacement_when_url_never_listed(moved_index):
    from dtfl_plugin.catalogue.stale import LayerRef, find_stale

    entry = moved_index.search("kadastralekaart", 1)[0].entry
    # A layer whose URL the catalogue never listed, but DTFL recorded its dataset id: not evidence of a move.
    ref = LayerRef("x", "k", "https://example.org/mirror/wmts", "Kadastralekaart", dataset_id=entry.dataset_id)
    assert find_stale([ref], moved_index) == []
    # Its record id, though, is known to the catalogue at another URL: that is the replacement.
    ref.record_id = entry.id
    ref.service_url = OLD
    (stale,) = find_stale([ref], moved_index)
    assert stale.replacement.id == entry.id


def test_the_replacement_is_of_a_kind_the_layer_can_show(tmp_path):
    """One /ows host serving WMS and WFS moves: a WFS layer gets the WFS entry, a WMS layer the WMS."""
    from dtfl_plugin.catalogue.entry import Entry
    from dtfl_plugin.catalogue.index import CatalogueIndex
    from dtfl_plugin.catalogue.stale import LayerRef, find_stale

    def entries(url: str) -> list[Entry]:
        return [
            Entry(
                id=f"ds:{code}:wegen", title="Wegen", service_type=kind, service_url=url, name="wegen", dataset_id="ds"
            )
            for code, kind in (("wms", "WMS"), ("wfs", "WFS"))
        ]

    idx = CatalogueIndex(tmp_path / "kinds.sqlite")
    try:
        idx.apply_harvest("s", entries("https://old.example.nl/ows"))
        idx.apply_harvest("s", entries("https://new.example.nl/ows"))
        refs = [
            LayerRef("a", "Wegen (WFS)", "https://old.example.nl/ows", "wegen", provider="WFS"),
            LayerRef("b", "Wegen (WMS)", "https://old.example.nl/ows", "wegen", provider="wms"),
        ]
        found = {s.ref.layer_id: s.replacement for s in find_stale(refs, idx)}
        assert found["a"].service_type == "WFS" and found["b"].service_type == "WMS"
        assert {e.service_url for e in found.values()} == {"https://new.example.nl/ows"}
    finally:
        idx.close()
