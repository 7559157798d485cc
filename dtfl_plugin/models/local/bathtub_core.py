"""Pluvial flooding screening ("bathtub"): fill terrain depressions with the runoff of their catchments.

Pure numpy + scipy, no QGIS: the QGIS algorithm (``dtfl:bathtub_flooding``) and the pygeoapi process
(``sandbox/processes/bathtub.py``) both call :func:`run_bathtub` on arrays::

    from dtfl_plugin.models.local.bathtub_core import run_bathtub
    result = run_bathtub(dem, cell_size=1.0, rain_mm=70.0, loss_mm=10.0)
    result.depth            # float32 (rows, cols), water depth in m, 0 where dry (< min_depth), NaN on nodata
    result.depressions      # int32 (rows, cols), depression id (1..n) over each depression's full extent, 0 elsewhere
    result.table            # list[dict]: one row per depression that can hold >= min_depth, largest first: id,
                            #   volume_capacity_m3, inflow_m3, stored_m3, fill_fraction, spilled_m3, max_depth
                            #   (spill level - bottom), water_depth (deepest water), water_level (highest pool
                            #   level, None when dry), spill_level, area_m2, cells
    result.filled           # float32 depression-filled DEM (NaN on nodata)
    result.total_runoff_m3, result.stored_m3, result.spilled_out_m3   # stored + spilled_out == total_runoff

What it is: a SCREENING without time, sewer or infiltration dynamics, not a hydrodynamic simulation. The event
depth minus a uniform loss (sewer + infiltration capacity, mm) times a runoff coefficient per cell becomes runoff at
once; water runs down the terrain to the depression it drains to, fills it, and the surplus spills on.

How (vectorised over cells; Python loops only over depressions and tree nodes):
1. depressions.py finds the basins (D8), the spill tree and each depression's spill level and capacity; its
   filled surface equals priority-flood / SAGA Wang & Liu filling (tested against both).
2. Each depression receives the runoff of its catchment (all cells draining to its basins) plus the overflow of
   upstream depressions, in order from high spill levels to low; what exceeds its capacity spills over its pass
   into the basin on the other side (and so into the next depression), or out of the area (grid edge, nodata,
   outlets). A full depression stands at its spill level.
3. Inside a partly filled depression (fill_spill.py) sub-depressions fill and spill into each other before they
   merge into one lake (Fill-Spill-Merge, Barnes, Callaghan & Wickert 2021): water stays in the sub-pit it drains
   to until that is full to the sill; the surplus runs into the neighbour; above the sill both form one pool.
Simplifications: water follows D8 steepest descent (no dispersion); all runoff arrives at once (no hydrograph,
no sewer or infiltration over time); sills of exactly equal height merge in the order the spill tree lists them.
Cells with water shallower than ``min_depth`` are left dry in ``depth`` (their volume still counts as stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .depressions import (  # noqa: F401  (re-exported: the public API of the model lives here)
    _OFFSETS,
    CancelledError,
    FillResult,
    _check,
    _report,
    _valid_mask,
    analyse_depressions,
    fill_depressions,
)
from .fill_spill import build_merge_tree, distribute

_CHUNK = 1 << 21  # cells per block: bounds the int64/float64 copies numpy makes of int32/float32 arrays


def _bincount(index: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """np.bincount in blocks (it converts its inputs to int64/float64: 24 bytes per cell at once otherwise)."""
    out = np.zeros(n)
    for start in range(0, index.size, _CHUNK):
        w = None if weights is None else weights[start : start + _CHUNK]
        out += np.bincount(index[start : start + _CHUNK], weights=w, minlength=n)
    return out


@dataclass
class BathtubResult:
    depth: np.ndarray
    depressions: np.ndarray
    table: list = field(default_factory=list)
    filled: np.ndarray | None = None
    total_runoff_m3: float = 0.0
    stored_m3: float = 0.0
    spilled_out_m3: float = 0.0
    cell_size: float = 1.0


def raise_walls(dem: np.ndarray, walls: np.ndarray, nodata=None, outlets: np.ndarray | None = None):
    """A copy of ``dem`` with the ``walls`` cells 100 m above the highest terrain (and never outlets)."""
    walls = np.asarray(walls, dtype=bool)
    if walls.shape != dem.shape:
        raise ValueError("walls must have the shape of the DEM")
    valid = _valid_mask(dem, nodata, None)
    top = float(dem[valid].max()) + 100.0 if valid.any() else 100.0
    raised = dem.astype(np.float32, copy=True)
    raised[walls] = top
    if outlets is not None:
        outlets = np.asarray(outlets, dtype=bool) & ~walls
    return raised, outlets


def runoff_depth_m(rain_mm: float, loss_mm: float, runoff_coeff: np.ndarray | float = 1.0) -> np.ndarray | float:
    """Runoff depth per cell: ``coeff * max(rain - loss, 0)`` in metres."""
    if rain_mm < 0 or loss_mm < 0:
        raise ValueError("rain and loss must not be negative")
    coeff = np.clip(np.nan_to_num(np.asarray(runoff_coeff, dtype=np.float32), nan=1.0), 0.0, 1.0)
    return coeff * np.float32(max(rain_mm - loss_mm, 0.0) / 1000.0)


def run_bathtub(
    dem: np.ndarray,
    cell_size: float,
    rain_mm: float,
    loss_mm: float = 0.0,
    runoff_coeff: np.ndarray | float = 1.0,
    nodata=None,
    min_depth: float = 0.05,
    outlets: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    analysis: FillResult | None = None,
    walls: np.ndarray | None = None,
) -> BathtubResult:
    """Bathtub screening of one rain event on ``dem`` (see the module docstring for the method).

    ``cell_size`` is the (square) cell size in metres; ``runoff_coeff`` a scalar or an array like ``dem`` (0..1,
    NaN = 1); ``outlets`` an optional boolean array of cells that swallow water (open water, sewer inlets modelled
    as outlets); ``progress(percent)`` and ``is_cancelled()`` are optional callbacks (``CancelledError`` is raised).
    Pass ``analysis`` from :func:`analyse_depressions` to reuse the terrain analysis for several events.
    ``walls`` (boolean, like ``dem``) marks building footprints: they are raised far above the terrain, even where
    the DEM has nodata (AHN has no ground under buildings), so water flows around them and off their roofs.
    """
    if cell_size <= 0:
        raise ValueError("cell_size must be positive")
    dem = np.asarray(dem)
    if walls is not None and analysis is None:
        dem, outlets = raise_walls(dem, walls, nodata, outlets)
    coeff = np.asarray(runoff_coeff, dtype=np.float32)
    if coeff.ndim and coeff.shape != dem.shape:
        raise ValueError("runoff_coeff must be a scalar or have the shape of the DEM")
    runoff = runoff_depth_m(rain_mm, loss_mm, coeff)
    fr = analysis or analyse_depressions(dem, nodata, outlets, progress, is_cancelled)
    _check(is_cancelled)
    z = dem.astype(np.float32, copy=False)
    area = float(cell_size) ** 2
    n = fr.level.size

    # Runoff per basin, then per depression (its top basin); water on outside cells is not counted.
    basin_flat = fr.basin.ravel()
    if np.ndim(runoff):
        per_cell = np.where(fr.valid, runoff, 0.0).ravel()
        basin_runoff = _bincount(basin_flat, n, per_cell) * area
    else:
        basin_runoff = _bincount(basin_flat, n) * float(runoff) * area
    basin_runoff[0] = 0.0
    total_runoff = float(basin_runoff.sum())
    top = fr.top
    dep_cell = top[basin_flat]
    depth_below = np.nan_to_num(fr.filled.ravel() - z.ravel(), nan=0.0)  # NaN on outside cells
    capacity = _bincount(dep_cell, n, depth_below) * area
    del depth_below
    capacity[0] = 0.0
    inflow = np.bincount(top[1:], weights=basin_runoff[1:], minlength=n)
    _report(progress, 75)
    _check(is_cancelled)

    # Route from high spill levels to low: a depression always spills into one with a lower spill level.
    roots = np.flatnonzero((top == np.arange(n)) & (np.arange(n) > 0))
    spill_level = fr.level[roots]
    order = roots[np.argsort(-spill_level, kind="stable")]
    parent_dep = top[fr.parent[order]]
    dest = np.where(fr.parent[order] == 0, 0, parent_dep)
    inflow_l = inflow.tolist()
    cap_l = capacity.tolist()
    stored = np.zeros(n)
    spilled = np.zeros(n)
    spilled_out = 0.0
    leaf_water = basin_runoff.copy()  # + what upstream depressions spill into each basin
    for d, t, entry in zip(order.tolist(), dest.tolist(), fr.parent[order].tolist()):
        v = inflow_l[d]
        c = cap_l[d]
        if v > c:
            stored[d] = c
            spilled[d] = v - c
            if t == 0:
                spilled_out += v - c
            else:
                inflow_l[t] += v - c
                leaf_water[entry] += v - c
        else:
            stored[d] = v
    inflow = np.asarray(inflow_l)
    _report(progress, 80)
    _check(is_cancelled)

    # Water level per basin: a full depression stands at its spill level; inside a partly filled one,
    # sub-depressions fill and spill before they merge (fill_spill.py).
    full = (capacity > 0) & (stored >= capacity * (1.0 - 1e-9))
    partial_deps = order[(stored[order] > 0) & ~full[order]]
    leaf_level = np.where(full[top], fr.level[top], -np.inf)
    leaf_level[0] = -np.inf
    if partial_deps.size:
        tree = build_merge_tree(fr, z, partial_deps)
        kept = {int(d): float(stored[d]) for d in partial_deps.tolist()}
        pool_of_leaf, pool_vol, _ = distribute(tree, leaf_water, kept, area)
        _report(progress, 86)
        _check(is_cancelled)
        pool_cell = pool_of_leaf[basin_flat]
        pool_level = _water_levels(z.ravel(), pool_cell, tree.w_top, pool_vol, tree.cap_cells * area, area)
        del pool_cell
        in_partial = np.zeros(n, dtype=bool)
        in_partial[partial_deps] = True
        in_partial = in_partial[top]
        leaf_level[in_partial] = pool_level[pool_of_leaf[in_partial]]
    del dep_cell
    depth = leaf_level.astype(np.float32)[basin_flat]
    depth -= z.ravel()
    depth[~(depth >= min_depth)] = 0.0
    depth = depth.reshape(dem.shape)
    depth[~fr.valid] = np.nan
    _report(progress, 92)

    water_level, water_depth = _per_depression(fr, leaf_level)
    result = _tabulate(z, fr, capacity, inflow, stored, spilled, water_level, water_depth, area, min_depth)
    result.depth = depth
    result.filled = fr.filled
    result.total_runoff_m3 = total_runoff
    result.stored_m3 = float(stored.sum())
    result.spilled_out_m3 = spilled_out
    result.cell_size = float(cell_size)
    _report(progress, 100)
    return result


def _water_levels(z, dep_cell, level, stored, capacity, area) -> np.ndarray:
    """Water level per pool: its top level when full, else the level holding ``stored`` over its cells.

    Newton's method on V(h) = sum(max(h - z, 0)) for all partly filled depressions at once: V is convex and
    piecewise linear, so starting at the spill level (V >= stored) the steps h = (stored / area + sum of z below h)
    / (cells below h) decrease monotonically and end exactly, once the set of wet cells stops changing.
    """
    n = level.size
    wl = np.full(n, -np.inf)
    full = (capacity > 0) & (stored >= capacity * (1.0 - 1e-9))
    wl[full] = level[full]
    partial = (stored > 0) & ~full
    if not partial.any():
        return wl
    ids = np.flatnonzero(partial)
    compact = np.full(n, -1, dtype=np.int32)
    compact[ids] = np.arange(ids.size, dtype=np.int32)
    # Only cells under their depression's spill level can be wet; boolean masks, no index arrays.
    mask = z < level.astype(np.float32)[dep_cell]  # pass heights are float32 values: exact
    mask &= partial[dep_cell]
    g = compact[dep_cell[mask]]
    zc = z[mask]
    del mask
    target = stored[ids] / area
    h = level[ids].astype(np.float64)
    for _ in range(200):
        count = np.zeros(ids.size)
        zsum = np.zeros(ids.size)
        for start in range(0, g.size, _CHUNK):  # chunks bound the float64 temporaries
            gc, zz = g[start : start + _CHUNK], zc[start : start + _CHUNK]
            wet = zz < h[gc]
            gw = gc[wet]
            count += np.bincount(gw, minlength=ids.size)
            zsum += np.bincount(gw, weights=zz[wet], minlength=ids.size)
        new = (target + zsum) / np.maximum(count, 1)
        if np.array_equal(new, h):
            break
        h = np.minimum(new, h)  # monotone from above; guards against rounding ping-pong
    wl[ids] = h
    return wl


def _per_depression(fr, leaf_level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Highest water level and deepest water of each depression (top basin id), over its basins."""
    n = fr.level.size
    wet = np.flatnonzero(np.isfinite(leaf_level))
    wet = wet[wet > 0]
    dep = fr.top[wet]
    water_level = np.full(n, -np.inf)
    water_depth = np.zeros(n)
    np.maximum.at(water_level, dep, leaf_level[wet])
    np.maximum.at(water_depth, dep, leaf_level[wet] - fr.pit_z[wet])
    return water_level, water_depth


def _tabulate(z, fr, capacity, inflow, stored, spilled, water_level, water_depth, area, min_depth):
    """Depressions that can hold at least ``min_depth`` of water, numbered 1..n, with their raster extent."""
    n = fr.level.size
    max_depth = fr.level - fr.dep_bottom
    keep = np.flatnonzero((capacity > 0) & (max_depth >= min_depth))
    keep = keep[np.argsort(-capacity[keep], kind="stable")]  # id 1 = largest
    new_id = np.zeros(n, dtype=np.int32)
    new_id[keep] = np.arange(1, keep.size + 1, dtype=np.int32)
    labels = new_id[fr.top][fr.basin.ravel()]
    labels[~(fr.filled.ravel() > z.ravel())] = 0  # a depression's extent: the cells its spill level covers
    cells = _bincount(labels, keep.size + 1).astype(np.int64)
    table = []
    for i, d in enumerate(keep.tolist(), start=1):
        cap = float(capacity[d])
        wl = float(water_level[d])
        table.append(
            {
                "id": i,
                "volume_capacity_m3": cap,
                "inflow_m3": float(inflow[d]),
                "stored_m3": float(stored[d]),
                "fill_fraction": float(stored[d] / cap) if cap > 0 else 0.0,
                "spilled_m3": float(spilled[d]),
                "max_depth": float(max_depth[d]),
                "water_depth": float(max(water_depth[d], 0.0)),
                "water_level": wl if np.isfinite(wl) else None,
                "spill_level": float(fr.level[d]),
                "cells": int(cells[i]),
                "area_m2": float(cells[i] * area),
            }
        )
    return BathtubResult(depth=np.empty(0), depressions=labels.reshape(z.shape), table=table)


def facade_max_depth(depth: np.ndarray, footprints: np.ndarray, n: int) -> np.ndarray:
    """Max water depth in the 1-cell ring around each footprint (``footprints``: 1..n per cell, 0 = none).

    Returns an array of n + 1 depths (index = footprint id; 0 where no ring cell is wet or the ring is outside).
    Cells of one footprint next to another's count for neither: a wall between two buildings is not a facade.
    """
    rows, cols = footprints.shape
    out = np.zeros(n + 1)
    lab = np.zeros((rows + 2, cols + 2), dtype=np.int32)
    lab[1:-1, 1:-1] = footprints
    dep = np.zeros((rows + 2, cols + 2), dtype=np.float32)
    dep[1:-1, 1:-1] = np.nan_to_num(depth, nan=0.0)
    outside = lab[1:-1, 1:-1] == 0
    centre = dep[1:-1, 1:-1]
    ids, values = [], []
    for dr, dc in _OFFSETS:
        neighbour = lab[1 + dr : rows + 1 + dr, 1 + dc : cols + 1 + dc]
        ring = outside & (neighbour > 0)
        ids.append(neighbour[ring])
        values.append(centre[ring])
    if ids:
        ids_all = np.concatenate(ids)
        values_all = np.concatenate(values).astype(np.float64)
        order = np.lexsort((values_all, ids_all))
        ids_all, values_all = ids_all[order], values_all[order]
        last = np.flatnonzero(np.r_[ids_all[1:] != ids_all[:-1], True])
        out[ids_all[last]] = values_all[last]
    return out
