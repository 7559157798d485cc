"""Detail pane of the catalogue dock: what a record says, with a clickable link to the full record."""

from __future__ import annotations

import html

from qgis.PyQt.QtWidgets import QTextBrowser

from ...catalogue.entry import Entry
from ...i18n import tr

# The Nationaal Georegister's public page for a metadata record, for entries whose source
# (e.g. the PDOK layer list) gives the dataset id but no link.
NGR_RECORD_URL = "https://www.nationaalgeoregister.nl/geonetwork/srv/dut/catalog.search#/metadata/{id}"


def metadata_link(entry: Entry) -> str:
    if entry.metadata_url:
        return entry.metadata_url
    if entry.dataset_id:
        return NGR_RECORD_URL.format(id=entry.dataset_id)
    return ""


def _is_web_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _link(url: str, text: str | None = None) -> str:
    # Only web links become anchors: a record must not be able to plant a file:// or javascript: link.
    label = html.escape(text or url)
    if _is_web_url(url):
        return f'<a href="{html.escape(url, quote=True)}">{label}</a>'
    return label


def _when(iso: str) -> str:
    from .harvest import format_harvest_time

    return format_harvest_time(iso) if iso else ""


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n") if p.strip())


def entry_html(entry: Entry) -> str:
    """The record as HTML for a QTextBrowser (every value escaped; only http(s) links)."""
    rows: list[tuple[str, str]] = []

    def row(label: str, value: str, raw: bool = False) -> None:
        if value:
            rows.append((label, value if raw else html.escape(value)))

    row(tr("Service type"), entry.service_type)
    row(tr("Organisation"), entry.organisation)
    licence = entry.licence
    if licence and _is_web_url(licence):
        row(tr("Licence"), _link(licence), raw=True)
    else:
        row(tr("Licence"), licence)
    row(tr("Use constraints"), entry.use_constraints if entry.use_constraints != entry.licence else "")
    row(tr("Date"), entry.date)
    row(tr("Layer name"), entry.name)
    row(tr("Service URL"), _link(entry.service_url), raw=True)
    if entry.bbox:
        row(tr("Extent (WGS84)"), ", ".join(f"{v:.4f}" for v in entry.bbox))
    row(tr("Themes"), ", ".join(entry.themes))
    row(tr("Keywords"), ", ".join(entry.keywords[:25]))
    row(tr("Dataset id"), entry.dataset_id)
    link = metadata_link(entry)
    if link:
        row(tr("Metadata record"), _link(link, tr("Open the full metadata record")), raw=True)
    row(tr("Harvested"), _when(entry.harvested_at))

    table = "".join(
        f'<tr><td style="padding-right:8px; vertical-align:top;"><b>{html.escape(label)}</b></td><td>{value}</td></tr>'
        for label, value in rows
    )
    parts = [f"<h3>{html.escape(entry.title or entry.name or entry.id)}</h3>"]
    if entry.abstract:
        parts.append(_paragraphs(entry.abstract))
    parts.append(f"<table>{table}</table>")
    if entry.lineage:
        parts.append(f"<p><b>{html.escape(tr('Lineage'))}</b></p>{_paragraphs(entry.lineage)}")
    return "".join(parts)


class DetailPane(QTextBrowser):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("dtflCatalogueDetail")
        # Links open in the user's web browser (http/https only); the pane never navigates away.
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._open)
        self.show_entry(None)

    def _open(self, url) -> None:
        from qgis.PyQt.QtGui import QDesktopServices

        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)

    def show_entry(self, entry: Entry | None) -> None:
        if entry is None:
            self.setHtml(f"<p><i>{html.escape(tr('Select a result to see its description.'))}</i></p>")
        else:
            self.setHtml(entry_html(entry))
