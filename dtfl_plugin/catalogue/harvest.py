"""Harvest: read one configured source completely, then write it into the index in one go.

Runs in a worker (HarvestTask in tasks.py, or the dtfl:catalogue_import algorithm). Network
through net.py only (inside the sources). A failure of any kind leaves the index untouched.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from .. import settings
from ..errors import CatalogueError, NetError
from ..i18n import tr
from .sources import source_class
from .sources.base import SourceConfig, SourceResult

__all__ = [
    "SourceConfig",
    "HarvestReport",
    "harvest",
    "configured_sources",
    "save_sources",
    "DEFAULT_NAMES",
]

SETTINGS_KEY = settings.KEY_CATALOGUE_SOURCES
# Default source names; the bundled snapshot uses the same names so a first re-harvest diffs against it.
DEFAULT_NAMES = {"csw": "ngr-csw", "ogcapi_records": "ngr-records", "pdok_layers": "pdok-layers"}


@dataclass
class HarvestReport:
    source: str
    kind: str
    url: str
    time: str = ""
    new: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    total: int = 0  # entries of this source in the index after the harvest
    records: int = 0  # records read from the source
    pages: int = 0
    truncated: bool = False
    problems: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return tr("{source}: {new} new, {changed} changed, {removed} removed, {skipped} skipped").format(
            source=self.source, new=self.new, changed=self.changed, removed=self.removed, skipped=self.skipped
        )


def default_sources() -> list[SourceConfig]:
    """The national endpoints (settings.endpoints()); the sandbox's when apply_endpoints() set them."""
    endpoints = settings.endpoints()
    overridden = set(settings.get_json("endpoints", {}) or {})
    out: list[SourceConfig] = []
    for key, kind in (("pdok_layers", "pdok-layers"), ("csw", "csw"), ("ogcapi_records", "ogcapi-records")):
        url = endpoints.get(key, "")
        if not url:
            continue
        # The NGR is reachable as CSW and as OGC API - Records: harvesting both in production only
        # doubles the work, so Records is off by default unless an endpoint was set explicitly.
        enabled = key != "ogcapi_records" or key in overridden
        out.append(SourceConfig(kind=kind, url=url, name=DEFAULT_NAMES[key], enabled=enabled))
    return out


def configured_sources() -> list[SourceConfig]:
    """Sources from settings (dtfl/catalogue/sources: JSON list of {kind, url, name, enabled}), else the defaults."""
    raw = settings.get_json(SETTINGS_KEY, None)
    if not isinstance(raw, list) or not raw:
        return default_sources()
    out: list[SourceConfig] = []
    for item in raw:
        if isinstance(item, dict) and item.get("url") and item.get("kind"):
            out.append(SourceConfig.from_dict(item))
    return out or default_sources()


def save_sources(sources: list[SourceConfig]) -> None:
    settings.set_json(SETTINGS_KEY, [s.to_dict() for s in sources])


DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_PAGES = 400  # 40,000 records at 100 a page: the whole NGR, with a bound


def fetch(
    source: SourceConfig, feedback=None, *, timeout_s: float | None = None, max_pages: int | None = None
) -> SourceResult:
    """Read a source without touching any index (the import algorithm and harvest share this).

    Timeout per request and page bound come from settings (dtfl/catalogue/timeout_s, max_pages).
    """
    try:
        cls = source_class(source.kind)
    except KeyError as err:
        raise CatalogueError(
            tr("Unknown catalogue source kind '{kind}'. Use pdok-layers, csw or ogcapi-records.").format(
                kind=source.kind
            )
        ) from err
    try:
        timeout = timeout_s or float(settings.get_int(settings.KEY_CATALOGUE_TIMEOUT, int(DEFAULT_TIMEOUT_S)))
        pages = max_pages or settings.get_int(settings.KEY_CATALOGUE_MAX_PAGES, DEFAULT_MAX_PAGES)
        return cls(source, timeout_s=timeout, max_pages=pages).fetch(feedback)
    except NetError as err:
        if err.status and 200 <= err.status < 300:
            # A 2xx with a transport error: the connection broke before the announced length arrived.
            raise CatalogueError(
                tr(
                    "The answer from the catalogue {name} was cut off before its end (truncated). "
                    "Try again later; the previous index is kept."
                ).format(name=source.name),
                detail=err.detail,
            ) from err
        raise CatalogueError(
            tr("The catalogue {name} could not be read: {reason} The previous index is kept.").format(
                name=source.name, reason=err.message
            ),
            detail=err.detail,
        ) from err


def harvest(source: SourceConfig, index, feedback=None, **options) -> HarvestReport:
    """Harvest one source into ``index``; the index changes only if the whole source was read.

    ``options``: timeout_s, max_pages (see fetch).
    """
    started = time.monotonic()
    result = fetch(source, feedback, **options)
    if feedback is not None and feedback.isCanceled():
        raise CatalogueError(tr("Harvest cancelled; the catalogue index was not changed."))
    previous = index.conn.execute("SELECT count(*) FROM entries WHERE source = ?", (source.name,)).fetchone()[0]
    if not result.entries and previous:
        # An empty answer from a source that had entries is far more likely a broken service
        # than a catalogue that was emptied: keep what we have.
        raise CatalogueError(
            tr(
                "The catalogue {name} returned no usable records ({skipped} skipped); the previous index is kept."
            ).format(name=source.name, skipped=result.skipped),
            detail="; ".join(result.problems[:5]),
        )
    written = index.apply_harvest(
        source.name,
        result.entries,
        kind=source.kind,
        url=source.url,
        skipped=result.skipped,
        partial=result.truncated,
        note=tr("stopped at the page limit") if result.truncated else "",
    )
    total = index.conn.execute("SELECT count(*) FROM entries WHERE source = ?", (source.name,)).fetchone()[0]
    return HarvestReport(
        source=source.name,
        kind=source.kind,
        url=source.url,
        time=written.time,
        new=written.new,
        changed=written.changed,
        removed=written.removed,
        unchanged=written.unchanged,
        skipped=result.skipped,
        total=int(total),
        records=result.records,
        pages=result.pages,
        truncated=result.truncated,
        problems=list(result.problems),
        duration_s=round(time.monotonic() - started, 3),
    )
