"""Catalogue entry -> LayerSpec (QGIS provider key, data source URI, name, kind).

Pure construction: the service facts come in as ``Capabilities`` (read by load.py in a task), so
every rule here is testable without a network. Provider keys are QGIS's: wms (WMS, WMTS), WFS,
OAPIF, wcs, gdal (COG through /vsicurl/), vectortile, ept, copc/pdal, cesiumtiles.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from qgis.core import QgsDataSourceUri

from ..catalogue.entry import Entry, ServiceType
from ..errors import DtflError, LayerError
from ..i18n import tr
from . import capabilities as caps_mod


@dataclass
class LayerSpec:
    provider: str
    uri: str
    name: str
    kind: str  # raster, vector, vectortile, pointcloud, cityjson, tiledscene
    entry: Entry | None = None
    notes: list[str] = field(default_factory=list)  # choices made (CRS, style, tile matrix set) for the log
    service_version: str = ""
    attribution: str = ""  # the service's own attribution text, when it gives one


def _encoded(params: list[tuple[str, str]]) -> str:
    uri = QgsDataSourceUri()
    for key, value in params:
        uri.setParam(key, value)
    return bytes(uri.encodedUri()).decode("utf-8")


def is_remote(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")


def local_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path if parts.scheme == "file" else url


def service_type(entry: Entry) -> ServiceType:
    try:
        return ServiceType(entry.service_type)
    except ValueError as err:
        raise LayerError(tr("DTFL cannot load services of type {kind} yet.").format(kind=entry.service_type)) from err


def layer_name(entry: Entry) -> str:
    return entry.title or entry.name or entry.id


def wms_spec(entry: Entry, caps: caps_mod.Capabilities, project_crs: str) -> LayerSpec:
    layer = caps_mod.find_layer(caps, entry.name)
    crs = caps_mod.choose_crs(layer.crs, project_crs)
    image_format = caps_mod.choose_format(caps.formats)
    wanted = [s.get("name") or s.get("id") for s in entry.styles if isinstance(s, dict)]
    style = next((s for s in wanted if s in layer.styles), layer.styles[0] if layer.styles else "")
    uri = _encoded(
        [
            ("contextualWMSLegend", "0"),
            ("crs", crs),
            ("dpiMode", "7"),
            ("format", image_format),
            ("layers", layer.name),
            ("styles", style),
            ("url", caps_mod.base_url(entry.service_url)),
        ]
    )
    notes = [f"WMS {caps.version}: crs={crs} format={image_format} style={style or 'default'}"]
    return LayerSpec("wms", uri, layer_name(entry), "raster", entry, notes, caps.update_sequence)


def wmts_spec(entry: Entry, caps: caps_mod.Capabilities, project_crs: str) -> LayerSpec:
    layer = caps_mod.find_layer(caps, entry.name)
    tms, crs = caps_mod.choose_matrix_set(layer, caps, project_crs)
    image_format = caps_mod.choose_format(layer.formats)
    style = layer.styles[0] if layer.styles else "default"
    uri = _encoded(
        [
            ("contextualWMSLegend", "0"),
            ("crs", crs or project_crs),
            ("dpiMode", "7"),
            ("format", image_format),
            ("layers", layer.name),
            ("styles", style),
            ("tileMatrixSet", tms),
            ("url", caps_mod.capabilities_url(entry.service_url, "WMTS")),
        ]
    )
    return LayerSpec(
        "wms", uri, layer_name(entry), "raster", entry, [f"WMTS tileMatrixSet={tms} ({crs})"], caps.update_sequence
    )


def wfs_spec(entry: Entry, caps: caps_mod.Capabilities | None, project_crs: str) -> LayerSpec:
    typename = entry.name
    crs = project_crs or "EPSG:28992"
    if caps is not None:
        layer = caps_mod.find_layer(caps, entry.name)
        typename, crs = layer.name, caps_mod.choose_crs(layer.crs, project_crs)
    uri = QgsDataSourceUri()
    for key, value in (
        ("url", caps_mod.base_url(entry.service_url)),
        ("typename", typename),
        ("version", "2.0.0" if caps is None or caps.version.startswith("2") else caps.version or "auto"),
        ("srsname", crs),
        ("pagingEnabled", "true"),
        ("preferCoordinatesForWfsT11", "false"),
        # Only features in the current view are requested (large national layers stay usable).
        ("restrictToRequestBBOX", "1"),
    ):
        uri.setParam(key, value)
    return LayerSpec(
        "WFS",
        uri.uri(False),
        layer_name(entry),
        "vector",
        entry,
        [f"WFS typename={typename} srsname={crs}"],
        caps.update_sequence if caps else "",
    )


def oapif_spec(entry: Entry) -> LayerSpec:
    uri = QgsDataSourceUri()
    uri.setParam("url", entry.service_url.rstrip("/"))
    uri.setParam("typename", entry.name)
    uri.setParam("restrictToRequestBBOX", "1")
    uri.setParam("pageSize", "1000")
    return LayerSpec("OAPIF", uri.uri(False), layer_name(entry), "vector", entry, [f"OAPIF collection={entry.name}"])


def vector_tiles_spec(entry: Entry) -> LayerSpec:
    """OGC API Tiles as XYZ vector tiles. QGIS's xyz vector tiles use the Web Mercator grid (3.22 has no
    custom tile matrix sets there), so the WebMercatorQuad tileset and its matching style are chosen."""
    url = entry.service_url.rstrip("/")
    if "{z}" not in url:
        url = f"{url}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt"
    styles = [s for s in entry.styles if isinstance(s, dict) and s.get("url")]
    style = next(
        (s for s in styles if "webmercator" in (s.get("id", "") + s.get("url", "")).lower()),
        styles[0] if styles else None,
    )
    params = [("type", "xyz"), ("url", url), ("zmin", "0"), ("zmax", "17")]
    if style:
        params.append(("styleUrl", style["url"]))
    notes = [
        "vector tiles WebMercatorQuad" + (f", style {style.get('id') or style['url']}" if style else ", default style")
    ]
    return LayerSpec("vectortile", _encoded(params), layer_name(entry), "vectortile", entry, notes)


def wcs_spec(entry: Entry, project_crs: str) -> LayerSpec:
    uri = QgsDataSourceUri()
    uri.setParam("url", caps_mod.base_url(entry.service_url))
    uri.setParam("identifier", entry.name)
    uri.setParam("crs", project_crs or "EPSG:28992")
    uri.setParam("cache", "PreferNetwork")
    return LayerSpec(
        "wcs",
        bytes(uri.encodedUri()).decode("utf-8"),
        layer_name(entry),
        "raster",
        entry,
        [f"WCS coverage={entry.name}"],
    )


def cog_spec(entry: Entry) -> LayerSpec:
    url = entry.service_url
    source = f"/vsicurl/{url}" if is_remote(url) else local_path(url)
    return LayerSpec(
        "gdal",
        source,
        layer_name(entry),
        "raster",
        entry,
        ["GDAL /vsicurl/ (HTTP range requests)" if is_remote(url) else "local file"],
    )


def pointcloud_spec(entry: Entry, providers: list[str]) -> LayerSpec:
    from .pointcloud import point_cloud_provider_for

    url = entry.service_url
    if not url.lower().endswith((".json", ".laz", ".las", ".vpc")):
        url = url.rstrip("/") + "/ept.json"  # an EPT dataset is published as its folder
    provider = point_cloud_provider_for(url)
    if provider is None:
        kind = (
            "COPC"
            if url.lower().endswith(".copc.laz")
            else "LAS/LAZ"
            if url.lower().endswith((".las", ".laz"))
            else "EPT"
        )
        needed = {"COPC": "copc (QGIS 3.26+)", "LAS/LAZ": "pdal", "EPT": "ept"}[kind]
        raise LayerError(
            tr("This QGIS cannot read {kind} point clouds: the '{provider}' data provider is missing.").format(
                kind=kind, provider=needed
            )
        )
    source = url if is_remote(url) else local_path(url)
    return LayerSpec(provider, source, layer_name(entry), "pointcloud", entry, [f"point cloud provider {provider}"])


def tiled_scene_spec(entry: Entry, providers: list[str]) -> LayerSpec:
    if "cesiumtiles" not in providers:
        raise LayerError(
            tr(
                "3D Tiles need QGIS 3.34 or newer (this QGIS has no tiled scene layers). Load the buildings as extruded footprints instead."
            )
        )
    url = entry.service_url
    _refuse_undrawable_tiles(url if is_remote(url) else Path(local_path(url)).resolve().as_uri())
    uri = _encoded([("url", url if is_remote(url) else Path(local_path(url)).resolve().as_uri())])
    return LayerSpec("cesiumtiles", uri, layer_name(entry), "tiledscene", entry, ["3D Tiles via cesiumtiles"])


def _refuse_undrawable_tiles(url: str) -> None:
    """A tileset whose meshes QGIS cannot decode would load as valid and draw nothing: say why instead."""
    from .. import net
    from .tiles3d import blocking_extensions

    def read(address: str, max_bytes: int) -> bytes:
        return net.get(address, max_bytes=max_bytes).content

    try:
        blocking = blocking_extensions(url, read)
    except (DtflError, ValueError, KeyError, TypeError, struct.error):
        return  # unreadable here: QGIS's provider gives its own error
    if blocking:
        raise LayerError(
            tr(
                "This 3D Tiles set compresses its meshes with {extensions}, which QGIS's 3D Tiles renderer does not "
                "decode: the layer would load but show nothing. For 3DBAG, load the same buildings as CityJSON "
                "(DTFL > 3DBAG for this map area, or dtfl:load_3dbag)."
            ).format(extensions=", ".join(sorted(blocking)))
        )


def spec_for(
    entry: Entry,
    *,
    project_crs: str = "EPSG:28992",
    caps: caps_mod.Capabilities | None = None,
    providers: list[str] | None = None,
) -> LayerSpec:
    """The LayerSpec for an entry. WMS/WMTS need ``caps`` (load.py fetches them); WFS uses them when given."""
    from qgis.core import QgsProviderRegistry

    providers = providers if providers is not None else QgsProviderRegistry.instance().providerList()
    kind = service_type(entry)
    if kind in (ServiceType.WMS, ServiceType.WMTS) and caps is None:
        raise LayerError(
            tr("The capabilities of {url} are needed to configure this layer.").format(url=entry.service_url)
        )
    if kind == ServiceType.WMS:
        return wms_spec(entry, caps, project_crs)
    if kind == ServiceType.WMTS:
        return wmts_spec(entry, caps, project_crs)
    if kind == ServiceType.WFS:
        return wfs_spec(entry, caps, project_crs)
    if kind == ServiceType.OAPIF:
        return oapif_spec(entry)
    if kind == ServiceType.OAPIT:
        return vector_tiles_spec(entry)
    if kind == ServiceType.WCS:
        return wcs_spec(entry, project_crs)
    if kind == ServiceType.COG:
        return cog_spec(entry)
    if kind in (ServiceType.EPT, ServiceType.COPC, ServiceType.LAZ):
        return pointcloud_spec(entry, providers)
    if kind == ServiceType.TILES3D:
        return tiled_scene_spec(entry, providers)
    if kind == ServiceType.CITYJSON:
        return LayerSpec(
            "ogr", entry.service_url, layer_name(entry), "cityjson", entry, ["CityJSON converted to GeoPackage"]
        )
    raise LayerError(
        tr("Entries of type {kind} are not map layers; open their link instead.").format(kind=entry.service_type)
    )
