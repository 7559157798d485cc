"""The bundled snapshot: a gzipped JSON of catalogue entries so search works offline on first start.

Built by scripts/build_snapshot.py (``make package``) from the real PDOK layer list and NGR
records; read by default_index() when the user's index is empty. The snapshot keeps each
entry's source name (ngr-csw, pdok-layers, ...) so a later real harvest of that source diffs
against it and reports honest new/changed/removed counts.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

from ..errors import CatalogueError
from ..i18n import tr
from .entry import Entry

SNAPSHOT = Path(__file__).resolve().parent / "data" / "snapshot.json.gz"
FORMAT = 1


def write_snapshot(groups: dict[str, dict], path: str | Path = SNAPSHOT, built: str = "") -> Path:
    """``groups``: {source name: {"kind": str, "url": str, "entries": [Entry]}}; written atomically."""
    path = Path(path)
    data = {
        "format": FORMAT,
        "built": built,
        "sources": [
            {
                "name": name,
                "kind": g.get("kind", ""),
                "url": g.get("url", ""),
                "entries": [e.to_dict() for e in g["entries"]],
            }
            for name, g in groups.items()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".snapshot-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
            handle.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a packaged data file must be readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_snapshot(path: str | Path = SNAPSHOT) -> dict:
    try:
        with gzip.open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError, EOFError) as err:
        raise CatalogueError(
            tr(
                "The bundled catalogue snapshot {path} is damaged: {reason}. Reinstall the plugin or update the catalogue."
            ).format(path=path, reason=err)
        ) from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CatalogueError(tr("The bundled catalogue snapshot {path} has an unknown format.").format(path=path))
    return data


def seed_from_snapshot(index, path: str | Path | None = None) -> int:
    """Fill an empty index from the snapshot; returns the number of entries (0 when there is no snapshot)."""
    path = Path(path) if path is not None else SNAPSHOT
    if not path.is_file():
        return 0
    data = read_snapshot(path)
    total = 0
    for group in data.get("sources", []):
        entries = [Entry.from_dict(e) for e in group.get("entries", [])]
        result = index.apply_harvest(
            group["name"],
            entries,
            kind=group.get("kind", ""),
            url=group.get("url", ""),
            when=data.get("built", ""),
            note=tr("bundled snapshot of {built}").format(built=data.get("built", "")),
        )
        total += result.total
    return total
