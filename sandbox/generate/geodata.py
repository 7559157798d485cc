"""Data artefacts derived from ../shared/data with GDAL/OGR: GeoJSON for pygeoapi, 3D building heights, COG.

Heights of ``gebouwen_3d`` come from the LoD1 CityJSON model ``3d/cityjson/delft_3dfier.city.json``
(3dfier, built from BGT + AHN3): per Building, ground = lowest and roof = highest vertex Z of its solid,
vertices decoded as integer * transform.scale + translate; the model has flat LoD1 roofs, so the 50th
percentile roof height is the median of the Z values of the building's upper (horizontal) surfaces. Each
building is joined to its BGT footprint (``bgt_pand`` in the GeoPackage) through ``lokaalid``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from osgeo import gdal, ogr, osr

from ..datasets import DATASETS
from ..paths import SHARED_DATA

gdal.UseExceptions()
ogr.UseExceptions()

GPKG = SHARED_DATA / "3d" / "bgt" / "bgt_delft.gpkg"
DTM = SHARED_DATA / "3d" / "derived" / "ahn3_delft_dtm_1m_filled.tif"
CITYJSON = SHARED_DATA / "3d" / "cityjson" / "delft_3dfier.city.json"
BGT_LAYERS = ("bgt_pand", "bgt_wegdeel", "bgt_waterdeel", "bgt_begroeidterreindeel")


def inputs() -> list:
    return [GPKG, CITYJSON, DTM, Path(__file__)]


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def build_features(out: Path) -> None:
    """bgt_*.geojson (WGS84, RFC 7946) for pygeoapi, gebouwen_3d.{geojson,gpkg}, extents.json."""
    for layer in BGT_LAYERS:
        _run(["ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4326", "-lco", "RFC7946=YES",
              "-lco", "WRITE_NAME=NO", str(out / f"{layer}.geojson"), str(GPKG), layer])  # fmt: skip
    _build_buildings(out)
    (out / "extents.json").write_text(json.dumps(_extents(out), indent=1))


def building_heights(path: Path = CITYJSON) -> dict[str, dict]:
    """lokaalid -> heights (m NAP) of each LoD1 Building in a CityJSON file."""
    doc = json.loads(path.read_text())
    sx, sy, sz = doc["transform"]["scale"]
    tz = doc["transform"]["translate"][2]
    verts = doc["vertices"]
    out: dict[str, dict] = {}
    for obj in doc["CityObjects"].values():
        if obj.get("type") != "Building" or not obj.get("geometry"):
            continue
        zs: list[float] = []
        top: list[float] = []
        for geom in obj["geometry"]:
            shells = geom["boundaries"] if geom["type"] == "Solid" else [geom["boundaries"]]
            for shell in shells:
                for surface in shell:
                    ring = [verts[i][2] * sz + tz for i in surface[0]]
                    zs.extend(ring)
                    if max(ring) - min(ring) < 1e-6:
                        top.append(ring[0])
        if not zs:
            continue
        attrs = obj.get("attributes", {})
        ground, roof = min(zs), max(zs)
        upper = sorted(z for z in top if z > ground + 1e-6) or [roof]
        out[attrs.get("lokaalid", "")] = {
            "identificatie": f"NL.IMBAG.Pand.{int(attrs['identificatiebagpnd']):016d}"
            if attrs.get("identificatiebagpnd")
            else None,
            "b3_h_maaiveld": round(ground, 3),
            "b3_h_dak_max": round(roof, 3),
            "b3_h_dak_50p": round(upper[len(upper) // 2], 3),
            "b3_hoogte": round(roof - ground, 3),
        }
    return out


def _build_buildings(out: Path) -> None:
    heights = building_heights()
    src = ogr.Open(str(GPKG))
    layer = src.GetLayerByName("bgt_pand")
    rd = osr.SpatialReference()
    rd.ImportFromEPSG(28992)
    fields = [("identificatie", ogr.OFTString), ("lokaalid", ogr.OFTString), ("b3_h_maaiveld", ogr.OFTReal),
              ("b3_h_dak_max", ogr.OFTReal), ("b3_h_dak_50p", ogr.OFTReal), ("b3_hoogte", ogr.OFTReal)]  # fmt: skip
    gpkg_path = out / "gebouwen_3d.gpkg"
    dst = ogr.GetDriverByName("GPKG").CreateDataSource(str(gpkg_path))
    lyr = dst.CreateLayer("gebouwen_3d", rd, ogr.wkbMultiPolygon)
    for name, kind in fields:
        lyr.CreateField(ogr.FieldDefn(name, kind))
    defn = lyr.GetLayerDefn()
    dst.StartTransaction()
    for feat in layer:
        h = heights.get(feat.GetField("lokaalid"))
        if h is None:
            continue
        f = ogr.Feature(defn)
        f.SetGeometry(feat.GetGeometryRef().Clone())
        f.SetField("lokaalid", feat.GetField("lokaalid"))
        for name, _ in fields:
            if name in h and h[name] is not None:
                f.SetField(name, h[name])
        lyr.CreateFeature(f)
    dst.CommitTransaction()
    count = lyr.GetFeatureCount()
    dst = None  # noqa: F841 - closes the GeoPackage
    if count == 0:
        raise RuntimeError("no BGT footprint matched a CityJSON building (lokaalid join)")
    _run(["ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4326", "-lco", "RFC7946=YES", "-lco", "WRITE_NAME=NO",
          str(out / "gebouwen_3d.geojson"), str(gpkg_path), "gebouwen_3d"])  # fmt: skip


def _extents(out: Path) -> dict:
    """Dataset key -> {"rd": [minx, miny, maxx, maxy], "wgs84": [...]} measured from the data."""
    to_wgs = osr.CoordinateTransformation(_srs(28992), _srs(4326))
    result = {}
    for ds in DATASETS:
        rd = _rd_extent(ds.key, out)
        xs, ys = [], []
        for x, y in ((rd[0], rd[1]), (rd[0], rd[3]), (rd[2], rd[1]), (rd[2], rd[3])):
            lon, lat, _ = to_wgs.TransformPoint(x, y)
            xs.append(lon)
            ys.append(lat)
        result[ds.key] = {"rd": [round(v, 3) for v in rd], "wgs84": [round(min(xs), 7), round(min(ys), 7),
                          round(max(xs), 7), round(max(ys), 7)]}  # fmt: skip
    return result


def _srs(epsg: int) -> osr.SpatialReference:
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg)
    s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return s


def _rd_extent(key: str, out: Path) -> list[float]:
    if key == "bgt":  # the vector tiles of all BGT layers
        boxes = [_rd_extent(layer, out) for layer in BGT_LAYERS]
        return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    if key in BGT_LAYERS or key == "gebouwen_3d":
        # keep the data source referenced while its layer is used (GDAL's Python bindings crash otherwise)
        src = ogr.Open(str(GPKG if key in BGT_LAYERS else out / "gebouwen_3d.gpkg"))
        e = src.GetLayerByName(key).GetExtent()
        return [e[0], e[2], e[1], e[3]]
    if key == "ahn_dtm":
        info = gdal.Info(str(DTM), format="json")["cornerCoordinates"]
        xs = [c[0] for c in info.values() if isinstance(c, list)]
        ys = [c[1] for c in info.values() if isinstance(c, list)]
        return [min(xs), min(ys), max(xs), max(ys)]
    elif key == "ahn_puntenwolk":
        b = json.loads((SHARED_DATA / "3d/derived/ahn3_delft_ept/ept.json").read_text())["boundsConforming"]
        return [b[0], b[1], b[3], b[4]]
    else:  # 3dbag and other CityJSON: its geographicalExtent
        path = SHARED_DATA / "3d/cityjson/3dbag_b2.city.json" if key == "3dbag" else CITYJSON
        g = json.loads(path.read_text())["metadata"]["geographicalExtent"]
        return [g[0], g[1], g[3], g[4]]


def build_tiles(out: Path) -> None:
    """The BGT layers as Mapbox Vector Tiles (WebMercatorQuad, zoom 13-18) in a tippecanoe-style folder
    (z/x/y.pbf + metadata.json) that pygeoapi's MVT-tippecanoe provider serves as OGC API - Tiles."""
    _run(["ogr2ogr", "-f", "MVT", str(out / "bgt"), str(GPKG), *BGT_LAYERS, "-dsco", "MINZOOM=13",
          "-dsco", "MAXZOOM=18", "-dsco", "COMPRESS=NO", "-dsco", "FORMAT=DIRECTORY", "-dsco", "NAME=bgt",
          "-dsco", "DESCRIPTION=BGT Delft (sandbox)"])  # fmt: skip


def build_cog(out: Path) -> None:
    """The AHN DTM as a Cloud Optimized GeoTIFF (internal tiles + overviews) for /vsicurl/ range reads."""
    _run(["gdal_translate", "-q", "-of", "COG", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=FLOATING_POINT",
          "-co", "BLOCKSIZE=128", "-co", "OVERVIEWS=AUTO", str(DTM), str(out / "ahn3_delft_dtm_1m.cog.tif")])  # fmt: skip
