"""Global steps of the tiled screening: small arrays per basin, never per cell.

1. resolve: local labels of all tiles become global basins. Exit cells follow their flow across the seam until a
   pit region; pit regions touching across a seam are one region; regions are numbered by their first cell in
   raster order, exactly as the in-memory path (scipy.ndimage.label) numbers them, so both give the same graph.
2. graph: the lowest pass per basin pair from all tiles, then the same spill tree as in memory.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..local.depressions import _min_per_key, _tree_levels


def resolve(parts: list[dict]) -> dict:
    """Per-tile label summaries -> node offsets, node -> basin, and pit elevation per basin."""
    counts = np.array([int(p["n_pits"]) + p["exit_target"].size for p in parts], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum()) + 1  # node 0: outside
    border_gidx = np.concatenate([p["border_gidx"] for p in parts])
    border_node = np.concatenate(
        [np.where(p["border_label"] > 0, p["border_label"] + o, 0) for p, o in zip(parts, offset)]
    )
    order = np.argsort(border_gidx, kind="stable")
    border_gidx, border_node = border_gidx[order], border_node[order]

    def node_at(gidx: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(border_gidx, gidx)
        pos = np.minimum(pos, border_gidx.size - 1)
        if gidx.size and not np.array_equal(border_gidx[pos], gidx):
            raise RuntimeError("a flow path leaves a tile at a cell no neighbouring tile knows")
        return border_node[pos]

    nxt = np.arange(total, dtype=np.int64)
    is_pit = np.zeros(total, dtype=bool)
    pit_gidx = np.full(total, np.iinfo(np.int64).max)
    pit_z = np.zeros(total)
    pairs_a, pairs_b = [], []
    for p, o in zip(parts, offset):
        n_pits = int(p["n_pits"])
        is_pit[o + 1 : o + 1 + n_pits] = True
        pit_gidx[o + 1 : o + 1 + n_pits] = p["pit_gidx"]
        pit_z[o + 1 : o + 1 + n_pits] = p["pit_z"]
        exits = o + 1 + n_pits + np.arange(p["exit_target"].size)
        nxt[exits] = node_at(p["exit_target"])
        pairs_a.append(p["seam_label"] + o)
        pairs_b.append(node_at(p["seam_gidx"]))
    for _ in range(64):  # exit -> the node its flow enters -> ... -> a pit region (flow never cycles)
        jumped = nxt[nxt]
        if np.array_equal(jumped, nxt):
            break
        nxt = jumped
    a, b = np.concatenate(pairs_a), np.concatenate(pairs_b)
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(total, total))
    _, comp = connected_components(graph, directed=False)
    first = np.full(comp.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, comp[is_pit], pit_gidx[is_pit])
    has_pit = np.zeros(first.size, dtype=bool)
    has_pit[comp[is_pit]] = True
    regions = np.flatnonzero(has_pit)
    regions = regions[np.argsort(first[regions], kind="stable")]
    basin_of_comp = np.zeros(first.size, dtype=np.int32)
    basin_of_comp[regions] = np.arange(1, regions.size + 1, dtype=np.int32)
    node_basin = basin_of_comp[comp[nxt]]
    node_basin[0] = 0
    if np.any((node_basin == 0) & (np.arange(total) > 0)):
        raise RuntimeError("a local basin was not resolved to a pit region")
    basin_z = np.full(regions.size + 1, np.inf)
    basin_z[node_basin[is_pit]] = pit_z[is_pit]
    return {"offset": offset, "node_basin": node_basin, "pit_z": basin_z, "n_basins": np.array(regions.size)}


def graph(edge_parts: list[dict], pit_z: np.ndarray, n_basins: int) -> dict:
    """The spill tree of all basins from the per-tile passes (their key and w are consumed), as in
    depressions.analyse_depressions."""
    # popped: each tile's arrays are freed once joined, before the spanning tree's temporaries are made
    key = np.concatenate([p.pop("key") for p in edge_parts])
    key, w = _min_per_key(key, np.concatenate([p.pop("w") for p in edge_parts]))
    lo, hi = key // (n_basins + 1), key % (n_basins + 1)
    parent, level, top, edge_w = _tree_levels(lo, hi, w, n_basins)
    dep_bottom = np.full(level.size, np.inf)
    np.minimum.at(dep_bottom, top[1:], pit_z[1:])
    return {"parent": parent, "level": level, "top": top, "edge_w": edge_w, "pit_z": pit_z, "dep_bottom": dep_bottom}


class Graph:
    """Attribute access to the graph arrays (what routing.py and fill_spill.py expect of a FillResult)."""

    def __init__(self, arrays: dict) -> None:
        self.__dict__.update(arrays)
