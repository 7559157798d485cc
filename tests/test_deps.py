"""A missing library gives a translated message that names the fix, records a failed run, never a traceback.

Each library is made unimportable in turn (as on an OSGeo4W ``qgis`` install without scipy, or any QGIS
without cryptography) and the feature that needs it is run the way a user runs it: through Processing.
"""

from __future__ import annotations

import builtins
import sys

import pytest

# These tests take C extensions out of sys.modules: scripts/test.sh runs them in a process of their own.
pytestmark = pytest.mark.own_process

BATHTUB_NEEDS = ["numpy", "scipy", "osgeo"]


def _block(monkeypatch: pytest.MonkeyPatch, top: str) -> None:
    for name in list(sys.modules):
        if name == top or name.startswith(top + "."):
            monkeypatch.delitem(sys.modules, name)
    real_import = builtins.__import__

    def blocked(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == top or name.startswith(top + ".")):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", blocked)


@pytest.mark.parametrize("platform,expected", [("win32", "OSGeo4W"), ("darwin", "QGIS.app"), ("linux", "apt install")])
@pytest.mark.parametrize("module", ["numpy", "scipy", "cryptography", "lxml", "osgeo.gdal"])
def test_every_message_names_the_fix_for_the_platform(module, platform, expected, qgis_app):
    from dtfl_plugin import deps

    text = deps.missing_message(module, "The flooding screening", platform)
    assert expected in text and "restart QGIS" in text
    pip_name, osgeo4w, debian = deps.PACKAGES[module.split(".")[0]]
    assert (pip_name if platform != "linux" else debian) in text
    if platform == "win32" and osgeo4w:
        assert osgeo4w in text  # the OSGeo4W package comes first: pip into OSGeo4W's Python is the fallback


def test_messages_are_in_dutch(qgis_app):
    from dtfl_plugin import deps
    from dtfl_plugin.i18n import install_translator, remove_translator

    try:
        install_translator("nl")
    except TypeError:
        pytest.skip("this build's translator cannot be installed by language here")
    try:
        text = deps.missing_message("scipy", "x", "win32")
        assert "herstart" in text.lower() or "opnieuw" in text.lower(), text
    finally:
        remove_translator()


@pytest.mark.parametrize("module", BATHTUB_NEEDS)
def test_bathtub_without_a_library_fails_clearly_and_is_recorded(
    module, monkeypatch, processing_ready, shared_data, tmp_path
):
    import processing
    from qgis.core import QgsProcessingException, QgsProject

    from dtfl_plugin.models.algorithms import bathtub_flooding
    from dtfl_plugin.provenance.store import load_runs, read_log

    dem = str(shared_data / "3d" / "derived" / "ahn3_delft_dtm_1m.tif")
    for lazy in ("np", "gdal"):  # as on a fresh QGIS: the libraries load on the first run
        if hasattr(bathtub_flooding, lazy):
            monkeypatch.setattr(bathtub_flooding, lazy, None)
    _block(monkeypatch, module)
    before = len(load_runs(QgsProject.instance()))
    with pytest.raises(QgsProcessingException) as err:
        processing.run(
            "dtfl:bathtub_flooding",
            {
                "DEM": dem,
                "EVENT": 0,
                "OUTPUT_DEPTH": str(tmp_path / "depth.tif"),
                "OUTPUT_DEPRESSIONS": "TEMPORARY_OUTPUT",
            },
        )
    text = str(err.value)
    pip_name = {"osgeo": "GDAL"}.get(module, module)
    assert f"'{pip_name}'" in text and "restart QGIS" in text, text
    assert "Traceback" not in text and "ModuleNotFoundError" not in text
    last = read_log()[-1]  # the user's run history (a failed run is not stored in the project)
    assert last.algorithm_id == "dtfl:bathtub_flooding" and last.status == "failed" and pip_name in last.error
    assert len(load_runs(QgsProject.instance())) == before
    assert not (tmp_path / "depth.tif").exists()


def test_keygen_without_cryptography_fails_clearly_and_is_recorded(monkeypatch, processing_ready, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    from dtfl_plugin.provenance.store import read_log

    _block(monkeypatch, "cryptography")
    with pytest.raises(QgsProcessingException) as err:
        processing.run(
            "dtfl:recipe_keygen",
            {"OUTPUT_PRIVATE": str(tmp_path / "k.key"), "OUTPUT_PUBLIC": str(tmp_path / "k.pub"), "PASSPHRASE": "pw"},
        )
    text = str(err.value)
    assert "cryptography" in text and "OSGeo4W Shell" in text and "Traceback" not in text
    assert read_log()[-1].status == "failed" and read_log()[-1].algorithm_id == "dtfl:recipe_keygen"
    assert not (tmp_path / "k.key").exists() and not (tmp_path / "k.pub").exists()


def test_catalogue_xml_without_lxml(monkeypatch, qgis_app):
    """lxml is optional (xmlsafe falls back to the standard library's expat): answers parse, DTDs are refused."""
    from dtfl_plugin.catalogue import xmlsafe

    monkeypatch.setattr(xmlsafe, "_lxml", None)  # what the module's guarded import leaves when lxml is missing
    root = xmlsafe.parse(b"<a><b>twee</b></a>")
    assert [xmlsafe.local(child.tag) for child in root] == ["b"]
    with pytest.raises(xmlsafe.UnsafeXmlError):
        xmlsafe.parse(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
