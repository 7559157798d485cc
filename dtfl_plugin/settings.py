"""Typed settings under one QgsSettings prefix ("dtfl/").

Rooms add their own keys here so every setting the plugin keeps is visible in one file.
Lists and records are stored as JSON strings: QSettings' list handling differs between
platforms and Qt versions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qgis.core import QgsApplication, QgsSettings

PREFIX = "dtfl/"

# Real national endpoints: the defaults a user gets. The sandbox replaces them through
# apply_endpoints() when it runs (make demo / make run / tests).
DEFAULT_ENDPOINTS: dict[str, str] = {
    "csw": "https://nationaalgeoregister.nl/geonetwork/srv/dut/csw",
    "ogcapi_records": "https://api.pdok.nl/ngr/records/ogc/v1",
    "pdok_layers": "",
}


# Catalogue harvesting (catalogue/harvest.py).
KEY_CATALOGUE_SOURCES = "catalogue/sources"  # JSON list of {kind, url, name, enabled}; absent: the endpoints below
KEY_CATALOGUE_TIMEOUT = "catalogue/timeout_s"  # seconds per request to a catalogue (default 60)
KEY_CATALOGUE_MAX_PAGES = "catalogue/max_pages"  # upper bound on pages per harvest (default 400 x 100 records)

# Catalogue GUI (favourites, dock state): keys kept here so every setting is visible in one file.
KEY_FAVOURITES = "catalogue/favourites"  # JSON list of Entry dicts (snapshots: usable without the index)
KEY_DOCK_FILTERS = "catalogue/dock_filters"  # JSON object: last filter choices in the search dock


# Remote models (models/remote/servers.py): a JSON list of {name, url, authcfg, max_jobs};
# the sandbox's "processes" endpoint adds a server named "sandbox". Timeouts in seconds.
REMOTE_SERVERS_KEY = "remote/servers"
REMOTE_TIMEOUT_KEY = "remote/timeout_s"
REMOTE_MAX_WAIT_KEY = "remote/max_wait_s"


# Recipes (recipe/keys.py, recipe/open.py), JSON values:
RECIPE_TRUSTED_KEYS = "recipe/trusted_keys"  # [{"name": str, "key": base64 minisign public key}]
RECIPE_AUTH_MAP = "recipe/auth_map"  # {authcfg placeholder name in recipes: the receiver's authcfg id}


def _settings() -> QgsSettings:
    return QgsSettings()


def get_str(key: str, default: str = "") -> str:
    return str(_settings().value(PREFIX + key, default, type=str))


def set_str(key: str, value: str) -> None:
    _settings().setValue(PREFIX + key, value)


def get_int(key: str, default: int = 0) -> int:
    return int(_settings().value(PREFIX + key, default, type=int))


def set_int(key: str, value: int) -> None:
    _settings().setValue(PREFIX + key, int(value))


def get_bool(key: str, default: bool = False) -> bool:
    return bool(_settings().value(PREFIX + key, default, type=bool))


def set_bool(key: str, value: bool) -> None:
    _settings().setValue(PREFIX + key, bool(value))


def get_json(key: str, default: Any) -> Any:
    raw = get_str(key, "")
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


def set_json(key: str, value: Any) -> None:
    set_str(key, json.dumps(value, ensure_ascii=False))


def remove(key: str) -> None:
    _settings().remove(PREFIX + key)


def profile_dir() -> Path:
    """This QGIS profile's folder (isolated by QGIS_CUSTOM_CONFIG_PATH in tests)."""
    path = QgsApplication.qgisSettingsDirPath()
    if not path:
        # QGIS not initialised (a bare script): never fall back to the working directory.
        import os

        path = os.environ.get("QGIS_CUSTOM_CONFIG_PATH") or str(
            Path.home() / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
        )
    return Path(path)


def data_dir() -> Path:
    """Where DTFL keeps its files (catalogue index, caches) inside the profile."""
    path = profile_dir() / "dtfl"
    path.mkdir(parents=True, exist_ok=True)
    return path


def endpoints() -> dict[str, str]:
    """Service endpoints in use: the national defaults, overridden by apply_endpoints()."""
    merged = dict(DEFAULT_ENDPOINTS)
    merged.update(get_json("endpoints", {}))
    return merged


def apply_endpoints(values: dict[str, str]) -> None:
    """Point the plugin at other endpoints (e.g. the sandbox's .sandbox/endpoints.json)."""
    set_json("endpoints", {k: str(v) for k, v in values.items()})


def reset_endpoints() -> None:
    remove("endpoints")
