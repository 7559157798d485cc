"""dtfl:publish_web writes a complete, self-contained site whose provenance panel says what the project records."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from tests.fixtures.publish import publish


class _Text(HTMLParser):
    """Visible text per provenance article, plus every src/href of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.articles: dict[str, list[str]] = {}
        self.recipe: list[str] = []
        self._stack: list[str | None] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if attrs.get(key):
                self.links.append(attrs[key])
        if tag == "details" and "origin" in (attrs.get("class") or ""):
            self._current = self.articles.setdefault(attrs["data-layer"], [])
        if tag == "div" and attrs.get("class") == "recipe":
            self._current = self.recipe

    def handle_endtag(self, tag):
        if tag in ("details", "div"):
            self._current = None

    def handle_data(self, data):
        if self._current is not None and data.strip():
            self._current.append(data.strip())


def _parse(folder):
    parser = _Text()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    return parser


def test_site_files_and_scenarios(published_site):
    folder, result = published_site
    for rel in ("index.html", "data/site.json", "static/app.js", "static/view3d.js", "static/vendor/maplibre-gl.js",
                "static/vendor/three.min.js", "static/vendor/LICENSE-three.txt", "static/vendor/LICENSE-maplibre-gl.txt"):  # fmt: skip
        assert (folder / rel).is_file(), rel
    site = json.loads((folder / "data/site.json").read_text(encoding="utf-8"))
    assert result["SCENARIOS"] == 3 and len(site["scenarios"]) == 3
    labels = [s["label"] for s in site["scenarios"]]
    assert ["T=100" in labels[0], "T=250" in labels[1], "T=1000" in labels[2]] == [True] * 3, labels
    assert site["lang"] == "nl" and "jaar" in labels[0]  # the option label in the page's language
    scene = site["scene"]
    assert set(scene["flood"]) == {"s1", "s2", "s3"} and scene["terrain"]["nx"] > 100
    buildings = json.loads((folder / "data" / scene["buildings"]).read_text(encoding="utf-8"))["items"]
    assert result["BUILDINGS"] == len(buildings) > 100
    assert all(item["a"].get("type") in ("Building", "BuildingPart", "BuildingInstallation") for item in buildings)
    wet = [b for b in buildings if "d" in b]
    assert len(wet) > 50
    # the facade depth grows with the rain: T1000 is never drier than T100
    assert all(b["d"]["s3"][0] >= b["d"]["s1"][0] - 1e-6 for b in wet if "s1" in b["d"] and "s3" in b["d"])
    assert sum(b["d"].get("s3", [0])[0] for b in wet) > sum(b["d"].get("s1", [0])[0] for b in wet)


def test_page_asks_no_other_host(published_site):
    folder, _ = published_site
    links = _parse(folder).links
    assert links and all(not re.match(r"^[a-z]+://", link) and not link.startswith("//") for link in links), links
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', (folder / "index.html").read_text(encoding="utf-8"))
    assert csp and "default-src 'self'" in csp.group(1) and "connect-src 'self'" in csp.group(1)
    for data in (folder / "data").glob("*.json"):
        assert "://" not in data.read_text(encoding="utf-8").replace("urn:uuid:", ""), data.name


def test_panel_says_what_the_project_records(published_site, publish_twin):
    from qgis.core import QgsProject

    from dtfl_plugin.provenance.layer_props import get_layer_source
    from dtfl_plugin.provenance.store import load_runs
    from dtfl_plugin.recipe.verify import verify_recipe

    folder, _ = published_site
    parsed = _parse(folder)
    project = QgsProject()
    assert project.read(str(publish_twin.project_file))
    runs = load_runs(project)
    assert len(runs) == 3
    for layer in project.mapLayers().values():
        text = " ".join(parsed.articles.get(layer.id(), []))
        assert text, f"no provenance for {layer.name()}"
        source = get_layer_source(layer)
        if source is not None:  # a source layer: its own organisation and licence, in words
            assert source.organisation in text and source.title in text
            assert ("CC0" if "publicdomain/zero" in source.licence else "CC BY") in text
            continue
        # a model output: the run that made it, its rain event in words and the sources it read
        run = next(r for r in runs if any(o.location == layer.source().split("|")[0] for o in r.outputs))
        event = ("T=100", "T=250", "T=1000")[run.parameters["EVENT"]]
        assert "Screening wateroverlast" in text and event in text and "Rijkswaterstaat" in text
        assert "BGT panden Delft" in text and "BGT waterdelen Delft" not in text  # the layer of the GeoPackage it read
    report = verify_recipe(publish_twin.recipe, __import__("dtfl_plugin.recipe.keys", fromlist=["x"]).trusted_keys())
    recipe_text = " ".join(parsed.recipe)
    assert report.signature == "valid" and report.recipe_id in recipe_text and "Ondertekend door" in recipe_text


def test_english_page(publish_twin, tmp_path):
    folder = tmp_path / "en"
    publish(publish_twin, folder, language=1, TITLE="Delft <flood> & you")
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Where does this come from?" in html
    assert "<title>Delft &lt;flood&gt; &amp; you</title>" in html  # project text is escaped
    labels = [s["label"] for s in json.loads((folder / "data/site.json").read_text(encoding="utf-8"))["scenarios"]]
    assert "years" in labels[0] and "jaar" not in labels[0]


def test_foreign_folder_is_left_alone(publish_twin, tmp_path):
    from qgis.core import QgsProcessingException

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.docx").write_text("precious", encoding="utf-8")
    with pytest.raises(QgsProcessingException, match="already holds other files"):
        publish(publish_twin, folder)
    assert [p.name for p in folder.iterdir()] == ["thesis.docx"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no half-written site left behind


def test_republish_replaces_and_cancel_writes_nothing(publish_twin, tmp_path):
    from dtfl_plugin.errors import PublishError
    from dtfl_plugin.publish.site import PublishOptions
    from dtfl_plugin.publish.site import publish as publish_core
    from dtfl_plugin.publish.snapshot import read_project, snapshot
    from dtfl_plugin.recipe.progress import Progress

    folder = tmp_path / "web"
    publish(publish_twin, folder, RECIPE="")
    before = (folder / "index.html").stat().st_mtime_ns
    publish(publish_twin, folder, RECIPE="")  # a site DTFL wrote is replaced as a whole
    assert (folder / "index.html").stat().st_mtime_ns != before
    snap = snapshot(read_project(str(publish_twin.project_file)))
    calls = []
    cancel = Progress(is_cancelled=lambda: len(calls) > 3 or calls.append(1) is not None and False)
    with pytest.raises(PublishError, match="cancelled"):
        publish_core(snap, PublishOptions(output=tmp_path / "never"), cancel)
    snap.layers.clear()  # layer clones go before QGIS does
    assert not (tmp_path / "never").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web"]
