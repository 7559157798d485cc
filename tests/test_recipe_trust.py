"""Our safe recipe opening next to QGIS 4's project trust: opening a recipe never widens what QGIS trusts."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsSettings

from dtfl_plugin.recipe import trust


def test_qgis3_has_no_project_trust_and_nothing_is_changed(qgis_app, tmp_path):
    project = tmp_path / "recipe" / "project.qgs"
    project.parent.mkdir()
    project.write_text("<qgis/>", encoding="utf-8")
    if trust.project_trust_available():
        return  # QGIS 4: covered by the next test's logic and by scripts/qgis4_check.py
    before = {k: QgsSettings().value(k) for k in QgsSettings().allKeys()}
    state = trust.keep_untrusted(project)
    assert state == trust.TrustState(False, False, False)
    assert {k: QgsSettings().value(k) for k in QgsSettings().allKeys()} == before


class _ListSetting:
    """Stands in for one QgsSettingsEntryStringList of QGIS 4 (value/setValue), which QGIS 3 does not have."""

    def __init__(self, values):
        self.values = list(values)

    def value(self):
        return list(self.values)

    def setValue(self, values):
        self.values = list(values)


def test_with_project_trust_the_folder_is_denied_for_the_session_never_trusted(tmp_path, monkeypatch):
    project = tmp_path / "recipe" / "project.qgs"
    project.parent.mkdir()
    project.write_text("<qgis/>", encoding="utf-8")
    trusted = _ListSetting([str(tmp_path / "elsewhere")])
    denied = _ListSetting([])
    monkeypatch.setattr(trust, "project_trust_available", lambda: True)
    monkeypatch.setattr(trust, "_entry", lambda name: {trust._TRUSTED: trusted, trust._TEMP_DENIED: denied}[name])
    state = trust.keep_untrusted(project)
    assert state == trust.TrustState(True, False, True)
    assert denied.values == [str(project.parent.resolve())]
    assert trusted.values == [str(tmp_path / "elsewhere")]  # never added
    trust.keep_untrusted(project)
    assert denied.values == [str(project.parent.resolve())]  # once


def test_a_folder_the_user_already_trusted_is_reported(tmp_path, monkeypatch):
    project = tmp_path / "recipe" / "project.qgs"
    project.parent.mkdir()
    project.write_text("<qgis/>", encoding="utf-8")
    monkeypatch.setattr(trust, "project_trust_available", lambda: True)
    lists = {trust._TRUSTED: _ListSetting([str(Path(project.parent).resolve())]), trust._TEMP_DENIED: None}
    monkeypatch.setattr(trust, "_entry", lambda name: lists[name])
    state = trust.keep_untrusted(project)
    assert state.already_trusted and not state.denied_for_session
