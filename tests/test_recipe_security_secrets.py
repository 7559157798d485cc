"""Classes: "secrets that travel" (found by meaning: QGIS's own connection-string parsers, variable names, the
sender's folder paths) and "credentials bound by name only" (a mapped authcfg attaches only at its host)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.fixtures.recipe_hostile import forge

PG_PASSWORD = "s3cr et'&q\"x"  # space, quote, ampersand, double quote
WFS_PASSWORD = "wfs pass&word=1"
SECRETS = [
    PG_PASSWORD,
    WFS_PASSWORD,
    "KEYVALUE123456",
    "APIKEYVALUE1",
    "TOKENVALUE2",
    "PWVALUE3",
    "LAYERTOKEN4",
    "Jan Jansen",
]


def _project(folder: Path) -> Path:
    pg = PG_PASSWORD.replace("\\", "\\\\").replace("'", "\\'").replace("&", "&amp;").replace('"', "&quot;")
    wfs = WFS_PASSWORD.replace("&", "&amp;")
    xml = f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16" projectname="secrets" saveUser="jan" saveUserFull="Jan Jansen">
  <projectlayers>
    <maplayer type="vector" geometry="Polygon"><id>pg_1</id><layername>pg</layername><provider>postgres</provider>
      <datasource>dbname='gis' host=db.example port=5432 user='jan' password='{pg}' sslmode=disable key='id' table="public"."t" (geom)</datasource></maplayer>
    <maplayer type="vector" geometry="Polygon"><id>wfs_1</id><layername>wfs</layername><provider>WFS</provider>
      <datasource>password='{wfs}' typename='bgt:pand' url='https://wfs.example/wfs?api_key=KEYVALUE123456' username='u' version='auto'</datasource>
      <customproperties><Option type="Map">
        <Option type="List" name="variableNames"><Option type="QString" value="wfsToken"/><Option type="QString" value="colour"/></Option>
        <Option type="List" name="variableValues"><Option type="QString" value="LAYERTOKEN4"/><Option type="QString" value="keep-blue"/></Option>
      </Option></customproperties></maplayer>
  </projectlayers>
  <properties>
    <Variables>
      <variableNames type="QStringList"><value>api_key</value><value>my_token</value><value>password</value><value>harmless</value></variableNames>
      <variableValues type="QStringList"><value>APIKEYVALUE1</value><value>TOKENVALUE2</value><value>PWVALUE3</value><value>keepme</value></variableValues>
    </Variables>
  </properties>
</qgis>
"""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secrets.qgs"
    path.write_text(xml, encoding="utf-8")
    return path


def _forms(secret: str) -> list[str]:
    from urllib.parse import quote

    return [secret, secret.replace("'", "\\'"), quote(secret, safe=""), json.dumps(secret)[1:-1], secret.split(" ")[-1]]


def test_control_pattern_scan_misses_quoted_passwords():
    from dtfl_plugin.recipe.secrets import scrub_patterns

    source = f"dbname='gis' password='{PG_PASSWORD.replace(chr(39), chr(92) + chr(39))}' host=db.example"
    clean, _ = scrub_patterns(source)
    assert "et\\'&q" in clean, "the pattern net alone catches it: the control proves nothing"


def test_secrets_found_by_meaning_never_reach_the_recipe(tmp_path, qgis_app):
    from dtfl_plugin.recipe.pack import PackOptions, pack

    project = _project(tmp_path / "sender")
    result = pack(PackOptions(project=project, output=tmp_path / "s.dtfl.zip"))
    with zipfile.ZipFile(result.output) as zf:
        texts = {n: zf.read(n).decode("utf-8", "replace") for n in zf.namelist()}
    leaks = [(n, s) for n, t in texts.items() for s in SECRETS for f in _forms(s) if len(f) > 3 and f in t]
    assert not leaks, leaks
    qgs = texts["project/recipe.qgs"]
    assert "keepme" in qgs and "keep-blue" in qgs and "db.example" in qgs, "more than the secrets was removed"


def test_sender_paths_made_relative(tmp_path, shared_data, processing_ready, qgis_app):
    from dtfl_plugin.recipe.pack import PackOptions, pack
    from tests.fixtures.recipe import AREA_A, build_twin, native_steps

    folder = tmp_path / "home-of-jan" / "twin"
    project = build_twin(folder, shared_data, native_steps(AREA_A, shared_data, folder))
    result = pack(PackOptions(project=project, output=tmp_path / "t.dtfl.zip"))
    with zipfile.ZipFile(result.output) as zf:
        meta = zf.read("ro-crate-metadata.json").decode()
        for name in zf.namelist():
            if name.endswith((".json", ".qgs", ".qml")):
                text = zf.read(name).decode("utf-8", "replace")
                assert "home-of-jan" not in text and str(shared_data.resolve()) not in text, name
    assert '"isBasedOn": "' in meta  # the source is still named, only without the folder


def test_credentials_bound_to_their_host(tmp_path, recipe_key, points_gpkg, qgis_app):
    from dtfl_plugin import settings
    from dtfl_plugin.recipe.open import AUTH_MAP_KEY, map_credentials, unpack

    def layer(name: str, url: str) -> str:
        return (
            f"<maplayer type='raster'><id>{name}</id><layername>{name}</layername><provider>wms</provider>"
            f"<datasource>authcfg=${{authcfg:service.example}}&amp;crs=EPSG:28992&amp;format=image/png&amp;layers=x"
            f"&amp;styles=&amp;url={url}</datasource></maplayer>"
        )

    project = (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis><projectlayers>"
        + layer("right", "https://service.example/wms")
        + layer("other-host", "https://collector.example/wms")
        + layer("two-hosts", "https://collector.example/wms?next=https://service.example/wms")
        + "</projectlayers></qgis>"
    ).encode()
    services = ["https://service.example/wms", "https://collector.example/wms"]
    recipe = forge(tmp_path / "a.dtfl.zip", {"project/recipe.qgs": project}, recipe_key, services=services)
    try:
        result = unpack(recipe, tmp_path / "t", trusted=[("k", recipe_key.public)])
        assert result.unmapped_auth == ["service.example"]
        assert map_credentials(result, {"service.example": "mine123"}) == []
        import xml.etree.ElementTree as ET

        root = ET.fromstring(result.project.read_bytes().split(b"\n", 1)[1])
        sources = {m.findtext("layername"): m.findtext("datasource") for m in root.iter("maplayer")}
        assert "authcfg=mine123" in sources["right"]
        assert "mine123" not in sources["other-host"] and "mine123" not in sources["two-hosts"], sources
    finally:
        settings.remove(AUTH_MAP_KEY)
