"""index.html: the page's structure, texts, legends and the provenance panel, written as plain HTML.

The provenance panel and the legends are HTML, not drawn by script: a screen reader, a search engine and a
browser without WebGL all read them. Every value from the project is escaped.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from .licences import plain_licence
from .origin import LayerOrigin
from .text import PageText

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; child-src blob:; font-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def _e(value) -> str:
    return escape(str(value if value is not None else ""), quote=True)


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{_e(colour)}" aria-hidden="true"></span>'


def _legend(site: dict, text: PageText) -> str:
    rows = []
    for layer in site["layers"]:
        checked = " checked" if layer["visible"] else ""
        scenario = f' data-scenario="{_e(layer["scenario"])}"' if layer.get("scenario") else ""
        legend = layer["legend"]
        single = len(legend) == 1 and legend[0]["label"] == layer["name"]  # one symbol: its swatch by the name
        swatch = _swatch(legend[0]["colour"]) if single else ""
        items = "" if single else "".join(f"<li>{_swatch(i['colour'])}{_e(i['label'])}</li>" for i in legend[:12])
        rows.append(
            f'<li class="legend-layer"{scenario}><label><input type="checkbox" data-layer="{_e(layer["id"])}"{checked}> '
            f"{swatch}{_e(layer['name'])}</label>"
            + (f'<ul class="legend-items">{items}</ul>' if items else "")
            + "</li>"
        )
    return f'<ul class="legend">{"".join(rows)}</ul>' if rows else f"<p>{_e(text.tr('No map layers.'))}</p>"


def _scenario_switch(site: dict, text: PageText) -> str:
    scenarios = site["scenarios"]
    if len(scenarios) < 2:
        label = scenarios[0]["label"] if scenarios else ""
        return f'<p class="scenario-one">{_e(text.tr("Scenario"))}: {_e(label)}</p>' if label else ""
    options = "".join(
        f'<label class="scenario-option"><input type="radio" name="scenario" value="{_e(s["id"])}"'
        f"{' checked' if i == 0 else ''}> {_e(s['label'])}</label>"
        for i, s in enumerate(scenarios)
    )
    return f'<fieldset id="scenario-switch"><legend>{_e(text.tr("Compare scenarios"))}</legend>{options}</fieldset>'


def _dl(rows: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows if v) + "</dl>"


def _summary(origin: LayerOrigin, text: PageText) -> str:
    """One line a resident reads first: who made it, or which model calculated it from what."""
    owners = ", ".join(dict.fromkeys(s.organisation for s in origin.sources if s.organisation))
    if origin.runs:
        last = origin.runs[-1]
        line = text.tr("Calculated by the model “{model}” on {date}.").format(
            model=last.name, date=text.date(last.date)
        )
        return line + (" " + text.tr("From data of {owners}.").format(owners=owners) if owners else "")
    return text.tr("Data of {owners}.").format(owners=owners) if owners else text.tr("The maker is not stated.")


def _origin_article(origin: LayerOrigin, text: PageText, first: bool) -> str:
    parts = [
        f'<details class="origin" data-layer="{_e(origin.layer_id)}"{" open" if first else ""}>'
        f'<summary><h3>{_e(origin.name)}</h3><p class="summary">{_e(_summary(origin, text))}</p></summary>'
    ]
    for source in origin.sources:
        parts.append(f"<h4>{_e(text.tr('Source'))}: {_e(source.title)}</h4>")
        parts.append(_dl([
            (text.tr("Organisation"), source.organisation or text.tr("not stated")),
            (text.tr("Licence"), plain_licence(source.licence, text)),
            (text.tr("Retrieved on"), text.date(source.date)),
            (text.tr("Where"), source.location),
        ]))  # fmt: skip
    for run in origin.runs:
        heading = text.tr("Model run: {model} ({date})").format(model=run.name, date=text.date(run.date))
        parts.append(f'<h4 class="run">{_e(heading)}</h4>')
        if run.remote:
            parts.append(f"<p>{_e(text.tr('Run on the model server {server}.').format(server=run.remote))}</p>")
        if run.parameters:
            parts.append(f"<p>{_e(text.tr('Settings of this run:'))}</p>" + _dl(run.parameters))
    parts.append("</details>")
    return "".join(parts)


def _recipe_section(recipe: dict, text: PageText) -> str:
    if not recipe:
        return f"<p>{_e(text.tr('This twin is not packaged as a recipe.'))}</p>"
    return (
        f'<div class="recipe" data-status="{_e(recipe["status"])}">'
        + _dl([(text.tr("Recipe"), recipe["id"]), (text.tr("Signature"), recipe["message"])])
        + "</div>"
    )


def _origin_panel(origins: list[LayerOrigin], published: set[str], recipe: dict, text: PageText) -> str:
    intro = text.tr(
        "Every layer on this page comes from open data or was calculated from it. Here you can see per layer who "
        "made the data, under which licence, when it was retrieved, and which calculation was done with which settings."
    )
    shown = [o for o in origins if o.layer_id in published]
    articles = "".join(_origin_article(o, text, i == 0) for i, o in enumerate(shown))
    return (
        f'<section id="view-origin" class="view" role="tabpanel" aria-labelledby="tab-origin" hidden>'
        f'<h2 id="h-origin">{_e(text.tr("Where does this come from?"))}</h2><p>{_e(intro)}</p>'
        f"<h3>{_e(text.tr('The recipe'))}</h3>{_recipe_section(recipe, text)}{articles}</section>"
    )


def _facade_legend(site: dict, text: PageText) -> str:
    """The colours of the buildings in 3D, when the twin has per-building model values."""
    classes = site["scene"].get("facade_classes", [])
    if not site["scene"].get("scenario_fields") or not classes:
        return ""
    rows, lower = [], 0.0
    for upper, colour in classes:
        if lower == 0.0:
            label = text.tr("dry (less than {n} cm)").format(n=round(upper * 100))
        elif upper is None:
            label = text.tr("more than {n} cm").format(n=round(lower * 100))
        else:
            label = text.tr("{a} to {b} cm").format(a=round(lower * 100), b=round(upper * 100))
        rows.append(f"<li>{_swatch(colour)}{_e(label)}</li>")
        lower = upper or lower
    title = text.tr("Water against the facade")
    return f'<div class="facade-legend"><h4>{_e(title)}</h4><ul class="legend-items">{"".join(rows)}</ul></div>'


def _building_list(site: dict, strings: dict) -> str:
    """The keyboard and screen-reader way to the buildings a model run has values for (filled by view3d.js)."""
    if not site["scene"].get("scenario_fields"):
        return ""
    return f'<h3>{_e(strings["buildingsWithWater"])}</h3><div id="building-list"></div>'


def _alt_3d(site: dict, text: PageText) -> str:
    scene = site["scene"]
    return text.tr(
        "3D view of the area ({width} by {height} m): the ground from the height model, buildings at their height, "
        "and water on the ground for the chosen scenario. A list of the buildings follows below the view."
    ).format(width=round(scene["width"]), height=round(scene["height"]))


def _tab(key: str, label: str, selected: bool) -> str:
    state = 'aria-selected="true"' if selected else 'aria-selected="false" tabindex="-1"'
    return f'<button role="tab" id="tab-{key}" aria-controls="view-{key}" {state}>{_e(label)}</button>'


def write_index(path: Path, site: dict, origins, scenarios, recipe: dict, text: PageText, snap) -> None:
    published = {layer["id"] for layer in site["layers"]}
    strings = {
        "building": text.tr("Building"), "facade": text.tr("Water against the facade"), "none": text.tr("no water against the facade"),
        "select": text.tr("Select a building (click it, or use the list below) to see its details."),
        "noWebgl": text.tr("Your browser cannot show the 3D view (WebGL is off). The map and the provenance panel still work."),
        "fileUrl": text.tr("Open this page through a web server (for example: python3 -m http.server in this folder), not as a file."),
        "dry": text.tr("dry"), "m": text.tr("m"), "scenario": text.tr("Scenario"), "buildingsWithWater": text.tr("Buildings with water against the facade"),
        "noBuildings": text.tr("No building has water against the facade in this scenario."), "show": text.tr("Show"),
    }  # fmt: skip
    tabs = [("map", text.tr("Map")), ("3d", text.tr("3D view")), ("origin", text.tr("Where does this come from?"))]
    tab_html = "".join(_tab(key, label, i == 0) for i, (key, label) in enumerate(tabs))
    strings_json = json.dumps(strings, ensure_ascii=False).replace("</", "<\\/")
    html = f"""<!doctype html>
<html lang="{_e(site["lang"])}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{_e(site["title"])}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="static/vendor/maplibre-gl.css">
<link rel="stylesheet" href="static/site.css">
</head>
<body data-view="map">
<a class="skip" href="#main">{_e(text.tr("Skip to the content"))}</a>
<header>
<h1>{_e(site["title"])}</h1>
<p class="lead">{_e(text.tr("A digital twin of your neighbourhood: the map, the 3D view with the water after heavy rain, and where every piece of data comes from."))}</p>
<nav aria-label="{_e(text.tr("Views"))}"><div role="tablist" aria-label="{_e(text.tr("Views"))}">{tab_html}</div></nav>
</header>
<main id="main">
<div id="notice" role="alert" hidden></div>
<div class="scenario-bar">{_scenario_switch(site, text)}</div>
<section id="view-map" class="view" role="tabpanel" aria-labelledby="tab-map">
<h2 id="h-map" class="visually-hidden">{_e(text.tr("Map"))}</h2>
<div class="map-wrap"><div id="map" role="region" aria-label="{_e(text.tr("Map of the area; use the arrow keys to move and + or - to zoom"))}" tabindex="0"></div>
<aside class="panel" aria-labelledby="h-legend"><h3 id="h-legend">{_e(text.tr("Legend"))}</h3>{_legend(site, text)}</aside></div>
</section>
<section id="view-3d" class="view" role="tabpanel" aria-labelledby="tab-3d" hidden>
<h2 id="h-3d" class="visually-hidden">{_e(text.tr("3D view"))}</h2>
<div class="scene-wrap"><div id="scene" role="img" tabindex="0" aria-label="{_e(_alt_3d(site, text))}"></div>
<aside class="panel" aria-labelledby="h-building"><h3 id="h-building">{_e(text.tr("Building"))}</h3>{_facade_legend(site, text)}<div id="building-info" aria-live="polite"><p>{_e(strings["select"])}</p></div></aside></div>
<p class="help">{_e(text.tr("Drag to turn the view, scroll to zoom. Keyboard: arrow keys turn, + and - zoom."))}</p>
{_building_list(site, strings)}
</section>
{_origin_panel(origins, published, recipe, text)}
</main>
<footer>
<p>{_e(text.tr("Made with DTFL for QGIS. Map: MapLibre GL JS (BSD-3-Clause); 3D: three.js (MIT). This page works without internet: all data are in this folder."))}</p>
</footer>
<script id="strings" type="application/json">{strings_json}</script>
<script src="static/vendor/maplibre-gl.js"></script>
<script src="static/vendor/three.min.js"></script>
<script src="static/app.js"></script>
<script src="static/view3d.js"></script>
</body>
</html>
"""
    path.write_text(html, encoding="utf-8")
