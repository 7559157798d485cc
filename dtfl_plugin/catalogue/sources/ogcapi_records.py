"""OGC API - Records: GeoJSON records, paged through "next" links.

The configured URL may be the API landing page (all record collections are read), one
collection, or its /items. Each record's links with a protocol hint (the NGR puts "OGC:WMS"
in ``type`` or ``protocol`` and the layer name in ``title`` or ``name``) become entries.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from ... import net
from ...errors import CatalogueError
from ...i18n import tr
from ..entry import Entry, ServiceType
from ..protocols import LOADABLE, clean_service_url, entry_id, service_type
from ..text import contained as _contained
from .base import CatalogueSource, SourceResult

PAGE_SIZE = 100
MEDIA_TYPES = ("application/", "text/", "image/")


def _with_params(url: str, **params) -> str:
    from urllib.parse import parse_qsl, urlencode, urlunsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items() if k not in query})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def link_kind(link: dict) -> ServiceType:
    protocol = str(link.get("protocol") or "")
    media = str(link.get("type") or "")
    rel = str(link.get("rel") or "")
    hints = [protocol]
    if media and not media.startswith(MEDIA_TYPES):  # "OGC:WMS" in type, as the NGR does
        hints.append(media)
    kind = service_type(*hints)
    if kind == ServiceType.OTHER and rel == "enclosure":
        kind = ServiceType.DOWNLOAD
    return kind


def _bbox(record: dict) -> tuple[float, float, float, float] | None:
    geom = record.get("geometry") or {}
    coords: list = []

    def walk(value) -> None:
        if isinstance(value, (list, tuple)) and len(value) >= 2 and all(isinstance(v, (int, float)) for v in value[:2]):
            coords.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(geom.get("coordinates"))
    if not coords:
        return None
    xs, ys = [float(c[0]) for c in coords], [float(c[1]) for c in coords]
    box = (min(xs), min(ys), max(xs), max(ys))
    return box if -180 <= box[0] <= box[2] <= 180 and -90 <= box[1] <= box[3] <= 90 else None


def record_entries(record: dict, source: str = "", record_url: str = "") -> list[Entry]:
    """Entries of one GeoJSON record; ValueError when it is not a record."""
    if not isinstance(record, dict) or not isinstance(record.get("properties"), dict):
        raise ValueError("not a GeoJSON record")
    props = record["properties"]
    rid = str(record.get("id") or "")
    title = str(props.get("title") or "").strip()
    if not rid or not title:
        raise ValueError("record without id or title")
    keywords = [str(k) for k in props.get("keywords") or [] if k]
    themes: list[str] = []
    for theme in props.get("themes") or []:
        for concept in (theme or {}).get("concepts") or []:
            value = concept.get("title") or concept.get("id") if isinstance(concept, dict) else concept
            if value and str(value) not in themes:
                themes.append(str(value))
    organisation = ""
    for contact in props.get("contacts") or []:
        if isinstance(contact, dict) and contact.get("organization"):
            organisation = str(contact["organization"])
            break
    licence = str(props.get("license") or "")
    for link in record.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "license" and not licence:
            licence = str(link.get("href") or "")
    links = [lk for lk in record.get("links") or [] if isinstance(lk, dict) and lk.get("href")]
    loadable = [(lk, link_kind(lk)) for lk in links]
    loadable = [(lk, k) for lk, k in loadable if k in LOADABLE]
    out: list[Entry] = []
    for link, kind in loadable:
        name = str(link.get("name") or link.get("title") or "").strip()
        if kind in (ServiceType.DOWNLOAD, ServiceType.ATOM) and name == title:
            name = ""
        url = clean_service_url(str(link["href"]))
        label = f"{title} – {name}" if len(loadable) > 1 and name and not _contained(name, title) else title
        out.append(
            Entry(
                id=entry_id(rid, kind, name, url),
                title=label,
                service_type=kind.value,
                service_url=url,
                name=name,
                abstract=str(props.get("description") or ""),
                keywords=keywords or list(themes),
                organisation=organisation,
                licence=licence,
                use_constraints=str(props.get("rights") or ""),
                dataset_id=rid,
                metadata_url=record_url,
                date=str(props.get("updated") or props.get("created") or ""),
                bbox=_bbox(record),
                themes=themes,
                source=source,
            )
        )
    return out


def features_of(data) -> list:
    """Records in a saved answer: a FeatureCollection, one record, or a TinyDB file (pygeoapi's store)."""
    if isinstance(data, dict) and isinstance(data.get("features"), list):
        return data["features"]
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()):
        return [rec for table in data.values() for rec in table.values() if isinstance(rec, dict)]
    raise CatalogueError(tr("This file holds no OGC API - Records records."))


def add_records(features: list, result: SourceResult, source: str, items_url: str = "") -> None:
    for record in features:
        result.records += 1
        try:
            rid = record.get("id", "") if isinstance(record, dict) else ""
            entries = record_entries(record, source, f"{items_url}/{rid}" if items_url else "")
        except (ValueError, TypeError, AttributeError) as err:
            result.skip(str(err))
            continue
        result.entries.extend(entries)
        result.not_loadable += not entries


class OgcApiRecordsSource(CatalogueSource):
    kind = "ogcapi-records"

    def _json(self, url: str, feedback):
        response = self.get(url, feedback, headers={"Accept": "application/json"})
        try:
            return json.loads(response.content.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as err:
            raise CatalogueError(
                tr("The records at {url} are not valid JSON (truncated or damaged?).").format(url=url),
                detail=str(err),
            ) from err

    def item_urls(self, feedback=None) -> list[str]:
        url = self.config.url.rstrip("/")
        path = urlsplit(url).path
        if path.endswith("/items"):
            return [url]
        if "/collections/" in path:
            return [url + "/items"]
        data = self._json(_with_params(url + "/collections", f="json"), feedback)
        urls = []
        for coll in data.get("collections") or []:
            item_type = str(coll.get("itemType") or "record").lower()
            if item_type == "record" and coll.get("id"):
                urls.append(f"{url}/collections/{coll['id']}/items")
        if not urls:
            raise CatalogueError(tr("No record collection found at {url}.").format(url=url))
        return urls

    def fetch(self, feedback=None) -> SourceResult:
        result = SourceResult()
        if not urlsplit(self.config.url).scheme.startswith("http"):  # a saved answer or a TinyDB file
            data = self._json(self.config.url, feedback)
            add_records(features_of(data), result, self.config.name)
            result.pages = 1
            return result
        for items_url in self.item_urls(feedback):
            url: str | None = _with_params(items_url, limit=PAGE_SIZE, f="json")
            seen: set[str] = set()
            while url and url not in seen:
                if self.cancelled(feedback):
                    return result
                if result.pages >= self.max_pages:
                    result.truncated = True
                    return result
                seen.add(url)
                page = self._json(url, feedback)
                result.pages += 1
                features = page.get("features") if isinstance(page, dict) else None
                if not isinstance(features, list):
                    raise CatalogueError(tr("The answer from {url} is not a list of records.").format(url=url))
                add_records(features, result, self.config.name, items_url)
                matched = page.get("numberMatched")
                if feedback is not None and isinstance(matched, int) and matched:
                    feedback.setProgress(min(100.0, 100.0 * result.records / matched))
                href = next(
                    (
                        str(lk["href"])
                        for lk in page.get("links") or []
                        if isinstance(lk, dict) and lk.get("rel") == "next"
                    ),
                    None,
                )
                # relative links resolve against this page; only http(s) is followed (never file://)
                url = net.follow_link(url, href) if href else None
        return result
