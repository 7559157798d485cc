"""The recipe algorithms through Processing, with the parameter names issue 7 gives them."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.recipe import AREA_A, build_twin, extent_string, keygen, native_steps


@pytest.fixture(scope="module")
def twin(tmp_path_factory, shared_data, processing_ready):
    folder = tmp_path_factory.mktemp("alg-twin")
    return build_twin(folder, shared_data, native_steps(AREA_A, shared_data, folder)[:1])


def test_parameters_as_the_issue_names_them(processing_ready):
    registry = processing_ready
    expected = {
        "dtfl:recipe_package": {"PROJECT", "OUTPUT", "SIGNING_KEY", "AREA", "EMBED"},
        "dtfl:recipe_keygen": {"OUTPUT_PRIVATE", "OUTPUT_PUBLIC", "PASSPHRASE"},
        "dtfl:recipe_verify": {"RECIPE", "TRUSTED_KEYS", "OUTPUT"},
        "dtfl:recipe_unpack": {"RECIPE", "FOLDER"},
        "dtfl:recipe_cook": {"RECIPE", "EXTENT", "OUTPUT"},
    }
    for alg_id, names in expected.items():
        alg = registry.algorithmById(alg_id)
        assert alg is not None, alg_id
        assert names <= {p.name() for p in alg.parameterDefinitions()}, alg_id
        assert alg.group() == "Recipes" and alg.shortHelpString()


def test_package_verify_unpack_through_processing(twin, tmp_path, processing_ready, qgis_app):
    import processing

    keys = keygen(tmp_path, "pw", trust=False)
    packed = processing.run(
        "dtfl:recipe_package",
        {
            "PROJECT": str(twin),
            "OUTPUT": str(tmp_path / "t.dtfl.zip"),
            "SIGNING_KEY": keys["OUTPUT_PRIVATE"],
            "PASSPHRASE": "pw",
            "AREA": extent_string(AREA_A),
            "EMBED": 0,
        },
    )
    assert packed["RECIPE_ID"].startswith("urn:uuid:")
    report_path = tmp_path / "report.json"
    verified = processing.run(
        "dtfl:recipe_verify",
        {"RECIPE": packed["OUTPUT"], "TRUSTED_KEYS": keys["OUTPUT_PUBLIC"], "OUTPUT": str(report_path)},
    )
    report = json.loads(report_path.read_text())
    assert (
        verified["VALID"] is True
        and verified["SIGNATURE"] == "valid"
        and report["valid"] is True
        and report["problems"] == []
    )
    # without the key given or trusted: unknown key, and unpacking refuses
    processing.run("dtfl:recipe_verify", {"RECIPE": packed["OUTPUT"], "OUTPUT": str(report_path)})
    assert json.loads(report_path.read_text())["signature"] == "unknown-key"
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="do not trust"):
        processing.run("dtfl:recipe_unpack", {"RECIPE": packed["OUTPUT"], "FOLDER": str(tmp_path / "refused")})
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
    unpacked = processing.run(
        "dtfl:recipe_unpack", {"RECIPE": packed["OUTPUT"], "FOLDER": str(tmp_path / "open"), "ALLOW_UNTRUSTED": True}
    )
    assert unpacked["PROJECT"].endswith("project/recipe.qgs")
    assert "do not trust" in unpacked["FINDINGS"]
