"""Code inside the recipe's databases: SQLite triggers and views (GeoPackage, SpatiaLite, MBTiles).

A trigger runs when QGIS edits a layer and a view when it reads one; with SpatiaLite's functions loaded (GDAL
loads them for its SQLite-based drivers where available) their SQL can write and read files
(``BlobToFile``, ``BlobFromFile``, ``ImportSHP``...) or load extensions. A trigger or view whose SQL reaches
outside the recipe (references.py: functions, paths, URLs) is dropped; the standard ones of a GeoPackage (R-tree
index, metadata) pass the same check and stay. The file is opened with Python's own sqlite3: no extension is
loaded, and dropping a trigger runs none of its code.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..i18n import tr
from .findings import Finding
from .references import Scope, problem

SQLITE_MAGIC = b"SQLite format 3\x00"


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def clean_database(path: Path, scope: Scope) -> list[Finding]:
    """Drop the triggers and views of one SQLite file whose SQL reaches outside ``scope``."""
    findings: list[Finding] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
    except sqlite3.Error:
        return findings
    try:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'view')").fetchall()
        for kind, name, sql in rows:
            reason = problem(sql or "", scope)
            if not reason:
                continue
            db.execute(
                f'DROP {"TRIGGER" if kind == "trigger" else "VIEW"} IF EXISTS "{name.replace(chr(34), chr(34) * 2)}"'
            )
            findings.append(
                Finding(
                    "database-code",
                    path.name,
                    tr(
                        "'{file}': the {kind} '{name}' ran SQL that reaches outside the recipe ({reason}); it was removed."
                    ).format(file=path.name, kind=kind, name=name, reason=reason),  # fmt: skip
                )
            )
        db.commit()
    except sqlite3.Error as err:
        findings.append(
            Finding(
                "database-code",
                path.name,
                tr("'{file}' could not be checked: {error}").format(file=path.name, error=err),
            )
        )
    finally:
        db.close()
    return findings
