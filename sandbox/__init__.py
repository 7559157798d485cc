"""The local national geo-infrastructure: real servers on 127.0.0.1 with the real Dutch sample data.

    python -m sandbox start|stop|status        (make sandbox / sandbox-stop / sandbox-status)

API: :func:`start` (returns the endpoints dict), :func:`stop`, :func:`status`, :func:`running`.
Servers: pycsw (CSW 2.0.2), pygeoapi (OGC API Features/Records/Processes), qgis_mapserver
(WMS/WMTS/WFS/WCS, OGC API Features at /wfs3) and a static file server with HTTP Range support.
"""

from __future__ import annotations

from .runner import SandboxError, running, start, status, stop

__all__ = ["SandboxError", "running", "start", "status", "stop"]
