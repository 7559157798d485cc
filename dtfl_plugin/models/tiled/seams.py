"""Partly filled depressions over a seam: only what touches a tile edge goes into the global merge tree.

A basin whose cells all lie in one tile is "interior" to it. Per tile, the merge-tree edges between its interior
basins are joined in the global order (pass height, then child basin id) as long as neither side has met a
basin outside the tile's interior: such a component's sub-tree is the very sub-tree of the in-memory merge tree
(Kruskal joins it the same way before anything else reaches it). The first edge towards anything else "freezes"
the component: it becomes one leaf of the global tree (a super-leaf) with its capacity, water and cell sums
summed in the tile (Barnes, Callaghan & Wickert 2021, the perimeter trees of Fill-Spill-Merge). The global tree
then holds the basins over seams, the super-leaves and the edges between them: perimeter-sized.

Steps: ``plan`` (global) -> ``collapse`` (per tile) -> ``build`` (global Kruskal over the rest) -> ``climb``
(per tile: cells of seam basins and cells above their super-leaf's sill) -> capacities and distribution
(global) -> ``levels`` (per tile: the distribution continues inside the super-leaves that are partly filled,
from the water and entry points the global step hands over, and their pools' levels are solved on the tile).
Same tree shapes, ties and operation order as in memory; only sums run in another order (float last bits).
"""

from __future__ import annotations

from array import array

import numpy as np

from ..local import routing
from ..local.bathtub_core import _water_levels
from ..local.fill_spill import (
    Climber,
    MergeTree,
    _packed,
    _subtree_sums,
    distribute,
    kruskal_tree,
    merge_tree_graph,
    set_capacities,
)
from . import store
from .inside import _local
from .layout import sparse_sum

_BLOCK = 1 << 20
_TREE_FIELDS = ("parent", "left", "right", "a_end", "b_end", "w_top", "cap_cells", "start", "size", "leaf_order",
                "root", "a_pos", "b_pos")  # fmt: skip


def plan(g, deps: np.ndarray, home: np.ndarray, release=lambda: None) -> dict:
    """The global part of the plan, in blocks over the basins: the seam basins of ``deps`` and the merge-tree
    edges between two of them (each tile finds its own interior basins and the edges entering them:
    ``_tile_plan``). ``release()``: hands back the pages of mapped arrays read so far."""
    deps = np.sort(np.asarray(deps, dtype=np.int64))
    member = np.zeros(g.level.size, dtype=bool)
    member[deps] = True
    seam, both = [], []
    for s in range(0, member.size, _BLOCK):
        top, h = np.asarray(g.top[s : s + _BLOCK]), np.asarray(home[s : s + _BLOCK])
        m = np.flatnonzero(member[top] & (h < 0)) + s
        m = m[m > 0]
        p = np.asarray(g.parent[m])
        both.append(m[(p != 0) & (g.top[p] == g.top[m]) & (home[p] < 0)])
        seam.append(m)
        release()
    return {"deps": deps, "seam": np.concatenate(seam).astype(np.int32), "both_seam": np.concatenate(both)}


def _tile_plan(spec, t: int, shared, basins) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tile ``t``'s part of the plan: its interior basins of the seam depressions (all their cells in the tile,
    increasing id), the merge-tree edges entering them from outside the tile (by child id; such a child touches
    its parent, so it has a cell in the tile's one-cell ring) and the interior basins' water."""
    pl, g, water = shared(spec, "seam_plan"), shared(spec, "graph"), shared(spec, "water")
    r0, r1, c0, c1 = spec.layout.bounds(t)
    ids = np.unique(basins(spec, r0 - 1, r1 + 1, c0 - 1, c1 + 1))
    ids = ids[ids > 0]
    top = np.asarray(g["top"][ids])
    keep = _contains(pl["deps"], top)
    ids, top = ids[keep], top[keep]
    h = np.asarray(water["home"][ids])
    p = np.asarray(g["parent"][ids])
    into = (p != 0) & (h != t) & (water["home"][p] == t) & (g["top"][p] == top)
    interior = ids[h == t]
    return interior, ids[into], np.asarray(water["leaf_water"][interior])


def _contains(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    if not sorted_values.size:
        return np.zeros(x.size, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_values, x), sorted_values.size - 1)
    return sorted_values[pos] == x


class _Forest:
    """The tile's interior basins as a basin graph (local ids 1..k in global id order): only the locally joined
    edges are kept, each frozen component is a "depression" whose level is its freezing sill."""

    def __init__(self, k: int, comp: np.ndarray, parent: np.ndarray, edge_w: np.ndarray, freeze_w: np.ndarray):
        self.top = np.concatenate([[0], comp + 1]).astype(np.int32)
        self.parent = np.concatenate([[0], parent]).astype(np.int32)
        self.edge_w = np.concatenate([[-np.inf], edge_w])
        self.level = np.full(k + 1, -np.inf)
        self.level[1:][comp == np.arange(k)] = freeze_w[comp == np.arange(k)]


def _join(ci: np.ndarray, pi: np.ndarray, w: np.ndarray, k: int):
    """Kruskal with freezing over edges in order (local child / parent index, -1 = not interior here):
    (joined flag per edge, component root per basin, freezing sill per root)."""
    uf = _packed(np.arange(k))
    frozen = bytearray(k)
    freeze_w = _packed(np.full(k, np.nan), "d")
    joined = bytearray(ci.size)
    for i, (a, b, wi) in enumerate(zip(_packed(ci), _packed(pi), _packed(w, "d"))):
        ra = a
        while ra >= 0 and uf[ra] != ra:
            uf[ra] = uf[uf[ra]]
            ra = uf[ra]
        rb = b
        while rb >= 0 and uf[rb] != rb:
            uf[rb] = uf[uf[rb]]
            rb = uf[rb]
        if ra >= 0 and rb >= 0 and not frozen[ra] and not frozen[rb]:
            uf[ra] = rb
            joined[i] = 1
            continue
        for r in (ra, rb):  # the edge reaches beyond the interior: the component becomes a global leaf
            if r >= 0 and not frozen[r]:
                frozen[r] = 1
                freeze_w[r] = wi
    root = np.asarray(uf, dtype=np.int64)
    for _ in range(64):
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    if not all(frozen[r] for r in np.unique(root).tolist()):
        raise RuntimeError("an interior component of a seam depression never meets the rest of it")
    return np.frombuffer(joined, dtype=np.uint8).astype(bool), root, np.asarray(freeze_w, dtype=np.float64)


def collapse(spec, t: int, shared, basins, terrain) -> dict:
    """The tile's interior sub-trees of the seam depressions: local trees saved, super-leaves returned."""
    lay = spec.layout
    if lay.done("seam", t, "npz"):
        return lay.load_parts("seam", t)
    interior, x_child, leaf_water = _tile_plan(spec, t, shared, basins)
    interior = interior.astype(np.int64)
    if not interior.size:
        out = _empty()
        lay.save_parts("sesc", t, comp=np.zeros(0, dtype=np.int32), z=np.zeros(0, dtype=np.float32))
        lay.save_parts("seam", t, **out)
        return out
    g = shared(spec, "graph")
    top, parent, edge_w = g["top"], g["parent"], g["edge_w"]
    p = parent[interior]
    internal = (p != 0) & (top[p] == top[interior])
    child = np.concatenate([interior[internal], x_child]).astype(np.int64)
    w = edge_w[child]
    order = np.lexsort((child, w))  # the global Kruskal order: pass height, then child basin id
    child, w = child[order], w[order]
    ci, pi = _local(interior, child) - 1, _local(interior, parent[child]) - 1
    joined, comp, freeze_w = _join(ci, pi, w, interior.size)
    k = interior.size
    par_local = np.zeros(k, dtype=np.int64)
    par_local[ci[joined]] = pi[joined] + 1
    roots, comp_idx = np.unique(comp, return_inverse=True)
    tree, _ = merge_tree_graph(_Forest(k, comp, par_local, edge_w[interior], freeze_w), roots + 1)
    count, zsum, esc = _cells(spec, t, tree, interior, g, basins, terrain)
    set_capacities(tree, count, zsum)
    root_node = tree.root[roots + 1]
    ends = np.unique(np.concatenate([ci[~joined], pi[~joined]]))
    ends = ends[ends >= 0]
    comp_of_node = np.full(tree.parent.size, -1, dtype=np.int32)
    comp_of_node[root_node] = np.arange(roots.size, dtype=np.int32)
    lay.save_parts("sesc", t, comp=comp_of_node[esc[0]], z=esc[1])
    _save_tree(lay, t, tree, root_node, interior, leaf_water)
    out = {
        "comp_w": freeze_w[roots],
        "comp_size": tree.size[root_node].astype(np.int64),
        "comp_count": _subtree_sums(tree, count)[root_node],
        "comp_zsum": _subtree_sums(tree, zsum)[root_node],
        "comp_cap": tree.cap_cells[root_node],
        "comp_water": np.bincount(comp_idx, weights=leaf_water, minlength=roots.size),
        "basin": interior.astype(np.int32),  # 4 bytes an interior basin while the parts are gathered
        "basin_comp": comp_idx.astype(np.int32),
        "ends": interior[ends],
        "ends_rel": (tree.start[ends + 1] - tree.start[root_node[comp_idx[ends]]]).astype(np.int64),
        "edges": child[~joined],
    }
    lay.save_parts("seam", t, **out)
    return out


def _empty() -> dict:
    f, i = np.zeros(0), np.zeros(0, dtype=np.int64)
    return {"comp_w": f, "comp_size": i, "comp_count": f, "comp_zsum": f, "comp_cap": f, "comp_water": f,
            "basin": i, "basin_comp": np.zeros(0, dtype=np.int32), "ends": i, "ends_rel": i, "edges": i}  # fmt: skip


def _cells(spec, t, tree, interior, g, basins, terrain):
    """Flooded cells of the interior basins climbed in the local tree: (count, sum of z) per local node, and the
    cells above their component's freezing sill as (component root node, z): they climb on in the global tree."""
    r0, r1, c0, c1 = spec.layout.bounds(t)
    bw = basins(spec, r0, r1, c0, c1).ravel()
    z, valid = terrain(spec, r0, r1, c0, c1)
    z = z.ravel()
    filled = np.maximum(z, g["level"][bw].astype(np.float32))
    lb = _local(interior, bw)
    flooded = (filled > z) & valid.ravel() & (lb > 0)
    climber = Climber(tree)
    leaves, zc = tree.leaf_of[lb[flooded]], z[flooded]
    node = climber.nodes(leaves, zc)
    up = (tree.parent[node] < 0) & (climber.w32[node] <= zc)  # above the root's sill: not in this sub-tree
    count = np.bincount(node[~up], minlength=tree.parent.size).astype(np.float64)
    zsum = np.bincount(node[~up], weights=zc[~up], minlength=tree.parent.size)
    return count, zsum, (node[up], zc[up])


def _save_tree(lay, t, tree, root_node, interior, leaf_water) -> None:
    """The local tree and its basins' water, for ``levels``: the global plan is dropped after the collapse."""
    keep = ("parent", "left", "right", "a_end", "b_end", "w_top", "cap_cells", "start", "size", "leaf_order", "root")
    arrays = {k: getattr(tree, k) for k in keep}
    lay.save_parts("stree", t, roots=root_node, interior=interior, leaf_water=leaf_water, **arrays)


class SeamTree:
    """The global merge tree over seam basins and super-leaves (``build``), and what the tiles need of it."""

    def __init__(self, spec, g, pl: dict, parts: list[dict], deps: np.ndarray) -> None:
        """Built, then parked in the work folder (``seam_merge``): the tiles' climb needs only its parents and
        sills (``shared``), the solve maps it back (``unpark``). Per-node sums and water are mapped arrays."""
        self.layout = spec.layout
        seam = pl["seam"]
        k0 = seam.size
        ncomp = np.array([p["comp_w"].size for p in parts], dtype=np.int64)
        self.base = k0 + 1 + np.concatenate([[0], np.cumsum(ncomp)])  # super-leaf ids of tile t: base[t]..
        n = int(self.base[-1])
        self.k0, self.n, self.n_leaves, self.deps, self.seam = k0, n, n, deps, seam
        gleaf = self.gleaf = store.scratch(spec, "gleaf", g.level.size, np.int32)
        gleaf[seam] = np.arange(1, k0 + 1, dtype=np.int32)
        for t, p in enumerate(parts):  # the parts' arrays are popped as they are used: the parts shrink
            gleaf[p.pop("basin")] = self.base[t] + p.pop("basin_comp")
        edges = np.unique(np.concatenate([pl["both_seam"]] + [p.pop("edges") for p in parts]).astype(np.int32))
        edges = edges[np.lexsort((edges, g.edge_w[edges]))]  # basin ids < 2^31
        leaf_size = np.ones(n, dtype=np.int32)
        leaf_size[k0 + 1 :] = _cat(parts, "comp_size")
        ends = (gleaf[edges], gleaf[g.parent[edges]], g.edge_w[edges], gleaf[deps], g.level[deps])
        store.release()
        tree = kruskal_tree(n, *ends, leaf_size)
        del ends, leaf_size
        tree.w_top[k0 + 1 : n] = _cat(parts, "comp_w")  # a super-leaf is full at its freezing sill
        rel = _lookup(_cat(parts, "ends"), _cat(parts, "ends_rel"))
        tree.a_pos, tree.b_pos = np.empty(edges.size, dtype=np.int32), np.empty(edges.size, dtype=np.int32)
        for s in range(0, edges.size, _BLOCK):  # in blocks: the lookups' int64 temporaries stay small
            e = edges[s : s + _BLOCK]
            tree.a_pos[s : s + _BLOCK] = tree.start[tree.a_end[s : s + _BLOCK]] + rel(e)
            tree.b_pos[s : s + _BLOCK] = tree.start[tree.b_end[s : s + _BLOCK]] + rel(np.asarray(g.parent[e]))
        del rel, edges
        self.total = tree.parent.size
        store.save(self.layout, "seam_merge", **{k: getattr(tree, k) for k in _TREE_FIELDS})
        del tree
        self.tree = None
        self.count = store.scratch(spec, "seam_count", self.total, np.float64)
        self.count[k0 + 1 : n] = _cat(parts, "comp_count")
        self.zsum = store.scratch(spec, "seam_zsum", self.total, np.float64)
        self.zsum[k0 + 1 : n] = _cat(parts, "comp_zsum")
        self.water = store.scratch(spec, "seam_water", n, np.float64)
        self.water[k0 + 1 :] = _cat(parts, "comp_water")
        store.release()

    def shared(self) -> dict:
        """For the tiles' climb: the tree's parent and sills, the global leaf per basin, super-leaf ids per tile."""
        parked = store.load(self.layout, "seam_merge")
        return {"parent": parked["parent"], "w_top": parked["w_top"], "gleaf": self.gleaf, "base": self.base,
                "k0": np.array(self.k0)}  # fmt: skip

    def unpark(self) -> None:
        saved = store.load(self.layout, "seam_merge")  # mapped: the solve reads each array once, in passes
        self.tree = MergeTree(self.n_leaves, **{k: saved[k] for k in _TREE_FIELDS})
        self.tree.leaf_of = np.arange(self.n, dtype=np.int32)  # leaves are their own ids here
        self.tree.basins = np.arange(1, self.n, dtype=np.int32)

    def solve(self, seam_water: np.ndarray, stored, area: float):
        """Capacities and distribution: (pool node per global leaf, pool volumes, pool levels where known (full),
        partial pool mask for the Newton passes, and the open super-leaves handed to the tiles)."""
        tree, k0 = self.tree, self.k0

        def release() -> None:  # the tree's arrays are mapped from the work folder (``unpark``), the sums too
            store.release_arrays(vars(tree).values())
            store.release()

        set_capacities(tree, self.count, self.zsum, release)
        self.count = self.zsum = None
        self.water[1 : k0 + 1] = seam_water  # per seam basin, in the order of their leaf ids
        entries: dict = {}
        kept = {int(self.gleaf[d]): float(stored[d]) for d in self.deps.tolist()}
        pool_of, pool_vol, _ = distribute(tree, self.water, kept, area, entries=entries, entries_from=k0 + 1,
                                          release=release)  # fmt: skip
        release()
        opened = np.array(sorted(entries), dtype=np.int64)
        wl, partial = routing.pool_targets(tree, pool_vol, area)
        partial[opened] = False  # their water is spread inside the super-leaf, by its tile
        return pool_of, pool_vol, wl, partial, _open_parts(opened, entries, tree.start)


class SavedPart:
    """A tile's collapse result read back from the work folder one key at a time (``collapse`` saved it): the
    engine never holds all tiles' parts at once."""

    def __init__(self, lay, t: int) -> None:
        self.path = lay.path("seam", t, "npz")

    def __getitem__(self, key: str) -> np.ndarray:
        with np.load(self.path, allow_pickle=False) as data:
            return data[key]

    pop = __getitem__


def _cat(parts: list[dict], key: str) -> np.ndarray:
    """One key of all parts, concatenated (and popped from the parts)."""
    return np.concatenate([p.pop(key) for p in parts]) if parts else np.zeros(0)


def _lookup(keys: np.ndarray, values: np.ndarray):
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]

    def rel(x: np.ndarray) -> np.ndarray:
        if not keys.size:
            return np.zeros(x.size, dtype=np.int64)
        pos = np.minimum(np.searchsorted(keys, x), keys.size - 1)
        return np.where(keys[pos] == x, values[pos], 0)

    return rel


def _open_parts(opened: np.ndarray, entries: dict, start: np.ndarray) -> dict:
    """The partly filled super-leaves: water, and entry points relative to the super-leaf's first position."""
    water = np.array([entries[k][0] for k in opened.tolist()], dtype=np.float64)
    counts = np.array([len(entries[k][1]) for k in opened.tolist()], dtype=np.int64)
    pos = array("q")
    vol = array("d")
    for k in opened.tolist():
        pos.extend(p - int(start[k]) for p in entries[k][1])
        vol.extend(entries[k][2])
    return {"node": opened, "water": water, "count": counts, "pos": np.frombuffer(pos, dtype=np.int64),
            "vol": np.frombuffer(vol, dtype=np.float64)}  # fmt: skip


def climber(st: dict) -> Climber:
    """The global tree's climber (made once per process by the caller)."""
    return Climber(_Stub(st["parent"], st["w_top"]))


def climb(spec, t: int, shared, basins, terrain, get_climber) -> dict:
    """Cell count and sum of z per global node: flooded cells of the tile's seam basins, and its interior cells
    above their super-leaf's sill (saved by ``collapse``)."""
    st = shared(spec, "seam_tree")
    g = shared(spec, "graph")
    r0, r1, c0, c1 = spec.layout.bounds(t)
    bw = basins(spec, r0, r1, c0, c1).ravel()
    z, valid = terrain(spec, r0, r1, c0, c1)
    z = z.ravel()
    leaf = st["gleaf"][bw]
    flooded = (np.maximum(z, g["level"][bw].astype(np.float32)) > z) & valid.ravel()
    flooded &= (leaf > 0) & (leaf <= int(st["k0"]))
    esc = spec.layout.load_parts("sesc", t)
    leaves = np.concatenate([leaf[flooded], st["base"][t] + esc["comp"]]).astype(np.int32)
    zc = np.concatenate([z[flooded], esc["z"]]).astype(np.float32)
    node = get_climber().nodes(leaves, zc) if leaves.size else np.zeros(0, dtype=np.int32)
    ids, count = sparse_sum(node)
    _, zsum = sparse_sum(node, zc)
    return {"ids": ids, "count": count, "zsum": zsum}


class _Stub:
    def __init__(self, parent, w_top) -> None:
        self.parent, self.w_top = parent, w_top


def levels(spec, t: int, shared, basins, terrain) -> dict:
    """Levels of the basins inside the tile's partly filled super-leaves: the distribution goes on in the local
    tree from the water and entry points of the global step, then the pools' levels over the tile's cells."""
    lay = spec.layout
    st, op = shared(spec, "seam_tree"), shared(spec, "seam_open")
    lo, hi = np.searchsorted(op["node"], [st["base"][t], st["base"][t + 1]])
    if lo == hi:
        return {"ids": np.zeros(0, dtype=np.int64), "level": np.zeros(0)}
    saved = lay.load_parts("stree", t)
    interior = saved["interior"]
    tree = _tree(saved, interior.size)
    first = np.concatenate([[0], np.cumsum(op["count"])])
    stack = []
    for j in range(lo, hi):
        root = int(saved["roots"][int(op["node"][j] - st["base"][t])])
        s = int(tree.start[root])
        pos = [s + int(p) for p in op["pos"][first[j] : first[j + 1]]]
        stack.append((root, float(op["water"][j]), pos, op["vol"][first[j] : first[j + 1]].tolist()))
    lw = np.concatenate([[0.0], saved["leaf_water"]])
    area = spec.cell_size**2
    pool_of, pool_vol, _ = distribute(tree, lw, {}, area, stack=stack)
    r0, r1, c0, c1 = lay.bounds(t)
    z, valid = terrain(spec, r0, r1, c0, c1)
    z[~valid] = np.nan  # never wet, as the global path's NaN filled surface
    lb = _local(interior, basins(spec, r0, r1, c0, c1).ravel())
    level = _water_levels(z.ravel(), pool_of[lb], tree, pool_vol, area)
    wet = np.flatnonzero(pool_of[1:] > 0)
    return {"ids": interior[wet].astype(np.int64), "level": level[pool_of[1:][wet]]}


def _tree(saved: dict, k: int) -> MergeTree:
    keep = ("parent", "left", "right", "a_end", "b_end", "w_top", "cap_cells", "start", "size", "leaf_order", "root")
    tree = MergeTree(k + 1, *(saved[name] for name in keep))
    tree.leaf_of = np.arange(k + 1, dtype=np.int32)
    tree.basins = np.arange(1, k + 1, dtype=np.int32)
    return tree
