"""CSW 2.0.2 GetRecords harvesting with ISO 19139 output (the Nationaal Georegister, pycsw).

Pages with startPosition/maxRecords until nextRecord says the end (0 or past
numberOfRecordsMatched), with an upper bound on pages. Requests are KVP GET with
version=2.0.2 spelled out (without it pycsw answers CSW 3.0).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from ...errors import CatalogueError
from ...i18n import tr
from ..xmlsafe import local, parse
from .base import CatalogueSource, SourceResult
from .iso19139 import find_records, merge, parse_record, to_entries

GMD = "http://www.isotc211.org/2005/gmd"
CSW = "http://www.opengis.net/cat/csw/2.0.2"
PAGE_SIZE = 100


def getrecords_url(base: str, start: int, page_size: int = PAGE_SIZE) -> str:
    params = {
        "service": "CSW",
        "version": "2.0.2",
        "request": "GetRecords",
        "typeNames": "gmd:MD_Metadata",
        "namespace": f"xmlns(gmd={GMD})",
        "resultType": "results",
        "outputSchema": GMD,
        "elementSetName": "full",
        "startPosition": str(start),
        "maxRecords": str(page_size),
    }
    return base + ("&" if "?" in base else "?") + urlencode(params)


def parse_page(data: bytes, result: SourceResult, source: str, what: str = "") -> tuple[int, int, int]:
    """Add one GetRecords answer's entries to ``result``; returns (matched, returned, nextRecord)."""
    root = parse(data, what)
    if local(root.tag) == "ExceptionReport":
        texts = [" ".join((el.text or "").split()) for el in root.iter() if local(el.tag) == "ExceptionText"]
        raise CatalogueError(
            tr("The catalogue refused the request: {reason}").format(reason="; ".join(t for t in texts if t) or "?")
        )
    results = root.find(f"{{{CSW}}}SearchResults") if local(root.tag) == "GetRecordsResponse" else None
    if results is None and local(root.tag) != "MD_Metadata":
        raise CatalogueError(tr("The {what} is not a CSW GetRecords response.").format(what=what or tr("answer")))
    records = find_records(root)
    result.records += len(records)
    if results is not None:
        # Dublin Core records: the server ignored outputSchema; nothing loadable is in them.
        for child in results:
            if child.tag != f"{{{GMD}}}MD_Metadata":
                result.skip(f"{local(child.tag)}: not an ISO 19139 record")
                result.records += 1
    for md in records:
        try:
            entries = to_entries(parse_record(md), source)
        except (ValueError, TypeError, AttributeError, IndexError) as err:
            result.skip(str(err))
            continue
        if entries:
            result.entries.extend(entries)
        else:
            result.not_loadable += 1
    if results is None:
        return (len(records), len(records), 0)
    matched = _int(results.get("numberOfRecordsMatched"), len(records))
    returned = _int(results.get("numberOfRecordsReturned"), len(records))
    return (matched, returned, _int(results.get("nextRecord"), 0))


def _int(value, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


class CswSource(CatalogueSource):
    kind = "csw"

    def fetch(self, feedback=None) -> SourceResult:
        result = SourceResult()
        url = self.config.url
        host = urlsplit(url).netloc or url
        what = tr("answer from {host}").format(host=host)
        if not urlsplit(url).scheme.startswith("http"):  # a saved GetRecords response or ISO record file
            parse_page(self.get(url).content, result, self.config.name, what)
            result.pages = 1
            result.entries = merge(result.entries)
            return result
        start, seen = 1, set()
        while True:
            if self.cancelled(feedback):
                return result
            if result.pages >= self.max_pages:
                result.truncated = True
                break
            response = self.get(getrecords_url(url, start), feedback)
            before = len(result.entries)
            matched, returned, next_record = parse_page(response.content, result, self.config.name, what)
            ids = {entry.id for entry in result.entries[before:]}
            if ids and ids <= seen:  # only records seen before: a server that pages in a loop
                result.truncated = True
                break
            seen |= ids
            result.pages += 1
            if feedback is not None and matched:
                feedback.setProgress(min(100.0, 100.0 * (start - 1 + returned) / matched))
            # The end: nextRecord 0, past the matches, or a server that does not advance.
            if returned == 0 or next_record == 0 or next_record > matched or next_record <= start:
                break
            start = next_record
        result.entries = merge(result.entries)
        return result
