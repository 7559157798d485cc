"""A catalogue entry: one loadable thing (a layer of a service, a collection, a file).

Every source (CSW, OGC API - Records, PDOK layer list) yields Entry objects; the index
stores them; the layers room turns one into a QGIS layer. Plain data, no QGIS imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ServiceType(str, Enum):
    WMS = "WMS"
    WMTS = "WMTS"
    WFS = "WFS"
    WCS = "WCS"
    OAPIF = "OGC API Features"
    OAPIT = "OGC API Tiles"
    OAPIR = "OGC API Records"
    OAPIP = "OGC API Processes"
    COG = "COG"  # GeoTIFF / Cloud Optimized GeoTIFF over HTTP
    EPT = "EPT"  # Entwine Point Tile (point cloud)
    COPC = "COPC"
    LAZ = "LAZ"
    CITYJSON = "CityJSON"
    TILES3D = "3D Tiles"
    ATOM = "ATOM"  # download feed
    DOWNLOAD = "Download"
    OTHER = "Other"

    @property
    def is_3d(self) -> bool:
        return self in (ServiceType.EPT, ServiceType.COPC, ServiceType.LAZ, ServiceType.CITYJSON, ServiceType.TILES3D)


@dataclass
class Entry:
    id: str  # stable: <dataset or service id>:<layer name> where one record has many layers
    title: str
    service_type: str  # a ServiceType value
    service_url: str
    name: str = ""  # layer / collection / coverage / file name at the service
    abstract: str = ""
    keywords: list[str] = field(default_factory=list)
    organisation: str = ""
    licence: str = ""
    use_constraints: str = ""
    dataset_id: str = ""  # NGR dataset metadata id: what stays the same when a service moves
    service_id: str = ""  # NGR service metadata id
    metadata_url: str = ""  # link to the full record
    date: str = ""  # ISO date of the record (revision / publication)
    lineage: str = ""
    bbox: tuple[float, float, float, float] | None = None  # WGS84 minx, miny, maxx, maxy
    crs: list[str] = field(default_factory=list)  # e.g. ["EPSG:28992"]
    styles: list[dict] = field(default_factory=list)  # {"id", "name", "url"} (OGC API Tiles, WMS)
    tile_matrix_sets: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)  # INSPIRE themes / topic categories
    source: str = ""  # which harvest source produced it
    harvested_at: str = ""  # ISO timestamp

    def to_dict(self) -> dict:
        # Same result as dataclasses.asdict for these flat fields, without its deep copies (10x faster:
        # the catalogue serialises every entry when it indexes 100,000 of them).
        data = {name: getattr(self, name) for name in _FIELDS}
        for name in ("keywords", "crs", "tile_matrix_sets", "themes"):
            data[name] = list(data[name])
        data["styles"] = [dict(s) for s in self.styles]
        data["bbox"] = list(self.bbox) if self.bbox else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Entry:
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        if kwargs.get("bbox"):
            kwargs["bbox"] = tuple(float(v) for v in kwargs["bbox"])
        return cls(**kwargs)

    @property
    def is_3d(self) -> bool:
        try:
            return ServiceType(self.service_type).is_3d
        except ValueError:
            return False


_FIELDS = tuple(Entry.__dataclass_fields__)
