"""OGC API - Records items and the PDOK-style layer list, generated from sandbox.datasets.

Records have the shape of the NGR sample (pycsw's OGC API - Records output): links with ``type`` = the
protocol (OGC:WMS, OGC:WFS, OGC:API features, COG, ...) and ``title`` = the layer/collection/file name,
so one client parses both. The same uuids as the ISO records, the WMS MetadataURLs and the collections.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..datasets import DATASETS, SERVICE_FLAG, SERVICE_URL_KEY, SERVICES, TILES_STYLE, service_uuid
from ..paths import SHARED_DATA
from .iso import STAMP, online_resources
from .style import style_url, write_style

SAMPLE_RECORDS = SHARED_DATA / "catalogue" / "ogcapi-records" / "ngr-sample-records.ogcapi-records.tinydb.json"


def _polygon(b: list[float]) -> dict:
    w, s, e, n = b
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def dataset_item(ds, endpoints: dict, wgs84: list[float]) -> dict:
    org = ds.organisation
    links = [{"href": o["url"], "rel": "item", "title": o["name"], "type": o["protocol"]}
             for o in online_resources(ds, endpoints)]  # fmt: skip
    links.append({"href": ds.licence["url"], "rel": "license", "type": "text/html", "title": ds.licence["name"]})
    props = {
        "created": ds.created,
        "updated": f"{STAMP}T00:00:00Z",
        "type": "dataset",
        "title": ds.title,
        "description": ds.abstract,
        "keywords": list(ds.keywords),
        "themes": [{"concepts": [{"id": k} for k in ds.keywords]}],
        "contacts": [
            {
                "organization": org["name"],
                "emails": [{"value": org["email"]}],
                "roles": ["custodian"],
                "links": [{"href": org["url"], "rel": "about", "type": "text/html"}],
            }
        ],  # fmt: skip
        "externalIds": [{"scheme": "default", "value": ds.uuid}],
        "license": ds.licence["name"],
        "rights": ds.attribution or ds.licence["label"],
        "lineage": ds.lineage,
    }
    props["_metadata-anytext"] = " ".join([ds.uuid, ds.title, ds.abstract, org["name"], *ds.keywords])
    return {
        "id": ds.uuid,
        "conformsTo": ["http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core"],
        "type": "Feature",
        "time": {"interval": [ds.created, None]},
        "geometry": _polygon(wgs84),
        "properties": props,
        "links": links,
    }


def service_item(kind: str, protocol: str, title: str, endpoints: dict, extents: dict) -> dict | None:
    datasets = [d for d in DATASETS if getattr(d, SERVICE_FLAG.get(kind, kind))]
    if not datasets:
        return None
    boxes = [extents[d.key]["wgs84"] for d in datasets]
    bbox = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    uid = service_uuid(kind)
    links = [{"href": endpoints[SERVICE_URL_KEY.get(kind, kind)], "rel": "item", "title": title, "type": protocol}]
    links += [{"href": f"{endpoints['ogcapi_records']}/items/{d.uuid}", "rel": "related", "title": d.title,
               "type": "application/geo+json"} for d in datasets]  # fmt: skip
    return {
        "id": uid,
        "conformsTo": ["http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/record-core"],
        "type": "Feature",
        "time": {"interval": ["2026-01-01", None]},
        "geometry": _polygon(bbox),
        "properties": {
            "created": "2026-01-01",
            "updated": f"{STAMP}T00:00:00Z",
            "type": "service",
            "title": title,
            "description": f"{title}: publiceert {', '.join(d.key for d in datasets)}.",
            "keywords": ["Delft", "sandbox"],
            "contacts": [
                {"organization": "Kadaster", "emails": [{"value": "beheerpdok@kadaster.nl"}], "roles": ["custodian"]}
            ],  # fmt: skip
            "externalIds": [{"scheme": "default", "value": uid}],
            "operatesOn": [d.uuid for d in datasets],
            "_metadata-anytext": f"{uid} {title} Kadaster",
        },
        "links": links,
    }


def tinydb(endpoints: dict, extents: dict) -> dict:
    """TinyDB document: the shared NGR sample records followed by the generated ones."""
    table: dict[str, dict] = {}
    if SAMPLE_RECORDS.is_file():
        for rec in json.loads(SAMPLE_RECORDS.read_text()).get("_default", {}).values():
            table[str(len(table) + 1)] = rec
    for ds in DATASETS:
        table[str(len(table) + 1)] = dataset_item(ds, endpoints, extents[ds.key]["wgs84"])
    for kind, protocol, _stype, title in SERVICES:
        item = service_item(kind, protocol, title, endpoints, extents)
        if item:
            table[str(len(table) + 1)] = item
    return {"_default": table}


_SERVICE_TYPES = {"OGC:WMS": "wms", "OGC:WMTS": "wmts", "OGC:WFS": "wfs", "OGC:WCS": "wcs",
                  "OGC:API features": "api features", "OGC:API tiles": "api tiles"}  # fmt: skip
_KIND = {"api features": "ogcapi", "api tiles": "ogcapi_tiles"}


def pdok_layers(endpoints: dict) -> list[dict]:
    """The sandbox's own layers as a PDOK layer list (today's shape; flat fields as in the 2022 list)."""
    out = []
    for ds in DATASETS:
        for o in online_resources(ds, endpoints):
            stype = _SERVICE_TYPES.get(o["protocol"])
            if stype is None:
                continue
            kind = _KIND.get(stype, stype)
            url = o["url"]
            if stype in ("wms", "wmts", "wfs", "wcs"):
                url = f"{url}?request=GetCapabilities&service={stype.upper()}"
            rec = {
                "name": ds.key,
                "title": ds.title,
                "abstract": ds.abstract,
                "dataset_md_id": ds.uuid,
                "service_url": url,
                "service_title": dict((s[0], s[3]) for s in SERVICES)[kind],
                "service_abstract": f"Sandbox-service ({stype}) met testdata van Delft.",
                "service_type": stype,
                "service_md_id": service_uuid(kind),
                "licence": ds.licence["name"],
                "organisation": ds.organisation["name"],
            }
            if stype == "wms":  # the 2022 list's flat WMS fields
                rec.update(styles=["default"], crs="EPSG:28992,EPSG:4326,EPSG:3857", minscale="", maxscale="",
                           imgformats="image/png,image/jpeg")  # fmt: skip
            if stype == "wmts":
                rec.update(tilematrixsets="EPSG:28992,EPSG:4326,EPSG:3857", imgformats="image/png")
            if stype == "api tiles":  # today's PDOK shape (see the BAG entry of the current sample)
                rec["styles"] = [{"id": TILES_STYLE, "name": "BGT standaardvisualisatie (WebMercatorQuad)",
                                  "url": style_url(endpoints)}]  # fmt: skip
                rec["tiles"] = [{"title": ds.title, "abstract": ds.abstract, "tilesets": [
                    {"tileset_id": "WebMercatorQuad", "tileset_crs": "https://www.opengis.net/def/crs/EPSG/0/3857",
                     "tileset_max_zoomlevel": 18}]}]  # fmt: skip
            out.append(rec)
    return out


def write_all(out: Path, endpoints: dict, extents: dict) -> None:
    (out / "records.tinydb.json").write_text(json.dumps(tinydb(endpoints, extents), ensure_ascii=False))
    (out / "pdok").mkdir(exist_ok=True)
    write_style(out / "styles", endpoints)
    (out / "pdok" / "layers-sandbox.json").write_text(json.dumps(pdok_layers(endpoints), indent=1, ensure_ascii=False))
