"""ISO 19139 (gmd:MD_Metadata) records of the Dutch metadata profile -> Entry objects.

Dataset records (ISO 19115) list their services as online resources (protocol, URL, layer
name); service records (ISO 19119) point at their datasets with srv:operatesOn and name the
layers in srv:coupledResource. Either way we emit one Entry per loadable resource, carrying
the dataset id so a service that moves keeps its identity. Text may sit in gco:CharacterString
or in gmx:Anchor (whose xlink:href often says more than the text, e.g. a licence URL).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..entry import Entry, ServiceType
from ..protocols import LOADABLE, clean_service_url, entry_id, service_type
from ..text import contained as _contained
from ..xmlsafe import local

NS = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "xlink": "http://www.w3.org/1999/xlink",
}
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
MD_METADATA = "{http://www.isotc211.org/2005/gmd}MD_Metadata"
LICENCE_HINTS = ("creativecommons", "publicdomain", "cc0", "cc-by", "cc by", "opendatacommons", "geen beperkingen")
_PLACEHOLDERS = {"accesspoint", "endpoint", "access point", "end point"}  # NGR convention, not a label
RECORD_URL = "https://www.nationaalgeoregister.nl/geonetwork/srv/dut/catalog.search#/metadata/{id}"


def text_of(el) -> str:
    """Text of a gmd property: gco:CharacterString, gmx:Anchor, gco:* or gmd:URL child, stripped."""
    if el is None:
        return ""
    for child in el:
        if child.text and child.text.strip():
            return " ".join(child.text.split())
    return " ".join((el.text or "").split())


def href_of(el) -> str:
    if el is None:
        return ""
    for child in el.iter():
        href = child.get(XLINK_HREF)
        if href:
            return href.strip()
    return ""


def _first(el, path: str):
    return el.find(path, NS) if el is not None else None


def _texts(el, path: str) -> list[str]:
    return [t for t in (text_of(x) for x in el.findall(path, NS)) if t]


@dataclass
class OnlineResource:
    url: str
    protocol: str = ""
    protocol_href: str = ""
    name: str = ""
    description: str = ""

    @property
    def kind(self) -> ServiceType:
        kind = service_type(self.protocol, self.protocol_href)
        if kind == ServiceType.OTHER and not self.protocol:
            kind = service_type(self.url)  # no protocol at all: the URL is the only hint
        return kind


@dataclass
class IsoRecord:
    file_id: str
    hierarchy: str = "dataset"  # dataset | series | service
    title: str = ""
    abstract: str = ""
    keywords: list[str] = field(default_factory=list)
    inspire_themes: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    organisation: str = ""
    licence: str = ""
    use_constraints: str = ""
    date: str = ""
    bbox: tuple[float, float, float, float] | None = None
    lineage: str = ""
    crs: list[str] = field(default_factory=list)
    resources: list[OnlineResource] = field(default_factory=list)
    operates_on: list[str] = field(default_factory=list)
    coupled: list[tuple[str, str]] = field(default_factory=list)  # (dataset identifier, layer name)
    service_type_name: str = ""  # srv:serviceType (view, download, ...)


def find_records(root) -> list:
    """Every gmd:MD_Metadata element in a document (a record itself, or a GetRecords answer)."""
    if root.tag == MD_METADATA:
        return [root]
    return list(root.iter(MD_METADATA))


def parse_record(md) -> IsoRecord:
    """Read the fields we index from one gmd:MD_Metadata element; ValueError when it has no id/title."""
    file_id = text_of(_first(md, "gmd:fileIdentifier"))
    ident = _first(md, "gmd:identificationInfo")
    ident = ident[0] if ident is not None and len(ident) else None
    if not file_id or ident is None:
        raise ValueError("record without fileIdentifier or identificationInfo")
    rec = IsoRecord(file_id=file_id)
    scope = _first(md, "gmd:hierarchyLevel/gmd:MD_ScopeCode")
    if scope is not None:
        rec.hierarchy = (scope.get("codeListValue") or scope.text or "dataset").strip()
    if local(ident.tag) == "SV_ServiceIdentification":
        rec.hierarchy = "service"
    citation = _first(ident, "gmd:citation/gmd:CI_Citation")
    rec.title = text_of(_first(citation, "gmd:title"))
    if not rec.title:
        raise ValueError(f"record {file_id} has no title")
    rec.abstract = text_of(_first(ident, "gmd:abstract"))
    rec.date = _best_date(citation) or text_of(_first(md, "gmd:dateStamp"))
    _read_keywords(ident, rec)
    rec.topics = _texts(ident, "gmd:topicCategory/gmd:MD_TopicCategoryCode")
    rec.organisation = _organisation(ident) or _organisation(md, "gmd:contact")
    _read_constraints(ident, rec)
    rec.bbox = _bbox(md)
    rec.lineage = text_of(_first(md, "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:lineage/gmd:LI_Lineage/gmd:statement"))
    rec.crs = _texts(
        md, "gmd:referenceSystemInfo/gmd:MD_ReferenceSystem/gmd:referenceSystemIdentifier/gmd:RS_Identifier/gmd:code"
    )
    for res in md.iterfind(".//gmd:distributionInfo//gmd:onLine/gmd:CI_OnlineResource", NS):
        url = text_of(_first(res, "gmd:linkage"))
        if not url:
            continue
        proto = _first(res, "gmd:protocol")
        rec.resources.append(
            OnlineResource(
                url=url,
                protocol=text_of(proto),
                protocol_href=href_of(proto),
                name=text_of(_first(res, "gmd:name")),
                description=text_of(_first(res, "gmd:description")),
            )
        )
    if rec.hierarchy == "service":
        rec.service_type_name = text_of(_first(ident, "srv:serviceType"))
        for op in ident.findall("srv:operatesOn", NS):
            uuid = (op.get("uuidref") or "").strip() or _uuid_from_href(op.get(XLINK_HREF) or "")
            if uuid:
                rec.operates_on.append(uuid)
        for cr in ident.iterfind("srv:coupledResource/srv:SV_CoupledResource", NS):
            ds = text_of(_first(cr, "srv:identifier"))
            scoped = _first(cr, "gco:ScopedName")
            layer = " ".join((scoped.text or "").split()) if scoped is not None else ""
            if ds or layer:
                rec.coupled.append((ds, layer))
    return rec


def _uuid_from_href(href: str) -> str:
    for part in href.replace("#", "&").split("&"):
        if part.lower().startswith("id="):
            return part[3:]
    return ""


def _best_date(citation) -> str:
    dates: dict[str, str] = {}
    if citation is None:
        return ""
    for ci in citation.iterfind("gmd:date/gmd:CI_Date", NS):
        code = _first(ci, "gmd:dateType/gmd:CI_DateTypeCode")
        kind = (code.get("codeListValue") if code is not None else "") or ""
        value = text_of(_first(ci, "gmd:date"))
        if value:
            dates[kind] = value
    for kind in ("revision", "publication", "creation"):
        if kind in dates:
            return dates[kind]
    return next(iter(dates.values()), "")


def _read_keywords(ident, rec: IsoRecord) -> None:
    for block in ident.iterfind("gmd:descriptiveKeywords/gmd:MD_Keywords", NS):
        thesaurus = text_of(_first(block, "gmd:thesaurusName/gmd:CI_Citation/gmd:title")).lower()
        words = _texts(block, "gmd:keyword")
        if "inspire themes" in thesaurus or "inspire_themes" in href_of(_first(block, "gmd:thesaurusName")):
            rec.inspire_themes.extend(w for w in words if w not in rec.inspire_themes)
        rec.keywords.extend(w for w in words if w not in rec.keywords)


def _organisation(el, path: str = "gmd:pointOfContact") -> str:
    if el is None:
        return ""
    for party in el.iterfind(f"{path}/gmd:CI_ResponsibleParty", NS):
        name = text_of(_first(party, "gmd:organisationName"))
        if name:
            return name
    return ""


def _read_constraints(ident, rec: IsoRecord) -> None:
    limits: list[str] = []
    licence = ""
    for constraint in ident.iterfind("gmd:resourceConstraints/*", NS):
        limits.extend(_texts(constraint, "gmd:useLimitation"))
        for other in constraint.findall("gmd:otherConstraints", NS):
            text, href = text_of(other), href_of(other)
            hint = f"{href} {text}".lower()
            if not licence and any(h in hint for h in LICENCE_HINTS):
                licence = href or text
            elif text and text not in limits:
                limits.append(text)
    rec.licence = licence
    rec.use_constraints = "\n".join(dict.fromkeys(limits))


def _bbox(md) -> tuple[float, float, float, float] | None:
    box = md.find(".//gmd:EX_GeographicBoundingBox", NS)
    if box is None:
        return None
    try:
        values = [
            float(text_of(_first(box, f"gmd:{side}")).replace(",", "."))
            for side in ("westBoundLongitude", "southBoundLatitude", "eastBoundLongitude", "northBoundLatitude")
        ]
    except ValueError:
        return None
    minx, miny, maxx, maxy = values
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return None
    return (minx, miny, maxx, maxy)


def to_entries(rec: IsoRecord, source: str = "") -> list[Entry]:
    """One Entry per loadable online resource (or per coupled layer of a service record)."""
    is_service = rec.hierarchy == "service"
    base = dict(
        abstract=rec.abstract,
        keywords=list(rec.keywords),
        organisation=rec.organisation,
        licence=rec.licence,
        use_constraints=rec.use_constraints,
        metadata_url=RECORD_URL.format(id=rec.file_id),
        date=rec.date,
        lineage=rec.lineage,
        bbox=rec.bbox,
        crs=[c if ":" in c or not c.isdigit() else f"EPSG:{c}" for c in rec.crs],
        themes=list(dict.fromkeys([*rec.inspire_themes, *rec.topics])),
        source=source,
    )
    loadable = [r for r in rec.resources if r.kind in LOADABLE]
    out: list[Entry] = []
    for res in loadable:
        kind = res.kind
        url = clean_service_url(res.url)
        layers = [(rec.file_id if not is_service else "", res.name)]
        if is_service and not res.name and rec.coupled:
            layers = [(ds, layer) for ds, layer in rec.coupled]
        for dataset, name in layers:
            dataset_id = dataset if not is_service else (_dataset_for(rec, dataset) or "")
            title = rec.title
            if len(loadable) > 1 or len(layers) > 1:
                described = res.description and res.description.lower() not in _PLACEHOLDERS
                label = res.description if described and res.description != rec.title else name
                title = f"{rec.title} – {label}" if label and not _contained(label, rec.title) else rec.title
            out.append(
                Entry(
                    id=entry_id(dataset_id or rec.file_id, kind, name, url),
                    title=title,
                    service_type=kind.value,
                    service_url=url,
                    name=name,
                    dataset_id=dataset_id,
                    service_id=rec.file_id if is_service else "",
                    **base,
                )
            )
    return out


def _dataset_for(rec: IsoRecord, coupled_id: str) -> str:
    """The dataset a service layer serves: the coupled identifier's uuid, else the only operatesOn."""
    if coupled_id:
        tail = coupled_id.rstrip("/").rsplit("/", 1)[-1].split("#")[0]
        for uuid in rec.operates_on:
            if uuid.lower() in (coupled_id.lower(), tail.lower()):
                return uuid
        return tail
    return rec.operates_on[0] if len(rec.operates_on) == 1 else ""


def merge(entries: list[Entry]) -> list[Entry]:
    """Merge entries with the same id (a dataset record and its service record describe one layer):
    the dataset record's texts win, empty fields are filled from the other."""
    merged: dict[str, Entry] = {}
    for entry in entries:
        have = merged.get(entry.id)
        if have is None:
            merged[entry.id] = entry
            continue
        first, second = (have, entry) if have.service_id == "" or entry.service_id else (entry, have)
        for name in first.__dataclass_fields__:
            if not getattr(first, name) and getattr(second, name):
                setattr(first, name, getattr(second, name))
        merged[entry.id] = first
    return list(merged.values())
