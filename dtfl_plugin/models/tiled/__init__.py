"""Tiled, bounded-memory bathtub screening (fill-spill-merge in tiles, a small global graph in between).

See engine.py for the method; phases.py holds the per-tile steps that run locally or as Dask tasks.
"""
