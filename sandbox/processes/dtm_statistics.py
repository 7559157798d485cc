"""Process ``dtm-statistics``: terrain height statistics of the AHN3 DTM inside a bounding box.

Reads the real 1 m AHN3 terrain model of the sample area with GDAL (only the window that covers the bbox),
and returns count, min, max, mean, standard deviation and the requested percentiles of the cells whose
centres lie inside the bbox, in metres NAP.
"""

from __future__ import annotations

import math

import numpy as np
from osgeo import gdal, osr
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from sandbox.processes import data_path, process_input

gdal.UseExceptions()

DTM = ("3d", "derived", "ahn3_delft_dtm_1m_filled.tif")

PROCESS_METADATA = {
    "version": "1.0.0",
    "id": "dtm-statistics",
    "title": {"en": "Terrain height statistics (AHN3 DTM)", "nl": "Statistiek maaiveldhoogte (AHN3 DTM)"},
    "description": {
        "en": "Min, max, mean, standard deviation and percentiles of the AHN3 1 m terrain model (m NAP) "
        "inside a bounding box.",
        "nl": "Minimum, maximum, gemiddelde, standaardafwijking en percentielen van het AHN3-maaiveldmodel "
        "(1 m, m NAP) binnen een begrenzingsvak.",
    },
    "jobControlOptions": ["sync-execute", "async-execute"],
    "keywords": ["AHN", "DTM", "hoogte", "statistiek"],
    "links": [],
    "inputs": {
        "bbox": process_input(
            "Bounding box",
            {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
            required=True,
            description="minx, miny, maxx, maxy in bbox_crs",
        ),
        "bbox_crs": process_input(
            "CRS of the bbox",
            {"type": "string", "default": "EPSG:28992"},
            description="EPSG code such as EPSG:28992 (default) or EPSG:4326 (lon/lat order)",
        ),
        "percentiles": process_input(
            "Percentiles", {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 100}}
        ),
    },
    "outputs": {
        "statistics": {
            "title": "Statistics",
            "description": "count, nodata_count, min, max, mean, std and percentiles (m NAP)",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    },
    "example": {"inputs": {"bbox": [84900, 447450, 85000, 447550], "percentiles": [5, 50, 95]}},
}


def _to_rd(bbox: list[float], crs: str) -> list[float]:
    if crs.upper() in ("EPSG:28992", "HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/28992"):
        return bbox
    src = osr.SpatialReference()
    if src.SetFromUserInput(crs) != 0:
        raise ProcessorExecuteError(f"unknown bbox_crs {crs!r}")
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    rd = osr.SpatialReference()
    rd.ImportFromEPSG(28992)
    rd.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    ct = osr.CoordinateTransformation(src, rd)
    xs, ys = [], []
    for x, y in ((bbox[0], bbox[1]), (bbox[0], bbox[3]), (bbox[2], bbox[1]), (bbox[2], bbox[3])):
        px, py, _ = ct.TransformPoint(x, y)
        xs.append(px)
        ys.append(py)
    return [min(xs), min(ys), max(xs), max(ys)]


def dtm_statistics(bbox: list[float], percentiles: list[float], path: str) -> dict:
    """Statistics of the raster cells whose centre lies in bbox (raster CRS)."""
    ds = gdal.Open(path)
    x0, dx, _, y0, _, dy = ds.GetGeoTransform()
    band = ds.GetRasterBand(1)
    nodata = band.GetNoDataValue()
    col0 = max(0, math.ceil((bbox[0] - x0) / dx - 0.5))
    col1 = min(ds.RasterXSize, math.floor((bbox[2] - x0) / dx - 0.5) + 1)
    row0 = max(0, math.ceil((bbox[3] - y0) / dy - 0.5))
    row1 = min(ds.RasterYSize, math.floor((bbox[1] - y0) / dy - 0.5) + 1)
    if col1 <= col0 or row1 <= row0:
        raise ProcessorExecuteError(f"bbox {bbox} does not overlap the terrain model")
    values = band.ReadAsArray(col0, row0, col1 - col0, row1 - row0).astype("float64")
    valid = np.isfinite(values)
    if nodata is not None:
        valid &= values != nodata
    data = values[valid]
    result = {"count": int(data.size), "nodata_count": int(values.size - data.size), "unit": "m NAP",
              "cells": {"col": col0, "row": row0, "width": col1 - col0, "height": row1 - row0}}  # fmt: skip
    if data.size:
        result.update(min=float(data.min()), max=float(data.max()), mean=float(data.mean()), std=float(data.std()))
        result["percentiles"] = {f"p{p:g}": float(v) for p, v in zip(percentiles, np.percentile(data, percentiles))}
    return result


class Processor(BaseProcessor):
    def __init__(self, processor_def: dict):
        super().__init__(processor_def, PROCESS_METADATA)

    def execute(self, data: dict, outputs=None):
        bbox = data.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(isinstance(v, (int, float)) for v in bbox):
            raise ProcessorExecuteError("bbox must be 4 numbers: minx, miny, maxx, maxy")
        if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
            raise ProcessorExecuteError("bbox must have minx < maxx and miny < maxy")
        percentiles = data.get("percentiles") or [5, 50, 95]
        if not all(isinstance(p, (int, float)) and 0 <= p <= 100 for p in percentiles):
            raise ProcessorExecuteError("percentiles must be numbers between 0 and 100")
        rd = _to_rd([float(v) for v in bbox], str(data.get("bbox_crs") or "EPSG:28992"))
        stats = dtm_statistics(rd, [float(p) for p in percentiles], str(data_path(*DTM)))
        stats["bbox_rd"] = [round(v, 3) for v in rd]
        return "application/json", {"id": "statistics", "value": stats}

    def __repr__(self) -> str:
        return "<Processor> dtm-statistics"
