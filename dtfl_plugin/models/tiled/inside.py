"""Partly filled depressions wholly inside one tile: their fill-spill-merge solved in that tile's task.

Most partly filled depressions are small and never touch a seam. For those, the whole of step 5 of the engine
(merge tree, capacities, distribution of the water, Newton levels) only needs the tile's cells and a handful of
per-basin values, so it runs per tile with the in-memory functions themselves (fill_spill, bathtub_core) on a
compact copy of the tile's part of the basin graph. Only depressions reaching over a seam stay in the global
merge tree, which is what held the run's peak memory (one node per basin of every partly filled depression).

Same result as the global path: a depression's merge tree depends only on its own basins and edges, taken in the
same order (basins renumbered in increasing global id, stable sort on the pass height), and its pools' Newton
iterations are independent of the other pools'. Sums of capacity and water run over fewer depressions, so they
can differ from the global ones in the last bits of a float (far below the 1 mm of the outputs).
"""

from __future__ import annotations

import numpy as np

from ..local.bathtub_core import _water_levels
from ..local.fill_spill import build_merge_tree, distribute


class _TileGraph:
    """The basin graph restricted to some basins (local ids 1..k in global id order, 0 = everything else)."""

    def __init__(self, g: dict, members: np.ndarray, lb: np.ndarray, z: np.ndarray) -> None:
        self.level = np.concatenate([[-np.inf], g["level"][members]])
        self.top = np.concatenate([[0], _local(members, g["top"][members])]).astype(np.int32)
        self.parent = np.concatenate([[0], _local(members, g["parent"][members])]).astype(np.int32)
        self.edge_w = np.concatenate([[-np.inf], g["edge_w"][members]])
        self.basin = lb
        self.filled = np.maximum(z, self.level[lb].astype(np.float32))  # as the global path: max(z, level)


def _local(members: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Local id (1..) of global basin ids, 0 for basins that are not members."""
    pos = np.searchsorted(members, ids)
    pos = np.minimum(pos, members.size - 1)
    return np.where(members[pos] == ids, pos + 1, 0)


def home_tiles(runoff_ids: list[np.ndarray], home: np.ndarray) -> np.ndarray:
    """Per basin: the one tile holding all its cells, -1 for basins over a seam (int32, 4 bytes a basin).

    ``runoff_ids``: per tile, the basin ids seen in it (the edges phase's ids of the runoff sums); ``home``: the
    int32 array to fill, all -2 (not seen yet)."""
    for t, ids in enumerate(runoff_ids):
        mark_home(home, ids, t)
    return finish_home(home)


def mark_home(home: np.ndarray, ids: np.ndarray, t: int) -> None:
    """Tile ``t`` sees basins ``ids``: their home is ``t`` if no other tile saw them, else -1 (any tile order)."""
    home[ids] = np.where(home[ids] == -2, t, -1)


def finish_home(home: np.ndarray) -> np.ndarray:
    for s in range(0, home.size, 1 << 22):
        block = home[s : s + (1 << 22)]
        block[block == -2] = -1
    home[0] = -1
    return home


def split_partial(graph, deps: np.ndarray, home: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partly filled depressions ``deps`` (top ids) -> (global ones, local ones sorted by their home tile, and
    those home tiles)."""
    seam = np.zeros(graph.level.size, dtype=bool)  # depressions with a basin in another tile than their top's
    for s in range(0, seam.size, 1 << 22):  # in blocks: the arrays may be mapped from the work folder
        top, h = np.asarray(graph.top[s : s + (1 << 22)]), np.asarray(home[s : s + (1 << 22)])
        seam[top[h != home[top]]] = True
    local = (home[deps] >= 0) & ~seam[deps]
    inside = deps[local]
    inside = inside[np.argsort(home[inside], kind="stable")]
    return deps[~local], inside, home[inside]


def levels(spec, t: int, shared, basins, terrain) -> dict:
    """Water level per basin of this tile's own partly filled depressions: {"ids", "level"} (sparse).

    ``shared``, ``basins``, ``terrain``: the per-tile helpers of phases.py (the process's cached global arrays)."""
    lay = spec.layout
    if lay.done("inside", t, "npz"):
        return lay.load_parts("inside", t)
    own = shared(spec, "inside_deps")
    lo, hi = np.searchsorted(own["home"], [t, t + 1])
    empty = {"ids": np.zeros(0, dtype=np.int64), "level": np.zeros(0)}
    if lo == hi:
        lay.save_parts("inside", t, **empty)
        return empty
    deps = own["deps"][lo:hi]
    g = shared(spec, "graph")
    r0, r1, c0, c1 = lay.bounds(t)
    bw = basins(spec, r0, r1, c0, c1)
    z, valid = terrain(spec, r0, r1, c0, c1)
    z[~valid] = np.nan  # the global path's filled surface is NaN there: never flooded
    present = np.unique(bw)
    present = present[present > 0]
    members = present[np.isin(g["top"][present], deps)]
    lb = _local(members, bw)  # members: at least the depressions' top basins
    fr = _TileGraph(g, members, lb, z)
    deps_l = _local(members, deps)
    tree = build_merge_tree(fr, z, deps_l)
    kept = {int(d): float(v) for d, v in zip(deps_l.tolist(), own["stored"][lo:hi].tolist())}
    leaf_water = np.concatenate([[0.0], shared(spec, "water")["leaf_water"][members]])
    area = spec.cell_size**2
    pool_of_leaf, pool_vol, _ = distribute(tree, leaf_water, kept, area)
    pool_level = _water_levels(z.ravel(), pool_of_leaf[lb.ravel()], tree, pool_vol, area)
    out = {"ids": members.astype(np.int64), "level": pool_level[pool_of_leaf[1:]]}
    lay.save_parts("inside", t, **out)
    return out
