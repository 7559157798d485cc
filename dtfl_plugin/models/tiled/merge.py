"""Global steps of the tiled screening: small arrays per basin, never per cell.

1. resolve: local labels of all tiles become global basins. Exit cells follow their flow across the seam until a
   pit region; pit regions touching across a seam are one region; regions are numbered by their first cell in
   raster order, exactly as the in-memory path (scipy.ndimage.label) numbers them, so both give the same graph.
   Only the seams' pits and the exits are joined or followed globally; the other pit regions are numbered one
   row of tiles at a time.
2. graph: the lowest pass per basin pair from all tiles, then the same spill tree as in memory.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..local.depressions import _min_per_key, _tree_levels


def resolve(parts: list[dict], tile_cols: int, row_cells: int) -> dict:
    """Per-tile label summaries -> node offsets, node -> basin, and pit elevation per basin.

    ``tile_cols``: tiles per row of tiles; ``row_cells``: cells in one row of tiles (tile height x columns).
    Memory: per node only the int32 answer; the work is done over the seams' pits, the exits and one row of
    tiles at a time (a pit region not touching a seam is its own region: nothing to join).
    """
    counts = np.array([int(p["n_pits"]) + p["exit_target"].size for p in parts], dtype=np.int64)
    offset = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    node_at = _border_lookup(parts, offset)
    a = np.concatenate([p["seam_label"] + o for p, o in zip(parts, offset)])
    b = node_at(np.concatenate([p["seam_gidx"] for p in parts]))
    seam_nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    k = seam_nodes.size
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (inverse[: a.size], inverse[a.size :])), shape=(k, k))
    _, comp = connected_components(graph, directed=False) if k else (0, np.zeros(0, dtype=np.int32))
    first = np.full(comp.max() + 1 if k else 0, np.iinfo(np.int64).max)
    np.minimum.at(first, comp, _pit_values(parts, offset, seam_nodes, "pit_gidx"))  # a region's first cell
    seam_z = _pit_values(parts, offset, seam_nodes, "pit_z")
    node_basin = np.zeros(int(counts.sum()) + 1, dtype=np.int32)
    n_basins = sum(int(p["n_pits"]) for p in parts) - k + first.size
    basin_z = np.full(n_basins + 1, np.inf, dtype=np.float32)  # z is float32: exact
    comp_basin = _number_regions(parts, offset, seam_nodes, first, node_basin, basin_z, (tile_cols, row_cells))
    node_basin[seam_nodes] = comp_basin[comp]
    basin_z[node_basin[seam_nodes]] = seam_z
    exits = np.concatenate([o + 1 + int(p["n_pits"]) + np.arange(p["exit_target"].size) for p, o in zip(parts, offset)])
    target = _follow_exits(exits, node_at(np.concatenate([p["exit_target"] for p in parts])))
    node_basin[exits] = node_basin[target]
    if np.any(node_basin[1:] == 0):
        raise RuntimeError("a local basin was not resolved to a pit region")
    return {"offset": offset, "node_basin": node_basin, "pit_z": basin_z, "n_basins": np.array(n_basins)}


def _border_lookup(parts: list[dict], offset: np.ndarray):
    """Node of a cell on a tile's outer ring (what exits and seams point at), by global cell index."""
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

    return node_at


def _pit_values(parts: list[dict], offset: np.ndarray, nodes: np.ndarray, key: str) -> np.ndarray:
    """``parts[tile][key]`` of pit nodes (sorted node ids), tile by tile."""
    tile = np.searchsorted(offset, nodes - 1, side="right") - 1  # offset[t] < node <= offset[t] + count
    bounds = np.searchsorted(tile, np.arange(len(parts) + 1))
    out = np.zeros(nodes.size, dtype=parts[0][key].dtype if parts else np.int64)
    for t in np.unique(tile).tolist():
        s, e = bounds[t], bounds[t + 1]
        local = nodes[s:e] - offset[t] - 1
        if np.any(local >= int(parts[t]["n_pits"])):
            raise RuntimeError("a seam joins a cell that is not a pit")
        out[s:e] = parts[t][key][local]
    return out


def _number_regions(parts, offset, seam_nodes, first, node_basin, basin_z, grid: tuple[int, int]) -> np.ndarray:
    """Basin ids 1.. in raster order of each region's first cell, one row of tiles at a time (a region's first
    cell lies in one row of tiles, and every cell of a row of tiles precedes the next row's). Writes the pits
    outside the seams' regions into ``node_basin`` and ``basin_z`` (their pit arrays are then dropped from the
    parts); returns the basin of each seam region."""
    tile_cols, row_cells = grid
    first_row = first // row_cells
    comp_basin = np.zeros(first.size, dtype=np.int32)
    done = 0
    for row in range(-(-len(parts) // tile_cols)):
        keys, nodes, zs = [], [], []
        for t in range(row * tile_cols, min((row + 1) * tile_cols, len(parts))):
            p, o = parts[t], offset[t]
            pits = o + 1 + np.arange(int(p["n_pits"]))
            alone = ~_contains(seam_nodes, pits)
            keys.append(p.pop("pit_gidx")[alone])
            nodes.append(pits[alone])
            zs.append(p.pop("pit_z")[alone])
        comps = np.flatnonzero(first_row == row)
        keys.append(first[comps])
        nodes.append(-1 - comps)  # a seam region: by its component
        zs.append(np.zeros(comps.size, dtype=np.float32))  # set from the seam pits afterwards
        key, node, z = np.concatenate(keys), np.concatenate(nodes), np.concatenate(zs)
        order = np.argsort(key, kind="stable")
        node, z = node[order], z[order]
        ids = done + 1 + np.arange(node.size, dtype=np.int32)
        single = node >= 0
        node_basin[node[single]] = ids[single]
        comp_basin[-1 - node[~single]] = ids[~single]
        basin_z[done + 1 : done + 1 + node.size] = z
        done += node.size
    return comp_basin


def _contains(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    if not sorted_values.size:
        return np.zeros(x.size, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_values, x), sorted_values.size - 1)
    return sorted_values[pos] == x


def _follow_exits(exits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The pit node each exit's flow ends in: exit -> the node its flow enters -> ... (flow never cycles)."""
    pos = np.minimum(np.searchsorted(exits, target), max(exits.size - 1, 0))
    is_exit = _contains(exits, target)
    nxt = np.where(is_exit, pos, -1)
    final = np.where(is_exit, 0, target)
    active = np.flatnonzero(nxt >= 0)
    for _ in range(64):
        if not active.size:
            return final
        j = nxt[active]
        final[active], nxt[active] = final[j], nxt[j]
        active = active[nxt[active] >= 0]
    raise RuntimeError("an exit's flow path did not end in a pit region")


def _full(name: str, size: int, dtype, fill) -> np.ndarray:
    return np.full(size, fill, dtype=dtype)


def graph(edge_parts: list[dict], pit_z: np.ndarray, n_basins: int, alloc=_full, release=lambda: None) -> dict:
    """The spill tree over the basins on the tiles' Steiner edges (their key and w are consumed; hanging.py),
    as in depressions.analyse_depressions, written into per-basin arrays; the hanging basins are filled in by
    the tiles afterwards (the "hang" phase)."""
    # popped: each tile's arrays are freed once joined, before the spanning tree's temporaries are made
    key = np.concatenate([p.pop("key") for p in edge_parts])
    key, w = _min_per_key(key, np.concatenate([p.pop("w") for p in edge_parts]))
    lo, hi = (key // (n_basins + 1)).astype(np.int32), (key % (n_basins + 1)).astype(np.int32)  # ids < 2^31
    del key
    nodes = np.union1d(np.union1d(lo, hi), [0]).astype(np.int32)  # increasing: the same tie order as by id
    lo, hi = np.searchsorted(nodes, lo).astype(np.int32), np.searchsorted(nodes, hi).astype(np.int32)
    parent_c, level_c, top_c, edge_w_c = _tree_levels(lo, hi, w, nodes.size - 1)
    del lo, hi, w
    n = n_basins + 1  # ``alloc(name, size, dtype, fill)``: where the per-basin arrays live (the engine: mapped)
    parent, top = alloc("parent", n, np.int32, 0), alloc("top", n, np.int32, 0)
    level, edge_w = alloc("level", n, np.float64, -np.inf), alloc("edge_w", n, np.float32, -np.inf)  # float32 z
    for out, values in ((parent, nodes[parent_c]), (top, nodes[top_c]), (level, level_c), (edge_w, edge_w_c)):
        out[nodes] = values
        release()  # ``alloc``ed arrays may be mapped: their written pages go back to the file one by one
    return {"parent": parent, "level": level, "top": top, "edge_w": edge_w, "pit_z": pit_z, "spine": nodes}


class Graph:
    """Attribute access to the graph arrays (what routing.py and fill_spill.py expect of a FillResult)."""

    def __init__(self, arrays: dict) -> None:
        self.__dict__.update(arrays)
