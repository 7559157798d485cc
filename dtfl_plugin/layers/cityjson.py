"""CityJSON 1.0/1.1/2.0 and CityJSONSeq reader: CityObjects -> MultiPolygonZ records (WKB).

GDAL 3.6 has no CityJSON driver, so this is our own. It streams (see cityjson_stream.py):
a big single-object file is read in two passes (header and vertices first, then one
CityObject at a time), a CityJSONSeq file line by line. Objects outside the requested
extent are dropped before any geometry is built.

Output model: one record per (CityObject, semantic surface type). A building with an LoD2
solid gives a RoofSurface, a WallSurface and a GroundSurface record, each a MultiPolygonZ.
Why: one layer then holds the whole model, a single rule-based 3D renderer colours roofs,
walls and ground apart (``"surface" = 'RoofSurface'``), the features stay selectable per
building (``id``), and the split keeps every feature planar-faced and valid in GeoPackage.
LoD1 solids without semantics (e.g. 3dfier output) get their surface type derived from
the face normal (up = roof, down = ground, else wall); ``surface_source`` says which.
No QGIS import here: the parser runs in tests, benchmarks and worker threads alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cityjson_geom import SOLID_TYPES, flatten, kinds_from_normals, lod_key, multipolygon_wkb, rings_of
from .cityjson_stream import JsonStream, JsonStreamError

SURFACE_TYPES = {"MultiSurface": 0, "CompositeSurface": 0}
BUILDING_TYPES = {"Building", "BuildingPart", "BuildingInstallation"}
_EPSG = re.compile(r"EPSG(?:/0/|::|:)(\d+)", re.IGNORECASE)


class CityJSONError(ValueError):
    """The file is not CityJSON we can read; the message is for the user (wrapped in LayerError upstream)."""


@dataclass
class CityHeader:
    version: str = ""
    crs: str = ""  # "EPSG:7415" when the file says so, else ""
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    translate: tuple[float, float, float] = (0.0, 0.0, 0.0)
    has_transform: bool = False
    extent: tuple[float, ...] | None = None  # metadata.geographicalExtent (6 values) when given
    sequence: bool = False  # CityJSONSeq


@dataclass
class CityRecord:
    id: str
    type: str
    lod: str
    surface: str  # RoofSurface, WallSurface, ... or "" (no semantics)
    surface_source: str  # "file", "derived" or ""
    parent: str
    attributes: dict = field(default_factory=dict)
    wkb: bytes = b""
    bbox: tuple[float, float, float, float, float, float] = (0, 0, 0, 0, 0, 0)


@dataclass
class ReadStats:
    objects: int = 0
    kept: int = 0
    outside: int = 0
    no_geometry: int = 0
    skipped_geometry_types: dict = field(default_factory=dict)


def crs_from_reference(reference: str) -> str:
    """'https://www.opengis.net/def/crs/EPSG/0/7415' or 'urn:ogc:def:crs:EPSG::7415' -> 'EPSG:7415'."""
    match = _EPSG.search(reference or "")
    return f"EPSG:{match.group(1)}" if match else ""


def _header_from(data: dict, header: CityHeader) -> None:
    header.version = str(data.get("version", header.version))
    transform = data.get("transform")
    if transform:
        header.scale = tuple(float(v) for v in transform.get("scale", (1, 1, 1)))
        header.translate = tuple(float(v) for v in transform.get("translate", (0, 0, 0)))
        header.has_transform = True
    metadata = data.get("metadata") or {}
    header.crs = crs_from_reference(str(metadata.get("referenceSystem", ""))) or header.crs
    if metadata.get("geographicalExtent"):
        header.extent = tuple(float(v) for v in metadata["geographicalExtent"])


def is_sequence(path: str | Path) -> bool:
    """CityJSONSeq: a first line {"type": "CityJSON", "CityObjects": {}} then one CityJSONFeature per line."""
    if str(path).lower().endswith(".jsonl"):
        return True
    with open(path, encoding="utf-8") as handle:
        first = handle.readline(1 << 20)
        second = handle.readline(1 << 20)
    try:
        head = json.loads(first)
    except ValueError:
        return False  # a single object spread over many lines, or longer than 1 MB on its first line
    return (
        isinstance(head, dict)
        and head.get("type") == "CityJSON"
        and not head.get("CityObjects")
        and "CityJSONFeature" in second
    )


class CityJSONReader:
    """Iterate ``CityRecord`` objects of a CityJSON or CityJSONSeq file.

    ``extent``: (xmin, ymin, xmax, ymax) in the file's CRS; objects whose bounding box misses it are
    dropped. ``lod``: "" for the highest LoD each object has, else e.g. "1", "2.2" ("2" accepts "2.x").
    ``cancelled``: a callable polled between objects (wire a QgsFeedback to it).
    """

    def __init__(self, path: str | Path, *, extent=None, lod: str = "", cancelled=None, progress=None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise CityJSONError(f"file not found: {self.path}")
        self.extent = tuple(float(v) for v in extent) if extent else None
        self.lod = str(lod or "").strip()
        self.cancelled = cancelled or (lambda: False)
        self.progress = progress or (lambda fraction: None)
        self.stats = ReadStats()
        self.sequence = is_sequence(self.path)
        self.header = CityHeader(sequence=self.sequence)
        self._vertices: np.ndarray | None = None
        self._size = max(1, self.path.stat().st_size)
        if self.sequence:
            with open(self.path, encoding="utf-8") as handle:
                data = json.loads(handle.readline())
            self._check_type(data, "CityJSON")
            _header_from(data, self.header)
        else:
            self._read_header_and_vertices()

    @staticmethod
    def _check_type(data, expected: str) -> None:
        if not isinstance(data, dict) or data.get("type") != expected:
            raise CityJSONError(
                f"not a {expected} object (type is {data.get('type') if isinstance(data, dict) else '?'})"
            )

    # --- pass 1 (single-object files): everything except the CityObjects ---
    def _read_header_and_vertices(self) -> None:
        top: dict = {}
        try:
            with open(self.path, encoding="utf-8") as handle:
                stream = JsonStream(handle)
                for key in stream.members():
                    if key == "CityObjects":
                        stream.skip()
                    elif key == "vertices":
                        floats = self._vertices_are_floats(stream)
                        self._vertices = stream.number_rows(3, floats=floats)
                    else:
                        top[key] = stream.value()
        except (JsonStreamError, UnicodeDecodeError) as err:
            raise CityJSONError(f"{self.path.name} is not valid JSON: {err}") from err
        self._check_type(top, "CityJSON")
        _header_from(top, self.header)
        if self._vertices is None:
            raise CityJSONError(f"{self.path.name} has no vertices array")
        self._vertices = self._compact(self._vertices)

    @staticmethod
    def _vertices_are_floats(stream: JsonStream) -> bool:
        # CityJSON >= 1.0 with a transform stores integers; older files may store floats. Look at the first rows.
        stream.peek()
        sample = stream.buf[stream.pos : stream.pos + 4096]
        end = sample.find("]")
        sample = sample[: end if end >= 0 else len(sample)]  # the first row only, not what follows the array
        return "." in sample or "e" in sample.lower()

    @staticmethod
    def _compact(vertices: np.ndarray) -> np.ndarray:
        """int64 -> int32 when the values fit: halves the biggest array we keep."""
        if vertices.dtype == np.int64 and vertices.size and np.abs(vertices).max() < 2**31 - 1:
            return vertices.astype(np.int32)
        return vertices

    # --- pass 2 ---
    def __iter__(self) -> Iterator[CityRecord]:
        try:
            yield from self._iterate()
        except (JsonStreamError, UnicodeDecodeError) as err:
            raise CityJSONError(f"{self.path.name} is damaged: {err}") from err

    def _iterate(self) -> Iterator[CityRecord]:
        if self.sequence:
            yield from self._iter_sequence()
            return
        with open(self.path, encoding="utf-8") as handle:
            stream = JsonStream(handle)
            for key in stream.members():
                if key == "CityObjects":
                    for object_id in stream.members():
                        if self.cancelled():
                            return
                        yield from self._records(object_id, stream.value(), self._vertices)
                        self.progress(min(1.0, (stream.consumed + stream.pos) / self._size))
                elif key == "vertices":
                    stream.number_rows(3, keep=False)
                else:
                    stream.skip()

    def _iter_sequence(self) -> Iterator[CityRecord]:
        done = 0
        with open(self.path, encoding="utf-8") as handle:
            handle.readline()
            for line_no, line in enumerate(handle, start=2):
                done += len(line)
                if not line.strip():
                    continue
                if self.cancelled():
                    return
                try:
                    feature = json.loads(line)
                except ValueError as err:
                    raise CityJSONError(f"line {line_no} of {self.path.name} is not valid JSON: {err}") from err
                self._check_type(feature, "CityJSONFeature")
                floats = any(isinstance(v, float) for row in feature.get("vertices", [])[:3] for v in row)
                vertices = np.asarray(feature.get("vertices", []), dtype=np.float64 if floats else np.int64).reshape(
                    -1, 3
                )
                for object_id, obj in feature.get("CityObjects", {}).items():
                    yield from self._records(object_id, obj, vertices)
                self.progress(min(1.0, done / self._size))

    # --- one CityObject ---
    def _pick_geometry(self, geometries: list) -> dict | None:
        usable = [g for g in geometries if g.get("type") in SOLID_TYPES or g.get("type") in SURFACE_TYPES]
        for g in geometries:
            if g not in usable:
                kind = str(g.get("type"))
                self.stats.skipped_geometry_types[kind] = self.stats.skipped_geometry_types.get(kind, 0) + 1
        if not usable:
            return None
        if self.lod:
            exact = [g for g in usable if str(g.get("lod", "")) == self.lod]
            major = [g for g in usable if str(g.get("lod", "")).split(".")[0] == self.lod.split(".")[0]]
            usable = exact or major
            if not usable:
                return None
        return max(usable, key=lambda g: lod_key(str(g.get("lod", ""))))

    def _records(self, object_id: str, obj: dict, vertices: np.ndarray) -> Iterator[CityRecord]:
        """Records of one CityObject; anything malformed in it is a CityJSONError naming the object."""
        try:
            yield from self._object_records(object_id, obj, vertices)
        except CityJSONError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as err:
            raise CityJSONError(f"city object {object_id!r} is malformed ({type(err).__name__}: {err})") from err

    def _object_records(self, object_id: str, obj: dict, vertices: np.ndarray) -> Iterator[CityRecord]:
        if not isinstance(obj, dict):
            raise CityJSONError(f"city object {object_id!r} is not a JSON object")
        self.stats.objects += 1
        geometry = self._pick_geometry(obj.get("geometry") or [])
        if geometry is None:
            self.stats.no_geometry += 1
            return
        surfaces, values = flatten(geometry)
        if not surfaces:
            self.stats.no_geometry += 1
            return
        flat, ring_len, poly_rings = rings_of(surfaces)
        if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= len(vertices)):
            # Python/numpy would wrap a negative index to the end of the list: wrong geometry, silently.
            raise CityJSONError(
                f"city object {object_id!r} refers to vertex {int(flat.min()) if flat.min() < 0 else int(flat.max())}, "
                f"outside the {len(vertices)} vertices of the file"
            )
        if (ring_len < 3).any():
            keep = ring_len >= 3  # a ring of fewer than 3 points has no area: dropped, not drawn
            flat, ring_len, poly_rings, alive = _drop_short_rings(flat, ring_len, poly_rings, keep)
            if values is not None:
                values = [value for value, ok in zip(values, alive) if ok]
            if not len(poly_rings):
                self.stats.no_geometry += 1
                return
        raw = vertices[flat]
        if self.header.has_transform:
            points = raw * np.asarray(self.header.scale) + np.asarray(self.header.translate)
        else:
            points = raw.astype(np.float64)
        lo, hi = points.min(axis=0), points.max(axis=0)
        if self.extent and (
            hi[0] < self.extent[0] or lo[0] > self.extent[2] or hi[1] < self.extent[1] or lo[1] > self.extent[3]
        ):
            self.stats.outside += 1
            return
        self.stats.kept += 1
        kinds, source = self._surface_kinds(obj.get("type", ""), geometry, values, points, ring_len, poly_rings)
        parents = obj.get("parents") or []
        bbox = (float(lo[0]), float(lo[1]), float(lo[2]), float(hi[0]), float(hi[1]), float(hi[2]))
        kinds_array = np.asarray(kinds, dtype=object)
        for kind in dict.fromkeys(kinds):
            selected = None if len(kinds) == 1 or all(k == kind for k in kinds) else kinds_array == kind
            yield CityRecord(
                id=object_id,
                type=str(obj.get("type", "")),
                lod=str(geometry.get("lod", "")),
                surface=kind,
                surface_source=source if kind else "",
                parent=str(parents[0]) if parents else "",
                attributes=obj.get("attributes") or {},
                wkb=multipolygon_wkb(points, ring_len, poly_rings, selected),
                bbox=bbox,
            )

    @staticmethod
    def _surface_kinds(obj_type, geometry, values, points, ring_len, poly_rings) -> tuple[list[str], str]:
        semantics = geometry.get("semantics") or {}
        named = semantics.get("surfaces") or []
        if values is not None and named:
            kinds = []
            for value in values:
                kinds.append(str(named[value].get("type", "")) if isinstance(value, int) and value < len(named) else "")
            return kinds, "file"
        if obj_type in BUILDING_TYPES and geometry.get("type") in SOLID_TYPES:
            return kinds_from_normals(poly_rings, points, ring_len), "derived"
        return [""] * len(poly_rings), ""


def _drop_short_rings(flat, ring_len, poly_rings, keep):
    """Remove rings of fewer than 3 points; a surface whose outer ring goes is removed whole."""
    ring_owner = np.repeat(np.arange(len(poly_rings)), poly_rings)
    first = np.zeros(len(ring_len), dtype=bool)
    first[np.concatenate(([0], np.cumsum(poly_rings)[:-1])).astype(np.int64)] = True
    dead_surface = np.zeros(len(poly_rings), dtype=bool)
    dead_surface[ring_owner[first & ~keep]] = True
    keep = keep & ~dead_surface[ring_owner]
    point_keep = np.repeat(keep, ring_len)
    new_poly = np.bincount(ring_owner[keep], minlength=len(poly_rings))[~dead_surface]
    return flat[point_keep], ring_len[keep], new_poly, ~dead_surface


def read_header(path: str | Path) -> CityHeader:
    """Version, CRS and transform without reading the CityObjects (cheap for a sequence, one pass otherwise)."""
    return CityJSONReader(path).header
