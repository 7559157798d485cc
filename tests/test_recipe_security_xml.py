"""Class: "XML entities and slow parsing". Every untrusted XML document (project .qgs, the .qgs inside a .qgz,
.qml styles, SVG markers, catalogue answers) goes through one parser that refuses entities whatever the
encoding; packaging refuses a .qgz whose project carries entities; one very long token unpacks in linear time.

Controls show that the payloads are real: the standard library's parser expands them, and the UTF-16 ones
slip past the byte scan for ``<!ENTITY`` that this replaced.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
import zipfile

import pytest

from tests.fixtures.recipe_hostile import forge

LAUGHS = (
    '<?xml version="1.0" encoding="{enc}"?>\n<!DOCTYPE qgis [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(4))
    + ']>\n<qgis version="3.22.16"><title>&e;</title><projectlayers/></qgis>'
)  # 10^5 characters: big enough to see, small enough for a test machine
ENCODINGS = ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "iso-8859-1"]


def _payload(encoding: str) -> bytes:
    declared = {"utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(encoding, encoding)
    return LAUGHS.format(enc=declared).encode(encoding)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_control_payload_expands_and_utf16_hides_from_a_byte_scan(encoding):
    data = _payload(encoding)
    if encoding in ("utf-8", "utf-16", "iso-8859-1"):  # what expat accepts by itself
        assert len(ET.fromstring(data).findtext("title")) == 100_000
    assert (b"<!ENTITY" in data) is (encoding in ("utf-8", "iso-8859-1"))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_entities_refused_in_every_encoding_and_every_document(encoding, tmp_path, recipe_key, points_gpkg):
    from dtfl_plugin import safexml
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe.open import unpack

    data = _payload(encoding)
    with pytest.raises(safexml.UnsafeXmlError):
        safexml.parse(data)
    trusted = [("k", recipe_key.public)]
    project = forge(tmp_path / "p.dtfl.zip", {"project/recipe.qgs": data}, recipe_key)
    with pytest.raises(RecipeError, match="entities"):
        unpack(project, tmp_path / "p", trusted=trusted)
    assert not (tmp_path / "p").exists()

    plain = b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis><projectlayers/></qgis>"
    style = data.replace("qgis version".encode(encoding), "qgis styleversion".encode(encoding))
    files = {"project/recipe.qgs": plain, "styles/a.qml": style, "styles/b.sld": data, "data/m.svg": data}
    recipe = forge(tmp_path / "s.dtfl.zip", files, recipe_key)
    result = unpack(recipe, tmp_path / "s", trusted=trusted)
    for name in ("styles/a.qml", "styles/b.sld", "data/m.svg"):
        assert not (tmp_path / "s" / name).exists(), f"{name} was kept"
    assert sum("entities" in f.message for f in result.findings) == 3, result.messages()
    from dtfl_plugin.recipe.verdict import build_verdict
    from dtfl_plugin.recipe.verify import verify_recipe

    verdict = build_verdict(verify_recipe(recipe, trusted), str(recipe))  # read before unpacking: same parser
    assert sum("entities" in m for m in verdict.neutralised) == 3, verdict.neutralised


def test_external_entity_never_read(tmp_path):
    from dtfl_plugin import safexml

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = f'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "file://{secret}">]><qgis>&x;</qgis>'
    for data in (xxe.encode(), xxe.encode("utf-16")):
        with pytest.raises(safexml.UnsafeXmlError):
            safexml.parse(data)
        with pytest.raises(safexml.UnsafeXmlError):
            safexml.parse_lxml(data)
    # an undeclared entity after an external DTD reference is not silently skipped either
    with pytest.raises(safexml.UnsafeXmlError):
        safexml.parse(b"<!DOCTYPE qgis SYSTEM 'http://127.0.0.1:9/x.dtd'><qgis>&x;</qgis>")


def test_project_encodings_read_alike():
    from dtfl_plugin import safexml

    text = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis title='Waterschap Brabantse Delta é'/>"
    for encoding in ENCODINGS + ["cp1252"]:
        declared = {"utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(encoding, encoding)
        data = f'<?xml version="1.0" encoding="{declared}"?>\n{text}'.encode(encoding)
        assert safexml.parse(data).get("title").endswith("Delta é"), encoding


def test_packaging_refuses_qgz_with_entities(tmp_path):
    from dtfl_plugin.errors import RecipeError
    from dtfl_plugin.recipe.pack import PackOptions, pack

    for encoding in ("utf-8", "utf-16"):
        qgz = tmp_path / f"bomb-{encoding}.qgz"
        with zipfile.ZipFile(qgz, "w") as zf:
            zf.writestr("bomb.qgs", _payload(encoding))
        with pytest.raises(RecipeError, match="entities"):
            pack(PackOptions(project=qgz, output=tmp_path / f"{encoding}.dtfl.zip"))
        assert not list(tmp_path.glob("*.dtfl.zip*"))


def _random(chars: str, n: int = 2_000_000) -> str:
    import random

    return "".join(random.Random(13).choices(chars, k=n))  # random: a run of one letter is refused as a zip bomb


@pytest.mark.parametrize(
    "token",
    [
        _random("abcdefghijklmnopqrstuvwxyz"),
        _random("abcxyz019+.-"),
        "password=" + _random("abcdefghijklmnopqrstuvwxyz"),
        "authorization=" + _random("abcdefghijklmnopqrstuvwxyz"),
    ],
    ids=["letters", "scheme-chars", "password", "authorization"],
)
def test_one_long_token_is_linear(token, tmp_path, recipe_key, points_gpkg):
    """A 2 MB token: the old scheme regex ([a-z][a-z0-9+.-]*://) took 4 s at 20 kB and grows with the square."""
    from dtfl_plugin.recipe.open import unpack
    from dtfl_plugin.recipe.sanitize import scrub_text

    start = time.monotonic()
    scrub_text(token)
    assert time.monotonic() - start < 10
    project = (
        f"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis title='{token}'><projectlayers/></qgis>"
    )
    recipe = forge(tmp_path / "t.dtfl.zip", {"project/recipe.qgs": project.encode()}, recipe_key)
    start = time.monotonic()
    unpack(recipe, tmp_path / "t", trusted=[("k", recipe_key.public)])
    assert time.monotonic() - start < 30


def test_real_recipe_opens_without_false_alarms(tmp_path, shared_data, recipe_key, processing_ready, qgis_app):
    """The allow-list keeps what a recipe made by DTFL holds: no reference findings, every layer valid."""
    from qgis.core import QgsProject

    from dtfl_plugin.recipe.open import open_in_project, unpack
    from dtfl_plugin.recipe.pack import PackOptions, pack
    from tests.fixtures.recipe import AREA_A, build_twin, native_steps

    project = build_twin(tmp_path / "twin", shared_data, native_steps(AREA_A, shared_data, tmp_path / "twin"))
    packed = pack(PackOptions(project=project, output=tmp_path / "twin.dtfl.zip", secret_key=recipe_key))
    result = unpack(packed.output, tmp_path / "open", trusted=[("k", recipe_key.public)])
    assert not [f for f in result.findings if f.kind in ("reference", "style", "database-code")], result.messages()
    qgs = QgsProject()
    try:
        assert open_in_project(result, qgs)
        assert qgs.mapLayers() and all(layer.isValid() for layer in qgs.mapLayers().values())
    finally:
        qgs.clear()


@pytest.mark.parametrize(
    "value",
    ["a://" * 500_000, "../" * 700_000, "=/a" * 700_000, "/vsi" * 500_000, "f(" * 1_000_000, "&" * 2_000_000],
    ids=["schemes", "dots", "paths", "vsi", "calls", "ampersands"],
)
def test_every_check_is_linear_on_hostile_values(value, tmp_path):
    """Each check of the whole-document walk on one 2 MB value: quadratic scans took minutes and gigabytes."""
    from dtfl_plugin.recipe.references import Scope, problem
    from dtfl_plugin.recipe.sanitize import apply_auth_map, scrub_text

    scope = Scope(tmp_path, tmp_path / "project", ["https://service.example/"])
    start = time.monotonic()
    problem(value, scope)
    scrub_text(value)
    apply_auth_map(ET.ElementTree(ET.Element("qgis", {"v": value + "${authcfg:service.example}"})), {})
    assert time.monotonic() - start < 20
