"""Geometry helpers of the CityJSON reader, numpy only: flatten nestings, derive surfaces, build WKB.

3dfier's LoD1 solids are triangulated (100+ rings per building): per-ring numpy calls were most of the
import time, so coordinates are gathered for the whole object at once and rings are byte slices.
"""

from __future__ import annotations

import struct
from itertools import chain

import numpy as np

SOLID_TYPES = {"Solid": 1, "MultiSolid": 2, "CompositeSolid": 2}
WKB_MULTIPOLYGON_Z = 1006
WKB_POLYGON_Z = 1003


def lod_key(lod: str) -> tuple[float, str]:
    try:
        return float(lod), lod
    except ValueError:
        return -1.0, lod


def rings_of(surfaces: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flat vertex indices, points per ring, rings per surface) of a list of surfaces."""
    rings = list(chain.from_iterable(surfaces))
    ring_len = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
    flat = np.fromiter(chain.from_iterable(rings), dtype=np.int64, count=int(ring_len.sum()))
    poly_rings = np.fromiter(map(len, surfaces), dtype=np.int64, count=len(surfaces))
    return flat, ring_len, poly_rings


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values), dtype=np.int64)
    if len(values) > 1:
        np.cumsum(values[:-1], out=out[1:])
    return out


def multipolygon_wkb(
    points: np.ndarray, ring_len: np.ndarray, poly_rings: np.ndarray, selected: np.ndarray | None = None
) -> bytes:
    """ISO WKB MultiPolygonZ of the polygons (``selected`` mask, default all); rings are closed here.

    The closed coordinates of all rings are gathered by one numpy indexing; the loop only slices bytes.
    """
    ring_start = _exclusive_cumsum(ring_len)
    if selected is not None:
        ring_mask = np.repeat(selected, poly_rings)
        ring_start, ring_len, poly_rings = ring_start[ring_mask], ring_len[ring_mask], poly_rings[selected]
    closed = ring_len + 1
    within = np.arange(int(closed.sum())) - np.repeat(_exclusive_cumsum(closed), closed)
    within[within == np.repeat(ring_len, closed)] = 0
    data = np.ascontiguousarray(points[np.repeat(ring_start, closed) + within], dtype="<f8").tobytes()
    polygon_header = struct.Struct("<BII").pack
    count = struct.Struct("<I").pack
    parts = [polygon_header(1, WKB_MULTIPOLYGON_Z, len(poly_rings))]
    sizes = (closed * 24).tolist()
    counts = closed.tolist()
    offset = 0
    ring = 0
    for rings in poly_rings.tolist():
        parts.append(polygon_header(1, WKB_POLYGON_Z, rings))
        for _ in range(rings):
            parts.append(count(counts[ring]))
            parts.append(data[offset : offset + sizes[ring]])
            offset += sizes[ring]
            ring += 1
    return b"".join(parts)


def flatten(geometry: dict) -> tuple[list, list | None]:
    """Surfaces (each a list of rings) and their semantic values, whatever the solid nesting."""
    kind = geometry.get("type")
    boundaries = geometry.get("boundaries") or []
    values = (geometry.get("semantics") or {}).get("values")
    depth = SOLID_TYPES.get(kind, 0)
    for _ in range(depth):
        if values is not None:
            if not isinstance(values, list) or len(values) != len(boundaries):
                values = None
            else:
                values = [
                    v
                    for shell, vs in zip(boundaries, values)
                    for v in (vs if isinstance(vs, list) else [None] * len(shell))
                ]
        boundaries = [surface for shell in boundaries for surface in shell]
    surfaces = [surface for surface in boundaries if surface and surface[0]]
    if values is not None and len(values) != len(boundaries):
        values = None  # inconsistent semantics: ignore them rather than mislabel faces
    elif values is not None and len(surfaces) != len(boundaries):
        values = [v for surface, v in zip(boundaries, values) if surface and surface[0]]
    return surfaces, values


def kinds_from_normals(poly_rings: np.ndarray, points: np.ndarray, ring_len: np.ndarray) -> list[str]:
    """Roof/wall/ground from each exterior ring's Newell normal (LoD1 solids carry no semantics). Vectorised."""
    lengths = ring_len
    starts = _exclusive_cumsum(lengths)
    nxt = np.arange(1, len(points) + 1)
    nxt[starts + lengths - 1] = starts  # each ring's last point wraps to its first
    a, b = points, points[nxt]
    terms = np.stack(
        [
            (a[:, 1] - b[:, 1]) * (a[:, 2] + b[:, 2]),
            (a[:, 2] - b[:, 2]) * (a[:, 0] + b[:, 0]),
            (a[:, 0] - b[:, 0]) * (a[:, 1] + b[:, 1]),
        ],
        axis=1,
    )
    normals = np.add.reduceat(terms, starts, axis=0)
    exterior = _exclusive_cumsum(poly_rings)
    normals = normals[exterior]
    norms = np.linalg.norm(normals, axis=1)
    nz = np.abs(np.divide(normals[:, 2], norms, out=np.zeros_like(norms), where=norms > 0))
    # Horizontal faces: the orientation of generated solids is not reliable (3dfier floors face up),
    # so a horizontal face in the lowest fifth of the object is ground, any other is roof.
    mean_z = np.add.reduceat(points[:, 2], starts)[exterior] / lengths[exterior]
    z_lo, z_hi = float(points[:, 2].min()), float(points[:, 2].max())
    ground_below = z_lo + 0.2 * (z_hi - z_lo)
    return [
        ("GroundSurface" if mz <= ground_below else "RoofSurface") if z > 0.5 else "WallSurface"
        for z, mz in zip(nz, mean_z)
    ]
