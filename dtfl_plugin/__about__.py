"""Name and version of the plugin, read from metadata.txt (the single source).

In a packaged plugin metadata.txt, resources/ and i18n/ sit inside the package folder;
in the source tree they sit one level up. Both layouts are resolved here, once.
"""

from __future__ import annotations

import configparser
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def asset_root() -> Path:
    """Folder holding metadata.txt, resources/ and i18n/."""
    if (PACKAGE_DIR / "metadata.txt").is_file():
        return PACKAGE_DIR
    return PACKAGE_DIR.parent


@lru_cache(maxsize=1)
def metadata() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep keys such as description[nl] as written
    parser.read(asset_root() / "metadata.txt", encoding="utf-8")
    return dict(parser["general"]) if parser.has_section("general") else {}


def name() -> str:
    return metadata().get("name", "DTFL")


def version() -> str:
    return metadata().get("version", "0.0.0")


def resource_path(*parts: str) -> Path:
    return asset_root().joinpath("resources", *parts)


def i18n_path(*parts: str) -> Path:
    return asset_root().joinpath("i18n", *parts)
