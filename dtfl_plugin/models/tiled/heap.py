"""The C heap of a long tiled run: freed per-basin arrays go back to the operating system.

glibc serves blocks under its mmap threshold from the heap, and raises that threshold (up to 32 MB) each time a
mapped block is freed: after the first global step every per-basin array of a 10^8-cell run (4-32 MB) lands on
the heap, and the holes the freed ones leave keep the process's memory high. A fixed 1 MB threshold keeps such
arrays in their own mappings (freed = returned at once); ``trim`` hands back what free heap pages remain.
Elsewhere (other C libraries, Windows, macOS) both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_THRESHOLD = 1 << 20


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


def large_arrays_unmapped() -> None:
    """Blocks of 1 MB and more in mappings of their own (process-wide, harmless for QGIS: fewer, larger blocks)."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)
        _LIBC.mallopt(_M_TRIM_THRESHOLD, _THRESHOLD)


def trim() -> None:
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
