"""ISO 19139 records (Dutch profile, as NGR publishes them) generated for the sandbox's datasets and services.

Dataset records (ISO 19115, "Nederlands metadata profiel op ISO 19115 voor geografie 2.0") carry title,
abstract, keywords, organisation, licence/use constraints, dates, bbox, lineage and one online resource per
way the dataset is published (gmd:protocol OGC:WMS / OGC:WMTS / OGC:WFS / OGC:WCS / OGC:API features, or
COG / EPT / CityJSON / CityJSONSeq / 3D Tiles for files; gmd:name = layer, collection or file name).
Service records (ISO 19119) point to their datasets with srv:operatesOn uuidref.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from ..datasets import DATASETS, SERVICE_FLAG, SERVICE_URL_KEY, SERVICES, Dataset, service_uuid

_NS = (
    'xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco" '
    'xmlns:srv="http://www.isotc211.org/2005/srv" xmlns:gmx="http://www.isotc211.org/2005/gmx" '
    'xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink"'
)
_CL = "https://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
STAMP = "2026-01-15"


def _cs(text: str) -> str:
    return f"<gco:CharacterString>{escape(text)}</gco:CharacterString>"


def _code(kind: str, value: str, label: str | None = None) -> str:
    return f'<gmd:{kind} codeList="{_CL}#{kind}" codeListValue="{value}">{escape(label or value)}</gmd:{kind}>'


def _party(org: dict, role: str) -> str:
    return (
        f"<gmd:CI_ResponsibleParty><gmd:organisationName>{_cs(org['name'])}</gmd:organisationName>"
        "<gmd:contactInfo><gmd:CI_Contact><gmd:address><gmd:CI_Address><gmd:electronicMailAddress>"
        f"{_cs(org['email'])}</gmd:electronicMailAddress></gmd:CI_Address></gmd:address>"
        f"<gmd:onlineResource><gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{escape(org['url'])}</gmd:URL>"
        "</gmd:linkage></gmd:CI_OnlineResource></gmd:onlineResource></gmd:CI_Contact></gmd:contactInfo>"
        f"<gmd:role>{_code('CI_RoleCode', role)}</gmd:role></gmd:CI_ResponsibleParty>"
    )


def _head(uid: str, scope: str, org: dict, standard: str, version: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<gmd:MD_Metadata {_NS}>'
        f"<gmd:fileIdentifier>{_cs(uid)}</gmd:fileIdentifier>"
        '<gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="dut">'
        "Nederlands; Vlaams</gmd:LanguageCode></gmd:language>"
        f"<gmd:characterSet>{_code('MD_CharacterSetCode', 'utf8')}</gmd:characterSet>"
        f"<gmd:hierarchyLevel>{_code('MD_ScopeCode', scope)}</gmd:hierarchyLevel>"
        f"<gmd:contact>{_party(org, 'pointOfContact')}</gmd:contact>"
        f"<gmd:dateStamp><gco:Date>{STAMP}</gco:Date></gmd:dateStamp>"
        f"<gmd:metadataStandardName>{_cs(standard)}</gmd:metadataStandardName>"
        f"<gmd:metadataStandardVersion>{_cs(version)}</gmd:metadataStandardVersion>"
        "<gmd:referenceSystemInfo><gmd:MD_ReferenceSystem><gmd:referenceSystemIdentifier><gmd:RS_Identifier>"
        '<gmd:code><gmx:Anchor xlink:href="http://www.opengis.net/def/crs/EPSG/0/28992">28992</gmx:Anchor>'
        "</gmd:code></gmd:RS_Identifier></gmd:referenceSystemIdentifier></gmd:MD_ReferenceSystem>"
        "</gmd:referenceSystemInfo>"
    )


def _citation(title: str, created: str, uid: str | None = None) -> str:
    ident = (
        f"<gmd:identifier><gmd:MD_Identifier><gmd:code>{_cs(uid)}</gmd:code></gmd:MD_Identifier></gmd:identifier>"
        if uid
        else ""
    )
    return (
        f"<gmd:citation><gmd:CI_Citation><gmd:title>{_cs(title)}</gmd:title>"
        f"<gmd:date><gmd:CI_Date><gmd:date><gco:Date>{created}</gco:Date></gmd:date>"
        f"<gmd:dateType>{_code('CI_DateTypeCode', 'creation', 'creatie')}</gmd:dateType></gmd:CI_Date></gmd:date>"
        f"<gmd:date><gmd:CI_Date><gmd:date><gco:Date>{STAMP}</gco:Date></gmd:date>"
        f"<gmd:dateType>{_code('CI_DateTypeCode', 'revision', 'revisie')}</gmd:dateType></gmd:CI_Date></gmd:date>"
        f"{ident}</gmd:CI_Citation></gmd:citation>"
    )


def _keywords(words) -> str:
    inner = "".join(f"<gmd:keyword>{_cs(w)}</gmd:keyword>" for w in words)
    return f"<gmd:descriptiveKeywords><gmd:MD_Keywords>{inner}</gmd:MD_Keywords></gmd:descriptiveKeywords>"


def _constraints(licence: dict, attribution: str | None) -> str:
    use = attribution or licence["label"]
    return (
        f"<gmd:resourceConstraints><gmd:MD_Constraints><gmd:useLimitation>{_cs(use)}</gmd:useLimitation>"
        "</gmd:MD_Constraints></gmd:resourceConstraints>"
        "<gmd:resourceConstraints><gmd:MD_LegalConstraints>"
        f"<gmd:accessConstraints>{_code('MD_RestrictionCode', 'otherRestrictions', 'anders')}</gmd:accessConstraints>"
        f"<gmd:otherConstraints><gmx:Anchor xlink:href={quoteattr(licence['url'])}>{escape(licence['label'])}"
        f"</gmx:Anchor></gmd:otherConstraints>"
        f"<gmd:otherConstraints>{_cs(licence['name'])}</gmd:otherConstraints>"
        "</gmd:MD_LegalConstraints></gmd:resourceConstraints>"
    )


def _bbox(wgs84: list[float]) -> str:
    w, s, e, n = wgs84
    return (
        "<gmd:EX_Extent><gmd:geographicElement><gmd:EX_GeographicBoundingBox>"
        f"<gmd:westBoundLongitude><gco:Decimal>{w}</gco:Decimal></gmd:westBoundLongitude>"
        f"<gmd:eastBoundLongitude><gco:Decimal>{e}</gco:Decimal></gmd:eastBoundLongitude>"
        f"<gmd:southBoundLatitude><gco:Decimal>{s}</gco:Decimal></gmd:southBoundLatitude>"
        f"<gmd:northBoundLatitude><gco:Decimal>{n}</gco:Decimal></gmd:northBoundLatitude>"
        "</gmd:EX_GeographicBoundingBox></gmd:geographicElement></gmd:EX_Extent>"
    )


def _online(url: str, protocol: str, name: str, description: str) -> str:
    return (
        f"<gmd:onLine><gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{escape(url)}</gmd:URL></gmd:linkage>"
        f"<gmd:protocol>{_cs(protocol)}</gmd:protocol><gmd:name>{_cs(name)}</gmd:name>"
        f"<gmd:description>{_cs(description)}</gmd:description></gmd:CI_OnlineResource></gmd:onLine>"
    )


def online_resources(ds: Dataset, endpoints: dict) -> list[dict]:
    """Every way the dataset is published: {"url", "protocol", "name", "description"} (also used for Records)."""
    out = []
    if ds.wms:
        out.append({"url": endpoints["wms"], "protocol": "OGC:WMS", "name": ds.key, "description": "accessPoint"})
    if ds.wmts:
        out.append({"url": endpoints["wmts"], "protocol": "OGC:WMTS", "name": ds.key, "description": "accessPoint"})
    if ds.wfs:
        out.append({"url": endpoints["wfs"], "protocol": "OGC:WFS", "name": ds.key, "description": "accessPoint"})
    if ds.wcs:
        out.append({"url": endpoints["wcs"], "protocol": "OGC:WCS", "name": ds.key, "description": "accessPoint"})
    if ds.oapif:
        out.append({"url": endpoints["ogcapi"], "protocol": "OGC:API features", "name": ds.key,
                    "description": "accessPoint"})  # fmt: skip
    if ds.oapit:
        out.append({"url": endpoints["ogcapi"], "protocol": "OGC:API tiles", "name": ds.key,
                    "description": "accessPoint"})  # fmt: skip
    for d in ds.downloads:
        out.append({"url": f"{endpoints['files']}/{d.path}", "protocol": d.protocol, "name": d.path.rsplit("/", 1)[-1],
                    "description": d.description})  # fmt: skip
    return out


def dataset_record(ds: Dataset, endpoints: dict, wgs84: list[float]) -> str:
    online = "".join(_online(**o) for o in online_resources(ds, endpoints))
    return (
        _head(
            ds.uuid,
            "dataset",
            ds.organisation,
            "ISO 19115",
            "Nederlands metadata profiel op ISO 19115 voor geografie 2.0",
        )
        + "<gmd:identificationInfo><gmd:MD_DataIdentification>"
        + _citation(ds.title, ds.created, ds.uuid)
        + f"<gmd:abstract>{_cs(ds.abstract)}</gmd:abstract>"
        + f"<gmd:status>{_code('MD_ProgressCode', 'onGoing', 'continu')}</gmd:status>"
        + f"<gmd:pointOfContact>{_party(ds.organisation, 'custodian')}</gmd:pointOfContact>"
        + _keywords(ds.keywords)
        + _constraints(ds.licence, ds.attribution)
        + f"<gmd:spatialRepresentationType>{_code('MD_SpatialRepresentationTypeCode', 'grid' if ds.key == 'ahn_dtm' else 'vector')}"
        "</gmd:spatialRepresentationType>"
        + '<gmd:language><gmd:LanguageCode codeList="http://www.loc.gov/standards/iso639-2/" codeListValue="dut">'
        "Nederlands; Vlaams</gmd:LanguageCode></gmd:language>"
        + f"<gmd:topicCategory><gmd:MD_TopicCategoryCode>{ds.topic}</gmd:MD_TopicCategoryCode></gmd:topicCategory>"
        + f"<gmd:extent>{_bbox(wgs84)}</gmd:extent>"
        + "</gmd:MD_DataIdentification></gmd:identificationInfo>"
        + f"<gmd:distributionInfo><gmd:MD_Distribution><gmd:transferOptions><gmd:MD_DigitalTransferOptions>{online}"
        "</gmd:MD_DigitalTransferOptions></gmd:transferOptions></gmd:MD_Distribution></gmd:distributionInfo>"
        + "<gmd:dataQualityInfo><gmd:DQ_DataQuality><gmd:scope><gmd:DQ_Scope>"
        f"<gmd:level>{_code('MD_ScopeCode', 'dataset')}</gmd:level></gmd:DQ_Scope></gmd:scope>"
        f"<gmd:lineage><gmd:LI_Lineage><gmd:statement>{_cs(ds.lineage)}</gmd:statement></gmd:LI_Lineage>"
        "</gmd:lineage></gmd:DQ_DataQuality></gmd:dataQualityInfo></gmd:MD_Metadata>\n"
    )


def service_records(endpoints: dict, extents: dict) -> dict[str, str]:
    """uuid -> ISO 19119 record for each sandbox service, operating on the datasets it publishes."""
    out = {}
    kadaster = {"name": "Kadaster", "email": "beheerpdok@kadaster.nl", "url": "https://www.pdok.nl"}
    for kind, protocol, service_type, title in SERVICES:
        flag = SERVICE_FLAG.get(kind, kind)
        url = endpoints[SERVICE_URL_KEY.get(kind, kind)]
        datasets = [d for d in DATASETS if getattr(d, flag)]
        if not datasets:
            continue
        uid = service_uuid(kind)
        boxes = [extents[d.key]["wgs84"] for d in datasets]
        bbox = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
        names = ", ".join(d.key for d in datasets)
        licences = sorted({d.licence["name"] for d in datasets})
        licence = datasets[0].licence if len(licences) == 1 else {**datasets[0].licence, "name": " / ".join(licences)}
        operates = "".join(
            f'<srv:operatesOn uuidref="{d.uuid}" xlink:href={quoteattr(endpoints["csw"] + "?service=CSW&version=2.0.2&request=GetRecordById&outputSchema=http://www.isotc211.org/2005/gmd&elementSetName=full&id=" + d.uuid)}/>'
            for d in datasets
        )
        out[uid] = (
            _head(uid, "service", kadaster, "ISO 19119", "Nederlands metadata profiel op ISO 19119 voor services 2.1.0")
            + "<gmd:identificationInfo><srv:SV_ServiceIdentification>"
            + _citation(title, "2026-01-01")
            + f"<gmd:abstract>{_cs(f'{title}: publiceert {names}.')}</gmd:abstract>"
            + f"<gmd:pointOfContact>{_party(kadaster, 'custodian')}</gmd:pointOfContact>"
            + _keywords(("infoMapAccessService" if service_type == "view" else "infoFeatureAccessService", "Delft"))
            + _constraints(licence, None)
            + f'<srv:serviceType><gco:LocalName codeSpace="http://inspire.ec.europa.eu/metadata-codelist/'
            f'SpatialDataServiceType">{service_type}</gco:LocalName></srv:serviceType>'
            + f"<srv:extent>{_bbox(bbox)}</srv:extent>"
            + f"<srv:couplingType>{_code('SV_CouplingType', 'tight')}</srv:couplingType>"
            + "<srv:containsOperations><srv:SV_OperationMetadata><srv:operationName>"
            + _cs("GetCapabilities")
            + f"</srv:operationName><srv:DCP>{_code('DCPList', 'WebServices')}</srv:DCP><srv:connectPoint>"
            f"<gmd:CI_OnlineResource><gmd:linkage><gmd:URL>{escape(url)}</gmd:URL></gmd:linkage>"
            "</gmd:CI_OnlineResource></srv:connectPoint></srv:SV_OperationMetadata></srv:containsOperations>"
            + operates
            + "</srv:SV_ServiceIdentification></gmd:identificationInfo>"
            + "<gmd:distributionInfo><gmd:MD_Distribution><gmd:transferOptions><gmd:MD_DigitalTransferOptions>"
            + _online(url, protocol, title, "accessPoint")
            + "</gmd:MD_DigitalTransferOptions></gmd:transferOptions></gmd:MD_Distribution></gmd:distributionInfo>"
            + "</gmd:MD_Metadata>\n"
        )
    return out


def all_records(endpoints: dict, extents: dict) -> dict[str, str]:
    """uuid -> ISO 19139 XML for every generated dataset and service record."""
    records = {ds.uuid: dataset_record(ds, endpoints, extents[ds.key]["wgs84"]) for ds in DATASETS}
    records.update(service_records(endpoints, extents))
    return records
