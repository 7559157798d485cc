"""pygeoapi configuration (OGC API - Features, - Records, - Processes) generated from sandbox.datasets."""

from __future__ import annotations

import json
from pathlib import Path

from ..datasets import DATASETS
from ..endpoints import metadata_url
from ..processes import discover
from .style import style_url

_ID_FIELDS = {"gebouwen_3d": "identificatie"}
_CRS = [
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/28992",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
]


def _collection(ds, endpoints: dict, features: Path, extents: dict) -> dict:
    links = [
        {"type": "application/xml", "rel": "describedby", "title": f"ISO 19139 metadata record {ds.uuid}",
         "href": metadata_url(endpoints, ds.uuid), "hreflang": "nl"},
        {"type": "application/geo+json", "rel": "describedby", "title": f"OGC API - Records item {ds.uuid}",
         "href": f"{endpoints['ogcapi_records']}/items/{ds.uuid}", "hreflang": "nl"},
        {"type": "text/html", "rel": "license", "title": f"{ds.licence['name']} ({ds.licence['label']})",
         "href": ds.licence["url"]},
    ]  # fmt: skip
    return {
        "type": "collection",
        "title": ds.title,
        "description": ds.abstract,
        "keywords": list(ds.keywords),
        "links": links,
        "extents": {"spatial": {"bbox": extents[ds.key]["wgs84"], "crs": _CRS[0]}},
        "providers": [
            {
                "type": "feature",
                "name": "GeoJSON",
                "data": str(features / f"{ds.key}.geojson"),
                "id_field": _ID_FIELDS.get(ds.key, "gml_id"),
                "title_field": _ID_FIELDS.get(ds.key, "lokaalid"),
                "crs": _CRS,
                "storage_crs": _CRS[0],
            }
        ],
    }


def _tiles_collection(ds, endpoints: dict, tiles: Path, extents: dict) -> dict:
    col = _collection(ds, endpoints, tiles, extents)
    col["links"].append({"type": "application/vnd.mapbox.style+json", "rel": "stylesheet",
                         "title": "BGT standaardvisualisatie (Mapbox GL)", "href": style_url(endpoints)})  # fmt: skip
    col["providers"] = [
        {
            "type": "tile",
            "name": "MVT-tippecanoe",
            "data": str(tiles / ds.key),  # the folder name is the tile layer name
            "options": {"zoom": {"min": 13, "max": 18}, "schemes": ["WebMercatorQuad"]},
            "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"},
        }
    ]
    return col


def config(endpoints: dict, features: Path, records_db: Path, jobs_db: Path, outputs: Path, port: int,
           tiles: Path) -> dict:  # fmt: skip
    extents = json.loads((features / "extents.json").read_text())
    resources: dict = {}
    for ds in DATASETS:
        if ds.oapif:
            resources[ds.key] = _collection(ds, endpoints, features, extents)
        elif ds.oapit:
            resources[ds.key] = _tiles_collection(ds, endpoints, tiles, extents)
    resources["records"] = {
        "type": "collection",
        "title": "Catalogus (NGR-voorbeeld en sandbox)",
        "description": "Metadata van de sandbox-datasets en -services en een steekproef uit het Nationaal Georegister.",
        "keywords": ["catalogus", "metadata", "NGR"],
        "links": [
            {
                "type": "application/xml",
                "rel": "alternate",
                "title": "CSW 2.0.2",
                "href": endpoints["csw"] + "?service=CSW&version=2.0.2&request=GetCapabilities",
            }
        ],  # fmt: skip
        "extents": {"spatial": {"bbox": [3.2, 50.7, 7.3, 53.6], "crs": _CRS[0]}},
        "providers": [
            {
                "type": "record",
                "name": "TinyDBCatalogue",
                "data": str(records_db),
                "id_field": "externalId",
                "time_field": "created",
                "title_field": "title",
            }  # fmt: skip
        ],
    }
    resources.update(discover())
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": endpoints["ogcapi"],
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["nl-NL", "en-US"],
            "cors": True,
            "pretty_print": False,
            "limits": {"default_items": 100, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OpenStreetMap"},
            "manager": {"name": "TinyDB", "connection": str(jobs_db), "output_dir": str(outputs)},
        },
        "logging": {"level": "WARNING"},
        "metadata": {
            "identification": {
                "title": "DTFL sandbox OGC API (Delft)",
                "description": "OGC API - Features, - Records en - Processes met BGT, 3D-gebouwen en AHN van een "
                "testgebied in Delft.",
                "keywords": ["BGT", "AHN", "3D", "Delft", "sandbox"],
                "keywords_type": "theme",
                "terms_of_service": "https://creativecommons.org/publicdomain/zero/1.0/deed.nl",
                "url": endpoints["ogcapi"],
            },
            "license": {"name": "CC0 1.0 (BGT, AHN); CC BY 4.0 (3D-gebouwen)", "url": DATASETS[0].licence["url"]},
            "provider": {"name": "Kadaster (sandbox)", "url": "https://www.pdok.nl"},
            "contact": {
                "name": "Beheer PDOK (sandbox)",
                "position": "beheer",
                "address": "Hofstraat 110",
                "city": "Apeldoorn",
                "stateorprovince": "Gelderland",
                "postalcode": "7311 KZ",
                "country": "Nederland",
                "email": "beheerpdok@kadaster.nl",
                "url": "https://www.pdok.nl",
                "role": "pointOfContact",
            },  # fmt: skip
        },
        "resources": resources,
    }
