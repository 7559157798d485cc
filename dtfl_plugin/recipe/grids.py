"""Datum grids travel with a recipe: which PROJ grids its layers need, carried when the sender has them,
named always, and a warning when the receiver lacks them (the check Mergin Maps makes before upload).

Exact transformations between RD New / NAP and ETRS89 need grids (``nl_nsgi_rdtrans2018.tif``,
``nl_nsgi_nlgeo2018.tif``); without them PROJ silently falls back to a ballpark transformation that is
off by up to a metre. Which grids a recipe needs is read from PROJ's own database (proj.db): the grid
transformations between the recipe's coordinate systems (and their parts: the geodetic base of a
projected system, the horizontal and vertical parts of a compound one) and the common ETRS89/WGS 84
systems; per pair the most accurate one that is not deprecated, by its current CDN file name.
"""

from __future__ import annotations

import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

from ..i18n import tr
from . import qgsxml

CDN = "https://cdn.proj.org/"
GRIDS_MEMBER = "data/grids/"
# the systems data meet on the web and in 3D: ETRS89 (2D, 3D, geocentric, ETRF2000) and WGS 84
COMMON = {"4258", "4937", "4936", "7931", "7930", "9067", "4326", "4979", "4978"}


def search_paths() -> list[Path]:
    """PROJ's data folders as QGIS uses them (the user's own first), and PROJ_DATA/PROJ_LIB."""
    paths: list[str] = []
    try:
        from qgis.core import QgsProjUtils

        paths += list(QgsProjUtils.searchPaths())
    except ImportError:  # pragma: no cover - tooling outside QGIS
        pass
    paths += [os.environ[v] for v in ("PROJ_DATA", "PROJ_LIB") if os.environ.get(v)]
    return [Path(p) for p in dict.fromkeys(paths) if p]


def local_grid(name: str) -> Path | None:
    for folder in search_paths():
        path = folder / name
        if path.is_file():
            return path
    return None


def _proj_db() -> Path | None:
    for folder in search_paths() + [Path("/usr/share/proj")]:
        if (folder / "proj.db").is_file():
            return folder / "proj.db"
    return None


def transforms_to_common(tree: ET.ElementTree) -> bool:
    """Whether the recipe meets the common systems: web services (delivered in ETRS89/WGS 84) or 3D views."""
    root = tree.getroot()
    services = any((layer.provider or "") in qgsxml.SERVICE_PROVIDERS for layer in qgsxml.layers(tree))
    return services or root.find("mapViewDocks3D") is not None


def recipe_crs(tree: ET.ElementTree) -> set[str]:
    """EPSG codes of the project and its layers."""
    root = tree.getroot()
    ids = {node.text or "" for node in root.iter("authid")}
    return {i.split(":", 1)[1] for i in ids if i.upper().startswith("EPSG:") and i.split(":", 1)[1].isdigit()}


def _parts(db: sqlite3.Connection, code: str) -> set[str]:
    """A code with its parts: compound -> horizontal + vertical; projected -> geodetic base."""
    out, todo = set(), [code]
    while todo:
        current = todo.pop()
        if current in out:
            continue
        out.add(current)
        for sql in (
            "SELECT horiz_crs_code, vertical_crs_code FROM compound_crs WHERE auth_name='EPSG' AND code=?",
            "SELECT geodetic_crs_code, NULL FROM projected_crs WHERE auth_name='EPSG' AND code=?",
        ):
            for row in db.execute(sql, (current,)):
                todo += [str(c) for c in row if c is not None]
    return out


def _common(db: sqlite3.Connection) -> set[str]:
    """ETRS89 and WGS 84 with all their realisations as the EPSG database of this PROJ names them (newer
    databases move grids to national realisations, e.g. NAP heights to ETRS89-NLD [AGRS2010])."""
    rows = db.execute(
        "SELECT code FROM geodetic_crs WHERE auth_name = 'EPSG' AND deprecated = 0 "
        "AND (name LIKE 'ETRS89%' OR name LIKE 'WGS 84%')"
    )
    return COMMON | {str(code) for (code,) in rows}


def needed_grids(codes: set[str], common: bool = True) -> list[str]:
    """CDN names of the grids the most accurate transformations between ``codes`` (and, with ``common``, the
    common ETRS89/WGS 84 systems) use. Pairs of one system with its own parts do not count."""
    db_path = _proj_db()
    if db_path is None or not codes:
        return []
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        parts = {c: _parts(db, c) for c in codes}
        mine = set().union(*parts.values())
        others = mine | (_common(db) if common else set())
        best: dict[tuple[str, str], tuple[float, str]] = {}
        rows = db.execute(
            "SELECT g.source_crs_code, g.target_crs_code, g.accuracy, COALESCE(a.proj_grid_name, g.grid_name) "
            "FROM grid_transformation g LEFT JOIN grid_alternatives a ON a.original_grid_name = g.grid_name "
            "WHERE g.deprecated = 0 AND g.source_crs_auth_name = 'EPSG' AND g.target_crs_auth_name = 'EPSG'"
        )
        for source, target, accuracy, grid in rows:
            source, target = str(source), str(target)
            if (
                not grid
                or "/" in grid
                or not ((source in mine and target in others) or (target in mine and source in others))
            ):
                continue
            if not common and any(source in p and target in p for p in parts.values()):
                continue  # within one compound system (its vertical datum on its own base): no transformation
            key = tuple(sorted((source, target)))
            accuracy = float(accuracy) if accuracy is not None else 1e9
            if key not in best or accuracy < best[key][0]:
                best[key] = (accuracy, grid)
    return sorted({grid for _acc, grid in best.values()})


def attach(tree: ET.ElementTree, add_file: Callable[[str, Path], None]) -> list[str]:
    """At packing: name the needed grids in the project (DTFL/grids) and carry those this computer has.
    Returns warnings for grids named but not carried."""
    warnings, recorded = [], []
    for name in needed_grids(recipe_crs(tree), transforms_to_common(tree)):
        path = local_grid(name)
        member = f"{GRIDS_MEMBER}{name}" if path is not None else ""
        if path is not None:
            add_file(member, path)
        else:
            warnings.append(
                tr(
                    "The recipe needs the datum grid {name}; it is not on this computer, so it is named, not carried."
                ).format(name=name)  # fmt: skip
            )
        recorded.append({"name": name, "member": member, "url": CDN + name})
    if recorded:
        qgsxml.write_entry(tree, "DTFL", "grids", json.dumps(recorded))
    return warnings


def missing(tree: ET.ElementTree, folder: Path) -> list[tuple[str, str]]:
    """At opening: (grid name, translated advice) for every grid the recipe needs that this computer lacks."""
    try:
        recorded = json.loads(qgsxml.read_entry(tree, "DTFL", "grids") or "[]")
    except ValueError:
        recorded = []
    names = {str(item.get("name", "")): str(item.get("member", "")) for item in recorded if isinstance(item, dict)}
    for name in needed_grids(recipe_crs(tree), transforms_to_common(tree)):
        names.setdefault(name, "")
    out = []
    for name, member in sorted(names.items()):
        if not name or "/" in name or "\\" in name or local_grid(name) is not None:
            continue
        ok = member.startswith(GRIDS_MEMBER) and ".." not in member and (folder / member).is_file()
        carried = folder / member if ok else None
        user_dir = search_paths()[0] if search_paths() else Path("proj")
        if carried is not None:
            advice = tr(
                "This computer lacks the datum grid {name}: positions may be off by up to a metre. The recipe carries "
                "it: copy {path} into {folder} and restart QGIS."
            ).format(name=name, path=carried, folder=user_dir)
        else:
            advice = tr(
                "This computer lacks the datum grid {name}: positions may be off by up to a metre. Download it from "
                "{url} into {folder} (or install it in QGIS: Settings > Options > Transformations) and restart QGIS."
            ).format(name=name, url=CDN + name, folder=user_dir)
        out.append((name, advice))
    return out
