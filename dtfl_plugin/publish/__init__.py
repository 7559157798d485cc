"""Publish the twin for residents: a self-contained static web site (2D map, 3D view, provenance panel).

Core room: no qgis.gui, no iface. ``snapshot`` reads the project on the main thread; ``site.publish`` does the
work (in a Processing thread) and writes ``index.html`` + ``data/`` + the vendored libraries in ``static/vendor``
(MapLibre GL JS for 2D, three.js for 3D; see static/vendor/VENDOR.md and docs for the choice).
"""
