"""Per-tile steps of the tiled screening. Each is a plain function of (spec, tile, ...) that reads its window from
the work folder, saves its per-tile arrays there atomically and returns a small summary: the same code runs in the
QGIS process, in a pygeoapi worker or as a dask.distributed task (the work folder must then be shared storage).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..local import walls
from ..local.bathtub_core import below_sums, facade_max_depth, pool_cells, pool_index, runoff_depth_m
from ..local.depressions import _OFFSETS, _PAIRS, _min_per_key, d8_directions, spanning_edges
from ..local.walls import pocket_cells
from . import hanging, inputs, inside, seams, store
from .layout import sparse_sum

_DR = np.array([o[0] for o in _OFFSETS] + [0], dtype=np.int32)
_DC = np.array([o[1] for o in _OFFSETS] + [0], dtype=np.int32)
_EIGHT = np.ones((3, 3), dtype=bool)
_CACHE: dict = {}  # what a process makes of the global arrays once (jump pointers, pool index)
_CHUNK = 1 << 21


def shared(spec, name: str) -> dict:
    """Global arrays of the run (basin graph, tree, ...), mapped from the work folder once per process: the engine
    and, with the local executor, the tiles use the very same mappings (store.py)."""
    return store.shared(spec, name)


def publish(spec, name: str, adopt: bool = False, **arrays) -> dict:
    """Save global arrays for the tiles (any worker); returns this process's mapped copy (store.publish)."""
    return store.publish(spec, name, adopt, **arrays)


def forget(spec, *names: str) -> None:
    """Drop cached global arrays and what was made of them (all of this run's when no name is given)."""
    store.forget(spec, *names)
    for key in list(_CACHE):
        if key[0] == spec.layout.folder and (not names or key[1] in names):
            del _CACHE[key]


def terrain(spec, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
    """Elevation (walls raised to ``spec.top``) and the inside-the-domain mask of a window."""
    lay = spec.layout
    z = lay.window("z", r0, r1, c0, c1, np.nan, np.float32)
    valid = np.isfinite(z)
    if spec.buildings:
        walls = lay.window("wall", r0, r1, c0, c1, 0, np.int32) > 0
        z[walls] = np.float32(spec.top)
        valid |= walls
        if spec.water:
            valid &= ~(lay.window("outlet", r0, r1, c0, c1, 0, np.uint8).astype(bool) & ~walls)
    elif spec.water:
        valid &= ~lay.window("outlet", r0, r1, c0, c1, 0, np.uint8).astype(bool)
    return z, valid


def prepare(spec, t: int) -> dict:
    """Read the DEM window, fill small gaps, rasterise land cover, water and buildings of the tile."""
    lay = spec.layout
    if lay.done("prep", t, "npz"):
        return lay.load_parts("prep", t)
    r0, r1, c0, c1 = lay.bounds(t)
    z = inputs.read_dem(spec, r0, r1, c0, c1)
    top = np.float64(np.max(z[np.isfinite(z)])) if np.isfinite(z).any() else -np.inf
    lay.save("z", t, z)
    present = np.zeros(0, dtype=np.int32)
    if spec.vectors:
        layers = inputs.rasterise_tile(spec, r0, r1, c0, c1)
        if spec.landcover:
            lay.save("coeff", t, layers["coeff"])
        if spec.water:
            lay.save("outlet", t, layers["outlet"])
        if spec.buildings:
            lay.save("foot", t, layers["foot"])
            present = np.unique(layers["foot"])
            present = present[present > 0].astype(np.int32)
    lay.save_parts("prep", t, zmax=np.array(top), present=present)
    return {"zmax": np.array(top), "present": present}


def small_buildings(spec, t: int, missing: np.ndarray) -> None:
    """Buildings smaller than a cell (no cell centre inside) take the cells they touch, where no other is."""
    lay = spec.layout
    if lay.done("footfix", t, "npz"):
        return
    r0, r1, c0, c1 = lay.bounds(t)
    foot = lay.load("foot", t)
    touched = inputs.rasterise_buildings(spec, r0, r1, c0, c1, ids=missing, all_touched=True)
    lay.save("foot", t, np.where(foot == 0, touched, foot).astype(np.int32))
    lay.save_parts("footfix", t, n=np.array(int(np.count_nonzero(touched))))


def close_pockets(spec, t: int) -> None:
    """Footprints closed over enclosed slivers (local/walls.py), from a window wide enough to see each pocket."""
    lay = spec.layout
    if lay.done("wall", t):
        return
    r0, r1, c0, c1 = lay.bounds(t)
    cells = pocket_cells(spec.cell_size)
    h = cells + 3
    foot = lay.window("foot", r0 - h, r1 + h, c0 - h, c1 + h, 0, np.int32)
    valid = np.isfinite(lay.window("z", r0 - h, r1 + h, c0 - h, c1 + h, np.nan, np.float32))
    if spec.water:
        valid &= lay.window("outlet", r0 - h, r1 + h, c0 - h, c1 + h, 0, np.uint8) == 0
    inside = np.zeros_like(valid)  # beyond the grid: a pocket touching it is open, as at the grid edge
    inside[
        max(0, -(r0 - h)) : valid.shape[0] - max(0, r1 + h - lay.rows),
        max(0, -(c0 - h)) : valid.shape[1] - max(0, c1 + h - lay.cols),
    ] = True
    closed = walls.close_pockets(np.where(inside, foot, 0), valid & inside, cells, open_mask=~inside)
    lay.save("wall", t, np.ascontiguousarray(closed[h:-h, h:-h]))


def label(spec, t: int) -> dict:
    """Local basins: each cell drains to a pit region inside the tile or leaves it at an exit cell."""
    lay = spec.layout
    if lay.done("lab", t, "npz"):
        return _label_summary(lay, t)
    r0, r1, c0, c1 = lay.bounds(t)
    h, w = r1 - r0, c1 - c0
    z, valid = terrain(spec, r0 - 2, r1 + 2, c0 - 2, c1 + 2)
    ring_dir = d8_directions(z, valid)[1:-1, 1:-1]  # the tile and one ring around it
    ring_pits = (ring_dir < 0) & valid[1:-1, 1:-1]
    d = ring_dir[1:-1, 1:-1]
    zt = z[2:-2, 2:-2]
    vt = valid[2:-2, 2:-2]
    pits = ring_pits[1:-1, 1:-1]
    pit_label, n_pits = ndimage.label(pits, structure=_EIGHT)
    tr = np.arange(h, dtype=np.int32)[:, None] + _DR[d]
    tc = np.arange(w, dtype=np.int32)[None, :] + _DC[d]
    inside = (tr >= 0) & (tr < h) & (tc >= 0) & (tc < w)
    exits = vt & (d >= 0) & ~inside
    flat = np.arange(h * w, dtype=np.int32).reshape(h, w)
    root = np.where(vt & (d >= 0) & inside, tr * w + tc, flat).ravel()
    for _ in range(64):
        jumped = root[root]
        if np.array_equal(jumped, root):
            break
        root = jumped
    own = pit_label.astype(np.int32)
    er, ec = np.nonzero(exits)
    own[er, ec] = n_pits + 1 + np.arange(er.size, dtype=np.int32)
    lab = own.ravel()[root].reshape(h, w)
    lab[~vt] = 0
    lay.save("label", t, lab)
    uniq, first_idx = np.unique(pit_label.ravel(), return_index=True)
    first_idx = first_idx[uniq > 0]  # a tile wholly inside one flat pit region has no label 0
    fr, fc = np.divmod(first_idx, w)
    parts = {
        "n_pits": np.array(n_pits),
        "pit_gidx": (r0 + fr).astype(np.int64) * lay.cols + (c0 + fc),
        "pit_z": zt.ravel()[first_idx].astype(np.float32),  # exact: z is float32
        "exit_target": (r0 + tr[er, ec]).astype(np.int64) * lay.cols + (c0 + tc[er, ec]),
    }
    parts.update(_seams(lay, r0, c0, h, w, pit_label, ring_pits))
    parts.update(_border(lay, r0, c0, h, w, lab))
    lay.save_parts("lab", t, **parts)
    return _label_summary(lay, t)


_PER_PIT = ("pit_gidx", "pit_z")


def _label_summary(lay, t: int) -> dict:
    """What the global step gathers of a tile's labels: the per-pit arrays (12 bytes a basin) stay in the work
    folder and are read there, a row of tiles at a time (``LabelPart``)."""
    return {"tile": t, **{k: v for k, v in lay.load_parts("lab", t).items() if k not in _PER_PIT}}


class LabelPart(dict):
    """A tile's label summary; its per-pit arrays are read from the tile's file when asked for."""

    def __init__(self, lay, summary: dict) -> None:
        super().__init__(summary)
        self.path = lay.path("lab", int(summary["tile"]), "npz")

    def __getitem__(self, key: str):
        if key in _PER_PIT and not dict.__contains__(self, key):
            with np.load(self.path, allow_pickle=False) as data:
                return data[key]
        return dict.__getitem__(self, key)

    def pop(self, key: str, *default):
        return self[key] if key in _PER_PIT else dict.pop(self, key, *default)


def _seams(lay, r0, c0, h, w, pit_label, ring_pits) -> dict:
    """Pit cells next to pit cells of a neighbouring tile: one flat pit region across the seam."""
    own, other = [], []
    for dr, dc in _OFFSETS:
        nb = ring_pits[1 + dr : h + 1 + dr, 1 + dc : w + 1 + dc]
        rows = np.arange(h)[:, None] + dr
        cols = np.arange(w)[None, :] + dc
        outside = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
        hit = (pit_label > 0) & nb & outside
        a, b = np.nonzero(hit)
        own.append(pit_label[a, b].astype(np.int64))
        other.append((r0 + a + dr).astype(np.int64) * lay.cols + (c0 + b + dc))
    return {"seam_label": np.concatenate(own), "seam_gidx": np.concatenate(other)}


def _border(lay, r0, c0, h, w, lab) -> dict:
    """Global index and local label of the tile's outer cells (what neighbours' exits and seams point at)."""
    mask = np.zeros((h, w), dtype=bool)
    mask[0], mask[-1], mask[:, 0], mask[:, -1] = True, True, True, True
    a, b = np.nonzero(mask)
    return {"border_gidx": (r0 + a).astype(np.int64) * lay.cols + (c0 + b), "border_label": lab[a, b]}


def basins(spec, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Global basin id of every cell of a window (0 outside), from the local labels and the resolved nodes."""
    lay = spec.layout
    nodes = shared(spec, "nodes")
    lab = lay.window("label", r0, r1, c0, c1, 0, np.int32)
    ti = np.clip(np.arange(r0, r1) // lay.tile, 0, lay.tile_rows - 1)
    tj = np.clip(np.arange(c0, c1) // lay.tile, 0, lay.tile_cols - 1)
    offset = nodes["offset"][ti[:, None] * lay.tile_cols + tj[None, :]]
    node = np.where(lab > 0, offset + lab, 0)
    return nodes["node_basin"][node]


def edges(spec, t: int) -> dict:
    """Lowest pass between every pair of neighbouring basins seen from the tile; runoff per basin."""
    lay = spec.layout
    if lay.done("edge", t, "npz"):
        return {"tile": t, **_steiner_part(lay.load_parts("edge", t))}
    r0, r1, c0, c1 = lay.bounds(t)
    h, w = r1 - r0, c1 - c0
    bw = basins(spec, r0 - 2, r1 + 2, c0 - 2, c1 + 2)
    z, valid = terrain(spec, r0 - 2, r1 + 2, c0 - 2, c1 + 2)
    zp = np.where(valid, z, -np.inf).astype(np.float32)
    n = np.int64(spec.n_basins + 1)
    keys, weights = [], []
    for dr, dc in _PAIRS:  # pairs whose first cell is in the tile or its ring: every pair at least once
        a, b = bw[1 : h + 3, 1 : w + 3], bw[1 + dr : h + 3 + dr, 1 + dc : w + 3 + dc]
        differ = a != b
        la, lb = a[differ], b[differ]
        wgt = np.maximum(zp[1 : h + 3, 1 : w + 3][differ], zp[1 + dr : h + 3 + dr, 1 + dc : w + 3 + dc][differ])
        key = np.minimum(la, lb).astype(np.int64) * n + np.maximum(la, lb)
        key, wgt = _min_per_key(key, wgt)
        keys.append(key)
        weights.append(wgt)
    key, wgt = _min_per_key(np.concatenate(keys), np.concatenate(weights))
    lo, hi, wgt = spanning_edges(key // n, key % n, wgt)  # only the tile's own spanning forest can be in the tree
    (hang_child, hang_parent, hang_w), steiner = hanging.peel(lo, hi, wgt, hanging.boundary_basins(bw))
    key, wgt = lo[steiner] * n + hi[steiner], wgt[steiner]  # only these go into the global Kruskal
    tile_basin, tile_valid = bw[2:-2, 2:-2], valid[2:-2, 2:-2]
    if spec.landcover:
        runoff = runoff_depth_m(spec.rain_mm, spec.loss_mm, lay.load("coeff", t))
        ids, sums = sparse_sum(tile_basin.ravel(), np.where(tile_valid, runoff, 0.0).ravel())
    else:
        ids, sums = sparse_sum(tile_basin.ravel())
        sums *= float(runoff_depth_m(spec.rain_mm, spec.loss_mm, 1.0))
    parts = {"key": key, "w": wgt, "runoff_ids": ids.astype(np.int32), "runoff": sums}  # ids < 2^31
    lay.save_parts("edge", t, hang_child=hang_child, hang_parent=hang_parent, hang_w=hang_w, **parts)
    return {"tile": t, **parts}


def _steiner_part(parts: dict) -> dict:
    """What the engine gathers of a tile's edges: the hanging ones stay in the work folder (hanging.py)."""
    return {k: v for k, v in parts.items() if not k.startswith("hang_")}


def hang(spec, t: int) -> dict:
    """Parent, pass, level and top of the basins hanging off the tile's boundary basins (hanging.py)."""
    parts = spec.layout.load_parts("edge", t)
    spine = shared(spec, "spine")
    return hanging.hang_levels(parts["hang_child"], parts["hang_parent"], parts["hang_w"], spine["level"], spine["top"])


def _tile_state(spec, t: int, halo: int = 0):
    r0, r1, c0, c1 = spec.layout.bounds(t)
    bw = basins(spec, r0 - halo, r1 + halo, c0 - halo, c1 + halo)
    z, valid = terrain(spec, r0 - halo, r1 + halo, c0 - halo, c1 + halo)
    g = shared(spec, "graph")
    filled = np.maximum(z, g["level"][bw].astype(np.float32))
    filled[~valid] = np.nan
    return bw, z, valid, filled, g


def capacity(spec, t: int) -> dict:
    """Volume below the fill level per depression (in cells x m)."""
    bw, z, _, filled, g = _tile_state(spec, t)
    below = np.nan_to_num(filled - z, nan=0.0).ravel()
    ids, sums = sparse_sum(g["top"][bw].ravel(), below)
    return {"ids": ids, "sums": sums}


def seam_collapse(spec, t: int) -> dict:
    """The tile's interior sub-trees of the partly filled depressions over seams (seams.py): saved in the work
    folder, where the global step reads them (``seams.SavedPart``)."""
    return {"comps": int(seams.collapse(spec, t, shared, basins, terrain)["comp_w"].size)}


def seam_climb(spec, t: int) -> dict:
    """Cell count and sum of z per node of the global seam tree (seams.py)."""

    def get_climber():
        key = (spec.layout.folder, "seam_climber")
        if key not in _CACHE:  # once per process: jump pointers over the global tree
            _CACHE[key] = seams.climber(shared(spec, "seam_tree"))
        return _CACHE[key]

    return seams.climb(spec, t, shared, basins, terrain, get_climber)


def seam_levels(spec, t: int) -> dict:
    """Levels inside the tile's partly filled super-leaves (seams.py)."""
    return seams.levels(spec, t, shared, basins, terrain)


def inside_levels(spec, t: int) -> dict:
    """Levels in the partly filled depressions wholly inside the tile (inside.py)."""
    return inside.levels(spec, t, shared, basins, terrain)


def collect_pools(spec, t: int) -> int:
    """Cells that can be wet in partly filled pools, kept per tile for the Newton iterations."""
    bw, z, _, _, _ = _tile_state(spec, t)
    pools = shared(spec, "pools")
    pool_cell = pools["pool_of_leaf"][bw.ravel()]
    key = (spec.layout.folder, "pool_index")
    if key not in _CACHE:  # once per process: it is as large as the merge tree
        _CACHE[key] = pool_index(pools["w_top"], pools["partial"])
    g, zc, _ = pool_cells(z.ravel(), pool_cell, pools["w_top"], pools["partial"], _CACHE[key])
    spec.layout.save_parts("pc", t, g=g, zc=zc)
    return int(g.size)


def newton(spec, t: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    parts = spec.layout.load_parts("pc", t)
    return below_sums(parts["g"], parts["zc"], h)


def output(spec, t: int) -> dict:
    """Water depth and depression extent of the tile (GeoTIFF tiles), cells per depression, facade depths."""
    lay = spec.layout
    if lay.done("out", t, "npz"):
        return lay.load_parts("out", t)
    r0, r1, c0, c1 = lay.bounds(t)
    bw, z, valid, filled, g = _tile_state(spec, t, halo=1)
    final = shared(spec, "final")
    depth = final["leaf_level"][bw].astype(np.float32)  # per cell: not a copy of all basins per tile
    depth -= z
    depth[~(depth >= spec.min_depth)] = 0.0
    depth[~valid] = np.nan
    labels = final["new_id"][g["top"][bw]]
    labels[~(filled > z)] = 0
    labels = labels[1:-1, 1:-1]
    inputs.write_tile(spec, "depth", t, np.where(np.isnan(depth[1:-1, 1:-1]), np.float32(-9999.0), depth[1:-1, 1:-1]))
    inputs.write_tile(spec, "dep", t, labels.astype(np.int32))
    ids, cells = sparse_sum(labels.ravel())
    parts = {"cell_ids": ids, "cells": cells}
    if spec.buildings:
        foot = lay.window("wall", r0 - 1, r1 + 1, c0 - 1, c1 + 1, 0, np.int32)
        present = np.unique(foot)
        present = present[present > 0]
        compact = np.where(foot > 0, np.searchsorted(present, foot) + 1, 0).astype(np.int32)
        facade = facade_max_depth(depth, compact, present.size)
        parts.update(facade_ids=present, facade=facade[1:])
    lay.save_parts("out", t, **parts)
    return parts
