"""The published twin in real headless Chromium (Debian's), served on loopback with every other host unreachable.

Screenshots (test-output/publish/): the 2D map, the 3D view after a scenario switch and a click on a building, the
provenance panel, and the page on a phone. Each is checked for content (not blank), the console for errors, and the
request log for any host but 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.publish_support.browser import chromium, chromium_path, serve

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "publish"
pytestmark = [
    pytest.mark.skipif(
        chromium_path() is None, reason="Debian's chromium is not installed (scripts/setup.sh installs it)"
    ),
    pytest.mark.timeout(300),
]


def _rich(png: bytes, min_colours: int = 24) -> bool:
    """An image with real content: many distinct colours, not one flat fill."""
    from qgis.PyQt.QtGui import QImage

    image = QImage.fromData(png).scaled(160, 120)
    colours = {image.pixel(x, y) for x in range(image.width()) for y in range(image.height())}
    return len(colours) >= min_colours


def _no_errors_and_only_loopback(page) -> None:
    """Nothing on the console, and no request to any host but the loopback server."""
    assert page.errors == []
    hosts = {url.split("/")[2] for url in page.requests if url.startswith(("http://", "https://"))}
    assert hosts and all(h.startswith("127.0.0.1:") for h in hosts), hosts
    assert not [u for u in page.requests if u.startswith(("ws:", "wss:", "ftp:"))]


@pytest.fixture(scope="module")
def site_browser(published_site):
    folder, _ = published_site
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(folder) as base, chromium() as browser:
        yield browser, base, folder


@pytest.fixture(scope="module")
def browser_page(site_browser):
    browser, base, folder = site_browser
    page = browser.open(base + "index.html")
    page.page.wait_for_selector("body[data-map=ready]", state="attached", timeout=90000)
    return page, folder


def test_map(browser_page):
    page, _ = browser_page
    shot = page.page.locator("#map").screenshot()
    (SHOTS / "map.png").write_bytes(page.page.screenshot())
    assert _rich(shot)
    # the legend lists the layers in plain words; the flood layer of the first scenario only
    legend = page.page.inner_text(".legend")
    assert "Waterdiepte T100" in legend and "0.15 m" in legend
    assert not page.page.is_visible("text=Waterdiepte T1000 (screening)")
    _no_errors_and_only_loopback(page)


def test_scenario_switch_and_building(browser_page, publish_twin):
    page, folder = browser_page
    p = page.page
    p.click("#tab-3d")
    p.wait_for_selector("body[data-scene=ready]", state="attached", timeout=90000)
    assert _rich(p.locator("#scene").screenshot())
    before = p.locator("#scene").screenshot()
    list_t100 = p.inner_text("#building-list")
    p.click("text=160 mm in 2 uur")  # the scenario switch, as a person clicks it
    assert p.evaluate("DTFL.scenario") == "s3"
    assert p.locator("#scene").screenshot() != before  # the water and the facade colours changed
    assert p.inner_text("#building-list") != list_t100
    assert p.is_visible("text=Waterdiepte T1000 (screening)") is False  # map tab hidden, legend follows scenario
    # click a wet building where it is drawn on screen
    count = p.evaluate("DTFL.view3d.count()")
    wet = [i for i in range(count) if (p.evaluate(f"DTFL.view3d.facade({i})") or 0) > 0.05]
    assert wet, "no building has water against its facade at T1000"
    clicked = None
    for index in wet[:25]:
        point = p.evaluate(f"DTFL.view3d.screenPoint({index})")
        p.mouse.click(point["x"], point["y"])
        if p.evaluate("document.body.dataset.building") == str(index):
            clicked = index
            break
    assert clicked is not None, "a click on a wet building did not select it"
    info = p.inner_text("#building-info")
    depth = p.evaluate(f"DTFL.view3d.facade({clicked})")
    assert "Water tegen de gevel" in info and f"{depth:.2f}".replace(".", ",") in info
    assert "Building" in info or "type" in info  # its own attributes (CityJSON type)
    # the value shown is the model's: the T1000 run's buildings layer has a facade depth equal to it
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(str(publish_twin.folder / "runs" / "T1000" / "gebouwen_nat.gpkg"), "t1000", "ogr")
    assert any(abs((f["facade_depth_m"] or 0) - depth) < 1e-3 for f in layer.getFeatures())
    (SHOTS / "3d.png").write_bytes(p.screenshot())
    _no_errors_and_only_loopback(page)


def test_provenance_panel(browser_page, publish_twin):
    page, _ = browser_page
    p = page.page
    p.click("#tab-origin")
    assert p.is_visible("#view-origin") and not p.is_visible("#view-map")
    (SHOTS / "provenance.png").write_bytes(p.screenshot(full_page=True))  # as a reader first sees it
    closed = p.locator("#view-origin details:not([open]) summary")
    assert closed.count() >= 5
    for _ in range(closed.count()):  # a reader opens every layer
        closed.nth(0).click()
    text = p.inner_text("#view-origin")
    for expected in ("Waar komt dit vandaan?", "Rijkswaterstaat", "Kadaster", "TU Delft 3D geoinformation",
                     "CC0: vrij te gebruiken", "CC BY: vrij te gebruiken", "Ondertekend door"):  # fmt: skip
        assert expected in text, expected
    assert p.locator("#view-origin details:not([open])").count() == 0
    shot = p.screenshot(full_page=True)
    (SHOTS / "provenance-all.png").write_bytes(shot)
    assert _rich(shot, 8)
    assert page.errors == []


def test_keyboard_landmarks_and_contrast(browser_page):
    page, _ = browser_page
    p = page.page
    p.focus("#tab-origin")
    p.keyboard.press("ArrowLeft")
    assert p.evaluate("document.activeElement.id") == "tab-3d" and p.is_visible("#view-3d")
    p.keyboard.press("Home")
    assert p.evaluate("document.activeElement.id") == "tab-map" and p.is_visible("#view-map")
    for selector in ("header", "nav", "main", "footer", "a.skip[href='#main']"):
        assert p.locator(selector).count() == 1, selector
    alt = p.get_attribute("#scene", "aria-label")
    assert p.get_attribute("#scene", "role") == "img" and len(alt) > 60
    unlabeled = p.evaluate(
        "[...document.querySelectorAll('input')].filter(i => !i.closest('label') && !i.getAttribute('aria-label')).length"
    )
    assert unlabeled == 0
    ratios = json.loads(p.evaluate(CONTRAST_JS))
    assert all(r >= 4.5 for r in ratios.values()), ratios


CONTRAST_JS = """JSON.stringify((() => {
  const rgb = s => s.match(/[0-9.]+/g).slice(0, 3).map(Number);
  const lum = c => { const v = c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                     if (!c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return rgb(c); } return [255, 255, 255]; };
  const out = {};
  for (const sel of ['h1', 'header .lead', '[role=tab][aria-selected=false]', '[role=tab][aria-selected=true]',
                     '.legend-layer label', '.help', 'footer p', '.scenario-option']) {
    const el = document.querySelector(sel); if (!el) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
    out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }
  return out; })())"""


def test_phone(site_browser):
    browser, base, _ = site_browser
    page = browser.open(base + "index.html#3d", width=390, height=844, mobile=True)
    p = page.page
    p.wait_for_selector("body[data-scene=ready]", state="attached", timeout=90000)
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert _rich(p.locator("#scene").screenshot())
    (SHOTS / "phone-3d.png").write_bytes(p.screenshot())
    _no_errors_and_only_loopback(page)
