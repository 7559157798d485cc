"""Hardened XML parsing for everything a catalogue sends us.

A catalogue answer is untrusted input: a document type declaration can define entities that
expand exponentially ("billion laughs") or pull in local files and URLs (external entities).
We never need a DTD in CSW/ISO 19139, so any DOCTYPE or ENTITY declaration is refused
outright, before and during parsing; no entity is expanded, nothing is fetched, and the
input size is capped.

lxml is used when present (Debian's python3-qgis depends on python3-lxml; QGIS installers
ship it); otherwise expat with handlers that refuse DTDs, building an ElementTree tree.
Both give elements with the ElementTree API (tag, text, attrib, get, find, findall, iter),
which is all the parsers use. The plugin does not need defusedxml.
"""

from __future__ import annotations

import re

from ..errors import CatalogueError
from ..i18n import tr

MAX_XML_BYTES = 64 * 1024 * 1024  # one GetRecords page is a few MB at most

try:  # pragma: no branch - which one depends on the platform
    from lxml import etree as _lxml
except ImportError:  # pragma: no cover - Debian always has lxml
    _lxml = None

# DTD syntax anywhere in the document (also inside a prolog with comments). ASCII-compatible
# encodings only; other encodings are transcoded to UTF-8 first (see _as_utf8).
_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class UnsafeXmlError(CatalogueError):
    """The document declares a DTD or entities: refused, never parsed."""


def _as_utf8(data: bytes) -> bytes:
    # UTF-16/32 documents would hide "<!DOCTYPE" from a byte scan: transcode them first.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        for codec in ("utf-32", "utf-16"):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text.lstrip("\ufeff"))
            return text.encode("utf-8")
    return data


def _refuse(what: str) -> UnsafeXmlError:
    return UnsafeXmlError(
        tr(
            "The {what} contains a document type declaration (DTD or entities), which DTFL refuses to read "
            "for safety. The catalogue may be misconfigured or the answer tampered with."
        ).format(what=what)
    )


def parse(data: bytes, what: str = "", max_bytes: int = MAX_XML_BYTES):
    """Parse ``data`` into an element; CatalogueError (translated) on anything unsafe or malformed.

    ``what`` names the document for messages ("answer from nationaalgeoregister.nl").
    """
    what = what or tr("catalogue answer")
    if not data or not data.strip():
        raise CatalogueError(tr("The {what} is empty.").format(what=what))
    if len(data) > max_bytes:
        raise CatalogueError(
            tr("The {what} is larger than {limit} MB; refused.").format(what=what, limit=max_bytes // (1024 * 1024))
        )
    data = _as_utf8(data)
    if _FORBIDDEN.search(data):
        raise _refuse(what)
    if _lxml is not None:
        return _parse_lxml(data, what)
    return _parse_expat(data, what)


def _malformed(what: str, reason: str) -> CatalogueError:
    return CatalogueError(
        tr("The {what} is not well-formed XML (truncated or damaged?): {reason}").format(what=what, reason=reason),
        detail=reason,
    )


def _parse_lxml(data: bytes, what: str):
    parser = _lxml.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = _lxml.fromstring(data, parser=parser)
    except _lxml.XMLSyntaxError as err:
        if "entit" in str(err).lower():  # libxml2's own amplification/loop guards fired
            raise _refuse(what) from err
        raise _malformed(what, str(err)) from err
    except ValueError as err:  # e.g. an encoding declaration lxml refuses
        raise _malformed(what, str(err)) from err
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # belt and braces after the byte scan
        raise _refuse(what)
    return root


def _parse_expat(data: bytes, what: str):
    import xml.etree.ElementTree as ET  # noqa: N817 - the customary alias
    from xml.parsers import expat

    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")

    def qname(name: str) -> str:
        ns, _, local = name.rpartition(" ")
        return "{%s}%s" % (ns, local) if ns else local  # noqa: UP031 - braces are literal here

    def forbid(*_args):
        raise _refuse(what)

    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    parser.StartElementHandler = lambda tag, attrs: builder.start(qname(tag), {qname(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda tag: builder.end(qname(tag))
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        return builder.close()
    except expat.ExpatError as err:
        raise _malformed(what, str(err)) from err


def local(tag) -> str:
    """The local name of an element's tag ("{ns}MD_Metadata" -> "MD_Metadata")."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
