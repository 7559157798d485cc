"""The one small interface every catalogue source implements.

A source turns a configured endpoint (or a local file) into Entry objects. It never writes the
index: harvest.py collects everything first and writes it in one transaction, so a source that
fails half-way leaves the index as it was. A record that cannot be parsed is counted in
``skipped`` (with a short reason in ``problems``), never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..entry import Entry

MAX_PROBLEMS = 50  # reasons kept per harvest (for the log); the count is always exact
MAX_PAGE_BYTES = 32 * 1024 * 1024  # one answer (a page, a layer list); refused while reading beyond this


@dataclass
class SourceConfig:
    kind: str  # "csw" | "ogcapi-records" | "pdok-layers"
    url: str  # endpoint URL, file:// URL or local path
    name: str = ""  # unique label; also the "source" of its entries in the index
    enabled: bool = True

    def __post_init__(self) -> None:
        self.kind = normalise_kind(self.kind)
        if not self.name:
            self.name = f"{self.kind}:{self.url}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "url": self.url, "name": self.name, "enabled": self.enabled}

    @classmethod
    def from_dict(cls, data: dict) -> SourceConfig:
        return cls(
            kind=str(data.get("kind", "")),
            url=str(data.get("url", "")),
            name=str(data.get("name", "")),
            enabled=bool(data.get("enabled", True)),
        )


def normalise_kind(kind: str) -> str:
    """Accept "ogcapi_records"/"OGC API Records"/"pdok_layers" spellings; return the canonical kind."""
    k = (kind or "").strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {"ogc-api-records": "ogcapi-records", "records": "ogcapi-records", "pdok": "pdok-layers"}
    return aliases.get(k, k)


@dataclass
class SourceResult:
    entries: list[Entry] = field(default_factory=list)
    records: int = 0  # records read (a record may give several entries, or none)
    skipped: int = 0  # records that could not be parsed
    not_loadable: int = 0  # parsed, but no online resource we can load (e.g. only a website or SOS)
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    truncated: bool = False  # stopped at the page limit before the end

    def skip(self, reason: str) -> None:
        self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(reason)


class CatalogueSource:
    """Base class: subclasses set ``kind`` and implement ``fetch``."""

    kind = ""

    def __init__(self, config: SourceConfig, *, timeout_s: float = 60.0, max_pages: int = 200) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self.max_pages = max_pages

    def fetch(self, feedback=None) -> SourceResult:  # pragma: no cover - interface
        """Read the whole source. Raises CatalogueError when the source as a whole cannot be read."""
        raise NotImplementedError

    @staticmethod
    def cancelled(feedback) -> bool:
        return feedback is not None and feedback.isCanceled()

    max_bytes = MAX_PAGE_BYTES  # a source whose answer is one whole document may allow more

    def get(self, url: str, feedback=None, *, headers: dict | None = None):
        """One answer, capped at MAX_PAGE_BYTES while it is read. Only the configured URL itself may be a
        local file; every other URL (pages, links found in answers) must be http(s)."""
        from ... import net

        return net.get(
            url,
            headers=headers,
            timeout_s=self.timeout_s,
            feedback=feedback,
            max_bytes=self.max_bytes,
            allow_local=url == self.config.url,
        )
