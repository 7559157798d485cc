"""The run's global arrays (one value per basin, per depression or per tree node) in the work folder, mapped.

A 10^9-cell run has ~4 * 10^7 basins: every per-basin array is 160-320 MB, and the run needs a dozen of them at
one time or another, but each step reads only two or three. Held in the process they add up (about 55 bytes a
basin); mapped from the work folder, each step has in memory only the pages it touches, and ``release`` hands
them back after each tile and each global step. The data stay in files (the operating system may cache them, and
can drop them again: they are clean file pages, not the process's memory); Dask workers on one machine share
those pages instead of loading a copy each.

Names: ``publish``/``shared`` (read-only, any worker), ``scratch`` (a writable array of the engine's own).
"""

from __future__ import annotations

import json
import mmap
import os

import numpy as np

from . import heap
from .layout import save_atomic

_MAPPED_FROM = 1 << 20  # smaller arrays are read into memory: a mapping each would cost more than it saves
_CACHE: dict = {}
_SCRATCH: dict = {}
_ADOPTED: dict = {}


def _folder(lay, name: str) -> str:
    return lay.path(name, None, "arrays")


def saved(lay, name: str) -> bool:
    """Whether ``name`` was saved whole (the index is written last)."""
    return os.path.exists(os.path.join(_folder(lay, name), "index.json"))


def save(lay, name: str, adopt: bool = False, **arrays) -> None:
    """Each array as its own .npy file (atomically), then the index: a stopped run never sees half a set.
    ``adopt``: scratch arrays given whole become the files (renamed, not copied; no longer scratch)."""
    folder = _folder(lay, name)
    os.makedirs(folder, exist_ok=True)
    for key, value in arrays.items():
        path = os.path.join(folder, f"{key}.npy")
        if adopt and _adopt(lay, value, path):
            continue
        value = np.asarray(value)
        save_atomic(path, lambda f, v=value: np.save(f, v, allow_pickle=False))
    save_atomic(os.path.join(folder, "index.json"), lambda f: f.write(json.dumps(sorted(arrays)).encode()))


def _adopt(lay, value, path: str) -> bool:
    """A whole scratch array of this run becomes the saved file itself (renamed, not copied)."""
    for key, scratch_array in list(_SCRATCH.items()):
        if key[0] == lay.folder and scratch_array is value:
            value.flush()
            try:
                os.replace(lay.path(f"scratch_{key[1]}"), path)
            except OSError:  # Windows: a mapped file cannot be renamed; it is copied instead
                return False
            _ADOPTED[key] = _SCRATCH.pop(key)  # the engine may still hold it: its pages are handed back too
            return True
    return False


def load(lay, name: str) -> dict:
    folder = _folder(lay, name)
    with open(os.path.join(folder, "index.json"), encoding="utf-8") as f:
        keys = json.load(f)
    out = {}
    for key in keys:
        path = os.path.join(folder, f"{key}.npy")
        big = os.path.getsize(path) >= _MAPPED_FROM
        out[key] = np.load(path, mmap_mode="r" if big else None, allow_pickle=False)
    return out


def shared(spec, name: str) -> dict:
    """The global arrays ``name`` of the run, mapped once per process (engine and local tiles share them)."""
    key = (spec.layout.folder, name)
    if key not in _CACHE:
        _CACHE[key] = load(spec.layout, name)
    return _CACHE[key]


def publish(spec, name: str, adopt: bool = False, **arrays) -> dict:
    """Save global arrays for the tiles (any worker) and map them here: returns the mapped arrays. The
    caller drops its own copies (``del``) so that only the files hold them."""
    save(spec.layout, name, adopt, **arrays)
    arrays.clear()
    _CACHE.pop((spec.layout.folder, name), None)
    return shared(spec, name)


def forget(spec, *names: str) -> None:
    """Drop this process's mappings of this run (all of them when no name is given; other runs keep theirs)."""
    for cache in (_CACHE, _SCRATCH, _ADOPTED):
        for key in list(cache):
            if key[0] == spec.layout.folder and (not names or key[1] in names):
                del cache[key]


def scratch(spec, name: str, size: int, dtype, fill=0) -> np.ndarray:
    """A writable per-basin (or per-node) array of the engine in the work folder, filled with ``fill``."""
    path = spec.layout.path(f"scratch_{name}")
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(int(size),))
    if fill != 0:
        for s in range(0, out.size, _CHUNK):
            out[s : s + _CHUNK] = fill
            release_array(out)
    _SCRATCH[(spec.layout.folder, name)] = out
    return out


def drop_scratch(spec, name: str) -> None:
    out = _SCRATCH.pop((spec.layout.folder, name), None)
    path = spec.layout.path(f"scratch_{name}")
    del out
    try:
        os.remove(path)
    except OSError:  # gone already, or (Windows) still mapped by a caller: it goes with the work folder
        pass


_CHUNK = 1 << 20  # items per block when a whole array is walked (1 M: 4-8 MB, and its temporaries)


def chunks(size: int):
    """(start, stop) blocks over ``size`` items: whole-array steps walk mapped arrays block by block."""
    for s in range(0, int(size), _CHUNK):
        yield s, min(s + _CHUNK, int(size))


def release_array(a) -> None:
    """Hand the pages of one mapped array back (its data stay in the file)."""
    m = getattr(a, "_mmap", None)
    if m is not None and not getattr(m, "closed", False) and hasattr(m, "madvise"):
        m.madvise(mmap.MADV_DONTNEED)


def release_arrays(arrays) -> None:
    for a in arrays:
        release_array(a)


def release() -> None:
    """Hand back every mapped page this process touched (after a tile, after a global step)."""
    for cache in (_CACHE,):
        for arrays in cache.values():
            if isinstance(arrays, dict):
                for a in arrays.values():
                    release_array(a)
    for a in (*_SCRATCH.values(), *_ADOPTED.values()):
        release_array(a)


def released(fn, spec, t: int, *args):
    """``fn(spec, t, *args)``, then its pages handed back (a module-level function: Dask pickles it)."""
    try:
        return fn(spec, t, *args)
    finally:
        release()
        heap.trim()  # a tile's freed temporaries leave holes in the C heap: handed back before the next one


def scale(a: np.ndarray, factor: float) -> None:
    """``a *= factor`` block by block (a mapped array: its pages handed back as it goes)."""
    for s, e in chunks(a.size):
        a[s:e] *= factor
        release_array(a)


def memory() -> str:
    """Peak so far and, where /proc tells it, the resident memory now (what a step holds for the next ones)."""
    try:
        import resource  # not on Windows
    except ImportError:
        return "memory: not measured on this platform"
    text = f"peak memory so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    try:
        with open("/proc/self/statm") as f:
            return f"{text}, now {int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20:.0f} MB"
    except (OSError, ValueError, IndexError):
        return text
