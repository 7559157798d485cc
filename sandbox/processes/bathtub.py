"""pygeoapi process "bathtub": the same pluvial flooding screening as dtfl:bathtub_flooding.

It imports the very model code the QGIS algorithm runs (dtfl_plugin.models.local.bathtub_core,
numpy + scipy only), so a remote and a local run on the same DEM give the same numbers.
GeoTIFF I/O and polygonising use Debian's GDAL (the server venv sees system site-packages).

Inputs: ``dem`` GeoTIFF (inline base64 qualified value, or by reference {"href": http(s) URL}),
``event`` (STOWA/RIONED stress-test events or ``custom``), ``rain_mm`` (for custom), ``loss_mm``.
Outputs: ``depth`` (GeoTIFF, base64), ``depressions`` (GeoJSON in the DEM's CRS), ``summary`` (JSON).
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import urllib.request
import uuid

from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from dtfl_plugin.models.local.bathtub_core import run_bathtub
from dtfl_plugin.models.local.events import EVENTS as RAIN_EVENTS
from sandbox.processes import process_input

GEOTIFF = "image/tiff; application=geotiff"
MAX_INPUT_BYTES = 256 * 1024 * 1024
# STOWA/RIONED 2018 stress-test events (the local algorithm's table): key -> depth in mm.
EVENTS = {e.key: e.rain_mm for e in RAIN_EVENTS if e.rain_mm is not None}

PROCESS_METADATA = {
    "version": "1.0.0",
    "id": "bathtub",
    "title": "Pluvial flooding screening (bathtub)",
    "description": (
        "Fills terrain depressions with the runoff of their catchments and spills the surplus downstream. "
        "A screening without time, sewer or infiltration dynamics: not a hydrodynamic simulation."
    ),
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["flooding", "stress test", "bathtub", "screening"],
    "links": [],
    "inputs": {
        "dem": process_input(
            "DEM",
            {"type": "string", "contentEncoding": "binary", "contentMediaType": GEOTIFF},
            required=True,
            description="Terrain model (GeoTIFF, metres, square cells in a projected CRS).",
        ),
        "event": process_input(
            "Rain event",
            {"type": "string", "enum": [*EVENTS, "custom"], "default": "T100"},
            description="STOWA/RIONED stress-test event, or custom to use rain_mm.",
        ),
        "rain_mm": process_input(
            "Rain depth (mm, custom event)", {"type": "number", "minimum": 0, "maximum": 1000, "default": 70}
        ),
        "loss_mm": process_input(
            "Loss: sewer + infiltration (mm)", {"type": "number", "minimum": 0, "maximum": 500, "default": 0}
        ),
    },
    "outputs": {
        "depth": {
            "title": "Water depth (m)",
            "schema": {"type": "string", "contentEncoding": "binary", "contentMediaType": GEOTIFF},
        },
        "depressions": {
            "title": "Depressions",
            "schema": {"type": "object", "contentMediaType": "application/geo+json"},
        },
        "summary": {"title": "Volumes", "schema": {"type": "object", "contentMediaType": "application/json"}},
    },
    "example": {"inputs": {"dem": {"href": "http://127.0.0.1/dem.tif"}, "event": "T100", "loss_mm": 10}},
}


def read_geotiff_input(value, workdir: str) -> str:
    """Write a GeoTIFF input (qualified base64 value, plain base64 string or http(s) href) to a file."""
    path = os.path.join(workdir, f"input-{uuid.uuid4().hex}.tif")
    if isinstance(value, dict) and "href" in value:
        href = str(value["href"])
        if not href.lower().startswith(("http://", "https://")):
            raise ProcessorExecuteError("dem: only http(s) references are accepted")
        with urllib.request.urlopen(href, timeout=60) as response:  # noqa: S310 - scheme checked above
            data = response.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise ProcessorExecuteError("dem: the referenced file is too large")
    else:
        encoded = value.get("value") if isinstance(value, dict) else value
        if not isinstance(encoded, str):
            raise ProcessorExecuteError("dem: expected a base64 GeoTIFF or an href")
        try:
            data = base64.b64decode(encoded, validate=True)
        except ValueError as err:
            raise ProcessorExecuteError(f"dem: not valid base64 ({err})") from err
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def rain_inputs(data: dict) -> tuple[str, float, float]:
    """(event, rain mm, loss mm) of an execute request; the DEM must be there too."""
    if "dem" not in data:
        raise ProcessorExecuteError("dem is required")
    event = str(data.get("event", "T100"))
    if event != "custom" and event not in EVENTS:
        raise ProcessorExecuteError(f"event: unknown event {event!r}")
    rain = _number(data, "rain_mm", 70.0, 0, 1000) if event == "custom" else EVENTS[event]
    return event, rain, _number(data, "loss_mm", 0.0, 0, 500)


def _number(data: dict, key: str, default: float, low: float, high: float) -> float:
    try:
        value = float(data.get(key, default))
    except (TypeError, ValueError) as err:
        raise ProcessorExecuteError(f"{key}: not a number") from err
    if not low <= value <= high:
        raise ProcessorExecuteError(f"{key}: {value} is outside {low}..{high}")
    return value


def _depth_tiff(depth, ds, workdir: str) -> bytes:
    from osgeo import gdal

    path = os.path.join(workdir, "depth.tif")
    out = gdal.GetDriverByName("GTiff").Create(
        path, ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Float32, options=["COMPRESS=DEFLATE", "TILED=YES"]
    )
    out.SetGeoTransform(ds.GetGeoTransform())
    out.SetProjection(ds.GetProjection())
    band = out.GetRasterBand(1)
    band.SetNoDataValue(-9999.0)
    import numpy as np

    band.WriteArray(np.where(np.isnan(depth), -9999.0, depth).astype("float32"))
    band = out = None
    with open(path, "rb") as handle:
        return handle.read()


def _plain(value):
    """numpy scalars -> Python numbers (pygeoapi serialises results with json)."""
    return value.item() if hasattr(value, "item") else value


def _depressions_geojson(labels, table: list, ds, workdir: str) -> dict:
    """Polygons of the depressions (GDAL Polygonize) with their volumes, in the DEM's CRS."""
    from osgeo import gdal

    path = os.path.join(workdir, "labels.tif")
    mem = gdal.GetDriverByName("GTiff").Create(path, ds.RasterXSize, ds.RasterYSize, 1, gdal.GDT_Int32)
    mem.SetGeoTransform(ds.GetGeoTransform())
    mem.SetProjection(ds.GetProjection())
    mem.GetRasterBand(1).WriteArray(labels)
    mem = None
    return depressions_collection(path, table, ds.GetProjection())


def depressions_collection(labels_path: str, table: list, wkt: str) -> dict:
    """A GeoJSON FeatureCollection of the depressions in a depression-id GeoTIFF, one feature per id."""
    from osgeo import osr

    from dtfl_plugin.models.tiled.inputs import polygonize

    rows = {int(r["id"]): r for r in table}
    merged: dict[int, dict] = {}
    for dep_id, wkb in polygonize(labels_path):
        geometry = json.loads(_wkb_to_geojson(wkb))
        if dep_id in merged:  # one depression polygonised into several parts -> one MultiPolygon
            geom = merged[dep_id]["geometry"]
            parts = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
            parts.append(geometry["coordinates"])
            merged[dep_id]["geometry"] = {"type": "MultiPolygon", "coordinates": parts}
            continue
        props = {k: _plain(v) for k, v in rows.get(dep_id, {"id": dep_id}).items()}
        merged[dep_id] = {"type": "Feature", "properties": props, "geometry": geometry}
    srs = osr.SpatialReference()
    epsg = None
    if wkt:
        srs.ImportFromWkt(wkt)
        srs.AutoIdentifyEPSG()
        epsg = srs.GetAuthorityCode(None)
    result = {"type": "FeatureCollection", "features": list(merged.values())}
    if epsg:  # GeoJSON 2008 "crs" member: read by OGR, so the client keeps the DEM's CRS
        result["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    return result


def _wkb_to_geojson(wkb: bytes) -> str:
    from osgeo import ogr

    return ogr.CreateGeometryFromWkb(wkb).ExportToJson()


def flood_outputs(rain: tuple[str, float, float], result, depth: bytes, depressions: dict, **summary) -> tuple:
    """(mimetype, outputs) of a bathtub run: the depth GeoTIFF (base64), the depressions (GeoJSON) and a
    summary of the event, rain and loss (``rain``: what :func:`rain_inputs` read) and the volumes."""
    event, rain_mm, loss_mm = rain
    summary = {
        "event": event,
        "rain_mm": rain_mm,
        "loss_mm": loss_mm,
        "total_runoff_m3": float(result.total_runoff_m3),
        "stored_m3": float(result.stored_m3),
        "spilled_out_m3": float(result.spilled_out_m3),
        "depressions": len(result.table),
        **summary,
    }
    return "application/json", {
        "depth": {"value": base64.b64encode(depth).decode("ascii"), "encoding": "base64", "mediaType": GEOTIFF},
        "depressions": {"value": depressions, "mediaType": "application/geo+json"},
        "summary": summary,
    }


class Processor(BaseProcessor):
    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict, outputs=None):
        from osgeo import gdal

        event, rain, loss = rain_inputs(data)
        with tempfile.TemporaryDirectory(prefix="bathtub-") as workdir:
            ds = gdal.Open(read_geotiff_input(data["dem"], workdir))
            if ds is None:
                raise ProcessorExecuteError("dem: not a raster GDAL can read")
            gt = ds.GetGeoTransform()
            if abs(abs(gt[1]) - abs(gt[5])) > 1e-6 * abs(gt[1]):
                raise ProcessorExecuteError("dem: cells must be square")
            band = ds.GetRasterBand(1)
            result = run_bathtub(band.ReadAsArray(), abs(gt[1]), rain, loss, nodata=band.GetNoDataValue())
            depth = _depth_tiff(result.depth, ds, workdir)
            depressions = _depressions_geojson(result.depressions, result.table, ds, workdir)
            ds = None
        return flood_outputs((event, rain, loss), result, depth, depressions)

    def __repr__(self) -> str:
        return "<BathtubProcessor>"
