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

from . import routing
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
    The tiled path (models/tiled) computes the same result with memory bounded by its tile size.
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
    basin_runoff, capacity = _basin_sums(fr, z, runoff, area)
    _report(progress, 75)
    _check(is_cancelled)
    r = routing.route(fr, basin_runoff, capacity)
    _report(progress, 80)
    _check(is_cancelled)
    leaf_level = _leaf_levels(fr, z, r, area, progress, is_cancelled)
    basin_flat = fr.basin.ravel()
    depth = leaf_level.astype(np.float32)[basin_flat]
    depth -= z.ravel()
    depth[~(depth >= min_depth)] = 0.0
    depth = depth.reshape(dem.shape)
    depth[~fr.valid] = np.nan
    _report(progress, 92)

    keep, new_id = routing.depression_ids(fr, capacity, min_depth)
    labels = new_id[fr.top][basin_flat]
    labels[~(fr.filled.ravel() > z.ravel())] = 0  # a depression's extent: the cells its spill level covers
    cells = _bincount(labels, keep.size + 1).astype(np.int64)
    result = BathtubResult(
        depth=depth,
        depressions=labels.reshape(z.shape),
        table=routing.table(fr, r, keep, leaf_level, cells, area),
        filled=fr.filled,
        total_runoff_m3=float(basin_runoff.sum()),
        stored_m3=float(r.stored.sum()),
        spilled_out_m3=r.spilled_out,
        cell_size=float(cell_size),
    )
    _report(progress, 100)
    return result


def _basin_sums(fr, z, runoff, area) -> tuple[np.ndarray, np.ndarray]:
    """Runoff per basin (m3; water on outside cells is not counted) and capacity per depression (m3)."""
    n = fr.level.size
    basin_flat = fr.basin.ravel()
    if np.ndim(runoff):
        per_cell = np.where(fr.valid, runoff, 0.0).ravel()
        basin_runoff = _bincount(basin_flat, n, per_cell) * area
    else:
        basin_runoff = _bincount(basin_flat, n) * float(runoff) * area
    basin_runoff[0] = 0.0
    depth_below = np.nan_to_num(fr.filled.ravel() - z.ravel(), nan=0.0)  # NaN on outside cells
    capacity = _bincount(fr.top[basin_flat], n, depth_below) * area
    capacity[0] = 0.0
    return basin_runoff, capacity


def _leaf_levels(fr, z, r, area, progress, is_cancelled) -> np.ndarray:
    """Water level per basin: a full depression stands at its spill level; inside a partly filled one,
    sub-depressions fill and spill before they merge (fill_spill.py)."""
    leaf_level = routing.full_leaf_levels(fr, r)
    partial_deps = routing.partial_depressions(r)
    if not partial_deps.size:
        return leaf_level
    n = fr.level.size
    tree = build_merge_tree(fr, z, partial_deps)
    kept = {int(d): float(r.stored[d]) for d in partial_deps.tolist()}
    pool_of_leaf, pool_vol, _ = distribute(tree, r.leaf_water, kept, area)
    _report(progress, 86)
    _check(is_cancelled)
    pool_cell = pool_of_leaf[fr.basin.ravel()]
    pool_level = _water_levels(z.ravel(), pool_cell, tree, pool_vol, area)
    in_partial = np.zeros(n, dtype=bool)
    in_partial[partial_deps] = True
    in_partial = in_partial[fr.top]
    leaf_level[in_partial] = pool_level[pool_of_leaf[in_partial]]
    return leaf_level


def _water_levels(z, pool_cell, tree, pool_vol, area) -> np.ndarray:
    """Water level per pool: its top level when full, else the level holding its volume over its cells.

    Newton's method on V(h) = sum(max(h - z, 0)) for all partly filled pools at once: V is convex and
    piecewise linear, so starting at the spill level (V >= stored) the steps h = (stored / area + sum of z below h)
    / (cells below h) decrease monotonically and end exactly, once the set of wet cells stops changing.
    """
    wl, partial = routing.pool_targets(tree, pool_vol, area)
    if not partial.any():
        return wl
    g, zc, ids = pool_cells(z, pool_cell, tree.w_top, partial)
    target = pool_vol[ids] / area
    h = tree.w_top[ids].astype(np.float64)
    for _ in range(200):
        count, zsum = below_sums(g, zc, h)
        h, done = routing.newton_update(h, target, count, zsum)
        if done:
            break
    wl[ids] = h
    return wl


def pool_index(level, partial) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(compact index per pool node, level as float32, ids of the partial pools): what ``pool_cells`` looks up."""
    ids = np.flatnonzero(partial)
    compact = np.full(level.size, -1, dtype=np.int32)
    compact[ids] = np.arange(ids.size, dtype=np.int32)
    return compact, level.astype(np.float32), ids  # pass heights are float32 values: exact


def pool_cells(z, pool_cell, level, partial, index=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells that can be wet in partly filled pools: (compact pool index, z, pool ids of the compact index).

    ``index``: ``pool_index(level, partial)`` made once, when called per tile."""
    compact, level32, ids = index if index is not None else pool_index(level, partial)
    mask = z < level32[pool_cell]
    mask &= partial[pool_cell]
    return compact[pool_cell[mask]], z[mask], ids


def below_sums(g: np.ndarray, zc: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pool: cells with z below h and the sum of their z (chunks bound the float64 temporaries)."""
    count = np.zeros(h.size)
    zsum = np.zeros(h.size)
    for start in range(0, g.size, _CHUNK):
        gc, zz = g[start : start + _CHUNK], zc[start : start + _CHUNK]
        wet = zz < h[gc]
        gw = gc[wet]
        count += np.bincount(gw, minlength=h.size)
        zsum += np.bincount(gw, weights=zz[wet], minlength=h.size)
    return count, zsum


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
    if ids and sum(i.size for i in ids):
        ids_all = np.concatenate(ids)
        values_all = np.concatenate(values).astype(np.float64)
        order = np.lexsort((values_all, ids_all))
        ids_all, values_all = ids_all[order], values_all[order]
        last = np.flatnonzero(np.r_[ids_all[1:] != ids_all[:-1], True])
        out[ids_all[last]] = values_all[last]
    return out
