"""The PDOK layer list (the JSON the PDOK services plugin bundles), in every shape it has had.

Accepted shapes (a file holds a JSON list of records, or an object with the list under "layers",
"services" or "records"):
- before 2022 (``pdok.json``, ``{"services": [...]}``): one record per layer *and WMS style* with
  ``url`` (a GetCapabilities URL), ``type`` (wms/wmts/wfs/wcs), ``layers`` (the layer name),
  ``title``, ``abstract``, ``servicetitle``, ``md_id`` (the NGR id of the service record), ``style``,
  ``crs``, ``tilematrixsets``; the style duplicates become one entry;
- 2022 flat shape: one record per layer with name, title, abstract, service_url, service_type
  (wms/wmts/wfs/wcs), dataset_md_id, service_md_id, service_title, crs, styles, tilematrixsets, ...;
- current shape: adds "api features" and "api tiles" records, the latter with "tiles"
  (tilesets with their CRS) and "styles" ({id, name, url}).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from ...errors import CatalogueError
from ...i18n import tr
from ..entry import Entry, ServiceType
from ..protocols import clean_service_url, entry_id, service_type
from .base import CatalogueSource, SourceResult

# service.pdok.nl/<owner>/...: the owner segment names the data owner.
OWNERS = {
    "kadaster": "Kadaster",
    "cbs": "Centraal Bureau voor de Statistiek",
    "rws": "Rijkswaterstaat",
    "provincies": "Provincies",
    "ienw": "Ministerie van Infrastructuur en Waterstaat",
    "rvo": "Rijksdienst voor Ondernemend Nederland",
    "lv": "Landelijke Voorziening BGT",
    "brt": "Kadaster",
    "bzk": "Ministerie van Binnenlandse Zaken en Koninkrijksrelaties",
    "rivm": "RIVM",
    "rce": "Rijksdienst voor het Cultureel Erfgoed",
    "lnv": "Ministerie van Landbouw, Natuur en Voedselkwaliteit",
    "tno": "TNO",
    "bro": "Basisregistratie Ondergrond",
    "cultureelerfgoed": "Rijksdienst voor het Cultureel Erfgoed",
}


def _owner(url: str) -> str:
    parts = urlsplit(url)
    if not parts.netloc.endswith("pdok.nl"):
        return ""
    first = parts.path.strip("/").split("/", 1)[0].lower()
    return OWNERS.get(first, "")


def _split(value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


# Pre-2022 key -> flat-shape key.
_OLD_KEYS = {"url": "service_url", "type": "service_type", "layers": "name", "servicetitle": "service_title",
             "md_id": "service_md_id"}  # fmt: skip


def _flat(rec: dict) -> dict:
    """A record of the pre-2022 shape in the flat shape's keys (flat records pass unchanged)."""
    if "service_url" in rec or "url" not in rec:
        return rec
    out = {_OLD_KEYS.get(k, k): v for k, v in rec.items() if k != "name"}
    out["name"] = rec.get("layers") or rec.get("name") or ""
    if rec.get("style") and not rec.get("styles"):
        out["styles"] = [rec["style"]]
    return out


def parse_record(rec: dict, source: str = "") -> Entry | None:
    """One layer-list record (any shape) -> Entry; None when it names no service or no layer."""
    rec = _flat(rec)
    url = clean_service_url(str(rec.get("service_url") or ""))
    name = str(rec.get("name") or "").strip()
    kind = service_type(str(rec.get("service_type") or ""))
    if not url or not name or kind == ServiceType.OTHER:
        return None
    dataset_id = str(rec.get("dataset_md_id") or "").strip()
    service_id = str(rec.get("service_md_id") or "").strip()
    abstract = str(rec.get("abstract") or "").strip()
    service_abstract = str(rec.get("service_abstract") or "").strip()
    if service_abstract and service_abstract != abstract:
        abstract = f"{abstract}\n\n{service_abstract}" if abstract else service_abstract
    styles: list[dict] = []
    for style in rec.get("styles") or []:
        if isinstance(style, dict):
            styles.append({k: str(style.get(k, "")) for k in ("id", "name", "url")})
        elif style:
            styles.append({"id": str(style), "name": str(style), "url": ""})
    tms = _split(rec.get("tilematrixsets"))
    crs = _split(rec.get("crs"))
    for tiles in rec.get("tiles") or []:
        for tileset in (tiles or {}).get("tilesets") or []:
            if tileset.get("tileset_id") and tileset["tileset_id"] not in tms:
                tms.append(str(tileset["tileset_id"]))
            code = str(tileset.get("tileset_crs") or "").rstrip("/").rsplit("/", 1)[-1]
            if code.isdigit() and f"EPSG:{code}" not in crs:
                crs.append(f"EPSG:{code}")
    service_title = str(rec.get("service_title") or "").strip()
    title = str(rec.get("title") or "").strip() or (f"{service_title} {name}".strip() if service_title else name)
    return Entry(
        id=entry_id(dataset_id or service_id or url, kind, name, url),
        title=title,
        service_type=kind.value,
        service_url=url,
        name=name,
        abstract=abstract,
        keywords=[service_title] if service_title else [],
        organisation=str(rec.get("organisation") or rec.get("organization") or "").strip() or _owner(url),
        licence=str(rec.get("licence") or rec.get("license") or "").strip(),
        dataset_id=dataset_id,
        service_id=service_id,
        metadata_url=(
            f"https://www.nationaalgeoregister.nl/geonetwork/srv/dut/catalog.search#/metadata/{dataset_id}"
            if dataset_id
            else ""
        ),
        crs=crs,
        styles=styles,
        tile_matrix_sets=tms,
        source=source,
    )


def parse_layer_list(data, source: str = "") -> SourceResult:
    """Both shapes: a JSON list of records, or an object holding one under "layers"/"services"."""
    if isinstance(data, dict):
        data = data.get("layers") or data.get("services") or data.get("records")
    if not isinstance(data, list):
        raise CatalogueError(tr("This is not a PDOK layer list: expected a JSON list of layer records."))
    result = SourceResult(records=len(data), pages=1)
    for i, rec in enumerate(data):
        if not isinstance(rec, dict):
            result.skip(f"record {i}: not an object")
            continue
        try:
            entry = parse_record(rec, source)
        except (TypeError, ValueError, AttributeError) as err:
            result.skip(f"record {i}: {err}")
            continue
        if entry is None:
            result.skip(f"record {i} ({rec.get('name', '')}): no service URL, layer name or known service type")
        else:
            result.entries.append(entry)
    return result


class PdokLayersSource(CatalogueSource):
    kind = "pdok-layers"
    # The whole list is one answer: 12 MB for PDOK's 10,175 layers of 2021, 78 MB at 100,000 records.
    max_bytes = 256 * 1024 * 1024

    def fetch(self, feedback=None) -> SourceResult:
        response = self.get(self.config.url, feedback)
        try:
            data = json.loads(response.content.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as err:
            raise CatalogueError(
                tr(
                    "The PDOK layer list at {url} is not valid JSON (truncated or damaged?); the previous index is kept."
                ).format(url=self.config.url),
                detail=str(err),
            ) from err
        return parse_layer_list(data, self.config.name)
