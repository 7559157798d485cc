"""The graph half of the bathtub screening: water routed between depressions, per depression results.

Everything here works on arrays with one value per basin or per depression, never per cell, so the in-memory
path (bathtub_core.run_bathtub) and the tiled path (models/tiled) share it and give the same answers. ``graph``
is anything with the basin-level fields of a ``FillResult``: level, top, parent, edge_w, pit_z, dep_bottom.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .fill_spill import _packed

_BLOCK = 1 << 20  # basins per block when a whole per-basin array is walked (its temporaries: ~50 MB)


@dataclass
class Routing:
    order: np.ndarray  # depressions (top basin ids) from high spill level to low
    inflow: np.ndarray  # m3 entering each depression (own catchment + upstream spills)
    stored: np.ndarray  # m3 kept per depression
    spilled: np.ndarray  # m3 spilled over its pass per depression
    spilled_out: float  # m3 that left the area
    leaf_water: np.ndarray  # m3 entering each basin (runoff + spills from upstream depressions)
    capacity: np.ndarray  # m3 each depression holds up to its spill level
    full: np.ndarray  # bool per depression


def route(graph, basin_runoff, capacity, compact: bool = False, position=None, release=None):
    """Route from high spill levels to low: a depression always spills into one with a lower spill level.

    ``compact`` (the tiled engine): the per-depression results are kept at the depression tops only
    (``PerTop``) and ``basin_runoff`` becomes ``leaf_water`` in place; returns (Routing, slot index per basin).
    ``position``: the int32 slot array to fill (all -1), e.g. one mapped from a file; the per-basin arrays are
    read in blocks, and ``release()`` (if given) is called between steps to hand back the pages read."""
    release = release or (lambda: None)
    top, parent = graph.top, graph.parent
    n = graph.level.size
    roots = []
    for s in range(0, n, _BLOCK):
        block = np.asarray(top[s : s + _BLOCK])
        roots.append(np.flatnonzero(block == np.arange(s, s + block.size)) + s)
        release()
    roots = np.concatenate(roots)
    roots = roots[roots > 0]
    inflow = np.zeros(roots.size + 1)  # per depression (top), in the order of ``roots`` (+ one bin for none)
    for s in range(1, n, _BLOCK):  # added in basin order, block after block: the very sums of one bincount
        np.add.at(inflow, _slot_of(roots, np.asarray(top[s : s + _BLOCK])), basin_runoff[s : s + _BLOCK])
        release()
    inflow = inflow[:-1]
    rank = np.argsort(-graph.level[roots], kind="stable")
    release()
    order = roots[rank]
    entry = parent[order]
    release()
    # Compact arrays (8 bytes an item, not a Python object each) only over depressions, in routing order.
    if position is None:
        position = np.full(n, -1, dtype=np.int32)
    position[order] = np.arange(order.size)
    dest = _packed(np.where(entry == 0, -1, position[top[entry]]), "q")
    release()
    inflow_l = _packed(inflow[rank], "d")
    del inflow
    inflow = np.zeros(n) if not compact else None
    cap_l = _packed(capacity[order], "d")
    release()
    kept_l = _packed(np.zeros(order.size), "d")
    spill_l = _packed(np.zeros(order.size), "d")
    spilled_out = 0.0
    spill_entry, spill_volume = array("q"), array("d")
    for i in range(order.size):
        v, c = inflow_l[i], cap_l[i]
        if v > c:
            kept_l[i] = c
            spill_l[i] = v - c
            t = dest[i]
            if t < 0:
                spilled_out += v - c
            else:
                inflow_l[t] += v - c
                spill_entry.append(i)
                spill_volume.append(v - c)
        else:
            kept_l[i] = v
    del dest, cap_l
    if compact:
        packed = (inflow_l, kept_l, spill_l)
        return _compact(graph, order, position, packed, spilled_out, basin_runoff, capacity, release)
    del position
    stored = np.zeros(n)
    spilled = np.zeros(n)
    stored[order] = np.frombuffer(kept_l, dtype=np.float64)
    spilled[order] = np.frombuffer(spill_l, dtype=np.float64)
    inflow[order] = np.frombuffer(inflow_l, dtype=np.float64)
    leaf_water = basin_runoff.copy()  # + what upstream depressions spill into each basin
    np.add.at(leaf_water, entry[np.frombuffer(spill_entry, dtype=np.int64)], np.frombuffer(spill_volume))
    full = (capacity > 0) & (stored >= capacity * (1.0 - 1e-9))
    return Routing(order, inflow, stored, spilled, spilled_out, leaf_water, capacity, full)


def _slot_of(roots: np.ndarray, tops: np.ndarray) -> np.ndarray:
    """Index of each top in the sorted ``roots``; ``roots.size`` where it is none (basin 0, the outside)."""
    pos = np.searchsorted(roots, tops)
    hit = roots[np.minimum(pos, max(roots.size - 1, 0))] == tops if roots.size else np.zeros(tops.size, dtype=bool)
    return np.where(hit, pos, roots.size)


def _compact(graph, order, slot, packed, spilled_out, leaf_water, capacity, release):
    """``route``'s results at the depression tops: (Routing of PerTop arrays, slot index)."""
    inflow, stored, spilled = (np.frombuffer(a, dtype=np.float64) for a in packed)
    entry = graph.parent[order]
    release()
    spills = np.flatnonzero(spilled > 0)
    spills = spills[entry[spills] != 0]
    np.add.at(leaf_water, entry[spills], spilled[spills])  # basin_runoff, in place: + spills from upstream
    release()
    cap = capacity[order]
    release()
    full = (cap > 0) & (stored >= cap * (1.0 - 1e-9))
    per_top = [PerTop(slot, a) for a in (inflow, stored, spilled, cap, full)]
    return Routing(order, per_top[0], per_top[1], per_top[2], spilled_out, leaf_water, per_top[3], per_top[4]), slot


class PerTop:
    """Values at depression tops only, read like a per-basin array (0 / False at other basins).

    The tiled engine keeps its routing results like this: 4 bytes a basin for the shared slot index plus the
    values of the depressions, instead of 8 bytes a basin for each array (the in-memory path keeps plain arrays).
    """

    def __init__(self, slot: np.ndarray, values: np.ndarray) -> None:
        self.slot, self.values = slot, values

    def __getitem__(self, idx):
        s = self.slot[idx]
        return np.where(s >= 0, self.values[np.maximum(s, 0)], self.values.dtype.type(0))

    def sum(self):
        return self.values.sum()


def partial_depressions(r: Routing) -> np.ndarray:
    """Depressions holding some water but not full: their sub-depressions fill and spill (fill_spill.py)."""
    return r.order[(r.stored[r.order] > 0) & ~r.full[r.order]]


def full_leaf_levels(graph, r: Routing) -> np.ndarray:
    """Water level per basin where its depression is full (its spill level), -inf elsewhere."""
    top = graph.top
    leaf_level = np.where(r.full[top], graph.level[top], -np.inf)
    leaf_level[0] = -np.inf
    return leaf_level


def pool_targets(tree, pool_vol: np.ndarray, area: float):
    """Newton set-up for the pools of partly filled depressions: (level per pool, partial mask, volume per pool)."""
    capacity = tree.cap_cells * area
    full = (capacity > 0) & (pool_vol >= capacity * (1.0 - 1e-9))
    wl = np.full(tree.w_top.size, -np.inf)
    wl[full] = tree.w_top[full]
    partial = (pool_vol > 0) & ~full
    return wl, partial


def newton_update(h: np.ndarray, target: np.ndarray, count: np.ndarray, zsum: np.ndarray):
    """One step of h = (V / area + sum z below h) / (cells below h); (new h, converged)."""
    new = (target + zsum) / np.maximum(count, 1)
    if np.array_equal(new, h):
        return h, True
    return np.minimum(new, h), False  # monotone from above; guards against rounding ping-pong


def per_depression(graph, leaf_level: np.ndarray, tops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Highest water level and deepest water of each depression of ``tops`` (sorted top basin ids), over its
    basins: two arrays in the order of ``tops``."""
    water_level = np.full(tops.size + 1, -np.inf)
    water_depth = np.zeros(tops.size + 1)
    n = graph.level.size
    for s in range(0, n, _BLOCK):  # in blocks: the per-basin arrays may be mapped (maxima: any order gives the same)
        lv = np.asarray(leaf_level[s : s + _BLOCK])
        wet = np.flatnonzero(np.isfinite(lv))
        wet = wet[wet + s > 0]
        dep = _slot_of(tops, np.asarray(graph.top[s : s + _BLOCK])[wet])
        np.maximum.at(water_level, dep, lv[wet])
        np.maximum.at(water_depth, dep, lv[wet] - np.asarray(graph.pit_z[s : s + _BLOCK])[wet])
    return water_level[:-1], water_depth[:-1]


def depression_ids(graph, capacity, min_depth: float, tops=None) -> tuple[np.ndarray, np.ndarray]:
    """Depressions that can hold at least ``min_depth``, largest first: (kept top ids, output id per top id).

    ``tops``: the depression tops in increasing order, when ``capacity`` and ``dep_bottom`` are kept at the
    tops only (``PerTop``); any other basin has no capacity, so the kept ones and their order are the same."""
    n = graph.level.size
    if tops is None:
        max_depth = graph.level - graph.dep_bottom
        keep = np.flatnonzero((capacity > 0) & (max_depth >= min_depth))
    else:
        keep = tops[(capacity[tops] > 0) & (graph.level[tops] - graph.dep_bottom[tops] >= min_depth)]
    keep = keep[np.argsort(-capacity[keep], kind="stable")]  # id 1 = largest
    new_id = np.zeros(n, dtype=np.int32)
    new_id[keep] = np.arange(1, keep.size + 1, dtype=np.int32)
    return keep, new_id


def table(graph, r: Routing, keep: np.ndarray, leaf_level: np.ndarray, cells: np.ndarray, area: float) -> Table:
    """One row per kept depression (id = position in ``keep`` + 1); ``cells``: extent in cells per id."""
    tops = np.unique(keep)
    water_level, water_depth = per_depression(graph, leaf_level, tops)
    at = np.searchsorted(tops, keep)
    cap = np.asarray(r.capacity[keep], dtype=np.float64)
    stored = np.asarray(r.stored[keep], dtype=np.float64)
    fill = np.zeros(keep.size)
    np.divide(stored, cap, out=fill, where=cap > 0)
    level = np.asarray(graph.level[keep], dtype=np.float64)
    n_cells = np.asarray(cells[1 : keep.size + 1], dtype=np.int64)
    return Table(
        {
            "id": np.arange(1, keep.size + 1),
            "volume_capacity_m3": cap,
            "inflow_m3": np.asarray(r.inflow[keep], dtype=np.float64),
            "stored_m3": stored,
            "fill_fraction": fill,
            "spilled_m3": np.asarray(r.spilled[keep], dtype=np.float64),
            "max_depth": level - np.asarray(graph.dep_bottom[keep], dtype=np.float64),
            "water_depth": np.maximum(water_depth[at], 0.0),
            "water_level": water_level[at],
            "spill_level": level,
            "cells": n_cells,
            "area_m2": n_cells * area,
        }
    )


class Table(Sequence):
    """The depressions' table as columns (about 100 bytes a row, not a dict of Python objects): each row is
    made as a dict when it is read, so a run with millions of depressions keeps its table small."""

    def __init__(self, columns: dict) -> None:
        self.columns = columns
        self._n = int(columns["id"].size)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        i = int(i) + (self._n if i < 0 else 0)
        if not 0 <= i < self._n:
            raise IndexError(i)
        row = {key: values[i].item() for key, values in self.columns.items()}
        if not np.isfinite(row["water_level"]):
            row["water_level"] = None
        return row
