"""Dutch UI: every tr() string has a translation, the .qm builds, and QGIS in Dutch shows Dutch labels."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_i18n_script():
    spec = importlib.util.spec_from_file_location("dtfl_i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


i18n_script = _load_i18n_script()


def test_extractor_finds_literals_and_flags_non_literals(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text(
        "from x import tr\n"
        "A = tr('Load layer')\n"
        "B = self.tr('Load layer')\n"
        "C = tr('Found {n} records').format(n=3)\n"
        "D = tr(some_variable)\n"
        "E = tr('x' + name)\n"
        "class K:\n"
        "    def tr(self, text):\n"
        "        return tr(text)\n",
        encoding="utf-8",
    )
    result = i18n_script.extract(pkg, tmp_path)
    assert list(result.messages) == ["Load layer", "Found {n} records"]
    assert result.messages["Load layer"].locations == [("pkg/a.py", 2), ("pkg/a.py", 3)]
    assert result.non_literal == [("pkg/a.py", 5), ("pkg/a.py", 6)]


def test_placeholders_must_survive_translation():
    assert i18n_script.placeholder_problems("Loaded {n} layers", "{n} lagen geladen") == []
    assert i18n_script.placeholder_problems("Loaded {n} layers", "{aantal} lagen geladen")


def test_ts_file_is_valid_qt_linguist_xml(tmp_path):
    from xml.etree import ElementTree

    extraction = i18n_script.extract()
    translations, _ = i18n_script.load_translations("nl")
    ts = ElementTree.fromstring(i18n_script.render_ts("nl", extraction, translations).encode("utf-8"))
    assert ts.get("language") == "nl_NL"
    messages = ts.findall("./context/message")
    assert len(messages) == len(extraction.messages) > 0
    assert all(m.find("location") is not None for m in messages)
    about = [m for m in messages if m.findtext("source") == "About DTFL…"]
    assert about and about[0].findtext("translation") == "Over DTFL…"


def test_every_string_has_a_dutch_translation():
    extraction = i18n_script.extract()
    translations, problems = i18n_script.load_translations("nl")
    assert not problems, "\n".join(problems)
    assert not extraction.non_literal, "tr() without one literal string at: " + ", ".join(
        f"{f}:{line}" for f, line in extraction.non_literal
    )
    missing = [m for s, m in extraction.messages.items() if s not in translations]
    if missing:
        pytest.fail(
            f"{len(missing)} of {len(extraction.messages)} strings lack Dutch (add them to i18n/nl/<area>.json):\n"
            + "\n".join(f"  {m.locations[0][0]}:{m.locations[0][1]}  {m.source!r}" for m in missing),
            pytrace=False,
        )
    broken = [
        p
        for s, m in extraction.messages.items()
        if s in translations
        for p in i18n_script.placeholder_problems(s, translations[s])
    ]
    assert not broken, "\n".join(broken)


@pytest.fixture()
def dutch_qgis(qgis_app):
    """QGIS's own locale override set to nl_NL (as the Options dialog does), restored afterwards."""
    from qgis.core import QgsSettings

    from dtfl_plugin.i18n import install_translator, remove_translator

    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n.py")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    settings = QgsSettings()
    saved = {key: settings.value(key) for key in ("locale/overrideFlag", "locale/userLocale")}
    settings.setValue("locale/overrideFlag", True)
    settings.setValue("locale/userLocale", "nl_NL")
    yield install_translator()
    for key, value in saved.items():
        if value is None:
            settings.remove(key)
        else:
            settings.setValue(key, value)
    remove_translator()


def test_dutch_locale_shows_dutch_labels(dutch_qgis, qgis_iface):
    from dtfl_plugin import classFactory
    from dtfl_plugin.__about__ import version
    from dtfl_plugin.i18n import install_translator, tr
    from dtfl_plugin.processing.provider import DtflProvider

    assert dutch_qgis == "nl"
    assert DtflProvider().longName() == f"DTFL digitale tweeling {version()}"

    plugin = classFactory(qgis_iface)
    plugin.initGui()
    try:
        texts = [a.text() for a in plugin.menu.actions()]
        assert "Over DTFL…" in texts, texts
    finally:
        plugin.unload()

    # Back to English: the override off, the translator gone, the label English again.
    from qgis.core import QgsSettings

    QgsSettings().setValue("locale/userLocale", "en_US")
    assert install_translator() is None
    assert tr("About DTFL…") == "About DTFL…"
