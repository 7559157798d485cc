"""Runoff coefficients from BGT land cover (qgis-free: plain attribute dictionaries in, a class out).

A feature is classified from its attributes, first match wins:
1. a numeric field ``runoff_coeff`` (0..1): used as given (class ``custom``);
2. a BGT ``pand`` (a field ``identificatiebagpnd``, or a layer name containing "pand"): ``roof``;
3. ``surfacematerial`` / ``fysiekvoorkomen`` / ``bgt_fysiekvoorkomen`` (wegdeel, ondersteunendwegdeel,
   onbegroeidterreindeel, overbruggingsdeel): "gesloten verharding" -> ``paved``, "open verharding" ->
   ``open_paved``, "half verhard" -> ``semi_paved``, "onverhard" / "zand" -> ``unpaved``;
4. ``class`` / ``bgt_type`` of waterdeel (waterloop, watervlakte, zee, greppel, ...) -> ``water``;
   of begroeidterreindeel (groenvoorziening, grasland, bos, ...) -> ``green``; of onbegroeidterreindeel
   ("erf" -> ``semi_paved``);
5. the layer name: "waterdeel" -> ``water``, "begroeid" -> ``green``, "wegdeel" -> ``paved``.
Anything else is not classified and keeps the default (1.0: all rain runs off, the cautious choice).
Features with ``relatievehoogteligging`` other than 0 (bridges, tunnels) are skipped: they are not the ground.

``water`` is not a coefficient: open water swallows the water that reaches it (an outlet, like the grid edge).
"""

from __future__ import annotations

COEFFICIENTS: dict[str, float] = {
    "roof": 1.0,
    "paved": 1.0,
    "open_paved": 0.8,
    "semi_paved": 0.5,
    "unpaved": 0.3,
    "green": 0.3,
}
WATER = "water"
DEFAULT_COEFFICIENT = 1.0
# Burn order: later classes win where polygons overlap (water last: an outlet stays an outlet).
PRIORITY = ("custom", "green", "unpaved", "semi_paved", "open_paved", "paved", "roof", WATER)

_SURFACE = {
    "gesloten verharding": "paved",
    "open verharding": "open_paved",
    "half verhard": "semi_paved",
    "onverhard": "unpaved",
    "zand": "unpaved",
}
_WATER_CLASSES = {"waterloop", "watervlakte", "zee", "greppel, droge sloot", "greppel", "droge sloot", "havenbekken"}
_GREEN_PREFIXES = (
    "groenvoorziening",
    "grasland",
    "bos",
    "struiken",
    "houtwal",
    "heide",
    "moeras",
    "rietland",
    "fruitteelt",
    "boomteelt",
    "bouwland",
    "kwelder",
    "duin",
    "loofbos",
    "naaldbos",
    "gemengd bos",
)


def _text(value) -> str:
    return str(value).strip().lower() if value is not None else ""


def classify(attributes: dict, layer_name: str = "") -> tuple[str, float] | None:
    """(class, runoff coefficient) of one feature, or None when it cannot be classified."""
    attrs = {str(k).lower(): v for k, v in attributes.items()}
    height = attrs.get("relatievehoogteligging")
    if height not in (None, "", 0, "0") and _text(height) not in ("null", "none"):
        try:
            if int(height) != 0:
                return None
        except (TypeError, ValueError):
            pass
    value = attrs.get("runoff_coeff")
    if value is not None and _text(value) not in ("", "null", "none"):
        try:
            coeff = float(value)
        except (TypeError, ValueError):
            coeff = None
        if coeff is not None and 0.0 <= coeff <= 1.0:
            return "custom", coeff
    name = layer_name.lower()
    if "identificatiebagpnd" in attrs or "pand" in name:
        return "roof", COEFFICIENTS["roof"]
    for key in ("surfacematerial", "fysiekvoorkomen", "bgt_fysiekvoorkomen"):
        cls = _SURFACE.get(_text(attrs.get(key)))
        if cls:
            return cls, COEFFICIENTS[cls]
    for key in ("class", "bgt_type", "type"):
        text = _text(attrs.get(key))
        if not text:
            continue
        if text in _WATER_CLASSES:
            return WATER, 0.0
        if text.startswith(_GREEN_PREFIXES):
            return "green", COEFFICIENTS["green"]
        if text == "erf":
            return "semi_paved", COEFFICIENTS["semi_paved"]
        if text in _SURFACE:
            cls = _SURFACE[text]
            return cls, COEFFICIENTS[cls]
    if "waterdeel" in name:
        return WATER, 0.0
    if "begroeid" in name and "onbegroeid" not in name:
        return "green", COEFFICIENTS["green"]
    if "wegdeel" in name:
        return "paved", COEFFICIENTS["paved"]
    return None
