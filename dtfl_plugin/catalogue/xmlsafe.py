"""Hardened XML parsing for everything a catalogue sends us.

A catalogue answer is untrusted input. All untrusted XML in DTFL goes through one parser,
``dtfl_plugin/safexml.py``: no DOCTYPE at all in a catalogue answer (CSW and ISO 19139 never need
one), no entity is expanded, nothing is fetched, the size is capped, and the encoding (UTF-16 too)
is decoded before the parser looks, so nothing depends on a byte scan. This module maps its errors
to CatalogueError and keeps the catalogue's choice of lxml (faster) or expat (when lxml is absent).
"""

from __future__ import annotations

from .. import safexml
from ..errors import CatalogueError
from ..i18n import tr

MAX_XML_BYTES = 64 * 1024 * 1024  # one GetRecords page is a few MB at most
_lxml = safexml._lxml


class UnsafeXmlError(CatalogueError):
    """The document declares a DTD or entities: refused, never parsed."""


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
    try:
        if _lxml is not None:
            return safexml.parse_lxml(data, what, max_bytes=max_bytes)
        return safexml.parse(data, what, max_bytes=max_bytes, namespaces=True, allow_doctype=False)
    except safexml.UnsafeXmlError as err:
        raise _refuse(what) from err
    except safexml.XmlError as err:
        raise CatalogueError(str(err), detail=err.detail) from err


def local(tag) -> str:
    """The local name of an element's tag ("{ns}MD_Metadata" -> "MD_Metadata")."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
