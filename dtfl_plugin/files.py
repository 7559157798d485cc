"""Writing a file whole or not at all: a temporary file beside it, moved into place with os.replace."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_text_atomic(path: str | Path, text: str, *, suffix: str = "") -> Path:
    """Write ``text`` (UTF-8) to ``path``: a reader sees the old file or the whole new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, data) -> Path:
    """``data`` as readable JSON (UTF-8, one-space indent), written atomically."""
    return write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=1), suffix=".json")
