"""How each sandbox server is started and how we know it answers (a real request, not just an open port)."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .artefacts import server_env
from .generate import bag3d_tiles
from .paths import HOST, LOGS, QGIS_PYTHON, ROOT, RUN, SERVERS_PYTHON, SHARED_DATA

QGIS_MAPSERVER = os.environ.get("DTFL_QGIS_MAPSERVER", "/usr/bin/qgis_mapserver")


@dataclass
class ServerSpec:
    name: str
    cmd: list[str]
    env: dict
    health_url: str
    health_marker: str
    marker: str  # a token of the command line: guards `stop` against a recycled pid
    cwd: Path = field(default=ROOT)

    @property
    def log(self) -> Path:
        return LOGS / f"{self.name}.log"


def _files_spec(endpoints: dict, ports: dict, art: dict) -> ServerSpec:
    """The static file server: the COG, the EPT and 3D samples, the PDOK layer list, styles, ISO records."""
    d3 = SHARED_DATA / "3d"
    files_map = {
        "/ahn": art["cog"],
        "/ept/ahn3_delft": d3 / "derived" / "ahn3_delft_ept",
        "/cityjson": d3 / "cityjson",
        "/3dtiles/3dbag": d3 / "3dtiles" / "3dbag_tyler_sample",
        "/3dbag/tiles": bag3d_tiles.build(d3, RUN / "3dbag-tiles"),
        "/pdok": art["pdok"],
        "/styles": art["styles"],
        "/catalogue/iso19139": SHARED_DATA / "catalogue" / "iso19139",
    }
    files_cmd = [sys.executable, "-m", "sandbox.fileserver", "--host", HOST, "--port", str(ports["files"])]
    for prefix, folder in files_map.items():
        files_cmd += ["--map", f"{prefix}={folder}"]
    return ServerSpec(
        "files",
        files_cmd,
        server_env({"PYTHONPATH": str(ROOT)}),
        f"{endpoints['files']}/pdok/layers-sandbox.json",
        "dataset_md_id",
        "sandbox.fileserver",
    )


def specs(endpoints: dict, ports: dict, art: dict) -> list[ServerSpec]:
    qgis_profile = RUN / "qgis-server-profile"
    qgis_profile.mkdir(parents=True, exist_ok=True)
    waitress = [str(SERVERS_PYTHON), "-m", "waitress", "--threads=8", "--channel-timeout=300"]
    return [
        _files_spec(endpoints, ports, art),
        ServerSpec(
            "qgis",
            [QGIS_MAPSERVER, "-p", str(art["qgs"]), f"{HOST}:{ports['qgis']}"],
            server_env(
                {
                    "QT_QPA_PLATFORM": "offscreen",
                    "QGIS_SERVER_LOG_STDERR": "1",
                    "QGIS_SERVER_LOG_LEVEL": "1",
                    "QGIS_CUSTOM_CONFIG_PATH": str(qgis_profile),
                    "QGIS_SERVER_IGNORE_BAD_LAYERS": "0",
                }
            ),  # fmt: skip
            f"{endpoints['wms']}?SERVICE=WMS&REQUEST=GetCapabilities",
            "WMS_Capabilities",
            "qgis_mapserver",
        ),
        ServerSpec(
            "ogcapi",
            waitress + [f"--listen={HOST}:{ports['ogcapi']}", "pygeoapi.flask_app:APP"],
            server_env(
                {
                    "PYGEOAPI_CONFIG": str(art["pygeoapi_config"]),
                    "PYGEOAPI_OPENAPI": str(art["openapi"]),
                    "DTFL_SANDBOX_JOBS_DB": str(art["jobs_db"]),
                    "DTFL_SANDBOX_OUTPUTS": str(art["outputs"]),
                }
            ),  # fmt: skip
            f"{endpoints['ogcapi']}/collections?f=json",
            "bgt_pand",
            "pygeoapi.flask_app",
        ),
        ServerSpec(
            "mapserver",
            [
                str(QGIS_PYTHON),
                "-m",
                "sandbox.mapserver",
                "--host",
                HOST,
                "--port",
                str(ports["mapserver"]),
                "--mapfile",
                str(art["mapfile"]),
            ],  # fmt: skip
            server_env({"PYTHONPATH": str(ROOT), "PROJ_DATA": "/usr/share/proj"}),
            f"{endpoints['wfs2']}?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetCapabilities",
            "WFS_Capabilities",
            "sandbox.mapserver",
        ),
        ServerSpec(
            "csw",
            waitress + [f"--listen={HOST}:{ports['csw']}", "pycsw.wsgi:application"],
            server_env({"PYCSW_CONFIG": str(art["csw"] / "pycsw.cfg")}),
            f"{endpoints['csw']}?service=CSW&version=2.0.2&request=GetCapabilities",
            "Capabilities",
            "pycsw.wsgi",
        ),
    ]


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


def check(url: str, marker: str, timeout: float = 5.0) -> tuple[bool, str]:
    """(answers properly, why not): HTTP 200 and the marker in the body."""
    try:
        with _OPENER.open(url, timeout=timeout) as resp:
            body = resp.read(1 << 20).decode("utf-8", "replace")
            if resp.status != 200:
                return False, f"HTTP {resp.status}"
            if marker not in body:
                return False, f"answer lacks {marker!r}: {body[:200]!r}"
            return True, ""
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return False, str(exc)
