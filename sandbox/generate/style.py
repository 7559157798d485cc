"""Mapbox GL style of the BGT vector tiles (what PDOK publishes next to its OGC API Tiles), per start."""

from __future__ import annotations

import json
from pathlib import Path

from ..datasets import TILES_STYLE
from . import palette

TILES_PATH = "/collections/bgt/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt"


def style_url(endpoints: dict) -> str:
    return f"{endpoints['files']}/styles/{TILES_STYLE}.json"


def _fill(layer: str, colour: str, outline: str, filt: list | None = None, suffix: str = "") -> dict:
    out = {"id": layer + suffix, "type": "fill", "source": "bgt", "source-layer": layer,
           "paint": {"fill-color": colour, "fill-outline-color": outline}}  # fmt: skip
    if filt:
        out["filter"] = filt
    return out


def _categorised(layer: str, field: str, colours: dict, outline: str) -> list[dict]:
    """One style layer per value (filters, not `match` expressions: QGIS 3.22's converter reads filters only)."""
    out = [_fill(layer, palette.OTHER, outline, ["!in", field, *colours], "-overig")]
    for value, colour in colours.items():
        out.append(_fill(layer, colour, outline, ["==", field, value], "-" + value.replace(" ", "-")))
    return out


def style(endpoints: dict) -> dict:
    return {
        "version": 8,
        "name": "BGT standaardvisualisatie (sandbox)",
        "sources": {
            "bgt": {
                "type": "vector",
                "tiles": [endpoints["ogcapi"] + TILES_PATH],
                "minzoom": 13,
                "maxzoom": 18,
                "attribution": "Kadaster, BGT (CC0)",
            }
        },
        "layers": [
            {"id": "achtergrond", "type": "background", "paint": {"background-color": "#ffffff"}},
            *_categorised("bgt_begroeidterreindeel", "class", palette.GROEN, palette.GROEN_OUTLINE),
            _fill("bgt_waterdeel", palette.WATER[0], palette.WATER[1]),
            *_categorised("bgt_wegdeel", "function", palette.WEG, palette.WEG_OUTLINE),
            _fill("bgt_pand", palette.PAND[0], palette.PAND[1]),
        ],
    }


def write_style(folder: Path, endpoints: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TILES_STYLE}.json"
    path.write_text(json.dumps(style(endpoints), indent=1))
    return path
