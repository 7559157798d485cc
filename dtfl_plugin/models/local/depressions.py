"""Depressions of a DEM, vectorised: basins, their spill tree and the filled surface (qgis-free).

1. Basins: D8 steepest descent; cells without a lower neighbour are pits, connected pits (always of equal
   elevation) form one pit region; pointer jumping gives every cell the basin of the pit it drains to.
   The grid edge, nodata cells and ``outlets`` form basin 0: the world outside ("the sea").
2. Spill graph: for every pair of 8-neighbours in different basins the pass height is max(z_a, z_b); the lowest
   pass per basin pair is an edge. The fill level of a basin is the minimax pass height on its way to basin 0,
   found on the minimum spanning tree of that graph (scipy.sparse.csgraph, compiled code).
   ``filled = max(z, level)`` equals priority-flood filling (Barnes et al. 2014) and SAGA's Fill Sinks
   (Wang & Liu 2006) with MINSLOPE 0; the tests check both.
3. Depressions: the basins below the same highest pass on the tree path to the sea form one depression, whose
   spill level is that pass. It spills into the depression of the basin across the pass, which always has a lower
   spill level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

# D8 neighbour offsets (row, col) and the inverse of their distance (in cells).
_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
_INV_DIST = tuple(1.0 / np.hypot(dr, dc) for dr, dc in _OFFSETS)
# Each unordered neighbour pair once: E, S, SE, SW.
_PAIRS = ((0, 1), (1, 0), (1, 1), (1, -1))
_BLOCK_ROWS = 1024
_JUMP_BLOCK = 1 << 20


class CancelledError(Exception):
    """Raised when ``is_cancelled()`` returns True between two steps."""


@dataclass
class FillResult:
    """The depression structure of a DEM (step 1-3 above), reusable for several rain events."""

    filled: np.ndarray  # float32, NaN on nodata/outlets
    basin: np.ndarray  # int32 basin id per cell (0 = outside)
    level: np.ndarray  # float64 fill level per basin id (index 0 unused)
    top: np.ndarray  # int32 depression (= its top basin id) per basin id
    parent: np.ndarray  # int32 MST parent basin per basin id (0 = the sea)
    valid: np.ndarray  # bool, cells inside the domain
    dep_bottom: np.ndarray  # float64 lowest elevation per depression (top basin id), inf elsewhere
    edge_w: np.ndarray  # float64 pass height from each basin to its spill-tree parent
    pit_z: np.ndarray  # float64 lowest elevation of each basin


def _check(is_cancelled: Callable[[], bool] | None) -> None:
    if is_cancelled is not None and is_cancelled():
        raise CancelledError()


def _report(progress: Callable[[float], None] | None, value: float) -> None:
    if progress is not None:
        progress(float(value))


def _valid_mask(dem: np.ndarray, nodata, outlets: np.ndarray | None) -> np.ndarray:
    valid = np.isfinite(dem)
    if nodata is not None and np.isfinite(nodata):
        valid &= dem != nodata
    if outlets is not None:
        if outlets.shape != dem.shape:
            raise ValueError("outlets must have the shape of the DEM")
        valid &= ~outlets.astype(bool)
    return valid


def d8_directions(z: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """D8 steepest-descent direction per cell (index into ``_OFFSETS``), -1 for pits and outside cells.

    Cells beyond the array count as outside (never lower); the tiled engine passes a window with a halo.
    """
    rows, cols = z.shape
    zp = np.full((rows + 2, cols + 2), np.inf, dtype=np.float32)
    zp[1:-1, 1:-1] = np.where(valid, z, np.inf)
    best = np.zeros((rows, cols), dtype=np.float32)
    direction = np.full((rows, cols), -1, dtype=np.int8)
    drop = np.empty((rows, cols), dtype=np.float32)
    better = np.empty((rows, cols), dtype=bool)
    zc = zp[1:-1, 1:-1]
    with np.errstate(invalid="ignore"):  # inf - inf on outside cells: NaN, never "lower"
        for k, ((dr, dc), inv) in enumerate(zip(_OFFSETS, _INV_DIST)):
            np.subtract(zc, zp[1 + dr : rows + 1 + dr, 1 + dc : cols + 1 + dc], out=drop)
            if inv != 1.0:
                drop *= np.float32(inv)
            np.greater(drop, best, out=better)  # strictly lower neighbours only
            np.copyto(best, drop, where=better)
            np.copyto(direction, np.int8(k), where=better)
    direction[~valid] = -1
    return direction


def _basins(z: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """Basin id (1..n, 0 outside) of every cell by D8 steepest descent and pointer jumping."""
    rows, cols = z.shape
    direction = d8_directions(z, valid)
    pits = (direction < 0) & valid
    # Neighbouring pits always have equal elevation (each is >= the other): one label per flat pit region.
    pit_label, n_pits = ndimage.label(pits, structure=np.ones((3, 3), dtype=bool))
    pit_label = pit_label.astype(np.int32, copy=False)

    flat_offsets = np.array([dr * cols + dc for dr, dc in _OFFSETS] + [0], dtype=np.int32)
    dflat = direction.ravel()
    root = np.arange(rows * cols, dtype=np.int32)
    root += flat_offsets[dflat]  # index -1 -> the trailing 0: pits (and outside cells) point at themselves
    del direction, dflat
    for _ in range(64):  # pointer jumping on whole arrays (int32, no index lists): log2(longest flow path) rounds
        jumped = root[root]
        if np.array_equal(jumped, root):
            break
        root = jumped
    del jumped
    basin = pit_label.ravel()[root].reshape(rows, cols)
    del root
    basin[~valid] = 0
    pit_z = np.full(n_pits + 1, np.inf)
    pit_z[pit_label[pits]] = z[pits]  # a pit region is flat: any of its cells gives its elevation
    return basin, int(n_pits), pit_z


def _spill_edges(z: np.ndarray, valid: np.ndarray, basin: np.ndarray, n_basins: int):
    """Lowest pass height between every pair of neighbouring basins (0 = outside)."""
    rows, cols = z.shape
    bp = np.zeros((rows + 2, cols + 2), dtype=np.int32)
    bp[1:-1, 1:-1] = basin
    zp = np.full((rows + 2, cols + 2), -np.inf, dtype=np.float32)
    zp[1:-1, 1:-1] = np.where(valid, z, -np.inf)
    keys, weights = [], []
    n = np.int64(n_basins + 1)
    for dr, dc in _PAIRS:
        a_cols = slice(0, cols + 2 - dc) if dc >= 0 else slice(-dc, cols + 2)
        b_cols = slice(dc, cols + 2) if dc >= 0 else slice(0, cols + 2 + dc)
        for start in range(0, rows + 2 - dr, _BLOCK_ROWS):  # row blocks bound the temporary arrays
            stop = min(start + _BLOCK_ROWS, rows + 2 - dr)
            a, b = bp[start:stop, a_cols], bp[start + dr : stop + dr, b_cols]
            differ = a != b
            la, lb = a[differ], b[differ]
            w = np.maximum(zp[start:stop, a_cols][differ], zp[start + dr : stop + dr, b_cols][differ])
            key = np.minimum(la, lb).astype(np.int64)
            key *= n
            key += np.maximum(la, lb)
            del a, b, differ, la, lb
            key, w = _min_per_key(key, w)
            keys.append(key)
            weights.append(w)
    key, w = _min_per_key(np.concatenate(keys), np.concatenate(weights))
    return key // (n_basins + 1), key % (n_basins + 1), w


def _min_per_key(key: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not key.size:  # a tile and its ring inside one basin: no pair in some direction
        return key, w
    order = np.argsort(key, kind="stable")
    key = key[order]
    w = w[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return key[starts], np.minimum.reduceat(w, starts)


def spanning_edges(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, n: int | None = None):
    """The minimum spanning forest of the pass graph, ties broken by the basin pair: (lo, hi, w) of its edges.

    With ties broken by a total order the forest is unique, so the forest of the forests of any split of the edges
    is the forest of all of them: each tile keeps only its own forest's edges, and the tiled and in-memory paths
    build the very same tree. ``n``: node count (None: the edges' nodes are renumbered compactly first).
    """
    if lo.size == 0:
        return lo, hi, w
    key = lo.astype(np.int64) * (int(max(lo.max(), hi.max())) + 1) + hi  # (lo, hi) order, whatever the max
    order = np.lexsort((key, w))
    del key
    rank = np.empty(lo.size)
    rank[order] = np.arange(1, lo.size + 1, dtype=np.float64)  # distinct weights: one minimum spanning forest
    if n is None:
        nodes, inverse = np.unique(np.concatenate([lo, hi]), return_inverse=True)
        a, b, size = inverse[: lo.size], inverse[lo.size :], nodes.size
    else:
        a, b, size = lo, hi, n
    graph = coo_matrix((rank, (a, b)), shape=(size, size)).tocsr()
    del rank, a, b
    forest = minimum_spanning_tree(graph)
    del graph
    idx = order[np.sort(forest.data).astype(np.int64) - 1]  # the edge of rank r is order[r - 1]
    return lo[idx], hi[idx], w[idx]


def _tree_levels(lo, hi, w, n_basins: int):
    """Minimum spanning tree rooted at the sea (0): parent, and per basin the highest pass on its way out.

    Ties prefer the pass nearest the sea, so basins that reach the sea over the same pass share one depression.
    """
    n = n_basins + 1
    lo, hi, w = spanning_edges(lo, hi, w, n)
    graph = coo_matrix((np.ones(lo.size), (lo, hi)), shape=(n, n))
    _, pred = breadth_first_order(graph.tocsr(), 0, directed=False, return_predecessors=True)
    if np.any(pred[1:] < 0):
        raise ValueError("some basins are not connected to the domain edge")
    parent = pred.astype(np.int32)
    parent[0] = 0
    edge_w = np.full(n, -np.inf)
    child = np.where(parent[lo] == hi, lo, hi)
    edge_w[child] = w.astype(np.float64)

    best_w, best_node = _max_to_sea(edge_w, parent)
    return parent, best_w, best_node, edge_w


def _max_to_sea(edge_w: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per node the highest pass on its way to the sea (ties: the one nearest the sea) and its node.

    Pointer jumping in blocks of nodes, so the temporaries stay small whatever the number of basins. A block
    reads a node's (pass, node, jump) before writing any of them, so each read is one consistent state of a path
    segment; joining segments keeps the highest pass and, on ties, the farther one: the result does not depend on
    which states were joined (the operation is associative), only the number of rounds may shrink.
    """
    best_w = edge_w.copy()
    best_node = np.arange(parent.size, dtype=np.int32)
    jump = parent.copy()
    active = np.flatnonzero(jump != 0).astype(np.int32)
    while active.size:
        for s in range(0, active.size, _JUMP_BLOCK):
            a = active[s : s + _JUMP_BLOCK]
            j = jump[a]
            wj = best_w[j]
            take = wj >= best_w[a]
            best_node[a[take]] = best_node[j[take]]
            best_w[a[take]] = wj[take]
            jump[a] = jump[j]
        active = active[jump[active] != 0]
    return best_w, best_node


def analyse_depressions(
    dem: np.ndarray,
    nodata=None,
    outlets: np.ndarray | None = None,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> FillResult:
    """Basins, spill tree and filled surface of ``dem`` (2-D array; nodata/NaN/outlets drain out)."""
    dem = np.asarray(dem)
    if dem.ndim != 2 or min(dem.shape) < 1:
        raise ValueError("dem must be a 2-D array")
    valid = _valid_mask(dem, nodata, outlets)
    z = dem.astype(np.float32, copy=False)
    _check(is_cancelled)
    basin, n_basins, pit_z = _basins(z, valid)
    _report(progress, 30)
    _check(is_cancelled)
    lo, hi, w = _spill_edges(z, valid, basin, n_basins)
    _report(progress, 55)
    _check(is_cancelled)
    parent, level, top, edge_w = _tree_levels(lo, hi, w, n_basins)
    filled = np.maximum(z, level[basin].astype(np.float32))
    filled[~valid] = np.nan
    dep_bottom = np.full(level.size, np.inf)
    np.minimum.at(dep_bottom, top[1:], pit_z[1:])
    _report(progress, 65)
    return FillResult(
        filled=filled,
        basin=basin,
        level=level,
        top=top,
        parent=parent,
        valid=valid,
        dep_bottom=dep_bottom,
        edge_w=edge_w,
        pit_z=pit_z,
    )


def fill_depressions(dem: np.ndarray, nodata=None) -> np.ndarray:
    """Depression-filled DEM (float32, NaN on nodata), equal to priority-flood / SAGA Wang & Liu with MINSLOPE 0."""
    return analyse_depressions(dem, nodata=nodata).filled
