"""The sandbox's public URLs, derived from the ports chosen at start (see sandbox.runner)."""

from __future__ import annotations

from urllib.parse import urlencode

from .paths import HOST

# server name -> what it serves; the order is the start order shown by `status`.
SERVERS = ("files", "qgis", "ogcapi", "csw", "mapserver")


def make_endpoints(ports: dict[str, int]) -> dict[str, str]:
    """endpoints.json content: each value a base URL (no trailing slash, no query)."""
    files = f"http://{HOST}:{ports['files']}"
    ows = f"http://{HOST}:{ports['qgis']}/ows"
    ogcapi = f"http://{HOST}:{ports['ogcapi']}"
    return {
        "csw": f"http://{HOST}:{ports['csw']}/csw",
        "ogcapi": ogcapi,
        "oapif": ogcapi,
        "processes": ogcapi,
        "ogcapi_records": f"{ogcapi}/collections/records",
        "wms": ows,
        "wmts": ows,
        "wfs": ows,
        "wcs": ows,
        "wfs3": f"http://{HOST}:{ports['qgis']}/wfs3",
        "wfs2": f"http://{HOST}:{ports['mapserver']}/wfs",
        "files": files,
        "pdok_layers": f"{files}/pdok/layers-sandbox.json",
    }


def metadata_url(endpoints: dict[str, str], uuid: str) -> str:
    """CSW GetRecordById URL of a record in ISO 19139 (what NGR publishes as a layer's MetadataURL)."""
    query = urlencode(
        {
            "service": "CSW",
            "version": "2.0.2",
            "request": "GetRecordById",
            "outputSchema": "http://www.isotc211.org/2005/gmd",
            "elementSetName": "full",
            "id": uuid,
        }
    )
    return f"{endpoints['csw']}?{query}"
