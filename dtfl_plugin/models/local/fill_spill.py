"""Inside a depression: sub-depressions fill, spill into their neighbour and merge when both are full.

A depression (depressions.py) is a group of basins below one spill level. Its basins are joined, lowest sill first,
into a binary merge tree (Kruskal over the spill-tree edges inside the depression): a node is a sub-depression that
is full when water reaches the sill where it meets its sibling (``w_top``). Water is distributed from the top of
each depression down (Barnes, Callaghan & Wickert 2021, "Fill-Spill-Merge"):
- a child that receives more than its capacity is full; its surplus enters the sibling at the sill's cell;
- when both children are full, the node is one pool: its level rises above the sill over the merged extent;
- otherwise each partly filled child is distributed in turn, with the water that entered it.
Each resulting pool (full sub-depression, merged partly filled node, or partly filled basin) has one level.
Runs in Python loops over tree nodes (not cells): about a second per million basins; cells are handled in numpy.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

_CELL_CHUNK = 1 << 21


@dataclass
class MergeTree:
    n_leaves: int  # basin ids 0..n_leaves-1 are the leaves (0 = outside, unused)
    parent: np.ndarray  # int32 parent node, -1 at the root of each depression
    left: np.ndarray  # int32 children of internal nodes (index node - n_leaves)
    right: np.ndarray
    a_end: np.ndarray  # int32 basin on the left / right side of the merging sill (where spilled water enters)
    b_end: np.ndarray
    w_top: np.ndarray  # float64 level at which the node is full (its sill with the sibling, or the spill level)
    cap_cells: np.ndarray  # float64 sum of (w_top - z) over the node's cells below w_top (x area = m3)
    start: np.ndarray  # int32 first position of the node's leaves in ``leaf_order``
    size: np.ndarray  # int32 number of leaves
    leaf_order: np.ndarray  # int32 leaves in depth-first order: a node's leaves are contiguous
    root: np.ndarray  # int32 root node per depression (indexed by the leaf id of its top basin), -1 elsewhere
    leaf_of: np.ndarray | None = None  # int32 leaf id (1..) of every basin id, 0 outside the depressions handled
    basins: np.ndarray | None = None  # basin id of every leaf 1.. (leaf 0: outside)
    a_pos: np.ndarray | None = None  # position (in leaf_order) of a_end / b_end when not start[a_end]: the sill's
    b_pos: np.ndarray | None = None  # basin lies inside a leaf standing for a collapsed sub-tree (tiled/seams.py)


_DTYPES = {"i": np.intc, "q": np.int64, "d": np.float64}  # np.intc is the C int of array("i"): 4 bytes


def _packed(values: np.ndarray, code: str = "i") -> array:
    """A compact Python array (4 bytes an int item, 8 a float, not ~36 as a list) that Python loops index as fast
    as a list. Node, leaf and position numbers fit a C int (2^31 basins would be ~5 * 10^10 cells)."""
    out = array(code)
    out.frombytes(np.ascontiguousarray(values, dtype=_DTYPES[code]).tobytes())
    return out


def build_merge_tree(fr, z: np.ndarray, deps: np.ndarray) -> MergeTree:
    """The merge tree of the depressions ``deps`` (top basin ids) of ``fr`` (a FillResult), with capacities."""
    tree, member = merge_tree_graph(fr, deps)
    flooded = fr.filled.ravel() > z.ravel()
    flooded &= member[fr.top][fr.basin.ravel()]
    leaves = tree.leaf_of[fr.basin.ravel()[flooded]]
    zc = z.ravel()[flooded]
    del flooded
    climber = Climber(tree)
    count, zsum = climber.sums(leaves, zc)
    set_capacities(tree, count, zsum)
    return tree


def merge_tree_graph(fr, deps: np.ndarray) -> tuple[MergeTree, np.ndarray]:
    """The merge tree of ``deps`` from the basin graph alone (capacities still 0); and the member flag per basin.

    Leaves are the basins of ``deps`` renumbered 1..k in basin order (Python lists stay as small as the
    depressions handled, not the whole DEM's basins).
    """
    member = np.zeros(fr.level.size, dtype=bool)
    member[deps] = True
    members = np.flatnonzero(member[fr.top])
    members = members[members > 0].astype(np.int32)
    leaf_of = np.zeros(fr.level.size, dtype=np.int32)
    leaf_of[members] = np.arange(1, members.size + 1, dtype=np.int32)
    n = members.size + 1
    inside = fr.top[fr.parent[members]] == fr.top[members]
    inside &= fr.parent[members] != 0
    edges_b = members[inside]
    edges_b = edges_b[np.argsort(fr.edge_w[edges_b], kind="stable")]
    deps = np.asarray(deps, dtype=np.int64)
    tree = kruskal_tree(
        n, leaf_of[edges_b], leaf_of[fr.parent[edges_b]], fr.edge_w[edges_b], leaf_of[deps], fr.level[deps]
    )
    tree.leaf_of, tree.basins = leaf_of, members
    return tree, member


def kruskal_tree(n: int, child, par, lvl, tops, top_level, leaf_size=None) -> MergeTree:
    """The merge tree of leaves 1..n-1 joined by the edges (child, par, lvl) in the given order (Kruskal);
    ``tops``: one leaf per depression, whose root gets ``top_level``. ``leaf_size``: positions a leaf takes in
    ``leaf_order`` (1 each; more for a leaf standing for a collapsed sub-tree, models/tiled/seams.py)."""
    edges = np.asarray(child, dtype=np.int32)
    m = edges.size
    uf = _packed(np.arange(n))
    node_of = _packed(np.arange(n))
    parent = _packed(np.full(n + m, -1))
    left, right = _packed(np.zeros(m)), _packed(np.zeros(m))
    for i, (x, p) in enumerate(zip(_packed(edges), _packed(par))):
        ra = x
        while uf[ra] != ra:
            uf[ra] = uf[uf[ra]]
            ra = uf[ra]
        rb = p
        while uf[rb] != rb:
            uf[rb] = uf[uf[rb]]
            rb = uf[rb]
        node = n + i
        na, nb = node_of[ra], node_of[rb]
        left[i] = na
        right[i] = nb
        parent[na] = node
        parent[nb] = node
        uf[ra] = rb
        node_of[rb] = node
    total = n + m
    root = np.full(n, -1, dtype=np.int32)
    tops = np.asarray(tops, dtype=np.int64)
    for t in tops.tolist():
        r = t
        while uf[r] != r:
            r = uf[r]
        root[t] = node_of[r]
    del uf, node_of
    parent_a = np.frombuffer(parent, dtype=np.intc)  # the compact arrays' own memory: no second copy
    w_top = np.full(total, -np.inf)
    has_parent = parent_a >= 0
    w_top[has_parent] = np.asarray(lvl, dtype=np.float64)[parent_a[has_parent] - n]
    del has_parent
    roots = root[tops]
    w_top[roots] = top_level
    w_top[0] = -np.inf
    tree = MergeTree(
        n_leaves=n,
        parent=parent_a,
        left=np.frombuffer(left, dtype=np.intc),
        right=np.frombuffer(right, dtype=np.intc),
        a_end=edges,
        b_end=np.asarray(par, dtype=np.int32),
        w_top=w_top,
        cap_cells=np.zeros(total),
        start=np.zeros(total, dtype=np.int32),
        size=np.zeros(total, dtype=np.int32),
        leaf_order=np.zeros(n, dtype=np.int32),
        root=root,
    )
    _leaf_ranges(tree, roots, np.arange(1, n, dtype=np.int32), leaf_size, (left, right))
    return tree


def _leaf_ranges(tree: MergeTree, roots: np.ndarray, leaves: np.ndarray, leaf_size=None, packed=None) -> None:
    """Leaf positions: ``start`` and ``size`` of every node, ``leaf_order``. ``packed``: the compact (left, right)
    arrays ``tree.left``/``tree.right`` view, when the caller has them (no second copy)."""
    n = tree.n_leaves
    sizes = np.zeros(n + tree.left.size, dtype=np.intc)
    sizes[:n] = 1 if leaf_size is None else leaf_size
    size = _packed(sizes)
    del sizes
    left, right = packed if packed is not None else (_packed(tree.left), _packed(tree.right))
    for i in range(tree.left.size):  # children are created before their parent: ids ascend bottom-up
        size[n + i] = size[left[i]] + size[right[i]]
    start = _packed(np.zeros(len(size)))
    offset = 1  # position 0 is the outside "basin" 0
    for r in roots.tolist():
        start[r] = offset
        offset += size[r]
    for i in range(tree.left.size - 1, -1, -1):  # parents before children
        s = start[n + i]
        start[left[i]] = s
        start[right[i]] = s + size[left[i]]
    del left, right
    tree.size = np.frombuffer(size, dtype=np.intc)
    tree.start = np.frombuffer(start, dtype=np.intc)
    if offset > tree.leaf_order.size:  # leaves taking several positions: the others stay 0 (outside)
        tree.leaf_order = np.zeros(offset, dtype=np.int32)
    tree.leaf_order[tree.start[leaves]] = leaves


class Climber:
    """Assigns flooded cells to the lowest node that is full above them.

    Sills rise towards the root, so a cell climbs to the highest ancestor whose sill is still at or below it.
    Skew-binary jump pointers (Myers 1983: one extra pointer per node, O(log depth) steps) instead of
    binary-lifting tables keep this at 8 bytes a node, whatever the depth of the tree.
    """

    def __init__(self, tree: MergeTree) -> None:
        parent = tree.parent.astype(np.int32)
        total = parent.size
        par = _packed(parent)
        jump = _packed(np.arange(total))
        depth = _packed(np.zeros(total))
        for v in range(total - 1, -1, -1):  # a parent's id is above its children's: parents first
            p = par[v]
            if p < 0:
                continue
            depth[v] = depth[p] + 1
            jp = jump[p]
            jump[v] = jump[jp] if depth[p] - depth[jp] == depth[jp] - depth[jump[jp]] else p
        self.parent = np.where(parent >= 0, parent, np.arange(total, dtype=np.int32)).astype(np.int32)
        self.jump = np.asarray(jump, dtype=np.int32)
        self.total = total
        self.w32 = tree.w_top.astype(np.float32)  # sills are float32 pass heights: exact against float32 z

    def sums(self, leaves: np.ndarray, zc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell count and sum of z per node for flooded cells (basin ``leaves``, elevations ``zc``)."""
        count = np.zeros(self.total)
        zsum = np.zeros(self.total)
        for s in range(0, leaves.size, _CELL_CHUNK):
            node = self.nodes(leaves[s : s + _CELL_CHUNK], zc[s : s + _CELL_CHUNK])
            count += np.bincount(node, minlength=self.total)
            zsum += np.bincount(node, weights=zc[s : s + _CELL_CHUNK], minlength=self.total)
        return count, zsum

    def nodes(self, leaves: np.ndarray, zz: np.ndarray) -> np.ndarray:
        """The node each flooded cell counts in: the lowest node full above it (one chunk of cells)."""
        parent, jump, w32 = self.parent, self.jump, self.w32
        node = leaves.astype(np.int32)
        climb = np.flatnonzero(w32[node] <= zz)  # cells above their own basin's sill climb the tree
        cur, zl = node[climb], zz[climb]
        idx, v, z = np.arange(cur.size), cur.copy(), zl
        while idx.size:  # working arrays shrink as cells arrive; each is written back once
            p = parent[v]
            go = (p != v) & (w32[p] <= z)
            cur[idx[~go]] = v[~go]
            idx, v, z, p = idx[go], v[go], z[go], p[go]
            j = jump[v]
            v = np.where(w32[j] <= z, j, p)  # the far jump when it stays under z, else one step
        node[climb] = parent[cur]
        return node


def set_capacities(tree: MergeTree, count: np.ndarray, zsum: np.ndarray, release=lambda: None) -> None:
    """Capacity of every node from the per-node cell sums of :meth:`Climber.sums` (summed up the tree).
    ``release()``: called between the passes (hands back the pages of a tree and sums mapped from files)."""
    cap = _subtree_sums(tree, count)
    release()
    for s in range(0, cap.size, _CELL_CHUNK):  # in blocks: no second array as large as the tree
        cap[s : s + _CELL_CHUNK] *= np.nan_to_num(tree.w_top[s : s + _CELL_CHUNK], neginf=0.0, posinf=0.0)
    release()
    cap -= _subtree_sums(tree, zsum)
    release()
    tree.cap_cells = np.maximum(cap, 0.0, out=cap)


def _subtree_sums(tree: MergeTree, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (one per node) over each node's subtree, without a loop over nodes.

    A node's leaves occupy positions [start, start + size); every internal node below it (and itself) has its
    split point, the first position of its right child, strictly inside that range. Two cumulative sums answer all.
    """
    n = tree.n_leaves
    rank = _position_rank(tree)
    leaf_cum = _cumulative(np.bincount(rank(tree.start[:n]), weights=values[:n], minlength=n + 1), zero_first=True)
    split_cum = _cumulative(np.bincount(rank(tree.start[tree.right]), weights=values[n:], minlength=n + 1))
    out = np.empty(tree.start.size)
    for s in range(0, out.size, _CELL_CHUNK):  # in blocks of nodes: the temporaries stay small
        first = rank(tree.start[s : s + _CELL_CHUNK])
        end = rank(tree.start[s : s + _CELL_CHUNK] + tree.size[s : s + _CELL_CHUNK])
        part = leaf_cum[end]
        part -= leaf_cum[first]
        part += split_cum[end]
        part -= split_cum[np.minimum(first + 1, end)]
        out[s : s + _CELL_CHUNK] = part
    return out


def _cumulative(part: np.ndarray, zero_first: bool = False) -> np.ndarray:
    """[0, cumsum(part)...] written once (not a cumsum and a concatenated copy); ``zero_first``: part[0] = 0
    (position 0: basins outside the depressions handled here)."""
    if zero_first:
        part[0] = 0.0
    out = np.zeros(part.size + 1)
    np.cumsum(part, out=out[1:])
    return out


def _position_rank(tree: MergeTree):
    """Positions -> leaf ranks (1.. in position order, 0 for position 0) when leaves take several positions
    (tiled/seams.py): the cumulative sums then run over leaves, not positions. The positions in between hold
    no values, so the sums are the same numbers; with one position per leaf the rank is the position."""
    n = tree.n_leaves
    if tree.leaf_order.size <= n:
        return lambda p: p
    starts = np.sort(tree.start[1:n])

    def rank(p: np.ndarray) -> np.ndarray:
        return np.where(p > 0, np.searchsorted(starts, p) + 1, 0)

    return rank


def distribute(tree: MergeTree, leaf_water: np.ndarray, dep_water: dict[int, float], area: float, **resume):
    """Pools after filling: (pool node per basin, water per pool node in m3, full flag per pool node).

    ``leaf_water``: m3 entering each basin (its runoff plus inflow from upstream depressions);
    ``dep_water``: the water each depression keeps (top basin id -> m3, at most its capacity).
    ``resume``: ``stack`` = [(node, m3, entry positions, entry m3)] to start from instead of the depressions'
    roots; ``entries`` = a dict receiving (m3, positions, m3 list) of each partly filled leaf reached whose id is
    at least ``entries_from`` (tiled/seams.py); ``release`` = called once the tree's arrays are read.
    """
    n = tree.n_leaves
    total = tree.parent.size
    release = resume.get("release") or (lambda: None)  # hands back pages of a tree mapped from files
    water = np.zeros(total)
    water[1:n] = leaf_water[tree.basins]
    sums = _subtree_sums(tree, water)
    del water
    own = _packed(sums, "d")
    del sums
    release()
    pool_vol = np.zeros(total)
    pool_full = np.zeros(total, dtype=bool)
    stack = resume.get("stack")
    if stack is None:
        stack = [(int(tree.root[tree.leaf_of[t]]), float(v), [], []) for t, v in dep_water.items()]
    entries = (resume.get("entries"), resume.get("entries_from", 0))
    terminals = _descend(tree, own, area, stack, pool_vol, pool_full, entries, release)
    del own
    start, size = tree.start, tree.size
    pool_of_leaf = np.zeros(n, dtype=np.int32)
    order = tree.leaf_order
    for node in terminals:
        s = start[node]
        pool_of_leaf[order[s : s + size[node]]] = node
    pool_of_basin = np.zeros(tree.leaf_of.size, dtype=np.int32)
    pool_of_basin[tree.basins] = pool_of_leaf[1:]
    return pool_of_basin, pool_vol, pool_full


def _descend(tree: MergeTree, own, area: float, stack: list, pool_vol, pool_full, entries, release) -> array:
    """The distribution loop of :func:`distribute`: pool nodes (terminals), ``pool_vol`` and ``pool_full`` set."""
    n = tree.n_leaves
    entries, entries_from = entries
    left, right = _packed(tree.left), _packed(tree.right)
    cap = array("d")
    for s in range(0, tree.cap_cells.size, _CELL_CHUNK):  # in blocks: no temporary as large as the tree
        cap.frombytes((tree.cap_cells[s : s + _CELL_CHUNK] * area).tobytes())
    start = _packed(tree.start)
    a_pos = _packed(tree.start[tree.a_end] if tree.a_pos is None else tree.a_pos)
    b_pos = _packed(tree.start[tree.b_end] if tree.b_pos is None else tree.b_pos)
    release()
    terminals = array("i")  # pool nodes: up to one per leaf, so 4 bytes each, not a Python int
    # Water spilled into a node enters at a basin: kept as (leaf positions, volumes), sorted by position, so the
    # part inside the left child (whose leaves come first) is a prefix found by bisection.
    while stack:
        node, water, pos, vol = stack.pop()
        eps = 1e-9 * max(cap[node], 1e-9)
        if node < n or water >= cap[node] - eps:
            pool_vol[node] = min(water, cap[node])
            pool_full[node] = water >= cap[node] - eps
            terminals.append(node)
            if entries is not None and entries_from <= node < n and not pool_full[node]:
                entries[node] = (water, pos, vol)  # only the partly filled leaves asked for: one tuple each
            continue
        i = node - n
        a, b = left[i], right[i]
        k = bisect_left(pos, start[b]) if pos else 0
        in_a = own[a] + (sum(vol[:k]) if k else 0.0)
        in_b = water - in_a
        surplus_a, surplus_b = in_a - cap[a], in_b - cap[b]
        if (surplus_a >= 0 and surplus_b >= 0) or (surplus_a > 0 and in_b + surplus_a >= cap[b]):
            pool_vol[node] = water  # both children full: merged, one pool above the sill
            terminals.append(node)
        elif surplus_b > 0 and in_a + surplus_b >= cap[a]:
            pool_vol[node] = water
            terminals.append(node)
        elif surplus_a > 0:  # the left child is full and spills into the right one at the sill
            stack.append((a, cap[a], [], []))
            pos_b, vol_b = pos[k:], vol[k:]
            j = bisect_left(pos_b, b_pos[i])
            pos_b.insert(j, b_pos[i])
            vol_b.insert(j, surplus_a)
            stack.append((b, in_b + surplus_a, pos_b, vol_b))
        elif surplus_b > 0:
            stack.append((b, cap[b], [], []))
            pos_a, vol_a = pos[:k], vol[:k]
            j = bisect_left(pos_a, a_pos[i])
            pos_a.insert(j, a_pos[i])
            vol_a.insert(j, surplus_b)
            stack.append((a, in_a + surplus_b, pos_a, vol_a))
        else:
            stack.append((a, in_a, pos[:k], vol[:k]))
            stack.append((b, in_b, pos[k:], vol[k:]))
    return terminals
