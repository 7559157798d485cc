"""The sandbox's datasets: ONE description each, from which every server's metadata is generated.

PDOK and the Nationaal Georegister describe a dataset once (its NGR record, one uuid) and every service
that publishes it points back to that record. The sandbox does the same: the ISO 19139 records served by
pycsw, the OGC API - Records items, the OGC API collections, the WMS/WFS/WMTS layer metadata of the QGIS
project and the PDOK-style layer list are all generated from :data:`DATASETS`, so ids, titles and licences
agree everywhere (tests/test_sandbox_consistency.py checks that they do).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Optional

# Fixed namespace: the same dataset gets the same uuid on every machine and every start.
_NS = uuid.UUID("6d1f3c38-7a36-4d6e-9f0b-5b2f0e0a7d11")

CC0 = {
    "name": "CC0 1.0",
    "url": "https://creativecommons.org/publicdomain/zero/1.0/deed.nl",
    "label": "Geen beperkingen",
}
CC_BY = {
    "name": "CC BY 4.0",
    "url": "https://creativecommons.org/licenses/by/4.0/deed.nl",
    "label": "Naamsvermelding verplicht",
}
ORGS = {
    "kadaster": {"name": "Kadaster", "email": "beheerpdok@kadaster.nl", "url": "https://www.kadaster.nl"},
    "rws": {"name": "Rijkswaterstaat", "email": "info@ahn.nl", "url": "https://www.ahn.nl"},
    "tudelft": {
        "name": "TU Delft 3D geoinformation",
        "email": "3d-geoinfo@tudelft.nl",
        "url": "https://3d.bk.tudelft.nl",
    },
    "3dgi": {"name": "TU Delft 3D geoinformation / 3DGI", "email": "info@3dgi.nl", "url": "https://3dbag.nl"},
}


@dataclass(frozen=True)
class Download:
    """A file published by the static file server: URL path below ``files`` and its ISO protocol."""

    path: str
    protocol: str
    description: str


@dataclass(frozen=True)
class Dataset:
    key: str  # layer name in WMS/WFS/WMTS, collection id in OGC API
    title: str
    abstract: str
    org: str
    licence: dict
    keywords: tuple
    lineage: str
    topic: str  # ISO 19115 MD_TopicCategoryCode
    created: str
    attribution: Optional[str] = None
    wms: bool = False
    wfs: bool = False
    wmts: bool = False
    wcs: bool = False
    oapif: bool = False
    oapit: bool = False  # OGC API Tiles (vector tiles, WebMercatorQuad) with a Mapbox GL style
    downloads: tuple = field(default_factory=tuple)

    @property
    def uuid(self) -> str:
        return str(uuid.uuid5(_NS, self.key))

    @property
    def organisation(self) -> dict:
        return ORGS[self.org]


_BGT_LINEAGE = (
    "BGT-objecten van bronhouder Gemeente Delft (G0503) uit de Landelijke Voorziening BGT, "
    "als voorbeelddata van tudelft3d/3dfier omgezet naar GeoPackage (EPSG:28992)."
)
_BGT_KW = ("BGT", "Basisregistratie Grootschalige Topografie", "Delft", "Nationaal")


def _bgt(key: str, title: str, abstract: str) -> Dataset:
    return Dataset(
        key=key,
        title=title,
        abstract=abstract,
        org="kadaster",
        licence=CC0,
        keywords=_BGT_KW,
        lineage=_BGT_LINEAGE,
        topic="planningCadastre",
        created="2016-06-07",
        wms=True,
        wfs=True,
        wmts=True,
        oapif=True,
    )


DATASETS: tuple[Dataset, ...] = (
    _bgt(
        "bgt_pand",
        "BGT Pand Delft (sandbox)",
        "Panden uit de Basisregistratie Grootschalige Topografie (BGT) voor een testgebied in Delft, "
        "met de BAG-pandidentificatie (identificatiebagpnd).",
    ),
    _bgt(
        "bgt_wegdeel",
        "BGT Wegdeel Delft (sandbox)",
        "Wegdelen uit de BGT voor een testgebied in Delft: rijbanen, fietspaden, voetpaden en parkeervlakken.",
    ),
    _bgt(
        "bgt_waterdeel",
        "BGT Waterdeel Delft (sandbox)",
        "Waterdelen uit de BGT voor een testgebied in Delft: watergangen en grachten.",
    ),
    _bgt(
        "bgt_begroeidterreindeel",
        "BGT Begroeid terreindeel Delft (sandbox)",
        "Begroeide terreindelen uit de BGT voor een testgebied in Delft: groenvoorziening, grasland en bomen.",
    ),
    Dataset(
        key="bgt",
        title="BGT Delft vectortegels (sandbox)",
        abstract="De BGT-lagen pand, wegdeel, waterdeel en begroeid terreindeel van een testgebied in Delft als "
        "vectortegels (OGC API - Tiles, Mapbox Vector Tiles, WebMercatorQuad) met een standaardvisualisatie.",
        org="kadaster",
        licence=CC0,
        keywords=(*_BGT_KW, "vectortegels"),
        lineage=_BGT_LINEAGE + " Vectortegels (zoomniveau 13-18) gemaakt met GDAL (MVT-driver).",
        topic="planningCadastre",
        created="2016-06-07",
        oapit=True,
    ),
    Dataset(
        key="ahn_dtm",
        title="AHN3 maaiveld (DTM) 1 m Delft (sandbox)",
        abstract="Digitaal terreinmodel (maaiveldhoogte in m NAP, 1 m resolutie) voor een testgebied in Delft, "
        "afgeleid uit de grondpunten van de AHN3-puntenwolk; gaten opgevuld. Ook als Cloud Optimized GeoTIFF.",
        org="rws",
        licence=CC0,
        keywords=("AHN", "Actueel Hoogtebestand Nederland", "hoogte", "DTM", "maaiveld", "Delft"),
        lineage="Gemiddelde Z van AHN3-grondpunten (klasse 2) per cel van 1 m; lege cellen opgevuld; "
        "als COG geschreven met gdal_translate -of COG.",
        topic="elevation",
        created="2019-01-01",
        wms=True,
        wmts=True,
        wcs=True,
        downloads=(Download("ahn/ahn3_delft_dtm_1m.cog.tif", "COG", "Cloud Optimized GeoTIFF"),),
    ),
    Dataset(
        key="ahn_puntenwolk",
        title="AHN3 puntenwolk Delft (EPT, sandbox)",
        abstract="Uitsnede van de AHN3-puntenwolk in Delft (klassen 1, 2, 6, 9, 26) als Entwine Point Tile.",
        org="rws",
        licence=CC0,
        keywords=("AHN", "puntenwolk", "LiDAR", "EPT", "Delft"),
        lineage="AHN3-uitsnede (LAS 1.2) ongewijzigd verpakt als EPT met één knoop.",
        topic="elevation",
        created="2019-01-01",
        downloads=(Download("ept/ahn3_delft/ept.json", "EPT", "Entwine Point Tile"),),
    ),
    Dataset(
        key="gebouwen_3d",
        title="3D gebouwen Delft met hoogtes (LoD1, sandbox)",
        abstract="Gebouwen in een testgebied in Delft met maaiveld- en dakhoogte (m NAP) per pand "
        "(b3_h_maaiveld, b3_h_dak_max, b3_h_dak_50p, b3_hoogte), uit het LoD1-model van 3dfier (BGT + AHN3).",
        org="tudelft",
        licence=CC_BY,
        attribution="© tudelft3d (3dfier); BGT en AHN: open data",
        keywords=("3D", "gebouwen", "LoD1", "CityJSON", "hoogte", "Delft"),
        lineage="LoD1-blokken uit CityJSON (3dfier, BGT + AHN3); per gebouw maaiveld = laagste Z, "
        "dak = hoogste Z van de vertices (integer * transform.scale + translate), gekoppeld aan de "
        "BGT-pandvlakken via lokaalid.",
        topic="structure",
        created="2016-06-07",
        wms=True,
        wfs=True,
        oapif=True,
        downloads=(Download("cityjson/delft_3dfier.city.json", "CityJSON", "CityJSON 2.0, LoD1"),),
    ),
    Dataset(
        key="3dbag",
        title="3DBAG gebouwen Delft (CityJSON en 3D Tiles, sandbox)",
        abstract="Steekproef uit 3DBAG: twee LoD2.2-gebouwen in Delft als CityJSON en CityJSONSeq, en een "
        "3D Tiles 1.1 tegelset met 1.028 gebouwen.",
        org="3dgi",
        licence=CC_BY,
        attribution="© 3DBAG by tudelft3d and 3DGI",
        keywords=("3DBAG", "3D", "gebouwen", "LoD2.2", "3D Tiles", "CityJSON"),
        lineage="3DBAG-reconstructie uit BAG en AHN door tudelft3d en 3DGI; voorbeeldbestanden uit cjseq en "
        "3dbag-viewer.",
        topic="structure",
        created="2021-11-01",
        downloads=(
            Download("cityjson/3dbag_b2.city.json", "CityJSON", "CityJSON 2.0, LoD2.2"),
            Download("cityjson/3dbag_b2.city.jsonl", "CityJSONSeq", "CityJSON Text Sequences"),
            Download("3dtiles/3dbag/tileset.json", "3D Tiles", "OGC 3D Tiles 1.1 tegelset"),
        ),
    ),
)

BY_KEY = {d.key: d for d in DATASETS}

# Services the sandbox publishes (ISO 19119 service records are generated for each).
SERVICES = (
    ("wms", "OGC:WMS", "view", "Sandbox WMS (Delft)"),
    ("wmts", "OGC:WMTS", "view", "Sandbox WMTS (Delft)"),
    ("wfs", "OGC:WFS", "download", "Sandbox WFS (Delft)"),
    ("wcs", "OGC:WCS", "download", "Sandbox WCS (Delft)"),
    ("ogcapi", "OGC:API features", "download", "Sandbox OGC API (Delft)"),
    ("ogcapi_tiles", "OGC:API tiles", "view", "Sandbox OGC API Tiles (Delft)"),
)


# service kind -> the Dataset flag saying a dataset is published by it, and the endpoints.json key of its URL
SERVICE_FLAG = {"ogcapi": "oapif", "ogcapi_tiles": "oapit"}
SERVICE_URL_KEY = {"ogcapi_tiles": "ogcapi"}
TILES_STYLE = "bgt_standaardvisualisatie"  # the Mapbox GL style of the vector tiles (sandbox.generate.style)


def service_uuid(kind: str) -> str:
    return str(uuid.uuid5(_NS, f"service:{kind}"))
