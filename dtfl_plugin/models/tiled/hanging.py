"""Spill tree by perimeter: per tile, the parts of its spanning forest that hang off the tile's boundary basins
are in the global spill tree for sure; only the rest (the paths between boundary basins) goes global.

A basin with no cell in the two-cell band along its tile's edge is seen by no other tile (their windows reach two
cells over the seam), and every pair of its cells with a neighbour is scanned by its own tile: the tile knows all
its passes with their true lowest height. Cut a tile forest's edge whose one side holds no boundary basin: that
side's passes are all in the tile, and a spanning-forest edge is the lowest pass over the cut it defines, so the
edge is in the global minimum spanning tree (ties broken by the basin pair, as everywhere). Peeling such edges from
the forest's leaves leaves the "Steiner" part: only those edges go into the global Kruskal (Barnes 2019's
perimeter approach), and each hanging basin's parent and highest pass to the sea are found afterwards in its tile,
from the global answer at the boundary basin it hangs off.
"""

from __future__ import annotations

import numpy as np

from ..local.depressions import _max_to_sea
from ..local.fill_spill import _packed


def boundary_basins(bw: np.ndarray, band: int = 4) -> np.ndarray:
    """Sorted basin ids of the window ``bw`` (tile + 2-cell halo) outside its inner part: the halo and the tile's
    two-cell edge band (``band`` = halo + 2 cells from the window's edge). Basin 0 (outside) always counts."""
    inner = np.zeros(bw.shape, dtype=bool)
    inner[band:-band, band:-band] = True
    return np.union1d(np.unique(bw[~inner]), [0])


def peel(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, boundary: np.ndarray):
    """Split a spanning forest (edges lo-hi, pass w) into hanging edges (child, parent, w: the child's side holds
    no boundary basin) and the Steiner edges (mask). Leaves that are not boundary basins are cut one by one."""
    nodes, inv = np.unique(np.concatenate([lo, hi]), return_inverse=True)
    a, b = inv[: lo.size], inv[lo.size :]
    k = nodes.size
    is_b = np.isin(nodes, boundary)
    order = np.argsort(np.concatenate([a, b]), kind="stable")
    indptr = np.searchsorted(np.concatenate([a, b])[order], np.arange(k + 1))
    other = _packed(np.concatenate([b, a])[order])
    edge_of = _packed(order % max(lo.size, 1))
    ptr = _packed(indptr)
    deg = _packed(np.diff(indptr))
    gone = bytearray(lo.size)
    child, parent, via = [], [], []
    queue = [v for v in np.flatnonzero((np.diff(indptr) == 1) & ~is_b).tolist()]
    boundary_flag = bytes(is_b.astype(np.uint8))
    while queue:
        v = queue.pop()
        for i in range(ptr[v], ptr[v + 1]):
            e = edge_of[i]
            if gone[e]:
                continue
            gone[e] = 1
            u = other[i]
            child.append(v)
            parent.append(u)
            via.append(e)
            deg[u] -= 1
            if deg[u] == 1 and not boundary_flag[u]:
                queue.append(u)
            break
    via_a = np.array(via, dtype=np.int64)
    steiner = np.frombuffer(gone, dtype=np.uint8) == 0
    hang = (nodes[np.array(child, dtype=np.int64)], nodes[np.array(parent, dtype=np.int64)], w[via_a])
    return hang, steiner


def hang_levels(child: np.ndarray, parent: np.ndarray, w: np.ndarray, level: np.ndarray, top: np.ndarray) -> dict:
    """Parent, pass to it, fill level and depression top of the hanging basins ``child`` (global ids), given the
    global ``level`` and ``top`` of the basins they hang off. The same pointer jumping as in memory: per basin
    the highest pass on its way out, ties to the one nearest the sea (the join is associative)."""
    if not child.size:
        z = np.zeros(0, dtype=np.int64)
        return {"ids": z, "parent": z.astype(np.int32), "edge_w": z.astype(np.float32), "level": z * 1.0, "top": z}
    ids = np.unique(np.concatenate([child, parent]))
    c, p = np.searchsorted(ids, child), np.searchsorted(ids, parent)
    n = ids.size + 1  # compact index + 1; 0: a virtual root above the basins hung off
    par = np.zeros(n, dtype=np.int32)
    par[c + 1] = p + 1
    edge_w = np.full(n, -np.inf)
    edge_w[c + 1] = w.astype(np.float64)
    anchors = np.flatnonzero(par[1:] == 0)  # basins hung off: their global answer is the segment to the sea
    edge_w[anchors + 1] = level[ids[anchors]]
    best_w, best_node = _max_to_sea(edge_w, par)
    node_ids = np.concatenate([[0], ids])
    best_top = node_ids[best_node]
    at_anchor = par[best_node] == 0
    best_top[at_anchor] = top[node_ids[best_node[at_anchor]]]
    return {"ids": child, "parent": parent.astype(np.int32), "edge_w": w.astype(np.float32),
            "level": best_w[c + 1], "top": best_top[c + 1].astype(np.int32)}  # fmt: skip
