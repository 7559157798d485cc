"""Inputs and outputs of a tiled run through GDAL block I/O: the DEM window (any GDAL raster: GeoTIFF, a VRT
mosaic of AHN tiles, a COG over /vsicurl/ range reads), land cover, open water and buildings rasterised per tile
from one GeoPackage (spatial index: a tile reads only its own polygons), and per-tile GeoTIFFs mosaicked at the end.
"""

from __future__ import annotations

import os

import numpy as np
from osgeo import gdal, ogr, osr

from ..local import landcover
from ..local.raster_io import fill_small_gaps

gdal.UseExceptions()
ogr.UseExceptions()

LANDCOVER, WATER, BUILDINGS = "landcover", "water", "buildings"


def read_dem(spec, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """DEM cells of the tile as float32, NaN where nodata (small gaps interpolated first when asked)."""
    halo = spec.gap_halo if spec.gap_cells > 0 else 0
    a0, a1 = max(r0 - halo, 0), min(r1 + halo, spec.layout.rows)
    b0, b1 = max(c0 - halo, 0), min(c1 + halo, spec.layout.cols)
    ds = gdal.Open(spec.dem)
    try:
        z = ds.GetRasterBand(spec.band).ReadAsArray(b0, a0, b1 - b0, a1 - a0).astype(np.float32, copy=False)
    finally:
        ds = None
    if spec.gap_cells > 0:
        z, _ = fill_small_gaps(z, spec.nodata, spec.gap_cells)
    z = np.ascontiguousarray(z[r0 - a0 : r1 - a0, c0 - b0 : c1 - b0])
    bad = ~np.isfinite(z)
    if spec.nodata is not None and np.isfinite(spec.nodata):
        bad |= z == np.float32(spec.nodata)
    z[bad] = np.nan
    return z


def _tile_raster(spec, r0, r1, c0, c1, dtype, fill):
    gt = spec.geotransform
    ds = gdal.GetDriverByName("MEM").Create("", c1 - c0, r1 - r0, 1, dtype)
    ds.SetGeoTransform((gt[0] + c0 * gt[1], gt[1], 0.0, gt[3] + r0 * gt[5], 0.0, gt[5]))
    if spec.wkt:
        ds.SetProjection(spec.wkt)
    ds.GetRasterBand(1).Fill(fill)
    return ds


def _burn(spec, ds, layer_name: str, attribute: str | None, order: str, r0, r1, c0, c1, where="", touched=False):
    gt = spec.geotransform
    x0, x1 = sorted((gt[0] + c0 * gt[1], gt[0] + c1 * gt[1]))
    y0, y1 = sorted((gt[3] + r0 * gt[5], gt[3] + r1 * gt[5]))
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)):
        ring.AddPoint_2D(x, y)
    box = ogr.Geometry(ogr.wkbPolygon)
    box.AddGeometry(ring)
    src = ogr.Open(spec.vectors)
    try:
        sql = f"SELECT * FROM {layer_name}{where} ORDER BY {order}"
        result = src.ExecuteSQL(sql, spatialFilter=box)
        try:
            options = ([f"ATTRIBUTE={attribute}"] if attribute else []) + (["ALL_TOUCHED=TRUE"] if touched else [])
            gdal.RasterizeLayer(ds, [1], result, burn_values=[] if attribute else [1], options=options)
        finally:
            src.ReleaseResultSet(result)
    finally:
        src = None


def rasterise_tile(spec, r0, r1, c0, c1) -> dict:
    out = {}
    if spec.landcover:
        ds = _tile_raster(spec, r0, r1, c0, c1, gdal.GDT_Float32, landcover.DEFAULT_COEFFICIENT)
        _burn(spec, ds, LANDCOVER, "coeff", "rank, fid", r0, r1, c0, c1)
        out["coeff"] = ds.GetRasterBand(1).ReadAsArray().astype(np.float32)
    if spec.water:
        ds = _tile_raster(spec, r0, r1, c0, c1, gdal.GDT_Byte, 0)
        _burn(spec, ds, WATER, None, "fid", r0, r1, c0, c1)
        out["outlet"] = ds.GetRasterBand(1).ReadAsArray().astype(np.uint8)
    if spec.buildings:
        out["foot"] = rasterise_buildings(spec, r0, r1, c0, c1)
    return out


def rasterise_buildings(spec, r0, r1, c0, c1, ids=None, all_touched=False) -> np.ndarray:
    """Building ids (``bid``, 1..n) on the tile; ``ids`` limits it to some buildings."""
    ds = _tile_raster(spec, r0, r1, c0, c1, gdal.GDT_Int32, 0)
    where = ""
    if ids is not None:
        where = " WHERE bid IN (" + ",".join(str(int(i)) for i in ids) + ")"
    _burn(spec, ds, BUILDINGS, "bid", "fid", r0, r1, c0, c1, where, all_touched)
    return ds.GetRasterBand(1).ReadAsArray().astype(np.int32)


def write_tile(spec, kind: str, t: int, array: np.ndarray) -> str:
    """One output tile as GeoTIFF (renamed into place when complete)."""
    r0, _, c0, _ = spec.layout.bounds(t)
    gt = spec.geotransform
    path = spec.layout.path(kind, t, "tif")
    tmp = path + ".part.tif"
    dtype = gdal.GDT_Float32 if array.dtype == np.float32 else gdal.GDT_Int32
    ds = gdal.GetDriverByName("GTiff").Create(tmp, array.shape[1], array.shape[0], 1, dtype, ["TILED=YES"])
    ds.SetGeoTransform((gt[0] + c0 * gt[1], gt[1], 0.0, gt[3] + r0 * gt[5], 0.0, gt[5]))
    if spec.wkt:
        ds.SetProjection(spec.wkt)
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(-9999.0 if dtype == gdal.GDT_Float32 else 0)
    band.WriteArray(array)
    band = ds = None
    os.replace(tmp, path)
    return path


def mosaic(spec, kind: str, target: str) -> str:
    """The per-tile GeoTIFFs as one tiled, compressed GeoTIFF at ``target``, a row of tiles at a time.

    Each tile (each row of tiles when tiles are not whole 256-cell blocks) is flushed before the next is read:
    GDAL's block cache (5 % of RAM by default, shared with QGIS) then holds that much, not the whole raster.
    """
    lay = spec.layout
    first = gdal.Open(lay.path(kind, 0, "tif"))
    dtype, nodata = first.GetRasterBand(1).DataType, first.GetRasterBand(1).GetNoDataValue()
    first = None
    folder = os.path.dirname(os.path.abspath(target)) or "."
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".dtfl-{os.getpid()}-{kind}.tif")
    options = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS"]
    try:
        out = gdal.GetDriverByName("GTiff").Create(tmp, lay.cols, lay.rows, 1, dtype, options)
        out.SetGeoTransform(spec.geotransform)
        if spec.wkt:
            out.SetProjection(spec.wkt)
        band = out.GetRasterBand(1)
        if nodata is not None:
            band.SetNoDataValue(nodata)
        for t in range(lay.count):
            r0, _, c0, _ = lay.bounds(t)
            src = gdal.Open(lay.path(kind, t, "tif"))
            band.WriteArray(src.GetRasterBand(1).ReadAsArray(), c0, r0)
            src = None
            if lay.tile % 256 == 0 or (t + 1) % lay.tile_cols == 0:  # whole 256-cell blocks: flushed per tile
                out.FlushCache()
        band = out = None
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


class VectorWriter:
    """Collects land cover, open water and buildings (WKB in the DEM's CRS) into the run's GeoPackage."""

    def __init__(self, path: str, wkt: str) -> None:
        self.path = path
        srs = osr.SpatialReference()
        if wkt:
            srs.ImportFromWkt(wkt)
        self.ds = ogr.GetDriverByName("GPKG").CreateDataSource(path)
        self.layers = {}
        for name, fields in ((LANDCOVER, ("coeff", "rank")), (WATER, ()), (BUILDINGS, ("bid",))):
            layer = self.ds.CreateLayer(name, srs if wkt else None, ogr.wkbUnknown)
            for f in fields:
                layer.CreateField(ogr.FieldDefn(f, ogr.OFTReal if f == "coeff" else ogr.OFTInteger))
            self.layers[name] = layer
        self.counts = {LANDCOVER: 0, WATER: 0, BUILDINGS: 0}
        self.ds.StartTransaction()

    def add(self, layer_name: str, wkb: bytes, **values) -> None:
        layer = self.layers[layer_name]
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkb(bytes(wkb)))
        for k, v in values.items():
            feature.SetField(k, v)
        layer.CreateFeature(feature)
        self.counts[layer_name] += 1

    def close(self) -> dict:
        self.ds.CommitTransaction()
        self.ds = self.layers = None
        return dict(self.counts)


def polygonize(path: str):
    """(id, WKB polygon) for every 8-connected region of a depression-id GeoTIFF (read block by block by GDAL)."""
    ds = gdal.Open(path)
    band = ds.GetRasterBand(1)
    vds = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vds.CreateLayer("regions", None, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("label", ogr.OFTInteger))
    gdal.Polygonize(band, band, layer, 0, ["8CONNECTED=8"])
    for feature in layer:
        yield int(feature.GetField(0)), bytes(feature.GetGeometryRef().ExportToWkb())
    ds = vds = None
