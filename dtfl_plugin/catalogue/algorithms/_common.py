"""Shared by the catalogue algorithms (parameter handling only; the work is in catalogue/)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def opened_index(path: str) -> Iterator:
    """The catalogue index at ``path``, closed afterwards; empty path: the person's own catalogue, which stays
    open (the dock and the locator share it)."""
    from ..index import CatalogueIndex, default_index

    index = CatalogueIndex(path) if path else default_index()
    try:
        yield index
    finally:
        if path:
            index.close()
