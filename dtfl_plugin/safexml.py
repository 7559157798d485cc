"""The one hardened parser for every XML document that comes from outside.

Project files (.qgs and the .qgs inside a .qgz), styles (.qml, .sld), SVG markers, GDAL/OGR VRT
files inside a recipe and catalogue answers all come here. Untrusted XML can declare entities that
expand exponentially ("billion laughs") or pull in local files and URLs (external entities); none of
the formats we read needs either. So:

- the size is capped before parsing;
- the encoding is decided here, not by a byte scan: a byte-order mark, UTF-16/32 without one (the
  zero-byte pattern of ``<``), or the declared ``encoding=`` (any codec Python knows); the text is
  decoded first, so a UTF-16 document is checked exactly like a UTF-8 one;
- the parser itself refuses every entity declaration, any internal DTD subset, any external or
  skipped entity reference; only a bare ``<!DOCTYPE name PUBLIC/SYSTEM ...>`` line (which QGIS writes
  in every project) is allowed, and its DTD is never read: nothing is fetched;
- the result is a standard-library ElementTree (tags kept as written, no namespace rewriting), so
  it can be cleaned and written back unchanged apart from the cleaning.

Catalogue answers may be parsed with lxml (``backend="lxml"``, faster on big pages) with the same
refusals. No regular expression here runs over the document's text.
"""

from __future__ import annotations

import codecs
import xml.etree.ElementTree as ET
from xml.parsers import expat

from .errors import DtflError
from .i18n import tr

MAX_XML_BYTES = 64 * 1024 * 1024

try:  # pragma: no branch - which one depends on the platform
    from lxml import etree as _lxml
except ImportError:  # pragma: no cover - Debian and the QGIS installers ship lxml
    _lxml = None


class XmlError(DtflError):
    """The document is malformed, too large or empty (translated message)."""


class UnsafeXmlError(XmlError):
    """The document declares entities or a DTD subset: refused, never expanded."""


def refused(what: str) -> str:
    return tr(
        "The {what} declares XML entities or a document type definition, which DTFL refuses to read for safety."
    ).format(what=what)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NO_BOM = (  # XML 1.0 appendix F: the first character is '<' (or whitespace before it)
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)


def _declared_encoding(head: bytes) -> str:
    """The ``encoding="..."`` of an XML declaration in an ASCII-compatible head, or ''."""
    if not head.startswith(b"<?xml"):
        return ""
    end = head.find(b"?>")
    decl = head[: end if end > 0 else 200].decode("ascii", "replace")
    pos = decl.find("encoding")
    if pos < 0:
        return ""
    rest = decl[pos + 8 :].lstrip()
    if not rest.startswith("="):
        return ""
    rest = rest[1:].lstrip()
    if not rest or rest[0] not in "'\"":
        return ""
    close = rest.find(rest[0], 1)
    return rest[1:close] if close > 0 else ""


def decode(data: bytes, what: str = "") -> str:
    """The document as text, whatever its encoding; XmlError when it cannot be decoded."""
    what = what or tr("XML document")
    encoding = ""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], codec
            break
    if not encoding:
        stripped = data.lstrip(b" \t\r\n")
        for pattern, codec in _NO_BOM:
            if data.startswith(pattern):
                encoding = codec
                break
        if not encoding:
            encoding = _declared_encoding(stripped) or "utf-8"
    try:
        codecs.lookup(encoding)
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as err:
        raise XmlError(
            tr("The {what} cannot be decoded as {encoding}: {error}").format(what=what, encoding=encoding, error=err)
        ) from err
    text = text.lstrip("\ufeff")
    if text.lstrip().startswith("<?xml"):  # the declaration names the encoding we already decoded: drop it
        start = text.find("<?xml")
        end = text.find("?>", start)
        if end < 0:
            raise XmlError(tr("The {what} is not well-formed XML: {error}").format(what=what, error="<?xml"))
        text = text[end + 2 :]
    return text


def _check_size(data: bytes, what: str, max_bytes: int) -> None:
    if not data or not data.strip():
        raise XmlError(tr("The {what} is empty.").format(what=what))
    if len(data) > max_bytes:
        raise XmlError(
            tr("The {what} is larger than {limit} MB; refused.").format(what=what, limit=max_bytes // (1024 * 1024))
        )


def parse(
    data: bytes,
    what: str = "",
    *,
    max_bytes: int = MAX_XML_BYTES,
    namespaces: bool = False,
    allow_doctype: bool = True,
) -> ET.Element:
    """Parse untrusted bytes into an ElementTree element (see the module text for what is refused).

    ``namespaces``: expand ``prefix:tag`` into ``{uri}tag`` (catalogue answers); off for documents
    that are cleaned and written back (projects, styles, SVG, VRT), so they keep their prefixes.
    ``allow_doctype``: accept a bare ``<!DOCTYPE>`` line without internal subset (QGIS writes one)."""
    what = what or tr("XML document")
    _check_size(data, what, max_bytes)
    text = decode(data, what)
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate("utf-8", " ") if namespaces else expat.ParserCreate("utf-8")

    def qname(name: str) -> str:
        if not namespaces:
            return name
        ns, _, local_name = name.rpartition(" ")
        return "{%s}%s" % (ns, local_name) if ns else local_name  # noqa: UP031 - braces are literal here

    def doctype(_name, _sysid, _pubid, has_internal_subset):
        if has_internal_subset or not allow_doctype:
            raise UnsafeXmlError(refused(what))

    def forbid(*_args):
        raise UnsafeXmlError(refused(what))

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.NotationDeclHandler = forbid
    parser.ElementDeclHandler = forbid
    parser.AttlistDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    parser.SkippedEntityHandler = forbid
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = lambda tag, attrs: builder.start(qname(tag), {qname(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda tag: builder.end(qname(tag))
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(text.encode("utf-8"), True)
        return builder.close()
    except expat.ExpatError as err:
        raise XmlError(
            tr("The {what} is not well-formed XML (truncated or damaged?): {error}").format(what=what, error=err),
            detail=str(err),
        ) from err
    except RecursionError as err:
        raise XmlError(tr("The {what} is nested too deeply; refused.").format(what=what)) from err


def parse_lxml(data: bytes, what: str = "", *, max_bytes: int = MAX_XML_BYTES):
    """The same refusals with lxml, and no DOCTYPE at all (an lxml element; catalogue answers).
    Falls back to :func:`parse` without lxml."""
    if _lxml is None:
        return parse(data, what, max_bytes=max_bytes, namespaces=True, allow_doctype=False)
    what = what or tr("XML document")
    _check_size(data, what, max_bytes)
    text = decode(data, what)
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
        root = _lxml.fromstring(text.encode("utf-8"), parser=parser)
    except _lxml.XMLSyntaxError as err:
        if "entit" in str(err).lower():  # libxml2's own amplification/loop guards fired
            raise UnsafeXmlError(refused(what)) from err
        raise XmlError(
            tr("The {what} is not well-formed XML (truncated or damaged?): {error}").format(what=what, error=err),
            detail=str(err),
        ) from err
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None or _has_entities(root):
        raise UnsafeXmlError(refused(what))
    return root


def _has_entities(root) -> bool:
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and list(dtd.iterentities()):
        return True
    return any(isinstance(node, _lxml._Entity) for node in root.iter())


def parse_file(path, what: str = "", *, max_bytes: int = MAX_XML_BYTES) -> ET.Element:
    """Read a file with the size cap (never more than ``max_bytes`` + 1 bytes) and parse it."""
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    return parse(data, what or str(path), max_bytes=max_bytes)


def local(tag) -> str:
    """The local name of a tag ("{ns}MD_Metadata" or "gmd:MD_Metadata" -> "MD_Metadata")."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]
