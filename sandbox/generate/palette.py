"""Colours of the sandbox's BGT styles (after the BGT standaardvisualisatie): one palette for the QGIS
project (WMS/WMTS) and the Mapbox GL style of the vector tiles. No imports: qgis_project.py, which runs as a
script in Debian's Python, imports it as a sibling module."""

PAND = ("#f0d8cc", "#a07868")  # fill, outline
WATER = ("#a8d0ee", "#5a96c8")
WEG = {
    "rijbaan lokale weg": "#d4d4d4",
    "parkeervlak": "#e4e4e4",
    "voetpad": "#efe4d6",
    "voetpad op trap": "#e2cfbb",
    "voetgangersgebied": "#ece0d0",
}
WEG_OUTLINE = "#9a9a9a"
GROEN = {"groenvoorziening": "#b9dd9e", "grasland overig": "#cce8b0", "struiken": "#9cc887"}
GROEN_OUTLINE = "#7daa62"
OTHER = "#dddddd"
