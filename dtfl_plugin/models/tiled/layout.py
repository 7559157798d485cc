"""Tiles of a raster and the work folder of a tiled run: per-tile arrays (.npy), written atomically.

A tile's arrays are read back as windows with a halo: the parts of up to nine neighbouring tiles are copied
out of memory-mapped .npy files, so a worker holds only its window, whatever the size of the DEM.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layout:
    rows: int
    cols: int
    tile: int
    folder: str

    @property
    def tile_rows(self) -> int:
        return -(-self.rows // self.tile)

    @property
    def tile_cols(self) -> int:
        return -(-self.cols // self.tile)

    @property
    def count(self) -> int:
        return self.tile_rows * self.tile_cols

    def bounds(self, t: int) -> tuple[int, int, int, int]:
        """(r0, r1, c0, c1) of tile ``t`` (row-major numbering)."""
        i, j = divmod(t, self.tile_cols)
        r0, c0 = i * self.tile, j * self.tile
        return r0, min(r0 + self.tile, self.rows), c0, min(c0 + self.tile, self.cols)

    def path(self, kind: str, t: int | None = None, ext: str = "npy") -> str:
        name = kind if t is None else f"{kind}_{t:06d}"
        return os.path.join(self.folder, f"{name}.{ext}")

    def done(self, kind: str, t: int | None = None, ext: str = "npy") -> bool:
        return os.path.exists(self.path(kind, t, ext))

    def save(self, kind: str, t: int | None, array: np.ndarray) -> None:
        save_atomic(self.path(kind, t), lambda f: np.save(f, array, allow_pickle=False))

    def load(self, kind: str, t: int | None = None, mmap: bool = False) -> np.ndarray:
        return np.load(self.path(kind, t), mmap_mode="r" if mmap else None, allow_pickle=False)

    def save_parts(self, kind: str, t: int | None, **arrays) -> None:
        save_atomic(self.path(kind, t, "npz"), lambda f: np.savez(f, **arrays))

    def load_parts(self, kind: str, t: int | None = None) -> dict:
        with np.load(self.path(kind, t, "npz"), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def window(self, kind: str, r0: int, r1: int, c0: int, c1: int, fill, dtype) -> np.ndarray:
        """Rows r0..r1, cols c0..c1 (may reach beyond the raster: ``fill`` there) of a per-tile array."""
        out = np.full((r1 - r0, c1 - c0), fill, dtype=dtype)
        size = self.tile
        for i in range(max(r0, 0) // size, min(r1, self.rows) // size + 1):
            for j in range(max(c0, 0) // size, min(c1, self.cols) // size + 1):
                if i >= self.tile_rows or j >= self.tile_cols:
                    continue
                t = i * self.tile_cols + j
                tr0, tr1, tc0, tc1 = self.bounds(t)
                a0, a1, b0, b1 = max(r0, tr0), min(r1, tr1), max(c0, tc0), min(c1, tc1)
                if a0 >= a1 or b0 >= b1:
                    continue
                part = self.load(kind, t, mmap=True)
                out[a0 - r0 : a1 - r0, b0 - c0 : b1 - c0] = part[a0 - tr0 : a1 - tr0, b0 - tc0 : b1 - tc0]
                del part  # unmaps: the pages leave this process
        return out


def save_atomic(path: str, write) -> None:
    """Write through ``write(file)`` to a temporary name beside ``path``, then rename: no half-written file."""
    tmp = f"{path}.{uuid.uuid4().hex}.part"
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_json(path: str, data: dict) -> None:
    save_atomic(path, lambda f: f.write(json.dumps(data, sort_keys=True).encode("utf-8")))


def load_json(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def sparse_sum(keys: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(unique keys, summed weights or counts): what a tile sends back instead of a full per-basin array."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    lo, hi = int(keys.min()), int(keys.max())
    if hi - lo <= 64 * keys.size + 1024:  # ids of a tile are close together (numbered in raster order)
        sums = np.bincount(keys - lo, weights=weights, minlength=hi - lo + 1)
        counts = sums if weights is None else np.bincount(keys - lo, minlength=hi - lo + 1)
        ids = np.flatnonzero(counts)
        return ids + lo, sums[ids].astype(np.float64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=weights, minlength=uniq.size)
    return uniq, sums.astype(np.float64)


def add_sparse(total: np.ndarray, keys: np.ndarray, sums: np.ndarray) -> None:
    np.add.at(total, keys, sums)
