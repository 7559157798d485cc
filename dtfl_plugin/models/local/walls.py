"""Buildings as walls: footprints closed over the slivers their rasterisation leaves between them (qgis-free).

Two footprints that touch on the ground rasterise with gaps of a cell or two between them; such a pocket is
enclosed by walls on every side, so the runoff of the roofs around it collects there and a facade shows metres of
water that no street has. A pocket of terrain cells (valid DEM, no nodata) of at most ``max_cells`` that is
enclosed by footprints joins the footprint next to it. Pockets touching the grid edge or nodata keep draining.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

POCKET_M2 = 5.0  # smaller than any courtyard or patio that drains on its own
_EIGHT = np.ones((3, 3), dtype=bool)


def pocket_cells(cell_size: float) -> int:
    return max(int(POCKET_M2 / (cell_size * cell_size)), 1)


def close_pockets(
    foot: np.ndarray, valid: np.ndarray, max_cells: int, open_mask: np.ndarray | None = None
) -> np.ndarray:
    """``foot`` (building id per cell, 0 = none) with enclosed terrain pockets given a neighbouring building's id.

    ``valid``: cells with terrain (not nodata, not open water). ``open_mask``: cells beyond the grid in a
    tile's window (a pocket reaching them is open). Pure within ``max_cells`` + 2 cells of a pocket, so a tile
    with that halo gets the same answer as the whole grid.
    """
    free = foot == 0
    labels, count = ndimage.label(free, structure=_EIGHT)
    if count == 0:
        return foot
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    pocket = sizes <= max_cells
    pocket[0] = False
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    pocket[edge] = False
    if open_mask is not None:
        pocket[labels[open_mask & free]] = False
    pocket[labels[free & ~valid]] = False  # a pocket with nodata drains there already
    cells = pocket[labels]
    if not cells.any():
        return foot
    out = foot.copy()
    todo = cells.copy()
    while todo.any():  # grow the neighbouring buildings' ids into the pocket, ring by ring
        grown = ndimage.maximum_filter(out, size=3)
        take = todo & (grown > 0)
        if not take.any():
            break
        out[take] = grown[take]
        todo &= ~take
    return out
