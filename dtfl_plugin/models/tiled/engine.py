"""Tiled bathtub screening: the in-memory method (bathtub_core) in tiles, with memory set by the tile size.

Barnes-style, in passes over the tiles with a small global step between them:
1. prepare: read the DEM tile (GDAL window), rasterise land cover, water and buildings of the tile;
2. label: D8 inside the tile; every cell drains to a pit region of the tile or to an exit cell on its edge;
   global: exits are followed across seams, pit regions joined across seams -> global basins (merge.resolve);
3. edges: lowest pass between neighbouring basins, runoff per basin; global: the spill tree (merge.graph);
4. capacity per depression; global: water routed between depressions (routing.route);
5. only for partly filled depressions: those wholly inside a tile are solved in that tile's task (inside.py); for
   the others (over a seam) merge-tree capacities (climb), pools, Newton passes over the tiles for their levels;
6. output: depth and depression extent per tile (GeoTIFF tiles, mosaicked), facade depth of the buildings.
Each tile's results are saved in the work folder as they finish: a stopped run resumes from its finished tiles.
Tiles run one after another here, or as dask.distributed tasks (executors.py) on any cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable

import numpy as np
from osgeo import gdal

from ..local import routing
from ..local.depressions import CancelledError
from . import heap, inputs, inside, merge, phases, seams, store
from .executors import LocalExecutor
from .layout import Layout, add_sparse

DEFAULT_TILE = 1024


@dataclass(frozen=True)
class Spec:
    """Everything a tile task needs (picklable: it travels to Dask workers)."""

    dem: str
    layout: Layout
    geotransform: tuple
    wkt: str
    nodata: float | None
    rain_mm: float
    loss_mm: float
    min_depth: float = 0.05
    band: int = 1
    gap_cells: int = 0
    vectors: str | None = None
    landcover: bool = False
    water: bool = False
    buildings: bool = False
    n_buildings: int = 0
    top: float = 0.0
    n_basins: int = 0

    @property
    def cell_size(self) -> float:
        return abs(float(self.geotransform[1]))

    @property
    def gap_halo(self) -> int:
        return int(self.gap_cells) + int(np.ceil(np.sqrt(self.gap_cells))) + 4


@dataclass
class TiledResult:
    depth_path: str
    depressions_path: str
    table: list
    total_runoff_m3: float
    stored_m3: float
    spilled_out_m3: float
    facade: np.ndarray = field(default_factory=lambda: np.zeros(1))
    tiles: int = 0
    resumed_tiles: int = 0


def make_spec(
    dem: str, work_root: str, rain_mm: float, loss_mm: float, tile: int = DEFAULT_TILE, identity: str = "", **kw
) -> Spec:
    """Open the DEM (any GDAL raster) and choose the run's work folder: same inputs, same folder (resume).

    ``identity``: a digest of inputs the folder name cannot see otherwise (the vectors' content).
    """
    ds = gdal.Open(dem)
    try:
        band = ds.GetRasterBand(kw.get("band", 1))
        rows, cols, gt, wkt = ds.RasterYSize, ds.RasterXSize, tuple(ds.GetGeoTransform()), ds.GetProjection()
        nodata = band.GetNoDataValue() if "nodata" not in kw else kw.pop("nodata")
    finally:
        ds = None
    stat = os.stat(dem) if os.path.exists(dem) else None
    ident = {"dem": dem, "size": stat.st_size if stat else None, "mtime": stat.st_mtime if stat else None}
    ident.update(rain=rain_mm, loss=loss_mm, tile=tile, nodata=nodata, identity=identity)
    ident.update({k: v for k, v in kw.items() if k != "vectors"})
    if kw.get("vectors") and not identity:
        ident["vectors_sha"] = _sha256(kw["vectors"])
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]
    folder = os.path.join(work_root, digest)
    os.makedirs(folder, exist_ok=True)
    layout = Layout(rows, cols, int(tile), folder)
    return Spec(dem, layout, gt, wkt, nodata, float(rain_mm), float(loss_mm), **kw)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Run:
    """Progress over the phases (percent of the whole run), cancel checks, resume counts."""

    PHASES = (
        ("prepare", 15),
        ("label", 20),
        ("edges", 20),
        ("hang", 2),
        ("capacity", 10),
        ("inside", 5),
        ("collapse", 3),
        ("partial", 5),
        ("open", 2),
        ("output", 18),
    )

    def __init__(self, executor, progress, is_cancelled, log):
        self.executor = executor or LocalExecutor()
        self.progress = progress
        self.is_cancelled = is_cancelled or (lambda: False)
        self.log = log or (lambda message: None)
        self.base = 0.0

    def map(self, phase: str, fn, spec, tiles, *args, consume=None):
        """``fn`` over the tiles: their results (a list), or each handed to ``consume`` as it comes (not kept)."""
        weight = dict(self.PHASES)[phase]
        start = self.base

        def done(k: int, n: int) -> None:
            if self.progress:
                self.progress(start + weight * k / max(n, 1))

        def take(result) -> None:
            consume(result)
            store.release()  # what ``consume`` wrote into mapped arrays

        t0 = time.perf_counter()
        task = partial(store.released, fn)
        results = self.executor.map(task, spec, tiles, args, done, self.is_cancelled, None if consume is None else take)
        self.base = start + weight
        heap.trim()
        self.log(f"{phase}: {len(tiles)} tiles in {time.perf_counter() - t0:.1f} s ({store.memory()})")
        return results

    def quietly(self, fn, spec, tiles, *args) -> list:
        """``fn`` over the tiles without a progress step of its own (pages handed back after each tile)."""
        return self.executor.map(partial(store.released, fn), spec, tiles, args, None, self.is_cancelled)

    def mark(self, step: str) -> None:
        store.release()
        heap.trim()
        self.log(f"{step} (global) done ({store.memory()})")

    def check(self) -> None:
        if self.is_cancelled():
            raise CancelledError()


def run_tiled(
    spec: Spec,
    depth_path: str,
    depressions_path: str,
    executor=None,
    progress: Callable[[float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> TiledResult:
    """Run the screening of ``spec`` and write the depth and depression-id GeoTIFFs."""
    heap.large_arrays_unmapped()
    run = _Run(executor, progress, is_cancelled, log)
    phases.forget(spec)  # this process's copies of an earlier run's global arrays
    try:
        return _run(run, spec, depth_path, depressions_path)
    finally:  # unmapped: the work folder can then be removed (a mapped file keeps its disk space)
        phases.forget(spec)


def _run(run: _Run, spec: Spec, depth_path: str, depressions_path: str) -> TiledResult:
    lay = spec.layout
    tiles = list(range(lay.count))
    resumed = sum(lay.done("out", t, "npz") for t in tiles)
    if resumed:
        run.log(f"resuming: {resumed} of {len(tiles)} tiles already finished")
    spec = _prepare(run, spec, tiles)
    spec = _resolve(run, spec, tiles)
    g, basin_runoff, home = _graph(run, spec, tiles)
    capacity = store.scratch(spec, "capacity", g.level.size, np.float64)
    run.map("capacity", phases.capacity, spec, tiles, consume=partial(_add, capacity, "sums"))
    area = spec.cell_size**2
    store.scale(capacity, area)
    capacity[0] = 0.0
    total_runoff = sum(float(basin_runoff[s:e].sum()) for s, e in store.chunks(basin_runoff.size))
    slot = store.scratch(spec, "slot", g.level.size, np.int32, fill=-1)
    r, slot = routing.route(g, basin_runoff, capacity, compact=True, position=slot, release=store.release)
    del capacity  # the runoff is now r.leaf_water (+ the upstream spills), in place
    store.drop_scratch(spec, "capacity")
    g.dep_bottom = _dep_bottom(g, slot, r.order.size)
    run.mark("routing")
    run.check()
    leaf_level = _partial(run, spec, tiles, g, r, area, home)
    r.leaf_water = None  # used up by the partly filled depressions
    keep, new_id = routing.depression_ids(g, r.capacity, spec.min_depth, tops=np.sort(r.order))
    phases.publish(spec, "final", adopt=True, leaf_level=leaf_level, new_id=new_id)
    del new_id  # the tiles read it from the work folder
    cells = np.zeros(keep.size + 1)
    facade = np.zeros(spec.n_buildings + 1)

    def add_output(part: dict) -> None:
        add_sparse(cells, part["cell_ids"], part["cells"])
        if spec.buildings and part["facade_ids"].size:
            np.maximum.at(facade, part["facade_ids"], part["facade"])

    run.map("output", phases.output, spec, tiles, consume=add_output)
    run.check()
    inputs.mosaic(spec, "depth", depth_path)
    inputs.mosaic(spec, "dep", depressions_path)
    return TiledResult(
        depth_path=depth_path,
        depressions_path=depressions_path,
        table=routing.table(g, r, keep, leaf_level, cells.astype(np.int64), area),
        total_runoff_m3=total_runoff,
        stored_m3=float(r.stored.sum()),
        spilled_out_m3=r.spilled_out,
        facade=facade,
        tiles=len(tiles),
        resumed_tiles=resumed,
    )


def _dep_bottom(g, slot: np.ndarray, n_tops: int) -> routing.PerTop:
    """Lowest pit of each depression, kept at the tops only (the in-memory path's per-basin dep_bottom)."""
    bottom = np.full(n_tops, np.inf)
    for s, e in store.chunks(g.top.size):
        s = max(s, 1)
        np.minimum.at(bottom, slot[g.top[s:e]], g.pit_z[s:e])
        store.release()
    return routing.PerTop(slot, bottom)


def _add(total: np.ndarray, key: str, part: dict) -> None:
    add_sparse(total, part["ids"], part[key])


def _set(leaf_level: np.ndarray, part: dict) -> None:
    leaf_level[part["ids"]] = part["level"]


def _prepare(run: _Run, spec: Spec, tiles: list[int]) -> Spec:
    parts = run.map("prepare", phases.prepare, spec, tiles)
    zmax = max((float(p["zmax"]) for p in parts), default=-np.inf)
    spec = replace(spec, top=(zmax if np.isfinite(zmax) else 0.0) + 100.0)
    if spec.buildings:
        present = np.zeros(spec.n_buildings + 1, dtype=bool)
        for p in parts:
            present[p["present"]] = True
        missing = np.flatnonzero(~present[1:]) + 1
        if missing.size:
            run.quietly(phases.small_buildings, spec, tiles, missing)
        run.quietly(phases.close_pockets, spec, tiles)
    return spec


def _resolve(run: _Run, spec: Spec, tiles: list[int]) -> Spec:
    parts = [phases.LabelPart(spec.layout, p) for p in run.map("label", phases.label, spec, tiles)]
    if not store.saved(spec.layout, "nodes"):
        lay = spec.layout
        store.save(lay, "nodes", **merge.resolve(parts, lay.tile_cols, lay.tile * lay.cols))
    del parts
    return replace(spec, n_basins=int(phases.shared(spec, "nodes")["n_basins"]))


def _graph(run: _Run, spec: Spec, tiles: list[int]):
    basin_runoff = store.scratch(spec, "runoff", spec.n_basins + 1, np.float64)
    home = store.scratch(spec, "home", spec.n_basins + 1, np.int32, fill=-2)
    steiner: list[dict] = []

    def add(part: dict) -> None:  # runoff and home tiles as the tiles finish; only the Steiner edges are kept
        add_sparse(basin_runoff, part["runoff_ids"], part["runoff"])
        inside.mark_home(home, part["runoff_ids"], int(part["tile"]))
        steiner.append({"key": part["key"], "w": part["w"]})

    run.map("edges", phases.edges, spec, tiles, consume=add)
    inside.finish_home(home)
    store.release()
    pit_z = phases.shared(spec, "nodes")["pit_z"]
    if not store.saved(spec.layout, "graph"):
        alloc = partial(store.scratch, spec)
        arrays = merge.graph(
            steiner, pit_z, spec.n_basins, alloc, store.release
        )  # the parts' arrays are popped: empty dicts left
        run.mark(f"spill tree of {arrays['spine'].size} basins on the tiles' Steiner edges")
        _hang(run, spec, tiles, arrays)
        phases.publish(spec, "graph", adopt=True, **arrays)
        del arrays
    steiner.clear()
    run.mark("spill tree")
    g = merge.Graph(phases.shared(spec, "graph"))
    store.scale(basin_runoff, spec.cell_size**2)
    basin_runoff[0] = 0.0
    return g, basin_runoff, home


def _hang(run: _Run, spec: Spec, tiles: list[int], arrays: dict) -> None:
    """The basins hanging off each tile's boundary basins: their part of the spill tree, from their tile."""
    phases.publish(spec, "spine", level=arrays["level"], top=arrays["top"])
    seen = [arrays.pop("spine").size]

    def add(part: dict) -> None:
        ids = part["ids"]
        arrays["parent"][ids], arrays["edge_w"][ids] = part["parent"], part["edge_w"]
        arrays["level"][ids], arrays["top"][ids] = part["level"], part["top"]
        seen[0] += ids.size

    run.map("hang", phases.hang, spec, tiles, consume=add)
    seen = seen[0]
    phases.forget(spec, "spine")
    if seen != spec.n_basins + 1:
        raise RuntimeError(f"the spill tree reached {seen} of {spec.n_basins + 1} basins")


def _partial(run: _Run, spec: Spec, tiles: list[int], g, r, area: float, home: np.ndarray) -> np.ndarray:
    """Levels in partly filled depressions: those inside one tile per tile; the others over seams in a global
    merge tree of their seam basins and the tiles' collapsed interior sub-trees (seams.py), Newton passes over
    the tiles for the global pools, and per tile inside the partly filled collapsed sub-trees."""
    leaf_level = store.scratch(spec, "leaf_level", g.level.size, np.float64)
    for s, e in store.chunks(leaf_level.size):  # routing.full_leaf_levels, block by block
        top = np.asarray(g.top[s:e])
        leaf_level[s:e] = np.where(r.full[top], g.level[top], -np.inf)
        store.release()
    leaf_level[0] = -np.inf
    deps, own, own_home = inside.split_partial(g, routing.partial_depressions(r), home)
    water = phases.publish(spec, "water", adopt=True, leaf_water=r.leaf_water, home=home)  # files, not copies
    r.leaf_water = water["leaf_water"]
    del home
    phases.publish(spec, "inside_deps", deps=own, home=own_home, stored=r.stored[own])
    n = leaf_level.size
    run.map("inside", phases.inside_levels, spec, tiles, consume=lambda part: _set(leaf_level, part))
    phases.forget(spec, "inside_deps")
    run.mark(f"{own.size} partly filled depressions inside a tile")
    if not deps.size:
        run.base += sum(dict(run.PHASES)[p] for p in ("collapse", "partial", "open"))
        return leaf_level
    phases.publish(spec, "seam_plan", **seams.plan(g, deps, water["home"], store.release))
    run.mark(f"plan of {deps.size} partly filled depressions over seams")
    seam_water = r.leaf_water[phases.shared(spec, "seam_plan")["seam"]]
    r.leaf_water = None  # what is left of it: the plan's interior basins and the seam basins
    run.map("collapse", phases.seam_collapse, spec, tiles)
    parts = [seams.SavedPart(spec.layout, t) for t in tiles]
    st = seams.SeamTree(spec, g, phases.shared(spec, "seam_plan"), parts, deps)
    del parts
    phases.forget(spec, "seam_plan")  # the tiles saved their part of it with their local trees
    phases.publish(spec, "seam_tree", **st.shared())
    run.mark(f"merge tree of {deps.size} partly filled depressions over seams built ({st.n} leaves)")

    def add_climb(part: dict) -> None:
        add_sparse(st.count, part["ids"], part["count"])
        add_sparse(st.zsum, part["ids"], part["zsum"])

    run.map("partial", phases.seam_climb, spec, tiles, consume=add_climb)
    phases.forget(spec, "seam_climber")
    store.release()
    st.unpark()
    pool_of, pool_vol, wl, partial, opened = st.solve(seam_water, r.stored, area)
    w_top, st.tree = st.tree.w_top, None  # (mapped) the rest of the tree is used up
    ids = np.flatnonzero(partial)
    target = pool_vol[ids] / area
    del pool_vol
    run.mark(f"merge tree of {deps.size} partly filled depressions over seams ({st.n} leaves)")
    pool_of_basin = store.scratch(spec, "pool_of_basin", n, np.int32)
    for s, e in store.chunks(n):
        pool_of_basin[s:e] = pool_of[st.gleaf[s:e]]
        store.release()
    if ids.size:
        wl = _newton(run, spec, tiles, pool_of_basin, w_top, partial, (ids, target), wl)
    for s, e in store.chunks(n):
        member = st.gleaf[s:e] > 0
        leaf_level[s:e][member] = wl[pool_of_basin[s:e][member]]
        store.release()
    del pool_of_basin
    store.drop_scratch(spec, "pool_of_basin")
    phases.publish(spec, "seam_open", **opened)
    run.map("open", phases.seam_levels, spec, tiles, consume=lambda part: _set(leaf_level, part))
    phases.forget(spec, "seam_tree", "seam_open")
    return leaf_level


def _newton(run: _Run, spec: Spec, tiles, pool_of_basin, w_top, partial, goal: tuple, wl) -> np.ndarray:
    """Levels of the partly filled global pools: Newton passes over the tiles (the pools' cells per tile).
    ``goal``: (the partial pools' node ids, their water in cells x m)."""
    phases.publish(spec, "pools", pool_of_leaf=pool_of_basin, w_top=w_top, partial=partial)
    run.quietly(phases.collect_pools, spec, tiles)
    ids, target = goal
    h = w_top[ids].astype(np.float64)
    for _ in range(200):
        run.check()
        count, zsum = np.zeros(ids.size), np.zeros(ids.size)
        for c, s in run.quietly(phases.newton, spec, tiles, h):
            count += c
            zsum += s
        h, converged = routing.newton_update(h, target, count, zsum)
        if converged:
            break
    wl[ids] = h
    phases.forget(spec, "pools", "pool_index")
    run.mark(f"water levels of {ids.size} pools")
    return wl
