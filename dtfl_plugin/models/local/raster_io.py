"""GDAL helpers for the local models, qgis-free (the pygeoapi process uses them too).

GeoTIFFs are written to a temporary file next to the target and renamed into place, so a reader never sees a
half-written file and a failed run leaves nothing behind.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()


@dataclass
class Grid:
    """A single-band raster in memory: values, nodata, geotransform and CRS (WKT)."""

    array: np.ndarray
    nodata: float | None
    geotransform: tuple
    wkt: str

    @property
    def cell_size(self) -> float:
        return abs(float(self.geotransform[1]))

    @property
    def square(self) -> bool:
        gt = self.geotransform
        return gt[2] == 0 and gt[4] == 0 and abs(abs(gt[1]) - abs(gt[5])) <= 1e-6 * abs(gt[1])

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        gt = self.geotransform
        rows, cols = self.array.shape
        xs = (gt[0], gt[0] + cols * gt[1])
        ys = (gt[3], gt[3] + rows * gt[5])
        return (min(xs), min(ys), max(xs), max(ys))


def read_grid(path: str, band: int = 1) -> Grid:
    """Read one band as float32 (the file's nodata value is kept, not converted)."""
    ds = gdal.Open(str(path), gdal.GA_ReadOnly)
    try:
        b = ds.GetRasterBand(band)
        array = b.ReadAsArray().astype(np.float32, copy=False)
        return Grid(array, b.GetNoDataValue(), tuple(ds.GetGeoTransform()), ds.GetProjection())
    finally:
        ds = None


def write_geotiff(path: str, array: np.ndarray, geotransform: tuple, wkt: str, nodata: float | None = None) -> str:
    """Write ``array`` as a tiled, compressed GeoTIFF at ``path`` atomically; returns the path."""
    target = os.path.abspath(str(path))
    folder = os.path.dirname(target) or "."
    os.makedirs(folder, exist_ok=True)
    dtype = {
        np.dtype("float32"): gdal.GDT_Float32,
        np.dtype("float64"): gdal.GDT_Float64,
        np.dtype("int32"): gdal.GDT_Int32,
        np.dtype("uint8"): gdal.GDT_Byte,
    }[np.dtype(array.dtype)]
    # GDAL creates the temporary file itself, so it gets the user's normal permissions (mkstemp would give 0600).
    tmp = os.path.join(folder, f".dtfl-{uuid.uuid4().hex}.tif")
    rows, cols = array.shape
    ds = band = None
    try:
        options = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"]
        ds = gdal.GetDriverByName("GTiff").Create(tmp, cols, rows, 1, dtype, options)
        ds.SetGeoTransform(geotransform)
        if wkt:
            ds.SetProjection(wkt)
        band = ds.GetRasterBand(1)
        if nodata is not None:
            band.SetNoDataValue(float(nodata))
        band.WriteArray(array)
        band = ds = None  # closing the dataset writes the file completely
        os.replace(tmp, target)
    except BaseException:
        band = ds = None
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return target


def _mem_raster(shape: tuple[int, int], geotransform: tuple, wkt: str, dtype=gdal.GDT_Float32, fill: float = 0.0):
    rows, cols = shape
    ds = gdal.GetDriverByName("MEM").Create("", cols, rows, 1, dtype)
    ds.SetGeoTransform(geotransform)
    if wkt:
        ds.SetProjection(wkt)
    ds.GetRasterBand(1).Fill(fill)
    return ds


def rasterize(
    shapes: list[tuple[bytes, float]],
    shape: tuple[int, int],
    geotransform: tuple,
    wkt: str,
    fill: float = 0.0,
    dtype=gdal.GDT_Float32,
    all_touched: bool = False,
) -> np.ndarray:
    """Burn (WKB geometry, value) pairs in list order (later ones win) onto a grid like the DEM."""
    ds = _mem_raster(shape, geotransform, wkt, dtype, fill)
    srs = osr.SpatialReference()
    if wkt:
        srs.ImportFromWkt(wkt)
    vds = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vds.CreateLayer("shapes", srs if wkt else None, ogr.wkbUnknown)
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTReal))
    defn = layer.GetLayerDefn()
    for wkb, value in shapes:
        feature = ogr.Feature(defn)
        feature.SetGeometry(ogr.CreateGeometryFromWkb(bytes(wkb)))
        feature.SetField("value", float(value))
        layer.CreateFeature(feature)
    options = ["ATTRIBUTE=value"] + (["ALL_TOUCHED=TRUE"] if all_touched else [])
    gdal.RasterizeLayer(ds, [1], layer, options=options)
    out = ds.GetRasterBand(1).ReadAsArray()
    ds = vds = None
    return out


def polygonize(labels: np.ndarray, geotransform: tuple, wkt: str) -> list[tuple[int, bytes]]:
    """(label, WKB polygon) for every 8-connected region of ``labels`` > 0; a label may give several polygons."""
    ds = _mem_raster(labels.shape, geotransform, wkt, gdal.GDT_Int32, 0)
    band = ds.GetRasterBand(1)
    band.WriteArray(labels.astype(np.int32, copy=False))
    mask_ds = _mem_raster(labels.shape, geotransform, wkt, gdal.GDT_Byte, 0)
    mask_ds.GetRasterBand(1).WriteArray((labels > 0).astype(np.uint8))
    vds = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vds.CreateLayer("regions", None, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("label", ogr.OFTInteger))
    gdal.Polygonize(band, mask_ds.GetRasterBand(1), layer, 0, ["8CONNECTED=8"])
    out = [(int(f.GetField(0)), bytes(f.GetGeometryRef().ExportToWkb())) for f in layer]
    ds = mask_ds = vds = None
    return out


def fill_small_gaps(array: np.ndarray, nodata: float | None, max_cells: int) -> tuple[np.ndarray, int]:
    """Interpolate enclosed nodata patches of at most ``max_cells`` cells (GDAL FillNodata); returns (copy, filled).

    AHN terrain models have small holes where no ground point was measured (cars, trees, dense facades); as
    outlets they would swallow water that really ponds. Larger patches (canals, open water) and patches touching
    the grid edge stay nodata, so they keep draining the area.
    """
    from scipy import ndimage

    values = np.asarray(array, dtype=np.float32)
    missing = ~np.isfinite(values)
    if nodata is not None and np.isfinite(nodata):
        missing |= values == nodata
    if max_cells <= 0 or not missing.any():
        return values.copy(), 0
    labels, count = ndimage.label(missing, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    small = sizes <= max_cells
    small[0] = False
    small[edge] = False
    fill = small[labels]
    if not fill.any():
        return values.copy(), 0
    rows, cols = values.shape
    ds = _mem_raster(values.shape, (0, 1, 0, 0, 0, -1), "", gdal.GDT_Float32, 0)
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(-3.0e38)
    band.WriteArray(np.where(missing, np.float32(-3.0e38), values))
    reach = int(np.ceil(np.sqrt(max_cells))) + 2  # far enough to cross any filled patch
    gdal.FillNodata(band, None, reach, 0)
    interpolated = band.ReadAsArray()
    band = ds = None
    out = values.copy()
    out[fill] = interpolated[fill]
    still = fill & (out <= -1.0e38)
    out[still] = values[still]
    return out, int(np.count_nonzero(fill & ~still))
